// coldStart: from the driver invoking a worker to that worker's first pushed gradient, for a new
// execution environment (cold) and for a warm one, and what a sweep's next trial pays before its
// first gradient. Two training runs back to back on the same function (a sweep's trials do the same).
import { type BenchContext, type SectionResult } from '../context';
import type { WorkerStartup } from '../../runtime/recording/events';
import { runTraining, type TrainingRun } from '../training-run';

/** A short time limit: each worker returns (after its margin of 1 s) and is relaunched every ~4 s;
 *  long enough for a cold start on a loaded machine to reach its first gradient before it returns. */
const TIMEOUT_SECONDS = 5;

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]);
}

/** worker-finished events with the invoke-to-first-gradient figure, split by cold and warm start. */
function firstGradients(run: TrainingRun): { cold: number[]; warm: number[]; each: string[]; coldSteps: WorkerStartup[]; warmSteps: WorkerStartup[] } {
  const cold: number[] = [];
  const warm: number[] = [];
  const each: string[] = [];
  const coldSteps: WorkerStartup[] = [];
  const warmSteps: WorkerStartup[] = [];
  for (const { event } of run.events) {
    if (event.type !== 'worker-finished') continue;
    each.push(`w${event.worker}g${event.generation}:${event.status}:${event.coldStart ? 'cold' : 'warm'}:${event.firstGradientMs ?? '-'}${event.error ? `:${event.error.slice(0, 200)}` : ''}`);
    if (event.firstGradientMs === undefined) continue;
    (event.coldStart ? cold : warm).push(event.firstGradientMs);
    if (event.startup) (event.coldStart ? coldSteps : warmSteps).push(event.startup);
  }
  return { cold, warm, each, coldSteps, warmSteps };
}

/** The median of each start-up step (ms; the steps after handler entry are cumulative from it). */
function medianSteps(all: WorkerStartup[]): Record<string, number | null> | null {
  if (all.length === 0) return null;
  const keys = [...new Set(all.flatMap((s) => Object.keys(s)))] as Array<keyof WorkerStartup>;
  return Object.fromEntries(keys.map((k) => [k, median(all.map((s) => s[k]).filter((v): v is number => v !== undefined && v >= 0))]));
}

/** A cold start's timeline: ms from the driver's Invoke call to each milestone, in the order they
 *  happen (the S3 read runs beside the parameter-server connection and the first heartbeat). */
function coldTimeline(s: WorkerStartup): Record<string, number> | null {
  if (s.nodeBootstrapMs === undefined || s.runtimeReadyMs === undefined || s.initMs === undefined) return null;
  const handler = s.invokeToHandlerMs;
  const processStart = handler - s.processUptimeMs;
  const after = (ms: number | undefined) => (ms === undefined || ms < 0 ? -1 : handler + ms);
  return {
    processStarted: processStart, // the Lambda API call, the service, spawning the process
    nodeBootstrapped: processStart + s.nodeBootstrapMs, // Node's own start-up
    runtimeReady: processStart + s.runtimeReadyMs, // the local runtime's script (dist/lambda-runner.js)
    initStarted: handler - s.initMs, // the runtime's ready message and the service's invoke message
    handlerEntered: handler, // Init Duration: loading dist/worker/index.js
    psConnected: after(s.psConnectedMs),
    firstHeartbeat: after(s.firstHeartbeatMs),
    partitionReceived: after(s.partitionGetMs), // the signed GET's last byte (started at handler entry)
    partitionDecoded: after(s.partitionGetMs === undefined || s.partitionDecodeMs === undefined ? undefined : s.partitionGetMs + s.partitionDecodeMs),
    trainingStarted: after(s.firstPartitionMs), // the heartbeat answered and the partition decoded
    firstGradient: after(s.firstGradientMs), // the first minibatch's pull, gradient and push
  };
}

