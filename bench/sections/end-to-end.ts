// endToEnd: training samples/s of a whole local run (2 Lambda-style workers + the parameter server,
// all on this machine) against one native core running the reference kernel on the same file.
import { type BenchContext, round, type SectionResult } from '../context';
import { E2E_AVERAGING_MINIBATCH, E2E_MINIBATCH, E2E_REPEAT, E2E_SECONDS, E2E_WORKERS, runTraining, type TrainingRun } from '../training-run';

let shared: Promise<TrainingRun> | undefined;
/** The run is shared with coldStart (one run per bench). */
export function trainingRun(ctx: BenchContext): Promise<TrainingRun> {
  shared ??= runTraining(ctx.tmp);
  return shared;
}

export async function endToEnd(ctx: BenchContext): Promise<SectionResult> {
  const run = await trainingRun(ctx);
  const averaging = await runTraining(ctx.tmp, 'model-averaging');
  const native = ctx.runRefkernel(run.file, [20, 3, 0.05, 0.1]);
  const s = run.summary;
  const a = averaging.summary;
  const best = Math.max(s.samplesPerSecond, a.samplesPerSecond);
  return {
    samplesPerSecond: Math.round(best),
    nativeSamplesPerSecond: Math.round(native.samples_per_s),
    ratio: round(best / native.samples_per_s),
    asyncSgd: { samplesPerSecond: Math.round(s.samplesPerSecond), ratio: round(s.samplesPerSecond / native.samples_per_s), testLogLoss: s.testLoss === null ? null : round(s.testLoss, 5), samples: s.samples },
    modelAveraging: { samplesPerSecond: Math.round(a.samplesPerSecond), ratio: round(a.samplesPerSecond / native.samples_per_s), testLogLoss: a.testLoss === null ? null : round(a.testLoss, 5), samples: a.samples },
    nativeTestLogLoss: round(native.test_logloss, 5),
    trainSeconds: round(s.stages.find((x) => x.stage === 'train')?.seconds ?? NaN, 1),
    notes:
      `startTraining (runtime/index.ts) on the Criteo 10k sample repeated ${E2E_REPEAT}x (test fraction 0.1), local backend, ` +
      `${E2E_WORKERS} workers (child processes of the local Lambda service), AdaGrad lr 0.05, stopped after ${E2E_SECONDS} s, in two modes: ` +
      `asynchronous SGD (minibatch ${E2E_MINIBATCH}, a gradient push per minibatch, the optimiser on the parameter server) and model averaging ` +
      `(minibatch ${E2E_AVERAGING_MINIBATCH}, per-sample AdaGrad in the worker's wasm kernel, a weight-change push per minibatch); the ratio is the faster mode's. ` +
      "samplesPerSecond = the run summary's (samples / train-stage seconds, worker start-up included). Native: refkernel on the same file, 3 epochs, one core. " +
      'Everything shares this 2-core machine (workers, parameter server, S3, driver), unlike Lambda.',
  };
}
