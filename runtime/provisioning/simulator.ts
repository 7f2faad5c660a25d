// The simulator: the fitted performance model plus AWS's published limits and prices predicts a run's
// time and dollars at sizes this machine cannot run (up to 1,000 workers, any memory). Sources of
// every constant are in docs/provisioning.md. The same prediction with the local environment is
// what gets calibrated against real local runs (bench section `provisioning`).
import type { ResolvedRunConfig as RunConfig } from '../config/run-config';
import type { Environment, PerfModel, Prediction } from './perf-model';
import { localEnvironment, predictRun } from './perf-model';

/** AWS Lambda and S3 figures (docs/provisioning.md lists the source of each). */
export const AWS_LIMITS = {
  /** Node.js cold start, p50 x86 (150-300 ms; secondary sources, none from AWS): the middle. */
  coldStartSeconds: 0.25,
  /** Lambda scaling: 1,000 new execution environments every 10 s per function. */
  environmentsPer10s: 1000,
  /** Default account concurrency per Region. */
  concurrencyLimit: 1000,
  /** Lambda to an EC2 parameter server in the same Region: two round trips per update, ~0.5 ms each. */
  extraChannelSecondsPerUpdate: 0.001,
  /** S3: at least 5,500 GET/HEAD per second per partitioned prefix. */
  s3GetsPerSecond: 5500,
  /** Per-function network bandwidth, MB/s (~60 MB/s Cirrus-era figure; Boxer measured 78 MB/s). */
  networkMBps: 60,
} as const;

/**
 * One Node parameter-server process, [minibatch, updates/s]: an update is a pull and a push of the rows a
 * minibatch touches. Measured on this project's 2-core machine (`node --import tsx bench/ps-capacity.ts`,
 * 2 clients, the median of 3 runs, 2026-12-02, load 0.5-1.2) and taken as the same on a c6i.large:
 * `sparse`, logistic regression on Criteo 10k hashed to 2^20 (1 float a row, AdaGrad); `mf`, MovieLens 100k
 * u1.base with 50 factors (51 floats a row, SGD). A workload of another shape can be measured the same way
 * (`measurePsCapacity`) and passed as the environment's `psCapacity`.
 */
export const PS_CAPACITY = {
  sparse: [[100, 12_171], [300, 9_488], [1000, 5_570], [3000, 2_143], [10_000, 1_209]],
  mf: [[100, 12_956], [300, 7_946], [1000, 3_708], [3000, 2_440], [10_000, 1_899]],
} satisfies Record<string, Array<[number, number]>>;

/** AWS, with the parameter server's capacity for the config's kind of model (sparse rows unless MF). */
export function awsEnvironment(config?: Pick<RunConfig, 'model'>): Environment {
  return { kind: 'aws', cores: 0, ...AWS_LIMITS, psCapacity: config?.model.type === 'mf' ? PS_CAPACITY.mf : PS_CAPACITY.sparse };
}

/** Lambda memory sizes the grid searches (MB). */
export const MEMORY_GRID = [512, 1024, 1769, 2048, 3008, 4096, 6144, 8192, 10240];
/** Worker counts the grid searches. */
export const WORKER_GRID = [1, 2, 4, 8, 10, 16, 25, 32, 50, 64, 100, 128, 200, 256, 500, 1000];

export interface SimulationRow extends Prediction {
  environment: Environment['kind'];
}

/** Predictions for every workers x memory pair. */
export function simulate(model: PerfModel, config: RunConfig, opts: { workers?: number[]; memoryMB?: number[]; environment?: Environment } = {}): SimulationRow[] {
  const env = opts.environment ?? awsEnvironment(config);
  const rows: SimulationRow[] = [];
  for (const memoryMB of opts.memoryMB ?? (env.kind === 'aws' ? MEMORY_GRID : [config.lambda.memoryMB])) {
    for (const workers of opts.workers ?? WORKER_GRID) rows.push({ ...predictRun(model, config, env, workers, memoryMB), environment: env.kind });
  }
  return rows;
}

/** The local environment a calibration run uses (this machine's cores). */
export { localEnvironment };
