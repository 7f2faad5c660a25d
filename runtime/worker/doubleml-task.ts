// Double machine learning fold tasks on the worker function (one bundle with the training handler):
// one invocation fits every nuisance model of one (repetition, fold) of the cross-fitting on the other
// folds' rows and writes its out-of-fold predictions to S3. The data and the fold assignment are read
// from S3 and checked (CRC-32 / size); the fit is runtime/causal/crossfit.ts's foldFit, the same code the
// single-process computation runs. See runtime/causal/run.ts for the driver side.
import { decodeCausalData } from '../causal/data';
import { encodePredictions, foldFit, type CrossFitPlan } from '../causal/crossfit';
import { decodeFolds } from '../causal/folds';
import { nuisances } from '../causal/models';
import { createS3Client, getObjectBytes, putObjectBytes } from '../storage/s3';
import { s3TargetOf } from './protocol';

export interface DoubleMLTaskEvent {
  task: 'doubleml';
  bucket: string;
  s3Endpoint?: string;
  region: string;
  dataKey: string;
  foldsKey: string;
  /** Where this task's predictions go. */
  outKey: string;
  plan: CrossFitPlan;
  repetition: number;
  fold: number;
  attempt: number;
  /** Fault injection (tests): the process dies as a crashed function would. */
  faults?: { crash?: boolean };
}

export interface DoubleMLTaskResult {
  outKey: string;
  rows: number;
  penalties: Record<string, number>;
  bytesRead: number;
  bytesWritten: number;
  seconds: number;
  fitSeconds: number;
}

export function isDoubleMLTask(event: unknown): event is DoubleMLTaskEvent {
  return typeof event === 'object' && event !== null && (event as { task?: unknown }).task === 'doubleml';
}

export async function runDoubleMLTask(event: DoubleMLTaskEvent): Promise<DoubleMLTaskResult> {
  const started = performance.now();
  if (event.faults?.crash) process.kill(process.pid, 'SIGKILL');
  const s3 = createS3Client(s3TargetOf(event));
  try {
    const [dataBytes, foldBytes] = await Promise.all([getObjectBytes(s3, event.bucket, event.dataKey), getObjectBytes(s3, event.bucket, event.foldsKey)]);
    const data = decodeCausalData(dataBytes, `s3://${event.bucket}/${event.dataKey}`);
    const folds = decodeFolds(foldBytes);
    if (folds.n !== data.n) throw new Error(`the fold assignment has ${folds.n} rows, the data ${data.n}`);
    const fitStarted = performance.now();
    const fit = foldFit(data, folds, event.plan, event.repetition, event.fold);
    const fitSeconds = (performance.now() - fitStarted) / 1000;
    const body = encodePredictions(fit, nuisances(event.plan.model, event.plan.learners).map((s) => s.name));
    await putObjectBytes(s3, event.bucket, event.outKey, body);
    return {
      outKey: event.outKey,
      rows: fit.rows.length,
      penalties: fit.penalties,
      bytesRead: dataBytes.byteLength + foldBytes.byteLength,
      bytesWritten: body.byteLength,
      seconds: (performance.now() - started) / 1000,
      fitSeconds,
    };
  } finally {
    s3.destroy();
  }
}
