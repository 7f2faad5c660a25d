// The worker: the Lambda function's handler, bundled by esbuild into dist/worker/index.js, with what an
// asynchronous training invocation does not need in a second file beside it (extras.ts).
//
// One invocation = one "generation" of a worker slot: connect to the parameter server, then loop
// over this worker's partitions (prefetching the next one from S3 while computing on the current):
// minibatch -> pull the weights it touches -> gradient -> push. It heartbeats through the parameter
// server's key-value store and returns cleanly before the function's time limit, with a cursor the
// driver hands to the next generation.
import type { S3Client } from '@aws-sdk/client-s3';
import { performance as nodePerformance } from 'node:perf_hooks';
import { PartitionKind, decodePartition, type Partition } from '../data/partition';
import { connectParameterServer, type PsConnection } from '../ps/sharded-client';
import { addTraffic, type PsTraffic } from '../ps/types';
import { credentialsFromEnvironment, SignedS3Reader } from '../storage/s3-signed';
import { createModelStep, PULL_DEPTH, type ModelStep, type Upcoming } from './model-step';
import type { DoubleMLTaskEvent } from './doubleml-task';
import type { PreprocessTaskEvent } from './preprocess-task';
import { KV_STOP, functionMemoryBytes, heartbeatKey, returnKey, s3TargetOf, type WorkerCursor, type WorkerEvent, type StartupTiming, type WorkerHeartbeat, type WorkerResult } from './protocol';

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

/** What an asynchronous training invocation does not use (the AWS SDK, the Redis client, the synchronous
 *  step, the other tasks): a file of its own in the function's code, loaded on first use (extras.ts). */
const extras = (): Promise<typeof import('./extras')> => import('./extras');

/** Share of the function's memory that may hold decoded partitions (between epochs and invocations). */
const CACHE_SHARE_OF_MEMORY = 0.4;

/** Decoded partitions the environment holds, by S3 key and checksum. Module state: a warm Lambda
 *  environment keeps it for the next invocation, so the next generation of a worker (usually served
 *  by the same environment) skips the S3 read and the decoding of what it already has. */
const held = new Map<string, { partition: Partition; etag: string | undefined }>();
let heldBytes = 0;
/** Invocations this environment has served (its first is the cold start). */
let invocations = 0;
const heldLimitBytes = CACHE_SHARE_OF_MEMORY * functionMemoryBytes();

function partitionBytes(partition: Partition): number {
  return partition.kind === PartitionKind.Samples ? 4 * (3 * partition.rows + 2 * partition.indices.length) : 12 * partition.rows;
}

/** Keeps a decoded partition if it fits, making room by dropping partitions this invocation does not
 *  use (an earlier run's); the ones it uses are never swapped for each other (a cyclic pass would
 *  evict each just before it is needed again). */
function hold(id: string, partition: Partition, etag: string | undefined, inUse: Set<string>): void {
  if (held.has(id)) return;
  const bytes = partitionBytes(partition);
  for (const [other, kept] of held) {
    if (heldBytes + bytes <= heldLimitBytes) break;
    if (inUse.has(other)) continue;
    drop(other, kept.partition);
  }
  if (heldBytes + bytes > heldLimitBytes) return;
  held.set(id, { partition, etag });
  heldBytes += bytes;
}

function drop(id: string, partition: Partition): void {
  held.delete(id);
  heldBytes -= partitionBytes(partition);
}

/** The S3 client, kept by the environment for its next invocations (its connections stay open). An
 *  invocation with injected S3 faults gets a client of its own: the faults must not outlive it. */
let sharedS3: { key: string; client: S3Client } | undefined;

async function s3For(event: WorkerEvent): Promise<{ client: S3Client; release(): void }> {
  const { createS3Client, withS3Faults } = await extras();
  const target = s3TargetOf(event);
  if (event.faults?.s3ErrorRate || event.faults?.s3DelayMs) {
    const client = withS3Faults(createS3Client(target), { errorRate: event.faults.s3ErrorRate, delayMs: event.faults.s3DelayMs });
    return { client, release: () => client.destroy() };
  }
  const key = JSON.stringify(target);
  if (sharedS3?.key !== key) {
    sharedS3?.client.destroy();
    sharedS3 = { key, client: createS3Client(target) };
  }
  return { client: sharedS3.client, release: () => undefined };
}

