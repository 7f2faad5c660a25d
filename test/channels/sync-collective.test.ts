// The synchronous step collective (runtime/channels/sync-collective.ts) with N simulated workers in
// this process over a real redis-server: sparse updates merged exactly (mean, median, krum), each
// range applied once, a missing worker left out after the step timeout (no hang), a worker that has
// left not waited for, and a joining worker starting after the last step reduced.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Channel } from '../../runtime/channels/channel';
import { RedisChannel } from '../../runtime/channels/redis-channel';
import { mergeUpdates, SyncCollective, type SparseUpdate } from '../../runtime/channels/sync-collective';
import { cpuShare, DESIGN_CELLS, measuredPrimitives, networkPrimitives, predictStep } from '../../runtime/channels/step-model';
import { connectRedis } from '../../runtime/redis/client';
import { findRedisServer, startLocalRedis } from '../../runtime/redis/server';
import { tmpDir } from '../data/fixtures';

async function redisChannel(t: TestContext): Promise<Channel | undefined> {
  if (!findRedisServer()) {
    t.skip('redis-server is not installed (Debian/Ubuntu: apt-get install redis-server; .ci/run installs it)');
    return undefined;
  }
  const redis = await startLocalRedis({ dir: path.join(tmpDir('sync-collective'), 'redis') });
  const client = await connectRedis(redis.url);
  t.after(async () => {
    client.destroy();
    await redis.stop();
  });
  return new RedisChannel({ client });
}

const ROWS = 1000;

/** Worker r's update at step s: rows r, r+7, ... (overlapping between workers), values from (r, s). */
function update(rank: number, step: number): SparseUpdate {
  const ids = Uint32Array.from({ length: 20 }, (_, k) => (rank * 3 + k * 47 + step) % ROWS).sort();
  const unique = ids.filter((id, k) => k === 0 || id !== ids[k - 1]);
  return { ids: unique, values: Float32Array.from(unique, (id) => ((id % 13) - 6) * (rank + 1) + step) };
}

/** The expected mean over the union, computed densely and independently. */
function denseMean(updates: SparseUpdate[]): Map<number, number> {
  const sum = new Float64Array(ROWS);
  const touched = new Set<number>();
  for (const u of updates) u.ids.forEach((id, k) => (sum[id] += u.values[k], touched.add(id)));
  return new Map([...touched].sort((a, b) => a - b).map((id) => [id, Math.fround(sum[id] / updates.length)]));
}

for (const scheme of ['all-reduce', 'scatter-reduce'] as const) {
  test(`${scheme}: each step's mean applied exactly once per row, before any worker's next step`, async (t) => {
    const channel = await redisChannel(t);
    if (!channel) return;
    const workers = 3;
    const applied: Array<Map<number, number>> = [];
    const collectives = Array.from({ length: workers }, (_, rank) => new SyncCollective({ channel, prefix: `t/${scheme}`, rank, workers, scheme, stepTimeoutMs: 10_000, rows: ROWS, width: 1, aggregation: { rule: 'mean', f: 0 } }));
    for (let step = 0; step < 4; step++) {
      const inputs = collectives.map((_, rank) => update(rank, step));
      applied[step] = new Map();
      const reports = await Promise.all(
        collectives.map((c, rank) =>
          c.step(step, inputs[rank], async (merged) => {
            merged.ids.forEach((id, k) => {
              assert.ok(!applied[step].has(id), `row ${id} applied twice in step ${step}`);
              applied[step].set(id, merged.values[k]);
            });
          }),
        ),
      );
      assert.deepEqual(applied[step], denseMean(inputs), `step ${step}`);
      for (const r of reports) assert.deepEqual([r.missing, r.unapplied], [[], []]);
    }
  });
}

test('a worker that never contributes: the others go on after the step timeout, without it', async (t) => {
  const channel = await redisChannel(t);
  if (!channel) return;
  const make = (rank: number) => new SyncCollective({ channel, prefix: 't/missing', rank, workers: 3, scheme: 'all-reduce', stepTimeoutMs: 300, rows: ROWS, width: 1, aggregation: { rule: 'mean', f: 0 } });
  let merged: SparseUpdate | undefined;
  const started = Date.now();
  const [r0, r1] = await Promise.all([make(0).step(0, update(0, 0), async (m) => void (merged = m)), make(1).step(0, update(1, 0), async () => assert.fail('only worker 0 reduces'))]);
  assert.ok(Date.now() - started < 5000, 'no hang');
  assert.deepEqual(r0.missing, [2]);
  assert.equal(r0.contributors, 2);
  assert.deepEqual(r1.unapplied, []);
  const expected = denseMean([update(0, 0), update(1, 0)]);
  assert.deepEqual(new Map([...merged!.ids].map((id, k) => [id, merged!.values[k]])), expected, 'the mean of those who contributed');
  // A worker joining now starts after the last step reduced.
  assert.equal(await make(2).join(), 1);
});

