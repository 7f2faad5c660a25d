// Parameter-server checkpoints in S3, atomic by a pointer switch:
//
//   runs/<runId>/checkpoints/ckpt-<seq>.bin   a PS snapshot (tables + optimiser state + key-value store)
//   runs/<runId>/checkpoints/latest.json      the pointer: which snapshot, its CRC-32, and the slots' cursors
//
// A sharded run (parameterServer.shards > 1): each shard writes its own snapshots and pointer under
// runs/<runId>/shard-<s>/checkpoints/; once every shard has written one in the same round, the run's
// pointer is switched to a copy of shard 0's listing all of them (`shards`), so a resume finds one
// consistent set (each shard keeps the snapshot before its current one, the one the run's pointer may
// still name while a round is half-written).
//
// The snapshot is written first, under a new name; only then is the pointer replaced (one PUT, which S3
// makes visible whole). A crash at any moment leaves the pointer naming a complete snapshot (or no
// pointer at all). The snapshot before the current one is deleted after the switch.
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { crc32 } from '../util/crc32';
import { getObjectBytes, isNotFound, joinKey, putObjectBytes } from '../storage/s3';
import { withRetries } from '../util/retry';
import type { WorkerCursor } from '../worker/protocol';

export interface CheckpointSlot {
  worker: number;
  cursor: WorkerCursor;
  generation: number;
  samples: number; // samples done by this slot up to the checkpoint
}

export interface CheckpointPointer {
  version: 1;
  seq: number;
  key: string;
  bytes: number;
  crc32: number;
  trainSeconds: number; // train-stage time of the snapshot
  savedAt: string; // ISO time
  updates: number; // PS updates applied at the snapshot
  slots: CheckpointSlot[];
  /** A sharded run's pointer: the shards' own pointers of one round, in shard order (the fields above are shard 0's). */
  shards?: CheckpointPointer[];
}

export const checkpointPrefix = (runId: string) => joinKey('runs', runId, 'checkpoints');
export const pointerKey = (runId: string) => joinKey(checkpointPrefix(runId), 'latest.json');

export async function writeCheckpoint(
  s3: S3Client,
  bucket: string,
  runId: string,
  seq: number,
  snapshot: Uint8Array,
  state: Omit<CheckpointPointer, 'version' | 'seq' | 'key' | 'bytes' | 'crc32' | 'savedAt'>,
): Promise<CheckpointPointer> {
  const key = joinKey(checkpointPrefix(runId), `ckpt-${String(seq).padStart(6, '0')}.bin`);
  const crc = crc32(snapshot);
  await withRetries(() => putObjectBytes(s3, bucket, key, snapshot, { crc32: String(crc) }));
  const pointer: CheckpointPointer = { version: 1, seq, key, bytes: snapshot.byteLength, crc32: crc, savedAt: new Date().toISOString(), ...state };
  await withRetries(() => putObjectBytes(s3, bucket, pointerKey(runId), JSON.stringify(pointer)));
  if (seq >= 2) {
    const old = joinKey(checkpointPrefix(runId), `ckpt-${String(seq - 2).padStart(6, '0')}.bin`);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: old })).catch(() => undefined); // best effort: only storage
  }
  return pointer;
}

/** A sharded run: switches the run's pointer to the shards' pointers of one round (one PUT, after all of them were written). */
export async function writeShardedPointer(s3: S3Client, bucket: string, runId: string, shards: CheckpointPointer[]): Promise<CheckpointPointer> {
  const pointer: CheckpointPointer = { ...shards[0], shards };
  await withRetries(() => putObjectBytes(s3, bucket, pointerKey(runId), JSON.stringify(pointer)));
  return pointer;
}

/** How many shards a pointer's checkpoint holds (1: an unsharded run). */
export const checkpointShards = (pointer: CheckpointPointer): number => pointer.shards?.length ?? 1;

/** The run's latest checkpoint pointer, or undefined when it has none. */
export async function readCheckpointPointer(s3: S3Client, bucket: string, runId: string): Promise<CheckpointPointer | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await withRetries(() => getObjectBytes(s3, bucket, pointerKey(runId)).catch((error) => {
      if (isNotFound(error)) return new Uint8Array(0);
      throw error;
    }));
  } catch (error) {
    throw new Error(`cannot read the checkpoint pointer s3://${bucket}/${pointerKey(runId)}: ${(error as Error).message}`);
  }
  if (bytes.length === 0) return undefined;
  const pointer = JSON.parse(Buffer.from(bytes).toString('utf8')) as CheckpointPointer;
  if (pointer.version !== 1 || typeof pointer.key !== 'string') throw new Error(`s3://${bucket}/${pointerKey(runId)}: not a checkpoint pointer`);
  return pointer;
}

/** The snapshot a pointer names, checked against its CRC-32. */
export async function readCheckpoint(s3: S3Client, bucket: string, pointer: CheckpointPointer): Promise<Uint8Array> {
  const bytes = await withRetries(() => getObjectBytes(s3, bucket, pointer.key));
  const crc = crc32(bytes);
  if (bytes.byteLength !== pointer.bytes || crc !== pointer.crc32) {
    throw new Error(`checkpoint s3://${bucket}/${pointer.key} is damaged (${bytes.byteLength} bytes, CRC ${crc}; the pointer says ${pointer.bytes} bytes, CRC ${pointer.crc32})`);
  }
  return bytes;
}
