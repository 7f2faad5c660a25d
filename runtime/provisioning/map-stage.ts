// A map stage's time and dollars: N independent tasks (DoubleML's K x R fold fits) run `workers` at a
// time. The training model (perf-model.ts) describes iterative training against a parameter server; a
// map stage has no channel, only waves of tasks, so its model is this small one. Fitted from one real
// local run (the tasks' own durations and the stage's wall time), calibrated on runs with more workers,
// and evaluated with AWS's limits and prices (simulator.ts) at sizes this machine cannot run.
import { PRICES } from '../cost/prices';
import { lambdaCoreShare, localCoreShare, type Environment } from './perf-model';

/** What one real run of the stage measured. */
export interface MapStageRun {
  tasks: number;
  workers: number;
  /** Wall time of the map stage alone. */
  stageSeconds: number;
  /** Wall time of everything else (deploy, load, aggregate). */
  fixedSeconds: number;
  /** The tasks' durations summed, as the workers measured them (on a whole core locally). */
  taskSecondsTotal: number;
  /** Bytes each task reads from S3 (the data and the fold assignment). */
  bytesReadPerTask: number;
}

export interface MapStageModel {
  tasks: number;
  fixedSeconds: number;
  /** One task's compute on one whole core. */
  taskSeconds: number;
  /** Per task, outside the task: the invocation and the worker's start-up (measured locally). */
  overheadSeconds: number;
  bytesReadPerTask: number;
}

export interface MapStagePrediction {
  workers: number;
  memoryMB: number;
  seconds: number;
  usd: number;
  /** Rounds of `workers` tasks. */
  waves: number;
}

/** Round trip of one Lambda Invoke from the driver, seconds (same Region; the local figure is measured). */
const AWS_INVOKE_SECONDS = 0.02;
/** Requests per task: GET of the data and of the folds, PUT of the fits. */
const S3_GETS_PER_TASK = 2;
const S3_PUTS_PER_TASK = 1;

/** Fit from a run with `workers` at most the machine's cores (each task then has a whole core). */
export function fitMapStage(run: MapStageRun): MapStageModel {
  const taskSeconds = run.taskSecondsTotal / run.tasks;
  const waves = Math.ceil(run.tasks / run.workers);
  // What the stage took beyond the tasks' own compute, spread over its waves.
  const overheadSeconds = Math.max(0, run.stageSeconds / waves - taskSeconds);
  return { tasks: run.tasks, fixedSeconds: run.fixedSeconds, taskSeconds, overheadSeconds, bytesReadPerTask: run.bytesReadPerTask };
}

export function predictMapStage(model: MapStageModel, env: Environment, workers: number, memoryMB: number): MapStagePrediction {
  const concurrency = Math.min(workers, model.tasks, env.concurrencyLimit);
  const waves = Math.ceil(model.tasks / concurrency);
  if (env.kind === 'local') {
    // Local tasks are processes sharing this machine's cores; the driver only waits.
    const share = localCoreShare(concurrency, env.cores, 0);
    const seconds = model.fixedSeconds + waves * (model.taskSeconds + model.overheadSeconds) / share;
    return { workers, memoryMB, seconds, usd: taskDollars(model, memoryMB, model.taskSeconds), waves };
  }
  // AWS: each environment has its own share of a vCPU (memory-proportional); new environments arrive at
  // Lambda's scaling rate, each with one cold start; the S3 read is bounded by the function's bandwidth.
  const taskSeconds = model.taskSeconds / lambdaCoreShare(memoryMB) + model.bytesReadPerTask / (env.networkMBps * 1e6);
  const scalingSeconds = Math.max(0, Math.ceil(concurrency / env.environmentsPer10s) - 1) * 10;
  const seconds = model.fixedSeconds + scalingSeconds + env.coldStartSeconds + waves * (taskSeconds + AWS_INVOKE_SECONDS);
  return { workers, memoryMB, seconds, usd: taskDollars(model, memoryMB, taskSeconds), waves };
}

/** Lambda GB-seconds and requests plus S3 requests for every task (the parallelism does not change them). */
function taskDollars(model: MapStageModel, memoryMB: number, billedSecondsPerTask: number): number {
  const perTask =
    billedSecondsPerTask * (memoryMB / 1024) * PRICES.lambdaPerGBSecond +
    PRICES.lambdaPerRequest +
    S3_GETS_PER_TASK * PRICES.s3PerGet +
    S3_PUTS_PER_TASK * PRICES.s3PerPut;
  return model.tasks * perTask;
}