/** The two object operations partitions are read with. */
interface PartitionReader {
  getObject(bucket: string, key: string): Promise<{ bytes: Uint8Array; etag: string | undefined }>;
  headObject(bucket: string, key: string): Promise<{ etag: string | undefined } | undefined>;
}

/** The signed reader without the SDK, kept like the S3 client (same target and credentials). */
let sharedReader: { key: string; reader: SignedS3Reader } | undefined;

/** What this invocation reads partitions with: a signed GET/HEAD without the SDK when the environment
 *  has credentials (as Lambda's has), which spares a cold start loading the SDK; the SDK's client
 *  otherwise (its default credential chain), and with injected S3 faults (they live in its middleware). */
async function readerFor(event: WorkerEvent): Promise<{ reader: PartitionReader; release(): void }> {
  const credentials = credentialsFromEnvironment();
  if (credentials && !event.faults?.s3ErrorRate && !event.faults?.s3DelayMs) {
    const target = s3TargetOf(event);
    const key = JSON.stringify([target, credentials]);
    if (sharedReader?.key !== key) {
      sharedReader?.reader.destroy();
      sharedReader = { key, reader: new SignedS3Reader(target, credentials) };
    }
    return { reader: sharedReader.reader, release: () => undefined };
  }
  const [s3, { getObjectWithEtag, headObject }] = await Promise.all([s3For(event), extras()]);
  const reader: PartitionReader = {
    getObject: (bucket, key) => getObjectWithEtag(s3.client, bucket, key),
    headObject: async (bucket, key) => {
      const head = await headObject(s3.client, bucket, key);
      return head && { etag: head.ETag };
    },
  };
  return { reader, release: s3.release };
}

/** The parameter-server connection an invocation left open, kept by the environment: the next
 *  invocation of the same run (same servers, token and certificate pin) says HELLO on it again, as its
 *  own worker and generation, instead of connecting anew (TCP, TLS, HELLO: most of a warm start). */
let keptPs: { key: string; connection: PsConnection } | undefined;

/** How long a kept connection may take to answer the new HELLO before a fresh one is opened instead
 *  (a server whose host vanished may never answer, nor close the socket). */
const REIDENTIFY_TIMEOUT_MS = 3000;

async function openParameterServer(event: WorkerEvent): Promise<PsConnection> {
  const kept = keptPs;
  keptPs = undefined;
  if (kept && kept.key === JSON.stringify(event.ps) && kept.connection.isOpen) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        kept.connection.reidentify(event.worker, event.generation),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), REIDENTIFY_TIMEOUT_MS))),
      ]);
      return kept.connection;
    } catch {
      // The server restarted or the run ended since (the socket is dead, or was closed): connect afresh.
    } finally {
      clearTimeout(timer);
    }
  }
  kept?.connection.abort('not reused');
  return connectParameterServer({ ...event.ps, workerId: event.worker, generation: event.generation });
}

class PartitionSource {
  s3Gets = 0;
  s3Bytes = 0;
  s3Seconds = 0;
  /** Partitions found decoded in the environment (no S3 read). */
  warmHits = 0;
  /** The invocation's first S3 read: when its last byte came (ms since `since`) and how long decoding took. */
  firstRead: { getMs: number; decodeMs: number } | undefined;
  private prefetched = new Map<number, Promise<{ partition: Partition; etag: string | undefined }>>();
  /** Prefetches that have come in and are not yet taken by get() (see peek). */
  private readonly ready = new Map<number, { partition: Partition; etag: string | undefined }>();
  private early: { index: number; pending: Promise<{ partition: Partition; etag: string | undefined }> } | undefined;
  /** Checks of held copies in flight, and the first thing one found wrong. */
  private readonly checks: Array<Promise<void>> = [];
  private failure: Error | undefined;
  /** Held partitions checked against S3 in this invocation (an object replaced since must be read again, and refused). */
  private readonly verified = new Set<string>();
  private readonly ids: string[];
  private readonly inUse: Set<string>;

