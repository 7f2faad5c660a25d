// The evaluation-driven stopping rules of a run (docs/datasets.md, "Stopping"), checked after every
// evaluation of the test set:
//   - the test loss became NaN or infinite                               -> stop, failed
//   - after one epoch, the test loss is still above the base-rate loss   -> stop, failed
//     (a constant prediction of the label frequencies, or the mean rating, does better)
//   - the test loss stayed above the best one seen (by more than 0.5 %) for `patience` evaluations
//     in a row                                                           -> stop
// patience 0 turns off the last two (a run to the end, e.g. a sweep's full grid), not the first.
// It also keeps the best model evaluated: the run saves that one, not the last.
import type { ResolvedRunConfig } from '../config/run-config';
import type { Evaluation } from './models';

/** A loss within this share of the best is not counted as risen (evaluation noise). */
const RISE_TOLERANCE = 0.005;
/** The loss must beat the base rate by this share after an epoch. */
const BASE_RATE_MARGIN = 0.01;

export interface BestModel {
  evaluation: Evaluation;
  /** 1-based number of the evaluation during the run. */
  index: number;
  seconds: number;
  weights: Float32Array[];
}

export type StopVerdict = { stop: false } | { stop: true; reason: string; failed: boolean };

export class ValidationStopping {
  best: BestModel | undefined;
  private evaluations = 0;
  private risen = 0;

  constructor(
    private readonly config: ResolvedRunConfig,
    private readonly patience: number,
    /** The loss of the best constant prediction on the test set (undefined: unknown). */
    private readonly baseLoss: number | undefined,
    private readonly trainRows: number,
  ) {}

  /** Records one evaluation of `weights` (kept, not copied: the caller pulled them fresh). */
  observe(evaluation: Evaluation, weights: Float32Array[], seconds: number, samples: number): StopVerdict {
    this.evaluations++;
    const { loss } = evaluation;
    if (!Number.isFinite(loss)) {
      return { stop: true, failed: true, reason: `the test loss became ${loss} at evaluation ${this.evaluations}: the model diverged. ${this.likelyCauses()}` };
    }
    if (!this.best || loss < this.best.evaluation.loss) {
      this.best = { evaluation, index: this.evaluations, seconds, weights };
      this.risen = 0;
    } else if (loss > this.best.evaluation.loss * (1 + RISE_TOLERANCE)) {
      this.risen++;
    } else {
      this.risen = 0;
    }
    // patience 0 asks for a run to the end: only a non-finite loss stops it then.
    if (this.patience > 0 && this.baseLoss !== undefined && samples >= this.trainRows && this.best.evaluation.loss > this.baseLoss * (1 + BASE_RATE_MARGIN)) {
      return {
        stop: true,
        failed: true,
        reason:
          `after an epoch the test loss ${loss.toFixed(4)} is still above the base-rate loss ${this.baseLoss.toFixed(4)} ` +
          `(a constant prediction does better). ${this.likelyCauses()}`,
      };
    }
    if (this.patience > 0 && this.risen >= this.patience) {
      return { stop: true, failed: false, reason: `the test loss rose for ${this.patience} evaluations in a row (training.patience)` };
    }
    return { stop: false };
  }

  /** The best model when it is better than the final one's evaluation, with a note for the summary. */
  better(final: Evaluation): { best: BestModel; note: string } | undefined {
    const best = this.best;
    if (!best || !Number.isFinite(best.evaluation.loss) || (Number.isFinite(final.loss) && final.loss <= best.evaluation.loss)) return undefined;
    return {
      best,
      note: `the model saved is the best evaluated, evaluation ${best.index} at ${best.seconds.toFixed(1)} s (test loss ${best.evaluation.loss.toFixed(4)}; the last was ${final.loss.toFixed(4)})`,
    };
  }

  private likelyCauses(): string {
    const { optimizer, training, dataset } = this.config;
    const causes = [`the learning rate (optimizer.learningRate ${optimizer.learningRate} with ${optimizer.type}: try a tenth)`];
    if (this.config.model.type !== 'mf') {
      causes.push(
        dataset.scaling === 'none' || dataset.format !== 'csv'
          ? 'an unscaled numeric column (large raw values: scale them, or for CSV leave dataset.scaling at "auto")'
          : 'a numeric column that should be categorical or ignored (see the deploy summary\'s column table; dataset.columns)',
      );
    }
    causes.push(`the minibatch (training.minibatch ${training.minibatch})`);
    return `Likely causes: ${causes.join('; ')}.`;
  }
}
