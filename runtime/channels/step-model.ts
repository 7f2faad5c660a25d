// LambdaML's analytic model of one training step, per channel and scheme (the one place for the
// formula; docs/design-space.md derives it). From measured primitives: the bytes of one worker's
// update and of the model, the channel's request latency and bandwidth (runtime/network/profile.ts:
// the "aws" figures, or AWS's own), the compute per minibatch, and the number of workers N:
//
//   t_step = t_pull + t_compute + t_exchange
//   t_pull     = L_ps + P / W_ps                     (the rows the minibatch touches, from the parameter server)
//   async PS:    t_exchange = 0 (the push overlaps the next minibatch; Cirrus)
//   all-reduce:  t_exchange = (L + B/W) + (L + (N-1)B/W) + t_push + 2L + poll/2
//                (put mine; worker 0 reads N-1 updates over its one link; applies; marker put + read)
//   scatter-reduce: t_exchange = 2 (L + (N-1)/N B/W) + t_push/N + 2L + poll/2
//                (put N-1 slices, read N-1 slices of 1/N each; apply my range; markers)
//   pywren:      t_pull = 0; t_exchange = 2 (L + M/W) + (L + B/W) + (L + (N-1)B/W) + 2 t_push + poll
//                (the reducer puts the model, the others read it: M its dense bytes; gradient put;
//                reducer reads N-1; applies through the optimiser and reads the rows back)
//   t_push = L_ps + B / W_ps (the merged update applied to the parameter server)
//
// with L, W the channel's latency and per-worker bandwidth (S3: first-byte latency, about 30 ms; Redis
// and the parameter server: a same-AZ round trip, under 1 ms). Dollars per step: N workers' Lambda
// GB-seconds over t_step, plus the S3 requests the step makes (polls included at one per poll interval).
//
// On this machine (`host`, the local backend) the emulated network sits in front of real services
// that cost CPU, and the run's processes share a few cores with whatever else runs. Measured by a
// probe (host-probe.ts), not tuned: each request's own time on the local service adds to L, each
// byte's to 1/W; compute is the probe's per-sample time scaled by fair-share CPU: k busy processes of
// the run among `otherLoad` others on C cores run at max(1, (k + otherLoad) / C) / max(1, (1 + otherLoad) / C)
// times the one-process speed the probe measured. The requests on one local service are served one at
// a time (one Node process), so a reducer's N-1 reads cost (N-1) request times.
import { PRICES } from '../cost/prices';
import { AWS_NETWORK, type NetworkFigures } from '../network/profile';
import type { TrainingScheme } from './collectives';

export type DesignCell = { sync: 'async-sgd' } | { sync: 'sync-sgd'; channel: 'ps' | 's3' | 'redis'; scheme: TrainingScheme };

/** This machine's costs, measured (host-probe.ts); absent: the network's figures alone (AWS). */
export interface HostCosts {
  cores: number;
  /** Runnable processes outside the run when the probe ran (the 1-minute load average). */
  otherLoad: number;
  /** Seconds of one sample's gradient, one process (touched rows + the kernel). */
  computeSecondsPerSample: number;
  /** Seconds of one small request on the local S3 and on a local TCP service (PS, Redis), loopback. */
  s3RequestSeconds: number;
  tcpRequestSeconds: number;
  /** Seconds per byte through the local S3 (put + get, both ends' CPU), loopback. */
  s3ByteSeconds: number;
  /** Requests go through the "aws" profile's proxy process: one more loopback hop each. */
  proxied: boolean;
}

/** A request's own time on this machine: the service's, plus the proxy's hop when there is one. */
function localRequest(host: HostCosts | undefined, service: 's3' | 'tcp'): number {
  if (!host) return 0;
  return (service === 's3' ? host.s3RequestSeconds : host.tcpRequestSeconds) + (host.proxied ? host.tcpRequestSeconds : 0);
}

/** How much slower k busy processes of the run go than the one the probe timed (fair-share CPU). */
export function cpuShare(host: HostCosts, busy: number): number {
  const slowdown = (k: number) => Math.max(1, (k + host.otherLoad) / host.cores);
  return slowdown(busy) / slowdown(1);
}

export interface StepInputs {
  workers: number;
  /** The dense model in bytes (scheme "pywren" moves it whole every step). */
  modelBytes?: number;
  host?: HostCosts;
  /** One worker's update (ids + values) in bytes. */
  updateBytes: number;
  /** What one step pulls from the parameter server, in bytes. */
  pullBytes: number;
  /** Seconds of compute per minibatch. */
  computeSeconds: number;
  memoryMB: number;
  /** The network's figures (default: the "aws" profile). */
  network?: NetworkFigures;
}

export interface StepPrediction {
  seconds: number;
  parts: { pull: number; compute: number; exchange: number };
  /** S3 requests per step, all workers together. */
  s3Puts: number;
  s3Gets: number;
  usd: number;
}

/** Poll intervals of the channels (runtime/channels/*-channel.ts). */
const POLL_SECONDS = { s3: 0.02, redis: 0.002, ps: 0.001 } as const;