  constructor(private readonly reader: Promise<PartitionReader>, private readonly event: WorkerEvent, private readonly since: number) {
    this.ids = event.partitions.map((p) => `${event.bucket}/${p.key}#${p.crc32}`);
    this.inUse = new Set(this.ids);
  }

  /** Starts getting partition `index` before it is asked for (the first one, while the parameter
   *  server connection opens and the first heartbeat goes): its S3 read, or the check of a held copy. */
  start(index: number): void {
    const pending = this.obtain(index);
    pending.catch(() => undefined); // surfaced when awaited
    this.early = { index, pending };
  }

  /** Partition `index` if it is decoded already (held, or its prefetch done), without waiting: what
   *  get(index) will return unless a check of a held copy replaces it meanwhile. */
  peek(index: number): Partition | undefined {
    return (held.get(this.ids[index]) ?? this.ready.get(index))?.partition;
  }

  /** The partition at `index`, and starts fetching the one after it (unless it is held). */
  async get(index: number): Promise<Partition> {
    const early = this.early?.index === index ? this.early.pending : undefined;
    this.early = undefined;
    const current = await (early ?? this.obtain(index));
    hold(this.ids[index], current.partition, current.etag, this.inUse);
    const next = (index + 1) % this.event.partitions.length;
    if (next !== index && !held.has(this.ids[next]) && !this.prefetched.has(next)) {
      const pending = this.fetch(next);
      pending.then(
        (got) => {
          if (this.prefetched.get(next) === pending) this.ready.set(next, got);
        },
        () => undefined, // surfaced when awaited
      );
      this.prefetched.set(next, pending);
    }
    return current.partition;
  }

  /** A held copy of partition `index`, else its S3 read. A copy left by an earlier invocation is used
   *  at once and checked meanwhile (one HEAD, in parallel with the first minibatches): its bytes passed
   *  the manifest's CRC when they were read, so what is computed on them is right either way, and a
   *  copy whose stored object has changed since fails the invocation as soon as the check returns,
   *  with the error a fresh read of that object gives (see throwIfFailed). */
  private async obtain(index: number): Promise<{ partition: Partition; etag: string | undefined }> {
    const id = this.ids[index];
    const kept = held.get(id);
    if (kept) {
      this.warmHits++;
      if (!this.verified.has(id)) {
        this.verified.add(id);
        this.checks.push(this.check(index, kept).catch((error: Error) => void (this.failure ??= error)));
      }
      return kept;
    }
    const current = await (this.prefetched.get(index) ?? this.fetch(index));
    this.verified.add(id);
    this.prefetched.delete(index);
    this.ready.delete(index);
    return current;
  }

  /** Is the held copy still the stored object? If not, it is dropped and the object read again:
   *  the read refuses a replaced object (CRC), or holds the new copy of an identical one. */
  private async check(index: number, kept: { partition: Partition; etag: string | undefined }): Promise<void> {
    const head = await (await this.reader).headObject(this.event.bucket, this.event.partitions[index].key);
    if (kept.etag !== undefined && head?.etag === kept.etag) return;
    const id = this.ids[index];
    if (held.get(id) === kept) drop(id, kept.partition);
    const fresh = await this.fetch(index);
    hold(id, fresh.partition, fresh.etag, this.inUse);
  }

  /** Throws what a check of a held copy found wrong (see obtain). */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Waits for the checks of held copies, then throws what they found wrong. */
  async settle(): Promise<void> {
    await Promise.all(this.checks);
    this.throwIfFailed();
  }

