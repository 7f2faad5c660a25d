// What the parameter server holds and how it is configured. The wire protocol is in protocol.ts and
// docs/parameter-server-protocol.md.
import type { OptimizerType } from '../config/run-config';
import type { PsServerTls } from './transport';
import type { ScreenRecord, ScreenSettings } from '../aggregation/screen';

export interface OptimizerSettings {
  type: OptimizerType;
  learningRate: number;
  l2?: number; // adds l2 * w to each pushed gradient
  momentum?: number; // momentum (default 0.9)
  beta1?: number; // adam (default 0.9)
  beta2?: number; // adam (default 0.999)
  epsilon?: number; // adagrad / adam
  /** Scales each push's gradients down to this L2 norm when they exceed it (default: no clipping). */
  clipNorm?: number;
}

/** Where a worker's minibatch time went, ms summed over a generation (the bench's cost breakdown):
 *  compute = collecting the rows and the gradient (or local training), pack = building and sending
 *  request frames, pullWait = waiting for the pulled rows (network, server, decoding; with the pulls
 *  sent ahead, only what the compute before did not cover), pushWait = waiting at the generation's
 *  end for the pushes still in flight (pushes are sent without waiting for each other). */
export interface StepTiming {
  computeMs: number;
  packMs: number;
  pullWaitMs: number;
  pushWaitMs: number;
  /** The steps (minibatches) timed and the whole of their time, step entry to exit (the handler's). */
  steps?: number;
  stepMs?: number;
  /** Synchronous SGD only (runtime/worker/sync-step.ts): the collective's part of the step,
   *  `exchangeMs` in all, of which `reduceMs` is this worker reducing (waiting for the others' pieces,
   *  merging, applying) and `barrierMs` waiting for the other ranges' markers. pullWait here is the
   *  pull from the parameter server (or pywren's model read). */
  exchangeMs?: number;
  reduceMs?: number;
  barrierMs?: number;
  /** Request round trips as this worker saw them (issue to reply, whole), the analytic model's
   *  primitives measured in the run (runtime/channels/step-model.ts, measuredPrimitives):
   *  to the parameter server (pulls; a synchronous step's pushes too), and through the synchronous
   *  channel, small objects (< 64 KiB) apart from big ones (pywren's model) with the big ones' bytes. */
  psTrips?: number;
  psTripMs?: number;
  channelTrips?: number;
  channelTripMs?: number;
  bigTrips?: number;
  bigTripMs?: number;
  bigBytes?: number;
}

/** Where a worker invocation's time to its first gradient went, reported beside its StepTiming (the
 *  coldStart bench): ms from handler entry to the end of each step before the first gradient (-1: not
 *  reached). The worker adds when the handler was entered; the driver turns that into invoke-to-handler. */
export interface StartupSteps {
  /** How long the process had been up at handler entry (a cold start: Node's start-up and loading the code). */
  processUptimeMs: number;
  /** CPU time (user + system) the process had used at handler entry, and from then to the first
   *  gradient: unlike the wall times, barely moved by other processes on a loaded machine. */
  processCpuMs: number;
  firstGradientCpuMs: number;
  psConnectedMs: number;
  firstHeartbeatMs: number;
  firstPartitionMs: number;
  firstGradientMs: number;
  /** A cold start's first invocation only: ms from the process's start to Node's bootstrap done, and to
   *  the runtime's own script having run (its event loop started); see docs/benchmarks.md, coldStart. */
  nodeBootstrapMs?: number;
  runtimeReadyMs?: number;
  /** The first partition read from S3 in this invocation: ms from handler entry to its last byte, and its
   *  decoding (CRC check included). Absent when every partition used before the first gradient was held. */
  partitionGetMs?: number;
  partitionDecodeMs?: number;
  /** The first minibatch (from the step's timing, parameter-server steps only): ms waiting for its pull's
   *  reply, and computing (ids, gradient) and packing its frames. */
  firstPullWaitMs?: number;
  firstStepComputeMs?: number;
}

