// LambdaML's analytic model of one training step, per channel and scheme (the one place for the
// formula; docs/design-space.md derives it). From measured primitives: the bytes of one worker's
// update, the channel's request latency and bandwidth (runtime/network/profile.ts: the "aws" figures,
// or AWS's own), the compute per minibatch, and the number of workers N:
//
//   t_step = t_pull + t_compute + t_exchange
//   t_pull     = L_ps + P / W_ps                     (the rows the minibatch touches, from the parameter server)
//   async PS:    t_exchange = 0 (the push overlaps the next minibatch; Cirrus)
//   all-reduce:  t_exchange = (L + B/W) + (L + (N-1)B/W) + t_push + 2L + poll/2
//                (put mine; worker 0 reads N-1 updates over its one link; applies; marker put + read)
//   scatter-reduce: t_exchange = 2 (L + (N-1)/N B/W) + t_push/N + 2L + poll/2
//                (put N-1 slices, read N-1 slices of 1/N each; apply my range; markers)
//   t_push = L_ps + B / W_ps (the merged update applied to the parameter server)
//
// with L, W the channel's latency and per-worker bandwidth (S3: first-byte latency, about 30 ms; Redis
// and the parameter server: a same-AZ round trip, under 1 ms). Dollars per step: N workers' Lambda
// GB-seconds over t_step, plus the S3 requests the step makes (polls included at one per poll interval).
import { PRICES } from '../cost/prices';
import { AWS_NETWORK, type NetworkFigures } from '../network/profile';
import type { SyncScheme } from './collectives';

export type DesignCell = { sync: 'async-sgd' } | { sync: 'sync-sgd'; channel: 'ps' | 's3' | 'redis'; scheme: SyncScheme };

export interface StepInputs {
  workers: number;
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
  const n = x.workers;
  const psLatency = net.tcpRttMs / 1000;
  const psBw = net.tcpBytesPerSecond;
  const pull = psLatency + x.pullBytes / psBw;
  let exchange = 0;
  let s3Puts = 0;
  let s3Gets = 0;
  if (cell.sync === 'sync-sgd') {
    const s3 = cell.channel === 's3';
    const latency = s3 ? net.s3FirstByteMs / 1000 : psLatency;
    const bw = s3 ? net.s3BytesPerSecond : net.tcpBytesPerSecond;
    const poll = POLL_SECONDS[cell.channel];
    const push = psLatency + x.updateBytes / psBw;
    const b = x.updateBytes;
    if (cell.scheme === 'all-reduce') {
      exchange = latency + b / bw + (latency + ((n - 1) * b) / bw) + push + 2 * latency + poll / 2;
      s3Puts = (n - 1) + 2; // N-1 updates, the done marker, the step counter
      s3Gets = (n - 1) + (n - 1); // worker 0 reads N-1 updates; N-1 workers read the marker (plus polls, below)
    } else {
      exchange = 2 * (latency + (((n - 1) / n) * b) / bw) + push / n + 2 * latency + poll / 2;
      s3Puts = n * (n - 1) + n + 1;
      s3Gets = 2 * n * (n - 1);
    }
    if (s3) s3Gets += n * Math.ceil(exchange / poll); // a waiting worker polls: every poll is a billed GET
    if (!s3) s3Puts = s3Gets = 0;
  }
  const seconds = pull + x.computeSeconds + exchange;
  const usd = n * seconds * (x.memoryMB / 1024) * PRICES.lambdaPerGBSecond + s3Puts * PRICES.s3PerPut + s3Gets * PRICES.s3PerGet;
  return { seconds, parts: { pull, compute: x.computeSeconds, exchange }, s3Puts, s3Gets, usd };
}

/** Every cell of the design space (the table `cirrus estimate` and the designSpace bench print). */
export const DESIGN_CELLS: readonly DesignCell[] = [
  { sync: 'async-sgd' },
  { sync: 'sync-sgd', channel: 'ps', scheme: 'all-reduce' },
  { sync: 'sync-sgd', channel: 'redis', scheme: 'all-reduce' },
  { sync: 'sync-sgd', channel: 'redis', scheme: 'scatter-reduce' },
  { sync: 'sync-sgd', channel: 's3', scheme: 'all-reduce' },
  { sync: 'sync-sgd', channel: 's3', scheme: 'scatter-reduce' },
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
export function designSpaceTable(o: { workers: number; minibatch: number; width: number; rowsPerSample: number; samples: number; secondsPerSample: number; memoryMB: number; network?: NetworkFigures }): DesignSpaceRow[] {
  // Distinct rows of a minibatch: fewer than rows x samples (shared categorical values); an upper bound here.
  const rows = o.minibatch * o.rowsPerSample;
  const inputs: StepInputs = {
    workers: o.workers,
    updateBytes: sparseUpdateBytes(rows, o.width),
    pullBytes: rows * 4 * (1 + o.width),
    computeSeconds: o.minibatch * o.secondsPerSample,
    memoryMB: o.memoryMB,
    network: o.network,
  };
  const steps = o.samples / (o.workers * o.minibatch);
  return DESIGN_CELLS.map((cell) => {
    const p = predictStep(cell, inputs);
    return { cell: cellName(cell), secondsPerStep: p.seconds, usdPerStep: p.usd, seconds: steps * p.seconds, usd: steps * p.usd };
  });
}
