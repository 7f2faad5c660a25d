// The run configuration: `RunConfig` as written (`*.cirrus.json`, validated against
// schemas/run-config.schema.json: most settings may be left out), and `ResolvedRunConfig`, what a run
// actually uses, with every default filled in (runtime/config/resolve.ts, from the table in defaults.ts).
import type { ByzantineKind } from '../aggregation/byzantine';
import type { FilterSettings } from '../aggregation/filters';
import type { AggregationRule } from '../aggregation/robust';
import type { TrainingScheme } from '../channels/collectives';

export type TrainingSync = 'async-sgd' | 'model-averaging' | 'sync-sgd';
export type SyncChannel = 'ps' | 's3' | 'redis';
export const SYNC_CHANNELS: readonly SyncChannel[] = ['ps', 's3', 'redis'];

/** training's synchronous settings, resolved (runtime/config/resolve.ts). */
export interface ResolvedSynchronous {
  channel: SyncChannel;
  scheme: TrainingScheme;
  average: 'gradients' | 'models';
  aggregation: { rule: AggregationRule; f: number; m?: number };
  stepTimeoutSeconds: number;
  redisUrl?: string;
}
import type { ScreenSettings } from '../aggregation/screen';
import type { DatasetFormat } from '../data/manifest';
import type { NetworkSetting } from '../network/profile';

export type OptimizerType = 'sgd' | 'momentum' | 'adagrad' | 'adam';
export type ModelType = 'logistic' | 'mf' | 'softmax';
export type BackendType = 'local' | 'aws';

export interface RunConfig {
  name?: string;
  dataset: {
    path: string; // local file or s3://bucket/prefix of a deployed dataset
    format?: DatasetFormat;
    testFraction?: number;
    testPath?: string;
    labelColumn?: string; // csv: a column name or 0-based position
    skipBad?: boolean;
    /** csv: column roles set by hand over the inferred ones (docs/datasets.md). */
    columns?: Record<string, 'numeric' | 'categorical' | 'ignore' | 'label' | 'timestamp'>;
    /** csv: 'auto' (default) scales numeric columns from the training rows; 'none' keeps raw values. */
    scaling?: 'auto' | 'none';
  };
  /** Optional when the dataset's format implies it (ratings: mf; criteo, libsvm, csv: logistic). */
  model?: {
    type?: ModelType;
    hashBits?: number; // logistic/softmax: feature hashing bits
    factors?: number; // mf
    classes?: number; // softmax
  };
  optimizer?: {
    type?: OptimizerType;
    learningRate?: number;
    l2?: number;
    momentum?: number;
    clipNorm?: number; // the parameter server clips each push's gradients to this L2 norm
  };
  training?: {
    workers?: number;
    minibatch?: number;
    maxSeconds?: number;
    targetLoss?: number;
    /** Stop when the test loss stays above the best one for this many evaluations in a row (default 5;
     *  0: off, and the base-rate check with it). */
    patience?: number;
    epochs?: number;
    evalEverySeconds?: number;
    /** How workers update the model: 'async-sgd' pushes every minibatch's gradient (Cirrus, default);
     *  'model-averaging' trains locally per sample and pushes the change once per minibatch (LambdaML);
     *  'sync-sgd' steps all workers together: each step every worker contributes its update through
     *  `channel`, they are aggregated, and no worker starts the next step before the merged update is in
     *  (docs/design-space.md). */
    sync?: TrainingSync;
    /** sync-sgd only: where the workers' updates meet (default "ps": the parameter server's store). */
    channel?: SyncChannel;
    /** sync-sgd only: LambdaML's AllReduce (one worker reduces, default) or ScatterReduce (worker j reduces key range j). */
    scheme?: TrainingScheme;
    /** sync-sgd only: what a worker contributes each step: its minibatch gradient (default) or the change
     *  of its local model after training the minibatch (LambdaML's model averaging; logistic + adagrad). */
    average?: 'gradients' | 'models';
    /** sync-sgd only: how a step's updates are merged (runtime/aggregation/robust.ts); default "mean". The
     *  object form sets f, the Byzantine workers to tolerate (default 1 for krum, multi-krum, trimmed-mean). */
    aggregation?: AggregationRule | { rule: AggregationRule; f?: number; m?: number };
    /** sync-sgd only: how long a step waits for a worker before it goes on without it (default 30 s). */
    stepTimeoutSeconds?: number;
    /** sync-sgd with channel "redis" on the aws backend: the Redis (ElastiCache) URL; locally the runtime starts its own. */
    redisUrl?: string;
    /** What of each worker update is pushed now (runtime/aggregation/filters.ts); unset: everything.
     *  significance: threshold defaults to DEFAULTS.training.significanceThreshold. */
    filter?: { type: 'significance'; threshold?: number; maxThreshold?: number } | { type: 'topk'; fraction: number };
    /** Parameter-server checkpoints to S3 (model + optimiser state), default every 10 s. */
    checkpointEverySeconds?: number;
    /** Finish within this many seconds: the planner picks workers (at most `workers`) and memory (docs/provisioning.md). */
    deadlineSeconds?: number;
    /** Hard limit on the run's dollars: the run stops, model saved, before the next tick would pass it. */
    budgetUSD?: number;
    /** Re-plan workers (at most `workers`) and memory while training (runtime/provisioning/adaptive.ts). */
    adaptive?: boolean;
    /** How often an adaptive run re-plans (default DEFAULTS.training.adaptiveEverySeconds). */
    adaptiveEverySeconds?: number;
  };
  backend?: BackendType;
  /** Local backend only: the network workers see ("loopback" default, or "aws" with figures overridable; docs/network.md). */
  network?: NetworkSetting;
  lambda?: {
    /** "auto": the smallest memory that holds the workers' measured peak (docs/provisioning.md, right-sizing). */
    memoryMB?: number | 'auto';
    timeoutSeconds?: number;
    functionName?: string;
  };
  /** The parameter server. `tls` (default off locally, always on AWS) speaks TLS with a per-run
   *  certificate the workers pin (docs/security.md); `shards` (default 1) and the update `screen`
   *  (default off) are the asynchronous modes' (docs/filters.md). */
  parameterServer?: { tls?: boolean; shards?: number; screen?: boolean | Partial<ScreenSettings> };
  /** Fault injection for tests and demos (off by default). */
  faults?: RunFaults;
  aws?: AwsSettings;
}

