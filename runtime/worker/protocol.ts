// What the driver sends a worker invocation, what the worker reports while it runs (heartbeats,
// through the parameter server's key-value store: a Lambda function cannot be called back), and
// what it returns. Shared by runtime/worker/ and runtime/driver/.
import type { ByzantineKind } from '../aggregation/byzantine';
import type { FilterSettings } from '../aggregation/filters';
import type { AggregationRule } from '../aggregation/robust';
import type { TrainingScheme } from '../channels/collectives';
import type { PsTraffic, StartupSteps, StepTiming } from '../ps/types';

export interface WorkerPartition {
  key: string;
  rows: number;
  crc32: number;
}

export interface WorkerCursor {
  partition: number; // index into WorkerEvent.partitions
  row: number;
}

/** Where a function's S3 requests go: the embedded local S3 (bucket in the path) when its event names an
 *  endpoint, else the region's (training, preprocess and double-ML events alike). */
export function s3TargetOf(event: { region: string; s3Endpoint?: string }): { region: string; endpoint?: string; forcePathStyle: boolean } {
  return { region: event.region, endpoint: event.s3Endpoint, forcePathStyle: event.s3Endpoint !== undefined };
}

export interface WorkerEvent {
  runId: string;
  worker: number;
  generation: number;
  bucket: string;
  /** Only for the embedded local S3 (AWS workers use the regional endpoint). Credentials come from the
   *  function's environment / execution role, never from this payload. */
  s3Endpoint?: string;
  region: string;
  partitions: WorkerPartition[]; // this worker's share of the training partitions, in order
  cursor: WorkerCursor; // where the previous generation stopped
  /** tls: the fingerprint of the run's certificate, pinned (runtime/ps/transport.ts); unset: plain TCP.
   *  shards: every shard's address when parameterServer.shards > 1 (host/port are shard 0's). */
  ps: { host: string; port: number; token: string; tls?: { fingerprint: string }; shards?: Array<{ host: string; port: number }> };
  model:
    /** localLearningRate set: model averaging (train per sample locally with AdaGrad, push the change of the
     *  touched weights once per minibatch); unset: asynchronous SGD (push each minibatch's gradient). */
    | { type: 'logistic'; featureCount: number; localLearningRate?: number }
    | { type: 'softmax'; featureCount: number; classes: number }
    | { type: 'mf'; factors: number; globalMean: number; reg: number; maxUser: number; maxItem: number };
  minibatch: number;
  /** training.filter: what of each minibatch's update is pushed now and what is held back (asynchronous
   *  SGD and model averaging). stepScale: the size of a step per unit of pushed update (the learning rate
   *  for gradients, 1 for model averaging's weight changes); stepsBefore: the worker's minibatches in
   *  earlier generations, so the significance threshold v / sqrt(t) goes on shrinking across them. */
  filter?: { settings: FilterSettings; stepScale: number; stepsBefore: number };
  /** training.sync "sync-sgd": every minibatch is one synchronous step through `channel`
   *  (runtime/worker/sync-step.ts); absent: asynchronous. */
  sync?: {
    channel: 'ps' | 's3' | 'redis';
    scheme: TrainingScheme;
    aggregation: { rule: AggregationRule; f: number; m?: number };
    workers: number;
    stepTimeoutMs: number;
    /** Key prefix of the run's step objects (in the bucket, Redis, or the parameter server's store). */
    prefix: string;
    /** channel "redis": redis://:PASSWORD@HOST:PORT (a secret, like ps.token). */
    redisUrl?: string;
  };
  /** Samples this invocation may still train (what is left of the worker's epochs); absent = no limit. */
  sampleBudget?: number;
  /** Return when fewer than this many ms remain (the driver then launches the next generation). */
  returnMarginMs: number;
  heartbeatMs: number;
  /** Fault injection (tests and demos): die, or lose the parameter-server connection, at a given
   *  moment of this invocation; fail or slow S3 requests. */
  faults?: { dieAfterMs?: number; cutConnectionAfterMs?: number; s3ErrorRate?: number; s3DelayMs?: number; byzantine?: { kind: ByzantineKind; factor: number } };
}

export interface WorkerHeartbeat {
  worker: number;
  generation: number;
  samples: number; // this generation so far
  samplesPerSecond: number;
  s3MBps: number;
  memoryMB: number;
  trainLoss: number; // mean minibatch loss since the previous heartbeat
  at: number; // Date.now() of the worker
  /** Where this generation is: its updates before this point have reached the parameter server, so a
   *  generation that dies is relaunched from here rather than from where it started. */
  cursor?: WorkerCursor;
  /** What this generation has sent the parameter server so far. */
  traffic?: PsTraffic;
  /** Rows whose update the filter holds back (pushed later, at the latest when the generation returns). */
  heldRows?: number;
}

export interface WorkerResult {
  worker: number;
  generation: number;
  status: 'time-limit' | 'stopped' | 'done'; // done: the sample budget is used up
  cursor: WorkerCursor;
  samples: number;
  seconds: number;
  s3Gets: number;
  s3Bytes: number;
  /** training.sync "sync-sgd": the channel's billed requests this invocation (S3 GETs and PUTs, polls
   *  included; Redis ElastiCache ECPUs), for the run's cost meter. */
  channelRequests?: { gets?: number; puts?: number; ecpus?: number };
  peakMemoryMB: number;
  firstGradientMs: number; // handler start to first pushed gradient
  /** Epoch ms of the first pushed gradient (-1: none): the driver subtracts its invoke time. */
  firstGradientAt?: number;
  /** Partitions found decoded in the environment, left by an earlier invocation or epoch (no S3 read). */
  partitionsHeld?: number;
  traffic: PsTraffic; // what this generation sent the parameter server
  timing?: StepTiming; // where this generation's minibatch time went
  /** Where the time to the first gradient went (see StartupTiming). */
  startup?: StartupTiming;
}

/** The start of an invocation, for the coldStart bench: the steps before the first gradient, and the
 *  epoch ms at handler entry (the driver subtracts its invoke time: the platform's part). */
export interface StartupTiming extends StartupSteps {
  handlerAt: number;
}

/** Key-value names in the parameter server. */
/** The function's memory (bytes), as Lambda gives it to the process (128 MB when unset, Lambda's least). */
export function functionMemoryBytes(): number {
  return Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 128) * 2 ** 20;
}

export const KV_STOP = 'control/stop';
export const heartbeatKey = (worker: number) => `heartbeat/${worker}`;
/** training.adaptive scale-in: the driver sets this to a generation's number to have that generation of
 *  the worker return at its next heartbeat (its slot waits for a turn; the cursor is kept). */
export const returnKey = (worker: number) => `control/return/${worker}`;