/** What one client sent the parameter server: every request, and the PUSH_SPARSE ones (the updates)
 *  apart, in frame bytes (headers included). Workers report it per generation; the run sums it. */
export interface PsTraffic {
  requests: number;
  bytesSent: number;
  pushes: number;
  pushBytes: number;
}

export const emptyTraffic = (): PsTraffic => ({ requests: 0, bytesSent: 0, pushes: 0, pushBytes: 0 });

export function addTraffic(into: PsTraffic, add: PsTraffic): PsTraffic {
  into.requests += add.requests;
  into.bytesSent += add.bytesSent;
  into.pushes += add.pushes;
  into.pushBytes += add.pushBytes;
  return into;
}

/** One model table: `rows` rows of `width` float32 each (logistic: width 1; softmax: classes; MF: factors + 1). */
export interface TableSpec {
  name: string;
  rows: number;
  width: number;
  init?: { type: 'zeros' } | { type: 'normal'; std: number; seed?: number };
  optimizer: OptimizerSettings;
}

export interface ParameterServerConfig {
  token: string; // per-run secret; checked at HELLO in constant time
  host?: string; // default 127.0.0.1
  port?: number; // 0 = pick a free port
  tables: TableSpec[];
  /** Set: the server speaks TLS with this certificate (the run's, self-signed; clients pin its
   *  fingerprint: runtime/ps/transport.ts). Unset: plain TCP. */
  tls?: PsServerTls;
  maxFrameBytes?: number; // default 64 MiB: the largest u32 length field a request may carry
  maxConnections?: number; // default 1024; further connections get a LIMIT error and are closed
  /** Reply bytes queued on one connection before the server stops reading from it (default 64 MiB). */
  maxPendingReplyBytes?: number;
  helloTimeoutMs?: number; // default 5 000: a connection that has not said HELLO by then is closed
  /** Connections that have not said HELLO yet, counted apart from maxConnections (default 64): a
   *  flood of silent sockets cannot lock authenticated workers out. Further ones are closed at once. */
  maxUnauthenticated?: number;
  /** An authenticated connection with no traffic for this long is closed (default 15 min, Lambda's longest run). */
  idleTimeoutMs?: number;
  /** A frame that has begun must keep arriving: no byte of it for this long closes the connection (default 10 s). */
  frameProgressTimeoutMs?: number;
  /** Bytes of partly received frames held across all connections (default 512 MiB, at least 2 frames);
   *  the connection that would go past it is closed. */
  maxBufferedFrameBytes?: number;
  maxKvBytes?: number; // default 64 MiB for all values together
  /** Frames a second one connection may send (bursts up to the same number); above it the server stops
   *  reading that connection until its allowance refills (default 50,000). */
  maxFramesPerSecond?: number;
  /** Screen each push against a norm bound learned from recent pushes, refusing outliers
   *  (runtime/aggregation/screen.ts); unset: every valid push is applied. */
  screen?: Partial<ScreenSettings>;
}

export interface ParameterServerStats {
  updates: number; // push frames applied since start
  updatesPerSecond: number; // over the last window (windowSeconds)
  rowUpdates: number; // rows stepped since start (a push of n rows counts n)
  rowUpdatesPerSecond: number;
  pulls: number; // PULL_SPARSE and PULL_FULL frames answered
  pullsPerSecond: number;
  connections: number; // open, authenticated
  workers: number; // distinct worker ids among those connections
  totalConnections: number; // authenticated since start
  rejectedConnections: number; // bad token, no HELLO, over the connection limit
  errors: number; // error replies sent (each also closes or leaves the connection as documented)
  throttled: number; // times a connection was paused for going over maxFramesPerSecond
  bytesIn: number;
  bytesOut: number;
  kvKeys: number;
  uptimeSeconds: number;
  windowSeconds: number;
  rssBytes: number; // resident memory of the server's process (the whole process when run inline)
  applySeconds?: number; // in the optimiser steps of pushes since start
  gatherSeconds?: number; // copying pulled rows into replies since start
  /** With config.screen: per worker, pushes accepted and refused (all tables). */
  screen?: ScreenRecord[];
}
