// Parameter server over real TCP on 127.0.0.1: optimiser arithmetic, wide tables, pipelining,
// key-value, snapshot/restore.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { FramePool, Op, PsError, Status } from '../../runtime/ps/protocol';
import type { ParameterServer } from '../../runtime/ps/server';
import type { OptimizerSettings, TableSpec } from '../../runtime/ps/types';
import { frame, RawConnection, sleep, sparseBody, startServer } from './helpers';

const servers: ParameterServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serverWith(tables: TableSpec[]) {
  const s = await startServer(tables);
  servers.push(s.server);
  return s;
}

function near(actual: number, expected: number, what: string): void {
  // float32 storage: about 7 significant digits.
  assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}`);
}

/**
 * Row 2 gets gradient 0.5, then −1; row 3 gets only the second push (gradient 2), so Adam's per-row
 * step count is checked too. Learning rate 0.1 throughout.
 */
async function twoSteps(optimizer: OptimizerSettings): Promise<Float32Array> {
  const { connect } = await serverWith([{ name: 'w', rows: 4, width: 1, optimizer }]);
  const c = await connect();
  await c.push(0, Uint32Array.of(2), Float32Array.of(0.5));
  const afterOne = await c.pull(0, Uint32Array.of(2));
  await c.push(0, Uint32Array.of(2, 3), Float32Array.of(-1, 2));
  const w = await c.pullFull(0);
  await c.close();
  return Float32Array.of(afterOne[0], w[2], w[3], w[0], w[1]);
}

describe('optimisers, checked against hand-computed values', () => {
  test('sgd: w -= lr·g', async () => {
    const [w1, w2, row3, row0, row1] = await twoSteps({ type: 'sgd', learningRate: 0.1 });
    near(w1, -0.05, 'after 0.5'); // 0 − 0.1·0.5
    near(w2, 0.05, 'after −1'); // −0.05 − 0.1·(−1)
    near(row3, -0.2, 'row 3'); // 0 − 0.1·2
    assert.equal(row0, 0);
    assert.equal(row1, 0);
  });

  test('sgd with l2: the gradient gains l2·w', async () => {
    const [w1, w2] = await twoSteps({ type: 'sgd', learningRate: 0.1, l2: 0.1 });
    near(w1, -0.05, 'after 0.5'); // w was 0: no l2 term yet
    near(w2, 0.0505, 'after −1'); // −0.05 − 0.1·(−1 + 0.1·(−0.05)) = −0.05 + 0.1005
  });

  test('momentum: v = μv + g; w -= lr·v', async () => {
    const [w1, w2, row3] = await twoSteps({ type: 'momentum', learningRate: 0.1, momentum: 0.9 });
    near(w1, -0.05, 'after 0.5'); // v = 0.5
    near(w2, 0.005, 'after −1'); // v = 0.45 − 1 = −0.55; w = −0.05 + 0.055
    near(row3, -0.2, 'row 3'); // v = 2
  });

  test('adagrad: G += g²; w -= lr·g/(√G + ε)', async () => {
    const [w1, w2, row3] = await twoSteps({ type: 'adagrad', learningRate: 0.1 });
    near(w1, -0.1, 'after 0.5'); // G = 0.25: −0.1·0.5/0.5
    near(w2, -0.1 + 0.1 / Math.sqrt(1.25), 'after −1'); // G = 1.25: = −0.0105573
    near(row3, -0.1, 'row 3'); // G = 4: −0.1·2/2
  });

  test('adagrad with l2', async () => {
    const [w1, w2] = await twoSteps({ type: 'adagrad', learningRate: 0.1, l2: 0.1 });
    near(w1, -0.1, 'after 0.5');
    // g' = −1 + 0.1·(−0.1) = −1.01; G = 0.25 + 1.0201 = 1.2701; w = −0.1 + 0.1·1.01/√1.2701
    near(w2, -0.1 + 0.101 / Math.sqrt(1.2701), 'after −1');
  });

  test('adam: bias-corrected moments, step count kept per row', async () => {
    const [w1, w2, row3] = await twoSteps({ type: 'adam', learningRate: 0.1 });
    // t=1: m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25: w = −0.1·0.5/0.5 = −0.1
    near(w1, -0.1, 'after 0.5');
    // t=2: m = 0.045 − 0.1 = −0.055, m̂ = −0.055/0.19; v = 0.00024975 + 0.001 = 0.00124975, v̂ = v/0.001999
    near(w2, -0.1 + (0.1 * (0.055 / 0.19)) / Math.sqrt(0.00124975 / 0.001999), 'after −1'); // = −0.0633896
    // Row 3's first step, although the table has seen two pushes: −lr·sign(g)
    near(row3, -0.1, 'row 3');
  });

  test('a row listed twice in one push is stepped twice, in order', async () => {
    const { connect } = await serverWith([{ name: 'w', rows: 2, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }]);
    const c = await connect();
    await c.push(0, Uint32Array.of(1, 1), Float32Array.of(1, 2));
    assert.deepEqual([...(await c.pullFull(0))], [0, -3]);
    await c.close();
  });
});

describe('tables', () => {
  test('width > 1: rows are width floats, row-major, several tables side by side', async () => {
    const { connect } = await serverWith([
      { name: 'bias', rows: 3, width: 1, optimizer: { type: 'sgd', learningRate: 1 } },
      { name: 'factors', rows: 5, width: 3, optimizer: { type: 'momentum', learningRate: 0.5, momentum: 0.5 } },
    ]);
    const c = await connect();
    assert.deepEqual(
      c.tables.map((t) => [t.name, t.rows, t.width, t.optimizer]),
      [['bias', 3, 1, 'sgd'], ['factors', 5, 3, 'momentum']],
    );
    await c.push(1, Uint32Array.of(4, 0), Float32Array.of(1, 2, 3, -1, -2, -4));
    await c.push(1, Uint32Array.of(4), Float32Array.of(2, 2, 2));
    // row 4: v1 = (1,2,3), w1 = (−0.5,−1,−1.5); v2 = 0.5·v1 + 2 = (2.5,3,3.5), w2 = w1 − 0.5·v2
    assert.deepEqual([...(await c.pull(1, Uint32Array.of(4)))], [-1.75, -2.5, -3.25]);
    assert.deepEqual([...(await c.pull(1, Uint32Array.of(0, 2)))], [0.5, 1, 2, 0, 0, 0]);
    assert.deepEqual([...(await c.pullFull(0))], [0, 0, 0], 'the other table is untouched');
    const full = await c.pullFull(1);
    assert.equal(full.length, 15);
    assert.deepEqual([...full.subarray(12)], [-1.75, -2.5, -3.25]);
    await assert.rejects(c.push(1, Uint32Array.of(1), Float32Array.of(1, 2)), RangeError, 'the client checks the width');
    await c.close();
  });

  test('normal init: seeded, deterministic, roughly the asked std', async () => {
    const spec: TableSpec = { name: 'f', rows: 20000, width: 4, init: { type: 'normal', std: 0.1, seed: 42 }, optimizer: { type: 'sgd', learningRate: 0.1 } };
    const a = await serverWith([spec]);
    const b = await serverWith([spec]);
    const c = await serverWith([{ ...spec, init: { type: 'normal', std: 0.1, seed: 43 } }]);
    const wa = a.server.tableWeights(0);
    assert.deepEqual(wa, b.server.tableWeights(0));
    assert.notDeepEqual(wa, c.server.tableWeights(0));
    let sum = 0;
    let sq = 0;
    for (const x of wa) {
      sum += x;
      sq += x * x;
    }
    const mean = sum / wa.length;
    const std = Math.sqrt(sq / wa.length - mean * mean);
    assert.ok(Math.abs(mean) < 0.003, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.1) < 0.003, `std ${std}`);
  });
});

describe('client', () => {
  test('pipelined requests are answered in order and matched by id', async () => {
    const { connect } = await serverWith([{ name: 'w', rows: 8, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }]);
    const c = await connect();
    const pulls: Array<Promise<Float32Array>> = [];
    const pushes: Array<Promise<void>> = [];
    for (let k = 0; k < 300; k++) {
      pulls.push(c.pull(0, Uint32Array.of(3, 5)));
      pushes.push(c.push(0, Uint32Array.of(3), Float32Array.of(-1)));
    }
    const kv = c.kvSet('k', Buffer.from('v'));
    const results = await Promise.all(pulls);
    await Promise.all(pushes);
    await kv;
    // Pull k is processed after exactly k pushes: its value tells that the right reply reached it.
    results.forEach((r, k) => assert.deepEqual([...r], [k, 0], `pull ${k}`));
    assert.equal((await c.stats()).updates, 300);
    await c.close();
  });

  test('many large requests in flight: reused frame memory never changes a frame before it is written', async () => {
    // 32 KB replies and 64 KB pushes, 120 of each in flight: the sockets' buffers fill, writes complete
    // later, and both ends' frame pools (protocol.ts FramePool) must wait for them before reusing memory.
    const rows = 40_000;
    const width = 4;
    const { connect, server } = await serverWith([{ name: 'w', rows, width, optimizer: { type: 'sgd', learningRate: 1 } }]);
    const c = await connect();
    const all = Uint32Array.from({ length: rows }, (_, r) => r);
    await c.push(0, all, Float32Array.from({ length: rows * width }, (_, k) => -(Math.floor(k / width) + (k % width) / 4)));
    const sets = Array.from({ length: 120 }, (_, k) => Uint32Array.from({ length: 2000 }, (_, i) => (k * 331 + i * 17) % rows));
    const pulls = sets.map((ids) => c.pull(0, ids));
    const pushes = sets.map((ids, k) => c.push(0, ids, new Float32Array(ids.length * width).fill(k % 2 === 0 ? 1 : -1)));
    const results = await Promise.all(pulls);
    await Promise.all(pushes);
    results.forEach((got, k) => {
      const ids = sets[k];
      for (let i = 0; i < ids.length; i++) {
        for (let j = 0; j < width; j++) assert.equal(got[i * width + j], ids[i] + j / 4, `pull ${k}, row ${ids[i]}, column ${j}`);
      }
    });
    // Each push k moved its rows by -1 (k even) or +1: the weights show every push applied as sent.
    const expected = Float64Array.from({ length: rows * width }, (_, k) => Math.floor(k / width) + (k % width) / 4); // exact in float32
    sets.forEach((ids, k) => ids.forEach((r) => { for (let j = 0; j < width; j++) expected[r * width + j] += k % 2 === 0 ? -1 : 1; }));
    const w = server.tableWeights(0);
    for (let k = 0; k < expected.length; k++) assert.equal(w[k], expected[k], `weight ${k}`);
    await c.close();
  });

  test('pull into a caller-owned buffer; push copies its arrays at call time', async () => {
    const { connect } = await serverWith([{ name: 'w', rows: 8, width: 2, optimizer: { type: 'sgd', learningRate: 1 } }]);
    const c = await connect();
    const grads = Float32Array.of(1, 1);
    const pending = c.push(0, Uint32Array.of(0), grads);
    grads.fill(100); // must not change what was sent
    await pending;
    const out = new Float32Array(16);
    const got = await c.pull(0, Uint32Array.of(0, 1), out);
    assert.equal(got.buffer, out.buffer);
    assert.deepEqual([...got], [-1, -1, 0, 0]);
    await c.close();
  });

  test('key-value: set, get, miss, replace, limits', async () => {
    const { connect } = await serverWith([{ name: 'w', rows: 1, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }]);
    const c = await connect();
    assert.equal(await c.kvGet('missing'), undefined);
    await c.kvSet('worker/1/heartbeat', Buffer.from('{"samples":3}'));
    assert.equal((await c.kvGet('worker/1/heartbeat'))?.toString(), '{"samples":3}');
    await c.kvSet('worker/1/heartbeat', new Uint8Array(0));
    assert.equal((await c.kvGet('worker/1/heartbeat'))?.length, 0, 'an empty value is a hit, not a miss');
    const big = Buffer.alloc(1024 * 1024, 7);
    await c.kvSet('big', big);
    assert.ok((await c.kvGet('big'))?.equals(big));
    await assert.rejects(c.kvSet('too-big', Buffer.alloc(1024 * 1024 + 1)), RangeError);
    assert.throws(() => c.kvGet('k'.repeat(257)), RangeError);
    assert.equal((await c.stats()).kvKeys, 2);
    await c.close();
  });
});

describe('snapshot and restore', () => {
  const tables: TableSpec[] = [
    { name: 'weights', rows: 64, width: 1, optimizer: { type: 'adam', learningRate: 0.05, l2: 0.01 } },
    { name: 'factors', rows: 16, width: 5, init: { type: 'normal', std: 0.1, seed: 3 }, optimizer: { type: 'momentum', learningRate: 0.1 } },
    { name: 'ada', rows: 8, width: 2, optimizer: { type: 'adagrad', learningRate: 0.1 } },
  ];
  const pushSome = async (c: Awaited<ReturnType<Awaited<ReturnType<typeof serverWith>>['connect']>>, salt: number) => {
    for (let k = 0; k < 20; k++) {
      await c.push(0, Uint32Array.of(k % 64, (k * 7 + salt) % 64), Float32Array.of(Math.sin(k + salt), Math.cos(k)));
      await c.push(1, Uint32Array.of((k + salt) % 16), new Float32Array(5).fill(0.1 * (k - 10)));
      await c.push(2, Uint32Array.of(k % 8), Float32Array.of(k, -k));
    }
  };

  test('round trip restores weights and optimiser state (continuing gives identical results)', async () => {
    const a = await serverWith(tables);
    const ca = await a.connect();
    await pushSome(ca, 1);
    await ca.kvSet('epoch', Buffer.from('3'));
    const snap = await ca.snapshot();
    assert.ok(snap.equals(a.server.snapshot()), 'the in-process and the remote snapshot agree');
    const atSnapshot = await Promise.all([0, 1, 2].map((t) => ca.pullFull(t)));
    await pushSome(ca, 2);
    const continued = await Promise.all([0, 1, 2].map((t) => ca.pullFull(t)));

    // A fresh server restored from the snapshot, then fed the same pushes, must land on the same bits:
    // that only happens if the moments, accumulators and Adam's per-row steps came back too.
    const b = await serverWith(tables);
    const cb = await b.connect();
    await cb.restore(snap);
    assert.deepEqual(await Promise.all([0, 1, 2].map((t) => cb.pullFull(t))), atSnapshot);
    assert.equal((await cb.kvGet('epoch'))?.toString(), '3');
    await pushSome(cb, 2);
    assert.deepEqual(await Promise.all([0, 1, 2].map((t) => cb.pullFull(t))), continued);

    // And restoring A to its own snapshot rewinds it.
    await ca.restore(snap);
    assert.deepEqual(await Promise.all([0, 1, 2].map((t) => ca.pullFull(t))), atSnapshot);
    await ca.close();
    await cb.close();
  });

  test('a damaged or mismatched snapshot is refused and changes nothing', async () => {
    const a = await serverWith(tables);
    const c = await a.connect();
    await pushSome(c, 5);
    const snap = await c.snapshot();
    await pushSome(c, 6);
    const before = a.server.snapshot();

    const flipped = Buffer.from(snap);
    flipped[100] ^= 0x40;
    await assert.rejects(c.restore(flipped), (e: unknown) => e instanceof PsError && e.status === Status.BAD_SNAPSHOT);
    await assert.rejects(c.restore(snap.subarray(0, snap.length - 9)), (e: unknown) => e instanceof PsError && e.status === Status.BAD_SNAPSHOT);

    const other = await serverWith([tables[0], tables[1]]);
    await assert.rejects(c.restore(other.server.snapshot()), /has 2 tables/);
    const reshaped = await serverWith([tables[0], { ...tables[1], width: 4 }, tables[2]]);
    await assert.rejects(c.restore(reshaped.server.snapshot()), /does not match/);
    const reoptimised = await serverWith([{ ...tables[0], optimizer: { type: 'sgd', learningRate: 1 } }, tables[1], tables[2]]);
    await assert.rejects(c.restore(reoptimised.server.snapshot()), /does not match/);

    assert.ok(a.server.snapshot().equals(before), 'state unchanged');
    assert.ok(c.isOpen, 'the connection stays usable');
    await c.close();
  });
});

describe('framing', () => {
  test('frame pool: memory comes back only through the write callback, 4-aligned, bounded', () => {
    const pool = new FramePool(2, 64 * 1024);
    const a = pool.takeFrame(100, Op.PULL_SPARSE, 7);
    assert.equal(a.length, 109);
    assert.equal(a.readUInt32LE(0), 105);
    assert.equal(a[4], Op.PULL_SPARSE);
    assert.equal(a.readUInt32LE(5), 7);
    assert.equal(a.byteOffset % 4, 0);
    const b = pool.take(100);
    assert.notEqual(b.buffer, a.buffer, 'memory still being written is not handed out again');
    pool.release(a)();
    const c = pool.take(3000);
    assert.equal(c.buffer, a.buffer, 'released memory is reused');
    assert.equal(c.length, 3000);
    // Frames over the kept size are not kept; at most `keep` buffers are.
    const big = pool.take(100_000);
    pool.release(big)();
    assert.notEqual(pool.take(100_000).buffer, big.buffer);
    const held = [pool.take(10), pool.take(10), pool.take(10)];
    held.forEach((f) => pool.release(f)());
    const again = [pool.take(10), pool.take(10), pool.take(10)].map((f) => f.buffer);
    assert.equal(again.filter((m) => held.some((f) => f.buffer === m)).length, 2);
  });

  test('frames at every byte alignment and split across reads are read correctly', async () => {
    const { port, server } = await serverWith([{ name: 'w', rows: 8, width: 2, optimizer: { type: 'sgd', learningRate: 1 } }]);
    const raw = await RawConnection.authed(port);
    for (let k = 0; k < 4; k++) {
      // k STATS frames (9 bytes each) in front shift the push to offset 9k inside the same write.
      const stats = Array.from({ length: k }, (_, i) => frame(Op.STATS, 100 + i));
      raw.write(Buffer.concat([...stats, frame(Op.PUSH_SPARSE, 200 + k, sparseBody(0, [k, k + 4], [1, 2, 3, 4]))]));
      for (let i = 0; i < k; i++) assert.equal((await raw.reply()).status, Status.OK);
      const r = await raw.reply();
      assert.equal(r.status, Status.OK, r.body.toString());
      assert.equal(r.id, 200 + k);
    }
    // One push dribbled a byte at a time.
    const slow = frame(Op.PUSH_SPARSE, 300, sparseBody(0, [7], [10, 20]));
    for (const byte of slow) {
      raw.write(Buffer.of(byte));
      await sleep(1);
    }
    assert.equal((await raw.reply()).id, 300);
    const w = server.tableWeights(0);
    assert.deepEqual([...w], [-1, -2, -1, -2, -1, -2, -1, -2, -3, -4, -3, -4, -3, -4, -13, -24]);
    raw.destroy();
  });
});

describe('table memory', () => {
  test('the tables are mapped after listen, while workers start, and updates made meanwhile are kept', async () => {
    // 2^22 rows of adagrad = 32 MiB: fresh from the allocator, its pages are not resident yet.
    const rows = 2 ** 22;
    const rssBefore = process.memoryUsage().rss;
    const { server, connect } = await startServer([{ name: 'w', rows, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }, { name: 'a', rows, width: 1, optimizer: { type: 'adagrad', learningRate: 0.1 } }]);
    const c = await connect();
    try {
      // Pushes to rows across the table, some before the touching reaches them.
      const ids = Uint32Array.from({ length: 64 }, (_, i) => i * (rows / 64) + 7);
      await c.push(0, ids, new Float32Array(64).fill(-2));
      let mappedMB = 0;
      for (let i = 0; i < 100 && mappedMB < 40; i++) {
        await sleep(20);
        mappedMB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      }
      // sgd table 16 MiB + adagrad table 32 MiB = 48 MiB mapped within 2 s, without a pull touching them.
      assert.ok(mappedMB >= 40, `resident memory grew by ${mappedMB.toFixed(1)} MiB, expected the tables' 48 MiB`);
      const w = await c.pull(0, ids);
      assert.deepEqual([...w], new Array(64).fill(2), 'sgd: w = 0 - 1 x (-2), kept through the touching');
      const full = server.tableWeights(1);
      assert.equal(full.reduce((n, x) => n + (x === 0 ? 0 : 1), 0), 0, 'the adagrad table is still all zeros');
    } finally {
      await c.close();
      await server.close();
    }
  });
});
