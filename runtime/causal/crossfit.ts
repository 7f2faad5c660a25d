// One cross-fitting task: for repetition r and fold k, fit every nuisance model on the other folds'
// rows and predict the held-out fold. A pure function of (data, folds, plan, r, k): the worker task
// (runtime/worker/doubleml-task.ts) and the single-process computation call this same code, so they
// agree bit for bit.
import type { CausalData } from './data';
import { foldRows, type FoldAssignment } from './folds';
import { createLearner } from './learners';
import { nuisances, type CausalModel, type NuisanceSpec } from './models';
import type { LearnerSpec } from './learners';

export interface CrossFitPlan {
  model: CausalModel;
  learners: { outcome: LearnerSpec; treatment: LearnerSpec };
  /** Seeds the inner cross-validation splits (with r, k and the nuisance). */
  seed: number;
}

export interface FoldFit {
  repetition: number;
  fold: number;
  /** The held-out rows, ascending. */
  rows: Int32Array;
  /** Per nuisance (plan order), its predictions for `rows`. */
  predictions: Record<string, Float64Array>;
  /** Per nuisance, the penalty its inner CV chose. */
  penalties: Record<string, number>;
}

export function foldFit(data: CausalData, folds: FoldAssignment, plan: CrossFitPlan, r: number, k: number): FoldFit {
  const test = foldRows(folds, r, k, 'test');
  const train = foldRows(folds, r, k, 'train');
  const predictions: Record<string, Float64Array> = {};
  const penalties: Record<string, number> = {};
  nuisances(plan.model, plan.learners).forEach((spec: NuisanceSpec, index) => {
    const rows = spec.treated === undefined ? train : train.filter((i) => data.d[i] === spec.treated);
    if (rows.length < 2) {
      throw new Error(`repetition ${r + 1}, fold ${k + 1}: only ${rows.length} training rows with ${data.treatment} = ${spec.treated} for ${spec.name}; lower "folds" or check the treatment`);
    }
    const fitted = createLearner(spec.learner).fit({
      x: data.x,
      p: data.p,
      target: spec.target === 'outcome' ? data.y : data.d,
      rows,
      seed: [plan.seed, r, k, index],
    });
    predictions[spec.name] = fitted.predict(data.x, data.p, test);
    penalties[spec.name] = fitted.penalty;
  });
  return { repetition: r, fold: k, rows: test, predictions, penalties };
}

/** The whole cross-fitting in this process: every (repetition, fold) task in turn. */
export function crossFitInProcess(data: CausalData, folds: FoldAssignment, plan: CrossFitPlan): FoldFit[] {
  const fits: FoldFit[] = [];
  for (let r = 0; r < folds.repetitions; r++) for (let k = 0; k < folds.folds; k++) fits.push(foldFit(data, folds, plan, r, k));
  return fits;
}

/** A fold's predictions as stored in S3: Float64 [nuisance][row], in plan order. */
export function encodePredictions(fit: FoldFit, names: string[]): Buffer {
  const out = new Float64Array(names.length * fit.rows.length);
  names.forEach((name, j) => out.set(fit.predictions[name], j * fit.rows.length));
  return Buffer.from(out.buffer);
}

export function decodePredictions(bytes: Uint8Array, names: string[], rows: number): Record<string, Float64Array> {
  if (bytes.byteLength !== 8 * names.length * rows) throw new Error(`predictions: ${bytes.byteLength} bytes, expected ${8 * names.length * rows}`);
  const all = new Float64Array(names.length * rows);
  new Uint8Array(all.buffer).set(bytes);
  return Object.fromEntries(names.map((name, j) => [name, all.slice(j * rows, (j + 1) * rows)]));
}
