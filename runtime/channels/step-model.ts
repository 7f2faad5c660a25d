// LambdaML's analytic model of one training step, per channel and scheme (the one place for the
// formula; docs/design-space.md derives it). A step is a chain of requests on its critical path; the
// model counts them and prices each with measured primitives (StepPrimitives): L_ps, one round trip
// to the parameter server; L, one small request through the channel; beta, seconds per byte through
// the channel; W_ps the parameter server link's bandwidth; c, the compute of one minibatch; N workers:
//
//   async PS:       t_step = max(c, (L_ps + c) / D)       (pulls go D = PULL_DEPTH minibatches ahead and the
//                    push leaves with them: a worker waits for a pull sent D minibatches ago; Cirrus)
//   all-reduce and scatter-reduce:
//                   t_step = (L_ps + P/W_ps) + c + 4 L + poll + N B beta + (L_ps + B/W_ps)
//                    (pull; compute; put my update; the reducer sees the last one (a poll cycle: L +
//                    poll/2); applies it to the parameter server; puts the marker; the others see it
//                    (L + poll/2); scatter-reduce: 2 (N-1)/N B beta for N B beta, since each worker
//                    puts and reads N-1 slices of B/N, and applies B/N)
//                   + last(N-1) (all-reduce, pywren) or 2 last(N-1) (scatter-reduce), last(k) = (k/(k+1) - 1/2)(L + poll):
//                    a wait for the last of k objects polled at once sees it k/(k+1) of a poll cycle late
//                    on average, not half a cycle (scatter-reduce waits so for pieces and for markers)
//   pywren:         t_step = c + 4 L + poll + 2 M beta + N B beta + 2 L_ps
//                    (read the model object as it appears (L + M beta + poll/2); put my gradient; the
//                    reducer sees the last (L + poll/2), applies it through the parameter server and reads
//                    the rows back (2 L_ps), puts the next model (L + M beta))
//
// B: one worker's sparse update in bytes, P: what a step pulls, M: the dense model. Dollars per step:
// N workers' Lambda GB-seconds over t_step, plus the S3 requests of a step (polls included at one per
// poll interval).
//
// Where the primitives come from (StepPrimitives is all the formula sees):
// - AWS (`networkPrimitives` without a host): the network profile's figures (S3: a 30 ms first byte;
//   Redis and the parameter server: a same-AZ round trip, under 1 ms; 75 MB/s) and the given compute;
// - this machine before a run (`networkPrimitives` with a HostCosts probe, host-probe.ts): the emulated
//   network sits in front of real services that cost CPU. S3's first byte comes at the emulated latency
//   or when the local S3 answers, whichever is later (the proxy holds the answer, it does not add to it);
//   a TCP request adds the local round trip (twice through the proxy); compute scales by fair-share CPU;
// - a run itself (`measuredPrimitives`): the workers time every request to the parameter server and
//   through the channel, and their compute (StepTiming), so the prediction of the run's s/step uses
//   the request times the run's processes really saw. On 2 shared cores a request's round trip is
//   mostly waiting to be scheduled: 5-20x the probe's idle round trip at load 10 (a chain of 4-5
//   process wake-ups per request through the proxy), which no probe beside the run reproduces.
import { PRICES } from '../cost/prices';
import { AWS_NETWORK, type NetworkFigures } from '../network/profile';
import type { StepTiming } from '../ps/types';
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

/** Pulls an asynchronous worker keeps in flight (runtime/worker/model-step.ts PULL_DEPTH). */
const ASYNC_PULL_DEPTH = 2;

/** What one step is made of, in seconds (see the header). */
export interface StepPrimitives {
  /** One round trip to the parameter server (a minibatch's pull or push). */
  psRequest: number;
  /** Seconds per byte on a worker's link to the parameter server. */
  psByte: number;
  /** One small request through the synchronous channel (a put, or a get that finds nothing or a marker). */
  channelRequest: number;
  /** Seconds per byte through the channel (update and model objects). */
  channelByte: number;
  /** One minibatch's compute (rows, gradient, encoding). */
  compute: number;
}

/** The primitives from the network's figures, and on this machine its probe (before a run). */
export function networkPrimitives(cell: DesignCell, x: StepInputs): StepPrimitives {
  const net = x.network ?? AWS_NETWORK;
  const host = x.host;
  const tcp = net.tcpRttMs / 1000 + localRequest(host, 'tcp');
  const s3 = cell.sync === 'sync-sgd' && cell.channel === 's3';
  // The S3 proxy holds the answer until the emulated first byte: the local service's time overlaps it.
  const s3Request = Math.max(net.s3FirstByteMs / 1000, host ? host.s3RequestSeconds : 0) + (host?.proxied ? host.tcpRequestSeconds : 0);
  const n = x.workers;
  return {
    psRequest: tcp,
    psByte: 1 / net.tcpBytesPerSecond,
    channelRequest: s3 ? s3Request : tcp,
    channelByte: s3 ? 1 / net.s3BytesPerSecond + (host?.s3ByteSeconds ?? 0) : 1 / net.tcpBytesPerSecond,
    // Workers compute together: n busy processes (the parameter server's optimiser too, asynchronously).
    compute: x.computeSeconds * (host ? cpuShare(host, cell.sync === 'async-sgd' ? n + 1 : n) : 1),
  };
}

