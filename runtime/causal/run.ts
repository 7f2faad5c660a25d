// A double machine learning estimate as a serverless map stage (DoubleML-Serverless):
//   load:      read the CSV (runtime/causal/data.ts), check it against the model, upload it once
//              (content-addressed) and the seeded fold assignment to S3;
//   crossfit:  one worker task per (repetition, fold), `workers` at a time, each retried up to
//              `maxAttempts` times; a task writes its out-of-fold predictions to S3;
//   aggregate: read the predictions, compute the scores, theta, SE, CI and p-value (estimate.ts).
// Recorded as a run folder (record.ts) with a per-stage time and cost breakdown.
import { createHash } from 'node:crypto';
import type { RuntimeContext } from '../api';
import { openBackend, type Backend, type BackendChoice } from '../backends/backend';
import { deployFunction, invokeFunction, workerZip } from '../backends/lambda-client';
import { CostMeter } from '../cost/cost-model';
import type { RunEvent, RunSummary, StageName } from '../recording/events';
import { Recording } from '../recording/recorder';
import { getObjectBytes, headObject, putObjectBytes } from '../storage/s3';
import type { DoubleMLTaskEvent, DoubleMLTaskResult } from '../worker/doubleml-task';
import { resolveDoubleMLConfig, type DoubleMLConfig, type ResolvedDoubleMLConfig } from './config';
import { decodePredictions, type CrossFitPlan, type FoldFit } from './crossfit';
import { CausalDataError, encodeCausalData, readCausalCsv, type CausalData } from './data';
import { aggregate, type DoubleMLEstimate } from './estimate';
import { assignFolds, encodeFolds, foldRows, foldsSha256, type FoldAssignment } from './folds';
import { LEARNERS } from './learners';
import { nuisances } from './models';
import { DOUBLEML_FILE, FOLDS_FILE, PLOT_FILE, REPORT_FILE } from './record';
import { foldPlotSvg, reportMarkdown } from './report';

export const DOUBLEML_FUNCTION = 'cirrus-doubleml';

export interface DoubleMLOptions {
  onEvent?: (event: RunEvent) => void;
  signal?: AbortSignal;
  /** Fault injection (tests): these task indices (repetition * folds + fold) crash on their first attempt. */
  faults?: { crashFirstAttempt?: number[] };
}

export interface StageRecord {
  stage: StageName;
  seconds: number;
  gbSeconds: number;
  peakMemoryMB: number;
  costUSD: number;
  workers: number;
  memoryMB: number;
  cost: Record<string, number>;
}

export interface DoubleMLSummary {
  runId: string;
  runFolder: string;
  name: string;
  status: RunSummary['status'];
  reason: string;
  config: ResolvedDoubleMLConfig;
  data: { file: string; rows: number; covariates: string[]; sha256: string };
  folds: { seed: number; folds: number; repetitions: number; sha256: string };
  estimate?: DoubleMLEstimate;
  /** seconds: summed over the tasks, as the workers measured them (fitSeconds: the fits alone). */
  tasks: { total: number; invocations: number; failedAttempts: number; throttled: number; seconds: number; fitSeconds: number };
  seconds: number;
  costUSD: number;
  cost: Record<string, number>;
  stages: StageRecord[];
  /** report.md in the run folder (absent when the estimate failed). */
  reportFile?: string;
}

/** Data rules that depend on the model and the settings; errors name the column or the setting. */
export function checkCausalData(data: CausalData, config: ResolvedDoubleMLConfig, source: string): void {
  if (data.n < config.folds) throw new CausalDataError(`folds is ${config.folds} but ${source} has only ${data.n} data rows: every fold needs rows (lower "folds" or add rows)`);
  const needsBinary = config.model === 'irm' ? `model "irm"` : LEARNERS[config.learners.treatment.type]?.kind === 'classification' ? `learner "${config.learners.treatment.type}" for the treatment` : undefined;
  if (needsBinary) {
    const bad = data.d.findIndex((v) => v !== 0 && v !== 1);
    if (bad >= 0) throw new CausalDataError(`treatment column "${data.treatment}" must be binary (0 or 1) for ${needsBinary}: data row ${bad + 1} has ${data.d[bad]}`);
    for (const group of [0, 1]) {
      const count = data.d.reduce((a, v) => a + (v === group ? 1 : 0), 0);
      if (count < config.folds) throw new CausalDataError(`treatment column "${data.treatment}" has ${count} rows with ${group}: too few for ${config.folds} folds (lower "folds")`);
    }
  }
}

