// Preprocessing map tasks, run by the same worker function as training (one bundle): the handler
// hands any event with `task: 'preprocess'` to runPreprocessTask. Each invocation reads its share of
// a dataset's partitions from S3 and either computes per-feature statistics (written to S3 as one
// JSON object: they can exceed a Lambda response's 6 MB) or writes transformed partitions.
import { decodePartition, PartitionKind, partitionChecksum } from '../data/partition';
import type { PartitionEntry } from '../data/manifest';
import { encodeStats, partitionStats, transformPartition, type PreprocessSteps, type Scaling, type StatsTable } from '../data/partition-ops';
import { createS3Client, getObjectBytes, putObjectBytes } from '../storage/s3';
import { s3TargetOf } from './protocol';

export interface PreprocessTaskEvent {
  task: 'preprocess';
  op: 'stats' | 'transform';
  bucket: string;
  s3Endpoint?: string;
  region: string;
  /** This invocation's partitions; `id` names a partition in output keys and in the re-split's coin. */
  partitions: Array<{ key: string; crc32: number; id: string; split: 'train' | 'test' }>;
  /** stats: where to write this invocation's merged statistics. */
  statsKey?: string;
  /** transform: output prefix, the steps, and the scaling computed from the merged statistics. */
  outPrefix?: string;
  steps?: PreprocessSteps;
  scaling?: Scaling;
}

export interface PreprocessTaskResult {
  partitions: number;
  rows: number;
  bytesRead: number;
  bytesWritten: number;
  seconds: number;
  statsKey?: string;
  /** transform: the partitions written, by split. */
  written?: { train: PartitionEntry[]; test: PartitionEntry[] };
}

export function isPreprocessTask(event: unknown): event is PreprocessTaskEvent {
  return typeof event === 'object' && event !== null && (event as { task?: unknown }).task === 'preprocess';
}

export async function runPreprocessTask(event: PreprocessTaskEvent): Promise<PreprocessTaskResult> {
  const started = performance.now();
  const s3 = createS3Client(s3TargetOf(event));
  const result: PreprocessTaskResult = { partitions: 0, rows: 0, bytesRead: 0, bytesWritten: 0, seconds: 0 };
  const stats: StatsTable = new Map();
  const written = { train: [] as PartitionEntry[], test: [] as PartitionEntry[] };
  try {
    // Fetch the next partition while working on the current one.
    let next = event.partitions.length ? getObjectBytes(s3, event.bucket, event.partitions[0].key) : undefined;
    for (let i = 0; i < event.partitions.length; i++) {
      const entry = event.partitions[i];
      const bytes = await next!;
      next = i + 1 < event.partitions.length ? getObjectBytes(s3, event.bucket, event.partitions[i + 1].key) : undefined;
      next?.catch(() => undefined); // surfaced when awaited
      result.bytesRead += bytes.byteLength;
      const part = decodePartition(bytes, `s3://${event.bucket}/${entry.key}`, entry.crc32);
      if (part.kind !== PartitionKind.Samples) throw new Error(`preprocessing needs a samples dataset; ${entry.key} holds ratings`);
      result.partitions++;
      result.rows += part.rows;
      if (event.op === 'stats') {
        partitionStats(part, stats);
        continue;
      }
      const halves = transformPartition(part, entry.id, event.steps ?? {}, event.scaling);
      for (const half of ['train', 'test'] as const) {
        const builder = halves[half];
        if (builder.rows === 0) continue;
        // Without a re-split every row stays in its partition's split.
        const split = event.steps?.testFraction === undefined ? entry.split : half;
        const { rows, nnz } = builder;
        const body = builder.take();
        const key = `${event.outPrefix}/${split}/part-${entry.id}.bin`;
        await putObjectBytes(s3, event.bucket, key, body);
        result.bytesWritten += body.byteLength;
        written[split].push({ key, rows, nnz, bytes: body.byteLength, crc32: partitionChecksum(body) });
      }
    }
    if (event.op === 'stats') {
      const body = JSON.stringify(encodeStats(stats));
      await putObjectBytes(s3, event.bucket, event.statsKey!, body);
      result.bytesWritten += body.length;
      result.statsKey = event.statsKey;
    } else {
      result.written = written;
    }
  } finally {
    s3.destroy();
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