test('a worker that has left is not waited for (no timeout)', async (t) => {
  const channel = await redisChannel(t);
  if (!channel) return;
  const make = (rank: number) => new SyncCollective({ channel, prefix: 't/left', rank, workers: 2, scheme: 'all-reduce', stepTimeoutMs: 20_000, rows: ROWS, width: 1, aggregation: { rule: 'mean', f: 0 } });
  await make(1).leave();
  const started = Date.now();
  const report = await make(0).step(0, update(0, 0), async () => undefined);
  assert.deepEqual(report.missing, [1]);
  assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
});

test('robust merges: median and krum ignore one flipped, scaled update; mean does not', () => {
  const honest = [0, 1, 2, 3].map((r) => ({ ids: Uint32Array.from([1, 2, 3]), values: Float32Array.from([1 + r * 0.01, 2, 3]) }));
  const byzantine = { ids: Uint32Array.from([1, 2, 3]), values: Float32Array.from([-10, -20, -30]) };
  const all = [byzantine, ...honest];
  const mean = mergeUpdates(all, 1, { rule: 'mean', f: 0 }).merged.values;
  assert.ok(mean[1] < 0, 'the mean goes the attacker\'s way');
  for (const rule of ['median', 'krum'] as const) {
    const { merged, fallback } = mergeUpdates(all, 1, { rule, f: 1 });
    assert.equal(fallback, undefined);
    assert.ok(merged.values.every((v, k) => Math.abs(v - [1, 2, 3][k]) < 0.05), `${rule}: ${[...merged.values]}`);
  }
  // Too few updates for Krum (n < 2f + 3): the median stands in, and says so.
  const { fallback } = mergeUpdates(all.slice(0, 3), 1, { rule: 'krum', f: 1 });
  assert.match(fallback ?? '', /2f \+ 3.*median/);
});

test('analytic step model: S3 steps cost tens of ms more than Redis and the parameter server; async PS the least', () => {
  const x = { workers: 4, updateBytes: 20_000, pullBytes: 20_000, computeSeconds: 0.002, memoryMB: 1024 };
  const seconds = Object.fromEntries(DESIGN_CELLS.map((cell) => [cell.sync === 'async-sgd' ? 'async' : `${cell.channel}/${cell.scheme}`, predictStep(cell, x).seconds]));
  assert.ok(seconds['s3/all-reduce'] > seconds['redis/all-reduce'] + 0.05, JSON.stringify(seconds));
  assert.ok(seconds.async < seconds['ps/all-reduce'] && seconds.async < seconds['redis/scatter-reduce']);
  // Scatter-reduce moves (N-1)/N of an update per link instead of worker 0's N-1 updates: it wins for big updates.
  const big = { ...x, updateBytes: 50e6 };
  const [sa, ss] = ['all-reduce', 'scatter-reduce'].map((scheme) => predictStep({ sync: 'sync-sgd', channel: 's3', scheme: scheme as 'all-reduce' }, big).seconds);
  assert.ok(ss < sa, `scatter ${ss} < all-reduce ${sa}`);
  assert.ok(predictStep({ sync: 'sync-sgd', channel: 's3', scheme: 'all-reduce' }, x).s3Gets > 0);
  // PyWren moves the whole model twice a step (the reducer's put, the others' get): 4 MiB at 75 MB/s each way.
  const pywren = predictStep({ sync: 'sync-sgd', channel: 's3', scheme: 'pywren' }, { ...x, modelBytes: 4 * 2 ** 20 });
  assert.ok(pywren.seconds > seconds['s3/all-reduce'] + 0.1, `pywren ${pywren.seconds} vs s3 all-reduce ${seconds['s3/all-reduce']}`);
  assert.equal(pywren.parts.pull, 0, 'pywren workers read the model from S3, not the parameter server');
});