export function crossFitPlan(config: ResolvedDoubleMLConfig): CrossFitPlan {
  return { model: config.model, learners: config.learners, seed: config.seed };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function runDoubleML(input: DoubleMLConfig, ctx: RuntimeContext, options: DoubleMLOptions = {}): Promise<DoubleMLSummary> {
  const config = resolveDoubleMLConfig(input);
  const recorder = new Recording({ stateDir: ctx.stateDir, name: config.name, config, hostLog: ctx.log });
  if (options.onEvent) recorder.onEvent(options.onEvent);
  const { emit } = recorder;
  const stages: StageRecord[] = [];
  const meters: CostMeter[] = [];
  const summary: DoubleMLSummary = {
    runId: recorder.runId,
    runFolder: recorder.dir,
    name: config.name,
    status: 'completed',
    reason: '',
    config,
    data: { file: config.data.path, rows: 0, covariates: [], sha256: '' },
    folds: { seed: config.seed, folds: config.folds, repetitions: config.repetitions, sha256: '' },
    tasks: { total: config.folds * config.repetitions, invocations: 0, failedAttempts: 0, throttled: 0, seconds: 0, fitSeconds: 0 },
    seconds: 0,
    costUSD: 0,
    cost: {},
    stages,
  };
  /** Runs one stage with its own cost meter and records its time and cost. */
  const stage = async <T>(name: StageName, workers: number, memoryMB: number, body: (cost: CostMeter, peak: (mb: number) => void) => Promise<T>): Promise<T> => {
    const cost = new CostMeter();
    meters.push(cost);
    let peakMemoryMB = 0;
    const started = Date.now();
    emit({ type: 'stage-started', stage: name, workers, memoryMB });
    try {
      return await body(cost, (mb) => (peakMemoryMB = Math.max(peakMemoryMB, mb)));
    } finally {
      const record = { stage: name, seconds: (Date.now() - started) / 1000, gbSeconds: cost.gbSeconds, peakMemoryMB, costUSD: cost.totalUSD(), workers, memoryMB };
      stages.push({ ...record, cost: { ...cost.breakdown() } });
      emit({ type: 'stage-finished', ...record });
    }
  };

  let opened: Backend | undefined;
  try {
    emit({ type: 'run-started', name: config.name, config, backend: config.backend });
    const backendConfig: BackendChoice = { backend: config.backend, aws: config.aws };
    const backend = (opened = await openBackend(backendConfig, ctx.stateDir, ctx.awsCredentials));

    const { data, folds, dataKey, foldsKey } = await stage('load', 0, 0, async (cost) => {
      emit({ type: 'progress', stage: 'load', message: `reading ${config.data.path}` });
      const data = await readCausalCsv(config.data.path, config.data, options.signal);
      checkCausalData(data, config, config.data.path);
      const bytes = encodeCausalData(data);
      const digest = sha256(bytes);
      // Content-addressed: the same data (file and column settings) is uploaded once.
      const dataKey = `causal/data/${digest}.bin`;
      cost.s3Gets++; // the HEAD
      if (!(await headObject(backend.s3, backend.bucket, dataKey))) {
        await putObjectBytes(backend.s3, backend.bucket, dataKey, bytes);
        cost.s3Puts++;
      }
      const folds = assignFolds(data.n, config.folds, config.repetitions, config.seed);
      const foldBytes = encodeFolds(folds);
      const foldsKey = `causal/runs/${recorder.runId}/folds.bin`;
      await putObjectBytes(backend.s3, backend.bucket, foldsKey, foldBytes);
      cost.s3Puts++;
      recorder.writeFile(FOLDS_FILE, foldBytes);
      summary.data = { file: config.data.path, rows: data.n, covariates: data.covariates, sha256: digest };
      summary.folds.sha256 = foldsSha256(folds);
      emit({ type: 'log', level: 'info', message: `${data.n} rows, ${data.p} covariate columns; ${config.folds} folds x ${config.repetitions} repetitions (seed ${config.seed}, folds sha256 ${summary.folds.sha256.slice(0, 12)})` });
      return { data, folds, dataKey, foldsKey };
    });

    const plan = crossFitPlan(config);
    const outputs = await stage('crossfit', config.workers, config.lambda.memoryMB, (cost, peak) =>
      runFoldTasks(backend, config, plan, { dataKey, foldsKey, prefix: `causal/runs/${recorder.runId}` }, cost, peak, summary.tasks, emit, options),
    );

    summary.estimate = await stage('aggregate', 0, 0, async (cost) => {
      const names = nuisances(plan.model, plan.learners).map((s) => s.name);
      const fits = await readFoldFits(backend, folds, outputs, names, options.signal);
      cost.s3Gets += outputs.length;
      return aggregate(data, folds, plan, fits, config.trimming);
    });
    const e = summary.estimate;
    summary.reason = `theta ${e.theta.toPrecision(6)} (SE ${e.se.toPrecision(4)}, 95 % CI ${e.ci95[0].toPrecision(5)} to ${e.ci95[1].toPrecision(5)}, p ${e.pValue.toPrecision(3)})`;
  } catch (error) {
    summary.status = options.signal?.aborted ? 'stopped' : 'failed';
    summary.reason = error instanceof Error ? error.message : String(error);
    emit({ type: 'log', level: 'error', message: summary.reason });
  }
  opened?.close();
  summary.seconds = recorder.seconds();
  const total = new CostMeter();
  for (const m of meters) {
    total.gbSeconds += m.gbSeconds;
    total.invocations += m.invocations;
    total.s3Gets += m.s3Gets;
    total.s3Puts += m.s3Puts;
  }
  summary.costUSD = total.totalUSD();
  summary.cost = { ...total.breakdown() };
  emit({ type: 'cost', totalUSD: summary.costUSD, byComponent: summary.cost });
  recorder.writeFile(DOUBLEML_FILE, JSON.stringify(summary, null, 2) + '\n');
  if (summary.estimate) {
    recorder.writeFile(PLOT_FILE, foldPlotSvg(summary.estimate));
    summary.reportFile = recorder.writeFile(REPORT_FILE, reportMarkdown(summary, PLOT_FILE));
  }
  recorder.finish({
    status: summary.status,
    reason: summary.reason,
    testLoss: null,
    testAccuracy: null,
    seconds: summary.seconds,
    samples: summary.data.rows,
    samplesPerSecond: 0,
    costUSD: summary.costUSD,
    cost: summary.cost,
    stages: stages.map(({ cost: _cost, ...rest }) => rest),
  });
  return summary;
}

/** The crossfit stage: every (repetition, fold) task on the worker function, `workers` at a time,
 *  a failed attempt (function error, crash, timeout, throttling) retried up to maxAttempts. */
async function runFoldTasks(
  backend: Backend,
  config: ResolvedDoubleMLConfig,
  plan: CrossFitPlan,
  where: { dataKey: string; foldsKey: string; prefix: string },
  cost: CostMeter,
  peak: (mb: number) => void,
  counts: DoubleMLSummary['tasks'],
  emit: Recording['emit'],
  options: DoubleMLOptions,
): Promise<Array<{ outKey: string; penalties: Record<string, number> }>> {
  const memoryMB = config.lambda.memoryMB;
  await deployFunction(backend.lambda, {
    name: DOUBLEML_FUNCTION,
    zip: workerZip(),
    handler: 'index.handler',
    memoryMB,
    timeoutSeconds: config.lambda.timeoutSeconds ?? backend.defaultTimeoutSeconds,
    environment: backend.workerEnvironment,
  });
  const total = config.folds * config.repetitions;
  const outputs = new Array<{ outKey: string; penalties: Record<string, number> }>(total);
  let next = 0;
  let done = 0;
  const runTask = async (index: number): Promise<void> => {
    const repetition = Math.floor(index / config.folds);
    const fold = index % config.folds;
    const outKey = `${where.prefix}/predictions/r${repetition}-k${fold}.bin`;
    let lastError = '';
    let throttled = 0;
    for (let attempt = 1; attempt <= config.maxAttempts; attempt++) {
      options.signal?.throwIfAborted();
      const event: DoubleMLTaskEvent = {
        task: 'doubleml',
        bucket: backend.bucket,
        s3Endpoint: backend.workerS3Endpoint,
        region: backend.region,
        dataKey: where.dataKey,
        foldsKey: where.foldsKey,
        outKey,
        plan,
        repetition,
        fold,
        attempt,
        ...(attempt === 1 && options.faults?.crashFirstAttempt?.includes(index) ? { faults: { crash: true } } : {}),
      };
      counts.invocations++;
      emit({ type: 'worker-launched', worker: index, generation: attempt - 1, reason: attempt === 1 ? 'start' : 'relaunch-after-failure' });
      let error: string | undefined;
      let billedMs = 0;
      try {
        const result = await invokeFunction(backend.lambda, DOUBLEML_FUNCTION, event, { signal: options.signal });
        billedMs = result.billedMs ?? 0;
        cost.addInvocation(billedMs, memoryMB);
        peak(result.maxMemoryUsedMB ?? 0);
        const payload = result.payload as DoubleMLTaskResult & { errorMessage?: string };
        if (result.functionError) error = payload?.errorMessage ?? result.functionError;
        else {
          cost.s3Gets += 2;
          cost.s3Puts += 1;
          counts.seconds += payload.seconds;
          counts.fitSeconds += payload.fitSeconds;
          emit({ type: 'worker-finished', worker: index, generation: attempt - 1, status: 'done', billedMs, memoryMB, samples: payload.rows });
          outputs[index] = { outKey, penalties: payload.penalties };
          done++;
          emit({ type: 'progress', stage: 'crossfit', message: `${done} of ${total} fold tasks done (repetition ${repetition + 1}, fold ${fold + 1})`, fraction: done / total });
          return;
        }
      } catch (thrown) {
        if (options.signal?.aborted) throw thrown;
        if ((thrown as { name?: string }).name === 'TooManyRequestsException') {
          // The backend's concurrency is full (other work on the account or service): wait for a slot;
          // the task did not run, so this is not one of its attempts.
          emit({ type: 'worker-finished', worker: index, generation: attempt - 1, status: 'stopped', error: 'throttled: waiting for a free slot', billedMs: 0, memoryMB, samples: 0 });
          counts.throttled++;
          await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** Math.min(4, throttled++)));
          attempt--;
          continue;
        }
        error = thrown instanceof Error ? thrown.message : String(thrown);
      }
      counts.failedAttempts++;
      lastError = error;
      emit({ type: 'worker-finished', worker: index, generation: attempt - 1, status: 'failed', error, billedMs, memoryMB, samples: 0 });
    }
    throw new Error(`fold task (repetition ${repetition + 1}, fold ${fold + 1}) failed ${config.maxAttempts} times (maxAttempts); last error: ${lastError}`);
  };
  // A pool of `workers` loops, each taking the next task: at most `workers` invocations at a time.
  let failure: unknown;
  await Promise.all(
    Array.from({ length: Math.min(config.workers, total) }, async () => {
      while (next < total && failure === undefined) {
        const index = next++;
        await runTask(index).catch((error) => (failure ??= error));
      }
    }),
  );
  if (failure !== undefined) throw failure;
  return outputs;
}

async function readFoldFits(backend: Backend, folds: FoldAssignment, outputs: Array<{ outKey: string; penalties: Record<string, number> }>, names: string[], signal?: AbortSignal): Promise<FoldFit[]> {
  return Promise.all(
    outputs.map(async ({ outKey: key, penalties }, index) => {
      const repetition = Math.floor(index / folds.folds);
      const fold = index % folds.folds;
      const rows = foldRows(folds, repetition, fold, 'test');
      const predictions = decodePredictions(await getObjectBytes(backend.s3, backend.bucket, key, signal), names, rows.length);
      return { repetition, fold, rows, predictions, penalties };
    }),
  );
}
