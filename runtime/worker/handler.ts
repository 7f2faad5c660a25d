// The worker: the Lambda function's handler, bundled by esbuild into one file (dist/worker/index.js).
//
// One invocation = one "generation" of a worker slot: connect to the parameter server, then loop
// over this worker's partitions (prefetching the next one from S3 while computing on the current):
// minibatch -> pull the weights it touches -> gradient -> push. It heartbeats through the parameter
// server's key-value store and returns cleanly before the function's time limit, with a cursor the
// driver hands to the next generation.
import type { S3Client } from '@aws-sdk/client-s3';
import { PartitionKind, decodePartition, type Partition } from '../data/partition';
import { connectParameterServer } from '../ps/sharded-client';
import { withS3Faults } from '../storage/faults';
import { createS3Client, getObjectBytes } from '../storage/s3';
import { createModelStep, type ModelStep } from './model-step';
import { createSyncStep } from './sync-step';
import { isDoubleMLTask, runDoubleMLTask } from './doubleml-task';
import { isPreprocessTask, runPreprocessTask } from './preprocess-task';
import { KV_STOP, heartbeatKey, type WorkerCursor, type WorkerEvent, type WorkerHeartbeat, type WorkerResult } from './protocol';

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

/** Share of the function's memory that may hold decoded partitions between epochs. */
const CACHE_SHARE_OF_MEMORY = 0.4;

class PartitionSource {
  s3Gets = 0;
  s3Bytes = 0;
  s3Seconds = 0;
  private prefetched = new Map<number, Promise<Partition>>();
  /** Partitions kept in memory for the next epochs, up to a share of the function's memory: a fast
   *  kernel passes over a partition quicker than S3 returns the next one. */
  private cached = new Map<number, Partition>();
  private cachedBytes = 0;
  private readonly cacheLimitBytes = CACHE_SHARE_OF_MEMORY * Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 128) * 2 ** 20;

  constructor(private readonly client: S3Client, private readonly event: WorkerEvent) {}

  /** The partition at `index`, and starts fetching the one after it (unless it is cached). */
  async get(index: number): Promise<Partition> {
    const current = this.cached.get(index) ?? (await (this.prefetched.get(index) ?? this.fetch(index)));
    this.prefetched.delete(index);
    this.keep(index, current);
    const next = (index + 1) % this.event.partitions.length;
    if (next !== index && !this.cached.has(next) && !this.prefetched.has(next)) {
      const pending = this.fetch(next);
      pending.catch(() => undefined); // surfaced when awaited
      this.prefetched.set(next, pending);
    }
    return current;
  }

  private keep(index: number, partition: Partition): void {
    if (this.cached.has(index)) return;
    const bytes = partition.kind === PartitionKind.Samples ? 4 * (3 * partition.rows + 2 * partition.indices.length) : 12 * partition.rows;
    if (this.cachedBytes + bytes > this.cacheLimitBytes) return;
    this.cached.set(index, partition);
    this.cachedBytes += bytes;
  }

  private async fetch(index: number): Promise<Partition> {
    const entry = this.event.partitions[index];
    const started = performance.now();
    const bytes = await getObjectBytes(this.client, this.event.bucket, entry.key);
    this.s3Seconds += (performance.now() - started) / 1000;
    this.s3Gets++;
    this.s3Bytes += bytes.byteLength;
    // Refuses a corrupt or replaced object with an error naming the key (checked against the manifest's CRC).
    return decodePartition(bytes, `s3://${this.event.bucket}/${entry.key}`, entry.crc32);
  }
}

