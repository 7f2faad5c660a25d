// Parameter-server checkpoints in S3, atomic by a pointer switch:
//
//   runs/<runId>/checkpoints/ckpt-<seq>.bin   a PS snapshot (tables + optimiser state + key-value store)
//   runs/<runId>/checkpoints/latest.json      the pointer: which snapshot, its CRC-32, and the slots' cursors
//
// A sharded run (parameterServer.shards > 1): each shard writes its own snapshots and pointer under
// runs/<runId>/shard-<s>/checkpoints/; once every shard has written one in the same round, the run's
// pointer is switched to a copy of shard 0's listing all of them (`shards`), so a resume finds one
// consistent set. A shard's snapshots are deleted only once the run's pointer names a newer one of that
// shard (ShardedSupervisor, pruneShardSnapshots): a shard that missed rounds still has the snapshot the
// run's pointer names, however many rounds the others wrote meanwhile.
//
// The snapshot is written first, under a new name; only then is the pointer replaced (one PUT, which S3
// makes visible whole). A crash at any moment leaves the pointer naming a complete snapshot (or no
// pointer at all). Unsharded, the snapshot before the previous one is deleted after the switch.
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { crc32 } from '../util/crc32';
import { getObjectBytes, isNotFound, joinKey, listKeys, putObjectBytes } from '../storage/s3';
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
  /** A shard's checkpoint: its older snapshots are pruned by the sharded supervisor (the run's pointer may name one). */
  options: { keepOlder?: boolean } = {},
): Promise<CheckpointPointer> {
  const key = snapshotKey(runId, seq);
  const crc = crc32(snapshot);
  await withRetries(() => putObjectBytes(s3, bucket, key, snapshot, { crc32: String(crc) }));
  const pointer: CheckpointPointer = { version: 1, seq, key, bytes: snapshot.byteLength, crc32: crc, savedAt: new Date().toISOString(), ...state };
  await withRetries(() => putObjectBytes(s3, bucket, pointerKey(runId), JSON.stringify(pointer)));
  if (seq >= 2 && !options.keepOlder) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: snapshotKey(runId, seq - 2) })).catch(() => undefined); // best effort: only storage
  }
  return pointer;
}

const snapshotKey = (runId: string, seq: number) => joinKey(checkpointPrefix(runId), `ckpt-${String(seq).padStart(6, '0')}.bin`);

/** A shard's snapshots other than `keep` deleted: older ones the run's pointer no longer names, and newer
 *  ones a driver wrote before it died, beyond the round its resume restored (best effort: a failed
 *  delete or list only leaves storage behind). */
export async function pruneShardSnapshots(s3: S3Client, bucket: string, shardRunId: string, keep: number): Promise<void> {
  const keepKey = snapshotKey(shardRunId, keep);
  try {
    for await (const { key } of listKeys(s3, bucket, joinKey(checkpointPrefix(shardRunId), 'ckpt-'))) {
      if (key !== keepKey && key.endsWith('.bin')) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
    }
  } catch {
    // listing failed: the snapshots stay, to be pruned at the next round
  }
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

/** Every snapshot a run's pointer names (one per shard; one without shards), each checked. A resume needs
 *  all of one round: when a shard's is gone or damaged (a set written before shards kept their snapshots
 *  for as long as the run's pointer names them, or objects deleted by hand), the error names the shard
 *  and what to do. */
export async function readCheckpointSet(s3: S3Client, bucket: string, pointer: CheckpointPointer): Promise<Uint8Array[]> {
  if (!pointer.shards) return [await readCheckpoint(s3, bucket, pointer)];
  return Promise.all(
    pointer.shards.map(async (shard, s) => {
      try {
        return await readCheckpoint(s3, bucket, shard);
      } catch (error) {
        const why = isNotFound(error) ? `s3://${bucket}/${shard.key} is gone` : (error as Error).message;
        throw new Error(
          `cannot resume: shard ${s}'s snapshot of the run's last complete checkpoint round (its checkpoint ${shard.seq}) is unusable: ${why}. ` +
            `A resume restores every shard from the same round and no other round is recorded, so this run cannot be resumed; ` +
            `start it again from its config (cirrus train, or Start in VS Code). Its folder keeps the events and evaluations recorded so far`,
        );
      }
    }),
  );
}