/** The median of each milestone over the cold starts that have a timeline. */
function medianTimeline(all: WorkerStartup[]): Record<string, number | null> | null {
  const lines = all.map(coldTimeline).filter((t): t is Record<string, number> => t !== null);
  if (lines.length === 0) return null;
  return Object.fromEntries(Object.keys(lines[0]).map((k) => [k, median(lines.map((t) => t[k]).filter((v) => v >= 0))]));
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
  // 1: deploys the dataset and warms up; 2: a new function configuration (time limit), so its
  // environments start cold, as every trial's did before warm environments; 3: the same function, warm;
  // 4: another configuration, cold again (two more cold starts from the code cache: six in all, so one
  // slow start moves the median less).
  const runs = [
    await runTraining(ctx.tmp, 'async-sgd', { maxSeconds: 14, timeoutSeconds: TIMEOUT_SECONDS, keepServices: true }),
    await runTraining(ctx.tmp, 'async-sgd', { maxSeconds: 8, timeoutSeconds: TIMEOUT_SECONDS + 1, keepServices: true }),
    await runTraining(ctx.tmp, 'async-sgd', { maxSeconds: 8, timeoutSeconds: TIMEOUT_SECONDS + 1, keepServices: true }),
    await runTraining(ctx.tmp, 'async-sgd', { maxSeconds: 4, timeoutSeconds: TIMEOUT_SECONDS + 2 }),
  ];
  const figures = runs.map(firstGradients);
  const cold = figures.flatMap((f) => f.cold);
  const warm = figures.flatMap((f) => f.warm);
  if (cold.length + warm.length === 0) throw new Error('no worker reported a first gradient');
  const trialCold = startToFirstGradient(runs[1]);
  const trialWarm = startToFirstGradient(runs[2]);
  return {
    coldMilliseconds: median(cold),
    // Run 1's cold starts are the code's first (nothing in the local service's code cache yet); runs 2 and
    // 4's find the cache the first ones wrote (same code and heap size): docs/local-lambda.md, "The code cache".
    coldFirstVersionMs: median(figures[0].cold),
    coldCodeCachedMs: median([...figures[1].cold, ...figures[3].cold]),
    warmMilliseconds: median(warm),
    coldInvocations: cold.length,
    coldSteps: medianSteps(figures.flatMap((f) => f.coldSteps)),
    coldTimeline: medianTimeline(figures.flatMap((f) => f.coldSteps)),
    coldTimelines: figures.flatMap((f) => f.coldSteps).map(coldTimeline),
    warmSteps: medianSteps(figures.flatMap((f) => f.warmSteps)),
    // Returned (time limit) before any gradient: slower than the limit allowed, not in the medians.
    invocationsWithoutGradient: figures.reduce((n, f) => n + f.each.filter((x) => x.endsWith(':-')).length, 0),
    warmInvocations: warm.length,
    trialStartToGradientColdMs: trialCold,
    trialStartToGradientWarmMs: trialWarm,
    trialOverheadSavedMs: trialCold !== null && trialWarm !== null ? trialCold - trialWarm : null,
    thirdRunAllWarm: figures[2].cold.length === 0,
    invocations: figures.map((f) => f.each.join(' ')),
    notes:
      `Four trainings back to back on one embedded stack (2 workers each, 14, 8, 8 and 4 s, Lambda timeout ${TIMEOUT_SECONDS}-${TIMEOUT_SECONDS + 2} s so each worker returns and is relaunched every 4-6 s; run 4 changes the configuration again for two more cold starts). ` +
      "Figure per invocation: the driver's Invoke call to the worker's first pushed gradient (worker-finished.firstGradientMs); cold = the local Lambda service started a new environment " +
      '(REPORT has Init Duration: process start, loading dist/worker/index.js, the first S3 read), warm = it reused one (partitions already decoded in it). Medians over all four runs. ' +
      "Trial overhead (a sweep's next trial): startTraining to the first gradient of the run's first workers, with the dataset already deployed; run 2 changes the function's time limit, " +
      'so its environments start cold (as every trial did before warm environments); run 3 repeats it and finds them warm. Both include the load stage (reusing the deployed copy), ' +
      'starting the parameter server and deployFunction (run 2 updates the configuration; run 3 changes nothing). ' +
      'coldSteps / warmSteps: medians of where the time went: invokeToHandlerMs (the driver\'s Invoke to the handler\'s entry: the Lambda API call, ' +
      'and for a cold start the new process), processUptimeMs (how long the process had been up at handler entry: Node\'s start-up and loading the code), ' +
      'then from handler entry: psConnectedMs, firstHeartbeatMs, firstPartitionMs (S3 read and decode, or held), firstGradientMs. ' +
      'coldTimeline: median ms from the Invoke call to each milestone of a cold start (process started, Node bootstrapped, runtime script ran, ' +
      'Init Duration started, handler entered, PS connected, first heartbeat, partition received and decoded, training started, first gradient): docs/benchmarks.md, coldStart.',
  };
}