export async function handler(event: WorkerEvent, context: LambdaContext): Promise<WorkerResult> {
  // Preprocessing map tasks share this function (one bundle): see preprocess-task.ts.
  if (isPreprocessTask(event)) return (await runPreprocessTask(event)) as unknown as WorkerResult;
  // Double machine learning fold tasks too: see doubleml-task.ts.
  if (isDoubleMLTask(event)) return (await runDoubleMLTask(event)) as unknown as WorkerResult;
  const invokedAt = performance.now();
  if (event.faults?.dieAfterMs !== undefined) {
    // Fault injection: the process dies abruptly, as a crashed or killed function would.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), event.faults.dieAfterMs).unref();
  }
  const s3 = withS3Faults(createS3Client({ region: event.region, endpoint: event.s3Endpoint, forcePathStyle: event.s3Endpoint !== undefined }), {
    errorRate: event.faults?.s3ErrorRate,
    delayMs: event.faults?.s3DelayMs,
  });
  const source = new PartitionSource(s3, event);
  const ps = await connectParameterServer({ ...event.ps, workerId: event.worker, generation: event.generation });
  if (event.faults?.cutConnectionAfterMs !== undefined) {
    // Fault injection: the connection drops as a network failure would; the invocation then fails
    // with the parameter-server error and the driver relaunches it from the last cursor.
    setTimeout(() => ps.abort('connection cut by fault injection'), event.faults.cutConnectionAfterMs).unref();
  }
  const step: ModelStep & { close?: () => Promise<void> } = event.sync
    ? await createSyncStep(event, s3, ps, (message) => console.warn(`worker ${event.worker}: ${message}`))
    : createModelStep(event.model, event.filter, event.faults?.byzantine);

  const cursor: WorkerCursor = { ...event.cursor };
  if (cursor.partition >= event.partitions.length) cursor.partition = 0;
  let samples = 0;
  let firstGradientMs = -1;
  let status: WorkerResult['status'] = 'time-limit';
  let peakMemoryMB = 0;
  let beatSamples = 0;
  let beatLoss = 0;
  let lastBeat = performance.now();
  let lastBeatS3Seconds = 0;
  let lastBeatS3Bytes = 0;

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
      traffic: { ...ps.traffic },
      heldRows: step.heldRows,
    };
    lastBeat = now;
    lastBeatS3Seconds = source.s3Seconds;
    lastBeatS3Bytes = source.s3Bytes;
    beatSamples = 0;
    beatLoss = 0;
    const [stop] = await Promise.all([ps.kvGet(KV_STOP), ps.kvSet(heartbeatKey(event.worker), Buffer.from(JSON.stringify(beat)))]);
    return stop !== undefined && stop.length > 0;
  };

  try {
    if (await heartbeat()) status = 'stopped';
    const budget = event.sampleBudget ?? Infinity;
    while (status === 'time-limit') {
      const partition = await source.get(cursor.partition);
      while (cursor.row < partition.rows) {
        if (samples >= budget) {
          status = 'done';
          break;
        }
        if (context.getRemainingTimeInMillis() < event.returnMarginMs) {
          return await finish();
        }
        // The last minibatch is cut short rather than overrun the budget (exact epochs).
        const to = Math.min(partition.rows, cursor.row + event.minibatch, cursor.row + (budget - samples));
        const lossSum = await step.run(partition, cursor.row, to, ps);
        if (firstGradientMs < 0) firstGradientMs = performance.now() - invokedAt;
        samples += to - cursor.row;
        beatSamples += to - cursor.row;
        beatLoss += lossSum;
        cursor.row = to;
        if (performance.now() - lastBeat >= event.heartbeatMs && (await heartbeat())) {
          status = 'stopped';
          break;
        }
      }
      if (cursor.row >= partition.rows) {
        cursor.partition = (cursor.partition + 1) % event.partitions.length;
        cursor.row = 0;
      }
    }
    return await finish();
  } finally {
    await step.close?.();
    await ps.close().catch(() => undefined);
    s3.destroy();
  }

  async function finish(): Promise<WorkerResult> {
    await step.flush(ps); // pushes what the filter held back: nothing is lost when the generation ends
    await heartbeat().catch(() => false);
    return {
      worker: event.worker,
      generation: event.generation,
      status,
      cursor,
      samples,
      seconds: (performance.now() - invokedAt) / 1000,
      s3Gets: source.s3Gets,
      s3Bytes: source.s3Bytes,
      peakMemoryMB: Math.max(peakMemoryMB, process.memoryUsage().rss / 2 ** 20),
      firstGradientMs,
      traffic: { ...ps.traffic },
    };
  }
}
