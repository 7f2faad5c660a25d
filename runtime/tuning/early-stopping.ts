// Early-stopping rules for sweeps. Trials report (progress, loss) as they evaluate; progress is the
// fraction of the trial's budget done. At each rung (a progress fraction) a trial's loss is recorded
// and compared with the losses other trials had at the same rung — never with their later losses,
// so a trial is judged against others at the same amount of work.
//
// successive-halving is the asynchronous variant (ASHA, Li et al. 2018): a trial reaching a rung
// continues only if it ranks in the best ceil(n / eta) of the n trials recorded there so far. The first
// trials to arrive always continue, so no trial waits for others (no pause-and-resume needed).
// median (Google Vizier's median stopping rule): stop a trial whose loss at a rung is worse than the
// median of the other trials' losses there, once at least `minTrials` others have reached it.
import type { EarlyStopping } from './sweep-config';

export function defaultRungs(rule: EarlyStopping): number[] {
  if (rule.rungs?.length) return [...rule.rungs].sort((a, b) => a - b);
  if (rule.rule === 'median') return [0.25, 0.5, 0.75];
  if (rule.rule === 'successive-halving') {
    const eta = rule.eta ?? 3;
    return [1 / (eta * eta), 1 / eta];
  }
  return [];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export class EarlyStopper {
  readonly rungs: number[];
  private readonly eta: number;
  private readonly minTrials: number;
  /** rung index -> trial -> loss recorded there */
  private readonly recorded: Array<Map<number, number>>;
  private readonly nextRung = new Map<number, number>();

  constructor(private readonly rule: EarlyStopping = { rule: 'none' }) {
    this.rungs = defaultRungs(rule);
    this.eta = rule.eta ?? 3;
    this.minTrials = rule.minTrials ?? 2;
    this.recorded = this.rungs.map(() => new Map());
  }

  /** A trial's loss at `progress` (0..1 of its budget). Returns why it should stop, or undefined. */
  report(trial: number, progress: number, loss: number): string | undefined {
    if (this.rule.rule === 'none' || !Number.isFinite(loss)) return undefined;
    let r = this.nextRung.get(trial) ?? 0;
    let verdict: string | undefined;
    while (r < this.rungs.length && progress >= this.rungs[r] && !verdict) {
      const atRung = this.recorded[r];
      atRung.set(trial, loss);
      verdict = this.judge(r, trial, loss);
      r++;
    }
    this.nextRung.set(trial, r);
    return verdict;
  }

  /** Losses recorded at each rung (for the sweep's record). */
  snapshot(): Array<{ rung: number; losses: Record<number, number> }> {
    return this.rungs.map((rung, i) => ({ rung, losses: Object.fromEntries(this.recorded[i]) }));
  }

  private judge(r: number, trial: number, loss: number): string | undefined {
    const atRung = this.recorded[r];
    const where = `at ${(100 * this.rungs[r]).toFixed(0)} % of its budget`;
    if (this.rule.rule === 'successive-halving') {
      const losses = [...atRung.values()].sort((a, b) => a - b);
      const keep = Math.ceil(losses.length / this.eta);
      const rank = losses.indexOf(loss); // ties rank as the best of them
      if (rank >= keep) return `successive halving: loss ${loss.toFixed(4)} ${where} ranks ${rank + 1} of ${losses.length} (only the best ${keep} continue)`;
      return undefined;
    }
    const others = [...atRung.entries()].filter(([t]) => t !== trial).map(([, l]) => l);
    if (others.length < this.minTrials) return undefined;
    const m = median(others);
    if (loss > m) return `median rule: loss ${loss.toFixed(4)} ${where} is worse than the median ${m.toFixed(4)} of ${others.length} other trials`;
    return undefined;
  }
}
