// Training time to a target loss, the same way for every channel x sync cell (the designSpace bench's
// headline, issue 11): from the cell's first gradient to the evaluation whose model first reached the
// target, with the progress at each evaluation read from the parameter server's update count around the
// evaluated model's pull (eval events' `pulled`), not from heartbeats, which lag.
//
// - The first gradient: the earliest moment any worker of the run finished its first step (a pushed
//   async minibatch; a sync step's contribution), from its invocation's `worker-launched` event plus the
//   worker's own `firstGradientMs`. The workers' start-up (invocation, partition reads) is before it in
//   every cell alike. A sync cell's first step also waits for its slowest worker to start: that wait is
//   before its first gradient, so the definition favours the synchronous cells.
// - Every cell keeps its model in the parameter server (PyWren-style too: its reducer's optimiser is the
//   server's), so the update count is one measure of progress for all: an asynchronous worker pushes
//   once per minibatch; a synchronous step is applied with one push per key range (all-reduce and
//   pywren: one; scatter-reduce: one per worker) and per table.
// - The target is crossed between the last evaluation above it and the first at or under it: the time
//   is reported as that bracket (the upper end is the figure; the evaluation interval is its resolution).
import type { RunEvent } from '../recording/events';
import type { DesignCell } from './step-model';

type Eval = Extract<RunEvent, { type: 'eval' }>;

/** Parameter-server pushes per step: per minibatch of one worker asynchronously, per synchronous step otherwise. */
export function pushesPerStep(cell: DesignCell, workers: number, tables = 1): number {
  if (cell.sync === 'async-sgd') return workers; // a "step" of the async cell: one minibatch on every worker
  return (cell.scheme === 'scatter-reduce' ? workers : 1) * tables;
}

export interface TimeToTarget {
  /** Run seconds (events' clock) of the run's first gradient. */
  firstGradientT: number;
  /** Seconds from the first gradient to the pull of the first evaluated model at or under the target. */
  trainingSeconds: number;
  /** ... and to the pull of the evaluation before it (its model was still above the target). */
  trainingSecondsAtLeast: number;
  /** Steps (pushesPerStep) the model held at that evaluation: at most, and at least at the one before. */
  steps: number;
  stepsAtLeast: number;
  /** The parameter server's count around the pull that reached the target (the model holds between). */
  updatesBefore: number;
  updatesAfter: number;
  /** The evaluation's own time (pull end to event), how much later than its model the eval event is stamped. */
  evaluationMs: number;
  /** Evaluations with the update count between the first gradient and the target (inclusive). */
  evaluations: number;
}

/** Run seconds of each worker's first gradient (its first generation that reported one), by worker. */
export function workerFirstGradients(events: RunEvent[]): Map<number, number> {
  const launched = new Map<string, number>();
  const first = new Map<number, number>();
  for (const e of events) {
    if (e.type === 'worker-launched') launched.set(`${e.worker}/${e.generation}`, e.t);
    if (e.type === 'worker-finished' && e.firstGradientMs !== undefined) {
      const at = launched.get(`${e.worker}/${e.generation}`);
      if (at !== undefined) first.set(e.worker, Math.min(first.get(e.worker) ?? Infinity, at + e.firstGradientMs / 1000));
    }
  }
  return first;
}

/** Run seconds of the run's first gradient, any worker's (undefined: no worker reported one). */
export function firstGradientT(events: RunEvent[]): number | undefined {
  const all = [...workerFirstGradients(events).values()];
  return all.length > 0 ? Math.min(...all) : undefined;
}

/** The time to `target` (test loss, or RMSE when `rmse`); undefined when no evaluation reached it or
 *  the run's events lack the first gradient or the update counts (an older run). */
export function timeToTarget(events: RunEvent[], cell: DesignCell, workers: number, target: number, options: { rmse?: boolean; tables?: number } = {}): TimeToTarget | undefined {
  const t0 = firstGradientT(events);
  if (t0 === undefined) return undefined;
  const per = pushesPerStep(cell, workers, options.tables);
  const lossOf = (e: Eval) => (options.rmse ? e.testRMSE : e.testLoss);
  const evals = events.filter((e): e is Eval & { pulled: NonNullable<Eval['pulled']> } => e.type === 'eval' && e.pulled !== undefined);
  const at = (e: Eval & { pulled: NonNullable<Eval['pulled']> }) => e.t - e.pulled.msBeforeEvent / 1000;
  const hit = evals.findIndex((e) => (lossOf(e) ?? Infinity) <= target);
  if (hit < 0) return undefined;
  const e = evals[hit];
  const before = hit > 0 ? evals[hit - 1] : undefined;
  return {
    firstGradientT: t0,
    trainingSeconds: Math.max(0, at(e) - t0),
    trainingSecondsAtLeast: before ? Math.max(0, at(before) - t0) : 0,
    steps: e.pulled.updatesAfter / per,
    stepsAtLeast: before ? before.pulled.updatesBefore / per : 0,
    updatesBefore: e.pulled.updatesBefore,
    updatesAfter: e.pulled.updatesAfter,
    evaluationMs: e.pulled.msBeforeEvent,
    evaluations: evals.slice(0, hit + 1).filter((x) => at(x) >= t0).length,
  };
}