export function predictStep(cell: DesignCell, x: StepInputs): StepPrediction {
  const net = x.network ?? AWS_NETWORK;
  const host = x.host;
  const n = x.workers;
  const tcpLatency = net.tcpRttMs / 1000 + localRequest(host, 'tcp');
  const psBw = net.tcpBytesPerSecond;
  const pull = tcpLatency + x.pullBytes / psBw;
  // Workers compute together: n busy processes (the parameter server's optimiser too, asynchronously).
  const compute = x.computeSeconds * (host ? cpuShare(host, cell.sync === 'async-sgd' ? n + 1 : n) : 1);
  let exchange = 0;
  let s3Puts = 0;
  let s3Gets = 0;
  let pulls = 1;
  if (cell.sync === 'sync-sgd') {
    const s3 = cell.channel === 's3';
    const latency = s3 ? net.s3FirstByteMs / 1000 + localRequest(host, 's3') : tcpLatency;
    const perByte = s3 ? 1 / net.s3BytesPerSecond + (host?.s3ByteSeconds ?? 0) : 1 / net.tcpBytesPerSecond;
    // k objects read at once: their network latencies overlap, the local service serves them one by one.
    const readMany = (k: number, bytes: number) => latency + Math.max(0, k - 1) * localRequest(host, s3 ? 's3' : 'tcp') + k * bytes * perByte;
    const poll = POLL_SECONDS[cell.channel];
    const push = tcpLatency + x.updateBytes / psBw;
    const b = x.updateBytes;
    if (cell.scheme === 'pywren') {
      const m = x.modelBytes ?? 0;
      pulls = 0; // the model comes from the channel
      exchange = 2 * readMany(1, m) + readMany(1, b) + readMany(n - 1, b) + 2 * push + poll;
      s3Puts = (n - 1) + 2; // N-1 gradients, the model, the step counter
      s3Gets = (n - 1) + (n - 1); // N-1 model reads, N-1 gradient reads (plus polls, below)
    } else if (cell.scheme === 'all-reduce') {
      exchange = readMany(1, b) + readMany(n - 1, b) + push + 2 * latency + poll / 2;
      s3Puts = (n - 1) + 2; // N-1 updates, the done marker, the step counter
      s3Gets = (n - 1) + (n - 1); // worker 0 reads N-1 updates; N-1 workers read the marker (plus polls, below)
    } else {
      exchange = 2 * readMany(n - 1, b / n) + push / n + 2 * latency + poll / 2;
      s3Puts = n * (n - 1) + n + 1;
      s3Gets = 2 * n * (n - 1);
    }
    if (s3) s3Gets += n * Math.ceil(exchange / poll); // a waiting worker polls: every poll is a billed GET
    if (!s3) s3Puts = s3Gets = 0;
  }
  const seconds = pulls * pull + compute + exchange;
  const usd = n * seconds * (x.memoryMB / 1024) * PRICES.lambdaPerGBSecond + s3Puts * PRICES.s3PerPut + s3Gets * PRICES.s3PerGet;
  return { seconds, parts: { pull: pulls * pull, compute, exchange }, s3Puts, s3Gets, usd };
}

/** Every cell of the design space (the table `cirrus estimate` and the designSpace bench print). */
export const DESIGN_CELLS: readonly DesignCell[] = [
  { sync: 'async-sgd' },
  { sync: 'sync-sgd', channel: 'ps', scheme: 'all-reduce' },
  { sync: 'sync-sgd', channel: 'redis', scheme: 'all-reduce' },
  { sync: 'sync-sgd', channel: 'redis', scheme: 'scatter-reduce' },
  { sync: 'sync-sgd', channel: 's3', scheme: 'all-reduce' },
  { sync: 'sync-sgd', channel: 's3', scheme: 'scatter-reduce' },
  { sync: 'sync-sgd', channel: 's3', scheme: 'pywren' },
];

export function cellName(cell: DesignCell): string {
  return cell.sync === 'async-sgd' ? 'async-sgd, parameter server' : `sync-sgd, ${cell.channel}, ${cell.scheme}`;
}

/** Bytes of a sparse update of `rows` rows of `width` values (ids and float32 values). */
export function sparseUpdateBytes(rows: number, width: number): number {
  return 4 + rows * 4 * (1 + width);
}

/** Distinct model rows one sample touches, by data format (Criteo: 13 numeric + 26 categorical fields;
 *  a9a's LIBSVM rows: 14 ones), when nothing better is known. */
export function rowsPerSample(format: string | undefined): number {
  return format === 'criteo' ? 39 : 14;
}

export interface DesignSpaceRow {
  cell: string;
  secondsPerStep: number;
  usdPerStep: number;
  /** The run's steps at that pace: seconds and dollars (Lambda and S3 requests). */
  seconds: number;
  usd: number;
}

/** The analytic model over every cell for a run of `samples` samples, `minibatch` per worker step. */
export function designSpaceTable(o: { workers: number; minibatch: number; width: number; rowsPerSample: number; samples: number; secondsPerSample: number; memoryMB: number; network?: NetworkFigures; featureCount?: number; host?: HostCosts }): DesignSpaceRow[] {
  // Distinct rows of a minibatch: fewer than rows x samples (shared categorical values); an upper bound here.
  const rows = o.minibatch * o.rowsPerSample;
  const inputs: StepInputs = {
    workers: o.workers,
    updateBytes: sparseUpdateBytes(rows, o.width),
    pullBytes: rows * 4 * (1 + o.width),
    computeSeconds: o.minibatch * o.secondsPerSample,
    memoryMB: o.memoryMB,
    network: o.network,
    ...(o.featureCount !== undefined ? { modelBytes: 4 * o.featureCount * o.width } : {}),
    ...(o.host ? { host: o.host } : {}),
  };
  const steps = o.samples / (o.workers * o.minibatch);
  // Without the model's size the pywren cell (which moves it) cannot be predicted: left out.
  const cells = DESIGN_CELLS.filter((cell) => inputs.modelBytes !== undefined || cell.sync === 'async-sgd' || cell.scheme !== 'pywren');
  return cells.map((cell) => {
    const p = predictStep(cell, inputs);
    return { cell: cellName(cell), secondsPerStep: p.seconds, usdPerStep: p.usd, seconds: steps * p.seconds, usd: steps * p.usd };
  });
}