/** The aws backend's settings (docs/aws.md). Guardrails and the instance's settings get defaults on resolve. */
export interface AwsSettings {
  region?: string;
  profile?: string;
  bucket?: string;
  roleArn?: string;
  /** A parameter server of the user's own; unset: the driver starts one on EC2 for the run. */
  parameterServerAddress?: string;
  /** The parameter server's EC2 instance type (default in DEFAULTS.aws). */
  instanceType?: string;
  /** Subnet for the instance; unset: the default VPC's. */
  subnetId?: string;
  /** TCP port the instance's parameter server listens on (the only port its security group opens). */
  parameterServerPort?: number;
  /** Guardrail: training.workers above this is refused. */
  maxConcurrency?: number;
  /** Guardrail: the run stops (model saved) before its dollars would pass this; also caps training.budgetUSD. */
  maxUSD?: number;
  /** Guardrail: the instance terminates itself after this many minutes whatever happens. */
  maxInstanceMinutes?: number;
  /** Other endpoints than AWS's regional ones (an AWS-compatible stack such as `cirrus local start`'s,
   *  or VPC endpoints); the workers use the S3 one too. */
  endpoints?: { s3?: string; lambda?: string };
}

/** What a run uses: the config with every default filled in, and the settings that do not apply to it
 *  left out (each one reported as a warning by resolveRunConfig). Resolving it again changes nothing. */
export interface ResolvedRunConfig {
  name?: string;
  dataset: {
    path: string;
    /** Local files only (an s3:// dataset's format is in its manifest). */
    format?: DatasetFormat;
    testFraction?: number;
    testPath?: string;
    labelColumn?: string;
    skipBad: boolean;
    columns?: NonNullable<RunConfig['dataset']['columns']>;
    scaling?: 'auto' | 'none';
  };
  model: {
    type: ModelType;
    /** Hashing bits of a local file's deploy: set for criteo and csv, for libsvm only when asked; unset for ratings and s3:// datasets. */
    hashBits?: number;
    /** mf only. */
    factors?: number;
    /** softmax only; unset: the dataset's label count. */
    classes?: number;
  };
  optimizer: { type: OptimizerType; learningRate: number; l2: number; /** momentum optimiser only */ momentum?: number; clipNorm?: number };
  training: {
    workers: number;
    minibatch: number;
    maxSeconds: number;
    targetLoss?: number;
    epochs?: number;
    patience: number;
    evalEverySeconds: number;
    sync: TrainingSync;
    /** Set exactly when sync is 'sync-sgd'. */
    synchronous?: ResolvedSynchronous;
    filter?: FilterSettings;
    checkpointEverySeconds: number;
    deadlineSeconds?: number;
    budgetUSD?: number;
    /** Both set when training.adaptive is on: re-plan every adaptiveEverySeconds. */
    adaptive?: true;
    adaptiveEverySeconds?: number;
  };
  backend: BackendType;
  /** `autoMemory`: memoryMB was "auto"; memoryMB is then the starting size until a run has measured the peak. */
  lambda: { memoryMB: number; timeoutSeconds: number; functionName: string; autoMemory?: true };
  /** Local backend only (docs/network.md); unset: loopback. */
  network?: NetworkSetting;
  /** shards: row r of each table lives on shard r mod shards (runtime/ps/sharding.ts); screen: unset = off. */
  parameterServer: { tls: boolean; shards: number; screen?: Partial<ScreenSettings> };
  faults: RunFaults;
  /** aws backend only: guardrails and instance settings filled in (parameterServerPort too when the driver starts the server). */
  aws?: AwsSettings & Required<Pick<AwsSettings, 'instanceType' | 'parameterServerPort' | 'maxConcurrency' | 'maxUSD' | 'maxInstanceMinutes'>>;
}

export interface RunFaults {
  /** Kill this fraction of worker invocations at a random moment. */
  killWorkerFraction?: number;
  /** Cut the parameter-server connection of this fraction of worker invocations at a random moment. */
  cutConnectionFraction?: number;
  /** Fail this fraction of S3 requests (workers and driver) with a retryable 503. */
  s3ErrorRate?: number;
  /** Delay every S3 request by this many milliseconds. */
  s3DelayMs?: number;
  /** Kill the parameter server this many seconds into the train stage (the driver restarts it from the last checkpoint). */
  killParameterServerAtSeconds?: number;
  /** Workers 0 .. count-1 corrupt every update they push (runtime/aggregation/byzantine.ts); factor default 10. */
  byzantineWorkers?: { count: number; kind: ByzantineKind; factor?: number };
}
