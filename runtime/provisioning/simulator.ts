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
  /** One Node parameter-server process (a c6i.large): ~700 updates/s of ~2,000 rows measured on this
   *  project's 2-core machine (docs/benchmarks.md psUpdates); taken as the same on a c6i.large. */
  psUpdatesPerSecond: 700,
  /** S3: at least 5,500 GET/HEAD per second per partitioned prefix. */
  s3GetsPerSecond: 5500,
  /** Per-function network bandwidth, MB/s (~60 MB/s Cirrus-era figure; Boxer measured 78 MB/s). */
  networkMBps: 60,
} as const;

export function awsEnvironment(): Environment {
  return { kind: 'aws', cores: 0, ...AWS_LIMITS };
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
  const env = opts.environment ?? awsEnvironment();
  const rows: SimulationRow[] = [];
  for (const memoryMB of opts.memoryMB ?? (env.kind === 'aws' ? MEMORY_GRID : [config.lambda.memoryMB])) {
    for (const workers of opts.workers ?? WORKER_GRID) rows.push({ ...predictRun(model, config, env, workers, memoryMB), environment: env.kind });
  }
  return rows;
}

/** The local environment a calibration run uses (this machine's cores). */
export { localEnvironment };