/** The primitives as one run's workers measured them (StepTiming, summed over the run's generations). */
export function measuredPrimitives(t: StepTiming, x: Pick<StepInputs, 'network'>): StepPrimitives | undefined {
  const steps = t.steps ?? 0;
  if (!t.psTrips || !t.psTripMs) return undefined;
  const net = x.network ?? AWS_NETWORK;
  const psRequest = t.psTripMs / 1000 / t.psTrips;
  const channelRequest = t.channelTrips ? t.channelTripMs! / 1000 / t.channelTrips : psRequest;
  // Big objects (pywren's model): their time beyond a small request's, per byte.
  const channelByte = t.bigTrips && t.bigBytes ? Math.max(0, t.bigTripMs! / 1000 / t.bigTrips - channelRequest) / (t.bigBytes / t.bigTrips) : 1 / net.tcpBytesPerSecond;
  return {
    psRequest,
    psByte: 1 / net.tcpBytesPerSecond,
    channelRequest,
    channelByte,
    // Per minibatch: asynchronous workers count minibatches by their pulls.
    compute: (t.computeMs + t.packMs) / 1000 / (steps > 0 ? steps : t.psTrips),
  };
}

export function predictStep(cell: DesignCell, x: StepInputs, primitives: StepPrimitives = networkPrimitives(cell, x)): StepPrediction {
  const { psRequest, psByte, channelRequest: l, channelByte: beta, compute } = primitives;
  const n = x.workers;
  const b = x.updateBytes;
  const pull = psRequest + x.pullBytes * psByte;
  const push = psRequest + b * psByte;
  let exchange = 0;
  let s3Puts = 0;
  let s3Gets = 0;
  let pulls = 1;
  let seconds: number;
  if (cell.sync === 'async-sgd') {
    seconds = Math.max(compute, (pull + compute) / ASYNC_PULL_DEPTH);
    return finish(seconds, { pull: seconds - compute, compute, exchange: 0 });
  }
  const poll = POLL_SECONDS[cell.channel];
  // Waiting for the last of k objects polled at once: each is seen a poll cycle (L + poll) after a
  // uniformly spread moment, so the last is seen k/(k+1) of a cycle late on average, not 1/2.
  const lastOf = (k: number) => (k / (k + 1) - 0.5) * (l + poll);
  if (cell.scheme === 'pywren') {
    const m = x.modelBytes ?? 0;
    pulls = 0; // the model comes from the channel
    exchange = 4 * l + poll + 2 * m * beta + n * b * beta + 2 * psRequest + lastOf(n - 1);
    s3Puts = (n - 1) + 2; // N-1 gradients, the model, the step counter
    s3Gets = (n - 1) + (n - 1); // N-1 model reads, N-1 gradient reads (plus polls, below)
  } else {
    // all-reduce: I put B, the reducer reads (N-1) B over its one link; scatter-reduce: each worker puts
    // and reads N-1 slices of B/N and applies its range.
    // all-reduce waits for the last of N-1 updates, scatter-reduce also for the last of N-1 markers.
    exchange =
      cell.scheme === 'all-reduce'
        ? 4 * l + poll + n * b * beta + push + lastOf(n - 1)
        : 4 * l + poll + (2 * (n - 1) * b * beta) / n + psRequest + (b / n) * psByte + 2 * lastOf(n - 1);
    if (cell.scheme === 'all-reduce') {
      s3Puts = (n - 1) + 2; // N-1 updates, the done marker, the step counter
      s3Gets = (n - 1) + (n - 1); // worker 0 reads N-1 updates; N-1 workers read the marker (plus polls, below)
    } else {
      s3Puts = n * (n - 1) + n + 1;
      s3Gets = 2 * n * (n - 1);
    }
  }
  if (cell.channel === 's3') s3Gets += n * Math.ceil(exchange / poll); // a waiting worker polls: every poll is a billed GET
  else s3Puts = s3Gets = 0;
  seconds = pulls * pull + compute + exchange;
  return finish(seconds, { pull: pulls * pull, compute, exchange });

  function finish(total: number, parts: StepPrediction['parts']): StepPrediction {
    const usd = n * total * (x.memoryMB / 1024) * PRICES.lambdaPerGBSecond + s3Puts * PRICES.s3PerPut + s3Gets * PRICES.s3PerGet;
    return { seconds: total, parts, s3Puts, s3Gets, usd };
  }
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
