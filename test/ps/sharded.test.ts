// The sharded parameter server's client side (runtime/ps/sharded-client.ts, sharding.ts) against real
// servers over TCP: one server and two shards given the same pushes hold the same model; the update
// screen refuses a loud worker's pushes on the server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../runtime/aggregation/byzantine';
import { ShardedPsClient } from '../../runtime/ps/sharded-client';
import { localRow, shardOf, shardRows, shardTables, ShardSplit, joinShards } from '../../runtime/ps/sharding';
import type { TableSpec } from '../../runtime/ps/types';
import { startServer, TOKEN } from './helpers';

const TABLES: TableSpec[] = [
  { name: 'weights', rows: 1001, width: 1, optimizer: { type: 'adagrad', learningRate: 0.1 } },
  { name: 'factors', rows: 37, width: 3, init: { type: 'normal', std: 0.1, seed: 5 }, optimizer: { type: 'sgd', learningRate: 0.5 } },
];

test('sharding: row r on shard r mod N as row floor(r / N); split, scatter and join are inverse', () => {
  assert.deepEqual([shardOf(10, 3), localRow(10, 3)], [1, 3]);
  assert.deepEqual([0, 1, 2].map((s) => shardRows(10, s, 3)), [4, 3, 3]);
  assert.deepEqual([0, 1, 2, 3].map((s) => shardRows(2, s, 4)), [1, 1, 0, 0]);
  assert.deepEqual(shardTables(TABLES, 1, 2).map((t) => t.rows), [500, 18]);
  assert.notEqual((shardTables(TABLES, 1, 2)[1].init as { seed: number }).seed, 5, 'each shard draws its own random init');
  const rows = Uint32Array.from([9, 2, 4, 7, 0]);
  const split = new ShardSplit(rows, 2);
  assert.deepEqual([...split.ids[0]], [1, 2, 0]);
  assert.deepEqual([...split.ids[1]], [4, 3]);
  const values = Float32Array.from([90, 91, 20, 21, 40, 41, 70, 71, 0, 1]);
  const back = new Float32Array(values.length);
  for (const s of [0, 1]) split.scatter(s, split.gather(s, values, 2), back, 2);
  assert.deepEqual(back, values);
  const joined = joinShards([Float32Array.from([0, 2, 4]), Float32Array.from([1, 3])], 5, 1);
  assert.deepEqual([...joined], [0, 1, 2, 3, 4]);
});

test('two shards and one server given the same pulls and pushes hold the same model', async () => {
  const single = await startServer(TABLES);
  const shard0 = await startServer(shardTables(TABLES, 0, 2));
  const shard1 = await startServer(shardTables(TABLES, 1, 2));
  const one = await single.connect(3);
  const sharded = await ShardedPsClient.connect(
    [
      { host: '127.0.0.1', port: shard0.port },
      { host: '127.0.0.1', port: shard1.port },
    ],
    { token: TOKEN, workerId: 3, generation: 0 },
    TABLES.map((t) => t.rows),
  );
  try {
    assert.deepEqual(sharded.tables.map((t) => [t.rows, t.width]), [[1001, 1], [37, 3]]);
    const rand = seededRandom(11);
    for (let step = 0; step < 50; step++) {
      const ids = Uint32Array.from(new Set(Array.from({ length: 40 }, () => Math.floor(rand() * 1001))));
      const grads = Float32Array.from(ids, () => rand() - 0.5);
      const [a, b] = await Promise.all([one.pull(0, ids), sharded.pull(0, ids)]);
      assert.deepEqual(b, a, `pull at step ${step}`);
      await Promise.all([one.push(0, ids, grads), sharded.push(0, ids, grads)]);
    }
    assert.deepEqual(await sharded.pullFull(0), await one.pullFull(0));
    // The random init differs per shard (each draws its own), but pushes land on the right rows.
    const before = await sharded.pullFull(1);
    const ids = Uint32Array.from([36, 0, 17]);
    await sharded.push(1, ids, Float32Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3]));
    const after = await sharded.pullFull(1);
    for (let r = 0; r < 37; r++) {
      const g = r === 36 ? 1 : r === 0 ? 2 : r === 17 ? 3 : 0;
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(after[r * 3 + c] - (before[r * 3 + c] - 0.5 * g)) < 1e-6, `row ${r}`);
    }
    assert.deepEqual(await sharded.pull(1, ids), Float32Array.from([...after.subarray(108, 111), ...after.subarray(0, 3), ...after.subarray(51, 54)]));
    // The key-value store lives on shard 0; traffic adds up over the shard connections.
    await sharded.kvSet('k', Buffer.from('v'));
    assert.equal((await sharded.kvGet('k'))?.toString(), 'v');
    assert.equal(shard0.server.stats().kvKeys, 1);
    assert.equal(shard1.server.stats().kvKeys, 0);
    assert.equal(sharded.traffic.pushes, sharded.shards[0].traffic.pushes + sharded.shards[1].traffic.pushes);
    const stats = await sharded.stats();
    assert.equal(stats.updates, shard0.server.stats().updates + shard1.server.stats().updates);
  } finally {
    await Promise.all([one.close(), sharded.close()]);
    await Promise.all([single.server.close(), shard0.server.close(), shard1.server.close()]);
  }
});

test('the update screen on the server: a loud worker is refused (answered OK, nothing applied) and counted in stats', async () => {
  const { server, connect } = await startServer([{ name: 'w', rows: 100, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }], { screen: { quorum: 2, factor: 4 } });
  const honest = await connect(1);
  const other = await connect(3);
  const loud = await connect(2);
  try {
    const ids = Uint32Array.from([1, 2, 3]);
    for (let i = 0; i < 12; i++) await honest.push(0, ids, Float32Array.from([0.01, -0.01, 0.01]));
    assert.deepEqual(await honest.pullFull(0).then((w) => [...w.subarray(0, 4)]), [0, 0, 0, 0], 'nothing applied before a quorum of 2 workers pushed');
    for (let i = 0; i < 12; i++) await other.push(0, ids, Float32Array.from([-0.01, 0.01, 0.01]));
    const before = await honest.pullFull(0);
    await loud.push(0, ids, Float32Array.from([-1, 1, -1])); // 100x the honest RMS
    assert.deepEqual(await honest.pullFull(0), before, 'nothing of the refused push is applied');
    await honest.push(0, ids, Float32Array.from([0.02, 0.01, 0.01]));
    const screen = server.stats().screen!;
    assert.deepEqual(screen.map((r) => [r.worker, r.accepted, r.rejected, r.early ?? 0]), [[1, 1, 0, 12], [2, 0, 1, 0], [3, 12, 0, 0]]);
    assert.ok(screen[1].lastRejectedRms! > screen[1].lastBound!);
  } finally {
    await Promise.all([honest.close(), other.close(), loud.close()]);
    await server.close();
  }
});