test('analytic step model on this machine: measured request costs add to each request, compute shares the cores', () => {
  const host = { cores: 2, otherLoad: 0, computeSecondsPerSample: 1e-5, s3RequestSeconds: 0.005, tcpRequestSeconds: 0.0002, s3ByteSeconds: 1e-8, proxied: true };
  assert.equal(cpuShare(host, 1), 1);
  assert.equal(cpuShare(host, 2), 1, 'two processes on two idle cores run at full speed');
  assert.equal(cpuShare(host, 4), 2);
  assert.ok(Math.abs(cpuShare({ ...host, otherLoad: 20 }, 4) - 24 / 21) < 1e-12, 'on a loaded machine the run\'s own processes matter less');
  const x = { workers: 4, updateBytes: 20_000, pullBytes: 20_000, computeSeconds: 0.002, memoryMB: 1024 };
  for (const cell of DESIGN_CELLS) {
    const bare = predictStep(cell, x);
    const local = predictStep(cell, { ...x, host });
    assert.ok(local.seconds > bare.seconds, `${JSON.stringify(cell)}: ${local.seconds} > ${bare.seconds}`);
  }
  // Compute: 4 synchronous workers on 2 idle cores take twice the probe's time.
  assert.ok(Math.abs(predictStep(DESIGN_CELLS[1], { ...x, host }).parts.compute - 0.004) < 1e-12);
});

test('analytic step model from a run\'s own timing: requests per scheme, pipelined async pulls, big objects per byte', () => {
  // Two workers' summed StepTiming: 100 steps, 200 PS round trips of 3 ms, 400 channel requests of 2 ms,
  // 50 big objects (4 MiB) of 2 + 50 ms each, 0.1 ms of compute a step.
  const timing = { computeMs: 8, packMs: 2, pullWaitMs: 0, pushWaitMs: 0, steps: 100, stepMs: 0, psTrips: 200, psTripMs: 600, channelTrips: 400, channelTripMs: 800, bigTrips: 50, bigTripMs: 50 * 52, bigBytes: 50 * 4 * 2 ** 20 };
  const p = measuredPrimitives(timing, {})!;
  assert.ok(Math.abs(p.psRequest - 0.003) < 1e-12 && Math.abs(p.channelRequest - 0.002) < 1e-12 && Math.abs(p.compute - 0.0001) < 1e-12, JSON.stringify(p));
  assert.ok(Math.abs(p.channelByte - 0.05 / (4 * 2 ** 20)) < 1e-15, 'a big object costs a small request plus its bytes');
  const x = { workers: 2, updateBytes: 0, pullBytes: 0, computeSeconds: 0, memoryMB: 1024, modelBytes: 4 * 2 ** 20 };
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
  // all-reduce: pull, compute, put, the reducer's poll cycle, apply, marker, the others' poll cycle.
  const ps = predictStep({ sync: 'sync-sgd', channel: 'ps', scheme: 'all-reduce' }, x, p).seconds;
  assert.ok(close(ps, 2 * 0.003 + 0.0001 + 4 * 0.002 + 0.001), `ps all-reduce ${ps}`);
  // pywren: no pull; the model twice through the channel (put by the reducer, read by the others).
  const pywren = predictStep({ sync: 'sync-sgd', channel: 's3', scheme: 'pywren' }, x, p).seconds;
  assert.ok(close(pywren, 0.0001 + 4 * 0.002 + 0.02 + 2 * 0.05 + 2 * 0.003), `pywren ${pywren}`);
  // async: a pull sent two minibatches ahead hides half its round trip; compute-bound once compute dominates.
  const async = (q: typeof p) => predictStep({ sync: 'async-sgd' }, x, q).seconds;
  assert.ok(close(async(p), (0.003 + 0.0001) / 2), `async ${async(p)}`);
  assert.ok(close(async({ ...p, compute: 0.01 }), 0.01));
  // A run whose workers reported no request timing gives no primitives (an older worker bundle).
  assert.equal(measuredPrimitives({ computeMs: 1, packMs: 0, pullWaitMs: 0, pushWaitMs: 0 }, {}), undefined);
});

test('analytic step model before a run: the local S3\'s own time overlaps the emulated first byte, it does not add to it', () => {
  const x = { workers: 2, updateBytes: 1000, pullBytes: 1000, computeSeconds: 0.001, memoryMB: 1024 };
  const host = { cores: 2, otherLoad: 0, computeSecondsPerSample: 1e-5, s3RequestSeconds: 0.01, tcpRequestSeconds: 0.0002, s3ByteSeconds: 0, proxied: false };
  const s3 = { sync: 'sync-sgd', channel: 's3', scheme: 'all-reduce' } as const;
  assert.equal(networkPrimitives(s3, { ...x, host }).channelRequest, 0.03, 'a 10 ms local answer is held to the 30 ms first byte');
  assert.equal(networkPrimitives(s3, { ...x, host: { ...host, s3RequestSeconds: 0.05 } }).channelRequest, 0.05, 'a 50 ms local answer is later than the first byte');
});
