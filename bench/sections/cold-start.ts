// coldStart: from the driver invoking a worker to that worker's first pushed gradient, for a new
// execution environment (cold) and for a warm one, and what a sweep's next trial pays before its
// first gradient. Two training runs back to back on the same function (a sweep's trials do the same).
import { type BenchContext, round, type SectionResult } from '../context';
import { runTraining, type TrainingRun } from '../training-run';

/** A short time limit: each worker returns (after its margin of 1 s) and is relaunched every ~2 s. */
const TIMEOUT_SECONDS = 3;

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]);
}

/** worker-finished events with the invoke-to-first-gradient figure, split by cold and warm start. */
function firstGradients(run: TrainingRun): { cold: number[]; warm: number[] } {
  const cold: number[] = [];
  const warm: number[] = [];
  for (const { event } of run.events) {
    if (event.type !== 'worker-finished' || event.firstGradientMs === undefined) continue;
    (event.coldStart ? cold : warm).push(event.firstGradientMs);
  }
  return { cold, warm };
}

/** From startTraining to the first gradient any worker pushed (the bench's clock). */
function startToFirstGradient(run: TrainingRun): number | null {
  const launched = new Map<string, number>();
  let first = Infinity;
  for (const { at, event } of run.events) {
    if (event.type === 'worker-launched') launched.set(`${event.worker}/${event.generation}`, at);
    if (event.type === 'worker-finished' && event.firstGradientMs !== undefined && event.generation === 0) {
      const t0 = launched.get(`${event.worker}/${event.generation}`);
      if (t0 !== undefined) first = Math.min(first, t0 + event.firstGradientMs - run.startedAt);
    }
  }
  return Number.isFinite(first) ? Math.round(first) : null;
}

export async function coldStart(ctx: BenchContext): Promise<SectionResult> {
  const first = await runTraining(ctx.tmp, 'async-sgd', { maxSeconds: 10, timeoutSeconds: TIMEOUT_SECONDS, keepServices: true });
  const second = await runTraining(ctx.tmp, 'async-sgd', { maxSeconds: 4, timeoutSeconds: TIMEOUT_SECONDS });
  const a = firstGradients(first);
  const b = firstGradients(second);
  const cold = [...a.cold, ...b.cold];
  const warm = [...a.warm, ...b.warm];
  if (cold.length + warm.length === 0) throw new Error('no worker reported a first gradient');
  const trialFirst = startToFirstGradient(first);
  const trialNext = startToFirstGradient(second);
  return {
    coldMilliseconds: median(cold),
    warmMilliseconds: median(warm),
    coldInvocations: cold.length,
    warmInvocations: warm.length,
    nextTrialWarmStarts: b.warm.length > 0 && b.cold.length === 0,
    firstTrialStartToGradientMs: trialFirst,
    nextTrialStartToGradientMs: trialNext,
    trialOverheadSavedMs: trialFirst !== null && trialNext !== null ? trialFirst - trialNext : null,
    ratioColdToWarm: median(warm) ? round((median(cold) ?? NaN) / (median(warm) ?? NaN), 2) : null,
    notes:
      `Two trainings back to back on the same function (2 workers, local backend, Lambda timeout ${TIMEOUT_SECONDS} s so each worker returns and is relaunched every ~2 s; 10 s then 4 s). ` +
      "Figure per invocation: the driver's Invoke call to the worker's first pushed gradient (worker-finished.firstGradientMs); cold = the local Lambda service started a new environment " +
      '(REPORT has Init Duration: process start, loading dist/worker/index.js, the AWS SDK, the first S3 read), warm = it reused one (partitions already decoded in it). Medians. ' +
      "Trial overhead: startTraining to the first gradient of the run's first workers: the first run starts cold, the second (a sweep's next trial) finds the first run's environments warm; " +
      'it includes the load stage (the deployed dataset is reused), starting the parameter server and deploying the function (unchanged code is not uploaded).',
  };
}