  private async fetch(index: number): Promise<{ partition: Partition; etag: string | undefined }> {
    const entry = this.event.partitions[index];
    const reader = await this.reader;
    const started = performance.now();
    const { bytes, etag } = await reader.getObject(this.event.bucket, entry.key);
    this.s3Seconds += (performance.now() - started) / 1000;
    this.s3Gets++;
    this.s3Bytes += bytes.byteLength;
    const got = performance.now();
    // Refuses a corrupt or replaced object with an error naming the key (checked against the manifest's CRC).
    const partition = decodePartition(bytes, `s3://${this.event.bucket}/${entry.key}`, entry.crc32);
    this.firstRead ??= { getMs: got - this.since, decodeMs: performance.now() - got };
    return { partition, etag };
  }
}

export async function handler(event: WorkerEvent, context: LambdaContext): Promise<WorkerResult> {
  // Preprocessing map tasks share this function: see preprocess-task.ts. Double machine learning fold
  // tasks too: see doubleml-task.ts. Both, and the synchronous step, are in the function's second file
  // (extras.ts), loaded when used: a cold start compiles all of the file it loads (docs/benchmarks.md, coldStart).
  const firstInEnvironment = invocations++ === 0;
  const task = (event as { task?: unknown }).task;
  if (task === 'preprocess') return (await (await extras()).runPreprocessTask(event as unknown as PreprocessTaskEvent)) as unknown as WorkerResult;
  if (task === 'doubleml') return (await (await extras()).runDoubleMLTask(event as unknown as DoubleMLTaskEvent)) as unknown as WorkerResult;
  const invokedAt = performance.now();
  const cpuAtEntry = process.cpuUsage();
  const startup: StartupTiming = {
    handlerAt: Date.now(),
    processUptimeMs: invokedAt,
    processCpuMs: (cpuAtEntry.user + cpuAtEntry.system) / 1000,
    psConnectedMs: -1,
    firstHeartbeatMs: -1,
    firstPartitionMs: -1,
    firstGradientMs: -1,
    firstGradientCpuMs: -1,
    // A new environment's first invocation: where the process's time before the handler went.
    ...(firstInEnvironment ? { nodeBootstrapMs: nodePerformance.nodeTiming.bootstrapComplete, runtimeReadyMs: nodePerformance.nodeTiming.loopStart } : {}),
  };
  // Fault timers end with the invocation: the environment may serve the next one warm.
  const faultTimers: NodeJS.Timeout[] = [];
  if (event.faults?.dieAfterMs !== undefined) {
    // Fault injection: the process dies abruptly, as a crashed or killed function would.
    faultTimers.push(setTimeout(() => process.kill(process.pid, 'SIGKILL'), event.faults.dieAfterMs).unref());
  }
  // The first partition's read starts while the parameter server connection opens.
  const s3 = readerFor(event);
  s3.catch(() => undefined); // surfaced where it is awaited
  const source = new PartitionSource(s3.then((x) => x.reader), event, invokedAt);
  const cursor: WorkerCursor = { ...event.cursor };
  if (cursor.partition >= event.partitions.length) cursor.partition = 0;
  if (event.partitions.length > 0) source.start(cursor.partition);
  let ps: PsConnection;
  try {
    ps = await openParameterServer(event);
  } catch (error) {
    for (const timer of faultTimers) clearTimeout(timer);
    void s3.then((x) => x.release(), () => undefined);
    throw error;
  }
  startup.psConnectedMs = performance.now() - invokedAt;
  if (event.faults?.cutConnectionAfterMs !== undefined) {
    // Fault injection: the connection drops as a network failure would; the invocation then fails
    // with the parameter-server error and the driver relaunches it from the last cursor.
    faultTimers.push(setTimeout(() => ps.abort('connection cut by fault injection'), event.faults.cutConnectionAfterMs).unref());
  }
  /** A synchronous step's S3 client (its channel), from the SDK. */
  let channelS3: { client: S3Client; release(): void } | undefined;
  const step: ModelStep & { close?: () => Promise<void>; channelRequests?: () => NonNullable<WorkerResult['channelRequests']>; channelTraffic?: () => PsTraffic } = event.sync
    ? await (await extras()).createSyncStep(event, (channelS3 = await s3For(event)).client, ps, (message) => console.warn(`worker ${event.worker}: ${message}`), () => context.getRemainingTimeInMillis() - event.returnMarginMs)
    : createModelStep(event.model, event.filter, event.faults?.byzantine);

  /** Sent so far: the parameter-server connection's count (since this invocation had it: it may be a
   *  kept one), plus a synchronous step's updates and channel PUTs. */
  const sentBefore = { ...ps.traffic };
  const traffic = (): PsTraffic => {
    const sent = { requests: ps.traffic.requests - sentBefore.requests, bytesSent: ps.traffic.bytesSent - sentBefore.bytesSent, pushes: ps.traffic.pushes - sentBefore.pushes, pushBytes: ps.traffic.pushBytes - sentBefore.pushBytes };
    return step.channelTraffic ? addTraffic(sent, step.channelTraffic()) : sent;
  };
  /** Set once the invocation has its result: the connection is then in a clean state to keep. */
  let answered = false;
  let samples = 0;
  let firstGradientMs = -1;
  let firstGradientAt = -1;
  let status: WorkerResult['status'] = 'time-limit';
  let peakMemoryMB = 0;
  let beatSamples = 0;
  let beatLoss = 0;
  let lastBeat = performance.now();
  let lastBeatS3Seconds = 0;
  let lastBeatS3Bytes = 0;
  /** The driver asked this generation to return early (training.adaptive scale-in). */
  let returnAsked = false;

  const heartbeat = async (): Promise<boolean> => {
    const now = performance.now();
    const memoryMB = process.memoryUsage().rss / 2 ** 20;
    peakMemoryMB = Math.max(peakMemoryMB, memoryMB);
    const s3Seconds = source.s3Seconds - lastBeatS3Seconds;
    const beat: WorkerHeartbeat = {
      worker: event.worker,
      generation: event.generation,
      samples,
      samplesPerSecond: beatSamples / Math.max(1e-3, (now - lastBeat) / 1000),
      s3MBps: s3Seconds > 0 ? (source.s3Bytes - lastBeatS3Bytes) / 2 ** 20 / s3Seconds : 0,
      memoryMB,
      trainLoss: beatSamples > 0 ? beatLoss / beatSamples : NaN,
      at: Date.now(),
      cursor: { ...cursor },
      traffic: traffic(),
      heldRows: step.heldRows,
    };
    lastBeat = now;
    lastBeatS3Seconds = source.s3Seconds;
    lastBeatS3Bytes = source.s3Bytes;
    beatSamples = 0;
    beatLoss = 0;
    const [stop, back] = await Promise.all([ps.kvGet(KV_STOP), ps.kvGet(returnKey(event.worker)), ps.kvSet(heartbeatKey(event.worker), Buffer.from(JSON.stringify(beat)))]);
    if (back !== undefined && back.toString('utf8') === String(event.generation)) returnAsked = true;
    return stop !== undefined && stop.length > 0;
  };

  try {
    if (await heartbeat()) status = 'stopped';
    startup.firstHeartbeatMs = performance.now() - invokedAt;
    const budget = event.sampleBudget ?? Infinity;
    while (status === 'time-limit') {
      const partition = await source.get(cursor.partition);
      if (startup.firstPartitionMs < 0) startup.firstPartitionMs = performance.now() - invokedAt;
      while (cursor.row < partition.rows) {
        if (samples >= budget) {
          status = 'done';
          break;
        }
        source.throwIfFailed();
        if (context.getRemainingTimeInMillis() < event.returnMarginMs) {
          return await finish();
        }
        // The last minibatch is cut short rather than overrun the budget (exact epochs).
        const to = Math.min(partition.rows, cursor.row + event.minibatch, cursor.row + (budget - samples));
        const stepStarted = performance.now();
        const lossSum = await step.run(partition, cursor.row, to, ps, upcoming(partition, to, budget - samples - (to - cursor.row)));
        if (step.timing) {
          // The step's whole time (StepTiming.steps, stepMs), beside its parts.
          step.timing.steps = (step.timing.steps ?? 0) + 1;
          step.timing.stepMs = (step.timing.stepMs ?? 0) + performance.now() - stepStarted;
        }
        if (firstGradientMs < 0) {
          firstGradientMs = performance.now() - invokedAt;
          firstGradientAt = Date.now();
          startup.firstGradientMs = firstGradientMs;
          const cpu = process.cpuUsage(cpuAtEntry);
          startup.firstGradientCpuMs = (cpu.user + cpu.system) / 1000;
          if (source.firstRead) {
            startup.partitionGetMs = source.firstRead.getMs;
            startup.partitionDecodeMs = source.firstRead.decodeMs;
          }
          if (step.timing) {
            startup.firstPullWaitMs = step.timing.pullWaitMs;
            startup.firstStepComputeMs = step.timing.computeMs + step.timing.packMs;
          }
        }
        samples += to - cursor.row;
        beatSamples += to - cursor.row;
        beatLoss += lossSum;
        cursor.row = to;
        if (performance.now() - lastBeat >= event.heartbeatMs && (await heartbeat())) {
          status = 'stopped';
          break;
        }
        if (returnAsked) return await finish(); // as at the time limit: the slot goes on from the cursor
      }
      if (cursor.row >= partition.rows) {
        cursor.partition = (cursor.partition + 1) % event.partitions.length;
        cursor.row = 0;
      }
    }
    return await finish();
  } finally {
    for (const timer of faultTimers) clearTimeout(timer);
    await step.close?.();
    // Kept for the environment's next invocation when this one ended cleanly (every request answered:
    // finish()'s last heartbeat came back after them); closed otherwise.
    if (answered && ps.isOpen && event.faults?.cutConnectionAfterMs === undefined) keptPs = { key: JSON.stringify(event.ps), connection: ps };
    else await ps.close().catch(() => undefined);
    await s3.then((x) => x.release(), () => undefined);
    channelS3?.release();
  }

  /** The minibatches after row `at` of this partition that the step may pull ahead (PULL_DEPTH), cut
   *  as the loop above will cut them; `left`: the samples the budget still allows after the current one.
   *  Past the partition's end they go on in the worker's next partitions while those are decoded
   *  already (held by the environment or their prefetch done): with a minibatch as large as a
   *  partition, the pull of the minibatch after next then leaves with the current one's push, and its
   *  reply comes back while the next one computes, as within a partition. */
  function upcoming(partition: Partition, at: number, left: number): Upcoming {
    const ranges: Array<[number, number, Partition?]> = [];
    let current = partition;
    let index = cursor.partition;
    while (ranges.length < PULL_DEPTH && left > 0) {
      if (at >= current.rows) {
        index = (index + 1) % event.partitions.length;
        const next = source.peek(index);
        if (!next) break;
        current = next;
        at = 0;
        continue;
      }
      const end = Math.min(current.rows, at + event.minibatch, at + left);
      ranges.push(current === partition ? [at, end] : [at, end, current]);
      left -= end - at;
      at = end;
    }
    return ranges;
  }

  async function finish(): Promise<WorkerResult> {
    await source.settle(); // a generation that trained on a held copy returns only once it was found current
    await step.flush(ps); // pushes what the filter held back: nothing is lost when the generation ends
    await heartbeat().catch(() => false);
    answered = true;
    return {
      worker: event.worker,
      generation: event.generation,
      status,
      cursor,
      samples,
      seconds: (performance.now() - invokedAt) / 1000,
      s3Gets: source.s3Gets,
      s3Bytes: source.s3Bytes,
      ...(step.channelRequests ? { channelRequests: step.channelRequests() } : {}),
      peakMemoryMB: Math.max(peakMemoryMB, process.memoryUsage().rss / 2 ** 20),
      firstGradientMs,
      firstGradientAt,
      partitionsHeld: source.warmHits,
      ...(step.timing ? { timing: { ...step.timing } } : {}),
      startup,
      traffic: traffic(),
    };
  }
}
