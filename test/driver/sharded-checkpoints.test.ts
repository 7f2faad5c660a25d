// A sharded parameter server's checkpoints (parameterServer.shards > 1): one shard that cannot write its
// checkpoints for two rounds in a row (and three) while the other shard writes them must not cost the run
// its last complete round. The run's pointer still names that round, so every shard's snapshot of it must
// still exist: a resume restores the model as it was then. Once a later round is complete, the snapshots
// it replaces are deleted. And a set whose shard snapshot is gone (deleted by hand, or written by a
// version that deleted it) fails the resume with an error naming the shard and what to do.
// Real parameter-server processes and an embedded S3; the failing writes are injected into shard 1's
// S3 requests only (as S3 errors a real bucket could give).
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, test } from 'node:test';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readCheckpointPointer, readCheckpointSet } from '../../runtime/driver/checkpoint';
import { ShardedSupervisor } from '../../runtime/driver/sharded-supervisor';
import type { RunEvent } from '../../runtime/recording/events';
import { createS3Client, listKeys } from '../../runtime/storage/s3';
import { withEmbeddedS3 } from '../data/fixtures';

const ROWS = 64;

/** An S3 client whose PUTs under shard 1's checkpoints fail while `failing.shard1` is set (403 AccessDenied). */
function clientFailingShard1(target: Parameters<typeof createS3Client>[0], failing: { shard1: boolean }): S3Client {
  const client = createS3Client(target);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: string }).Key ?? '';
      if (failing.shard1 && context.commandName === 'PutObjectCommand' && key.includes('/shard-1/checkpoints/')) {
        throw Object.assign(new Error(`injected: PUT ${key} refused`), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'shard1Failures' },
  );
  return client;
}

async function start(s3: S3Client, bucket: string, runId: string, events: RunEvent[]): Promise<ShardedSupervisor> {
  return ShardedSupervisor.start(
    { token: crypto.randomBytes(16).toString('hex'), tables: [{ name: 'weights', rows: ROWS, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }] },
    { s3, bucket, runId, emit: (e) => events.push(e as RunEvent), log: () => undefined, trainStartedAt: Date.now() },
    2,
  );
}

const ones = Array.from({ length: ROWS }, () => 1);
const allRows = Uint32Array.from({ length: ROWS }, (_, r) => r);
/** One update of every row (SGD at rate 1 subtracts it): both shards' rows change. */
const pushEvery = (sup: ShardedSupervisor, value: number) => sup.client.push(0, allRows, new Float32Array(ROWS).fill(value));
const state = { trainSeconds: 1, updates: 1, slots: [] };

async function snapshotKeys(s3: S3Client, bucket: string, runId: string, shard: number): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of listKeys(s3, bucket, `runs/${runId}/shard-${shard}/checkpoints/ckpt-`)) keys.push(key.split('/').pop()!);
  return keys.sort();
}

test('a shard that misses two (and three) checkpoint rounds in a row: the last complete round stays whole, a resume restores it', { timeout: 60_000 }, async () => {
  const fixture = await withEmbeddedS3(after);
  const failing = { shard1: false };
  const s3 = clientFailingShard1(fixture.s3.target, failing);
  after(() => s3.destroy());
  const runId = 'sharded-missed-rounds';
  const events: RunEvent[] = [];
  const first = await start(s3, fixture.bucket, runId, events);
  try {
    await pushEvery(first, -1); // every row = 1
    assert.equal(await first.checkpoint(state), true, 'round 0 written by both shards');
    assert.deepEqual(Array.from(await first.client.pullFull(0)), ones);

    failing.shard1 = true;
    for (let missed = 1; missed <= 3; missed++) {
      await pushEvery(first, -1);
      assert.equal(await first.checkpoint(state), false, `round ${missed}: shard 1 could not write, the round is not the run's`);
      // The run's pointer still names round 0, and each of its snapshots is still there and whole.
      const pointer = (await readCheckpointPointer(s3, fixture.bucket, runId))!;
      assert.deepEqual(pointer.shards!.map((p) => p.seq), [0, 0]);
      const snapshots = await readCheckpointSet(s3, fixture.bucket, pointer);
      assert.equal(snapshots.length, 2);
      assert.deepEqual(await snapshotKeys(s3, fixture.bucket, runId, 0), Array.from({ length: missed + 1 }, (_, q) => `ckpt-${String(q).padStart(6, '0')}.bin`));
    }
  } finally {
    await first.stop(); // the driver "dies" here: shard 0 has written rounds 1-3, shard 1 none of them
  }

  // A new driver resumes from the run's pointer: the model of round 0 in both shards (rows of 1, not 4).
  failing.shard1 = false;
  const pointer = (await readCheckpointPointer(s3, fixture.bucket, runId))!;
  const resumed = await start(s3, fixture.bucket, runId, events);
  try {
    await resumed.resumeFrom(pointer, await readCheckpointSet(s3, fixture.bucket, pointer));
    assert.deepEqual(Array.from(await resumed.client.pullFull(0)), ones);
    // The next complete round replaces it: each shard keeps only its snapshot of that round (shard 0's
    // rounds 1-3 from before the resume are gone too: its checkpoint 1 was written again, 2 and 3 are stale).
    await pushEvery(resumed, -1);
    assert.equal(await resumed.checkpoint(state), true);
    const next = (await readCheckpointPointer(s3, fixture.bucket, runId))!;
    assert.deepEqual(next.shards!.map((p) => p.seq), [1, 1]);
    assert.deepEqual(await snapshotKeys(s3, fixture.bucket, runId, 0), ['ckpt-000001.bin']);
    assert.deepEqual(await snapshotKeys(s3, fixture.bucket, runId, 1), ['ckpt-000001.bin']);
    const restored = await readCheckpointSet(s3, fixture.bucket, next);
    assert.equal(restored.length, 2);
  } finally {
    await resumed.stop();
  }
});

test('a sharded checkpoint set with a shard snapshot gone: the resume error names the shard and what to do', { timeout: 60_000 }, async () => {
  const fixture = await withEmbeddedS3(after);
  const s3 = createS3Client(fixture.s3.target);
  after(() => s3.destroy());
  const runId = 'sharded-snapshot-gone';
  const sup = await start(s3, fixture.bucket, runId, []);
  try {
    await pushEvery(sup, -1);
    assert.equal(await sup.checkpoint(state), true);
  } finally {
    await sup.stop();
  }
  const pointer = (await readCheckpointPointer(s3, fixture.bucket, runId))!;
  await s3.send(new DeleteObjectCommand({ Bucket: fixture.bucket, Key: pointer.shards![1].key }));
  await assert.rejects(readCheckpointSet(s3, fixture.bucket, pointer), (error: Error) => {
    assert.match(error.message, /shard 1's snapshot/);
    assert.match(error.message, new RegExp(`${pointer.shards![1].key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is gone`));
    assert.match(error.message, /start it again from its config/);
    return true;
  });
});
