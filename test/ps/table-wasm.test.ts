// The table's wasm kernel (runtime/ps/table.wat, through Table): the gather and the AdaGrad step give
// bit for bit what the documented arithmetic gives in JavaScript (float64 within a step, float32
// stored), a step that overflows is undone whole, and the rows survive the scratch area growing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Table } from '../../runtime/ps/optimizers';
import type { OptimizerSettings } from '../../runtime/ps/types';

/** xorshift32: the same draws on every machine. */
function generator(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** The AdaGrad step as optimizers.ts documents it, on separate weight and accumulator arrays. */
function referenceAdagrad(w: Float32Array, acc: Float32Array, width: number, ids: Uint32Array, grads: Float32Array, o: OptimizerSettings): void {
  const l2 = o.l2 ?? 0;
  const eps = o.epsilon ?? 1e-8;
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < width; j++) {
      const k = ids[i] * width + j;
      const g = grads[i * width + j] + l2 * w[k];
      const a = acc[k] + g * g;
      acc[k] = a;
      w[k] = w[k] - (o.learningRate * g) / (Math.sqrt(a) + eps);
    }
  }
}

for (const width of [1, 3]) {
  test(`adagrad, width ${width}: the wasm step and gather match the JavaScript arithmetic bit for bit`, () => {
    const rows = 5000;
    const optimizer: OptimizerSettings = { type: 'adagrad', learningRate: 0.05, l2: 0.01 };
    const table = new Table({ name: 't', rows, width, optimizer, init: { type: 'normal', std: 0.1, seed: 3 } });
    const w = table.copyArray(0);
    const acc = table.copyArray(1);
    const next = generator(7 + width);
    for (let push = 0; push < 40; push++) {
      const n = 1 + Math.floor(next() * 800);
      // Sorted, with repeats (a row listed twice is stepped twice, in order), gradients over 8 decades.
      const ids = Uint32Array.from({ length: n }, () => Math.floor(next() * next() * rows)).sort();
      const grads = Float32Array.from({ length: n * width }, () => (next() - 0.5) * 10 ** (4 * next() - 3));
      const pulled = new Float32Array(n * width);
      assert.equal(table.gather(ids, pulled), -1);
      const expected = Float32Array.from(Array.from(ids).flatMap((id) => Array.from(w.subarray(id * width, (id + 1) * width))));
      assert.deepEqual(pulled, expected, `push ${push}: gather`);
      assert.equal(table.apply(ids, grads.slice()), -1, `push ${push}: a finite step`);
      referenceAdagrad(w, acc, width, ids, grads, optimizer);
    }
    assert.deepEqual(table.copyArray(0), w, 'weights');
    assert.deepEqual(table.copyArray(1), acc, 'accumulators');
  });
}

test('adagrad: a push whose step overflows float32 is refused at its first bad row and leaves every row as it was', () => {
  const table = new Table({ name: 't', rows: 10, width: 2, optimizer: { type: 'adagrad', learningRate: 1 } });
  assert.equal(table.apply(Uint32Array.of(1, 2, 3), Float32Array.of(0.5, -1, 2, 3, -0.25, 0.125)), -1);
  const before = [table.copyArray(0), table.copyArray(1)];
  // Row 2 twice before the bad position (both steps must be undone, in reverse), row 3's second
  // element overflows the accumulator (3e20² = 9e40 > float32's 3.4e38), row 4 after it.
  const ids = Uint32Array.of(2, 1, 2, 3, 4);
  const grads = Float32Array.of(1, 1, 2, 2, 3, 3, 0.5, 3e20, 1, 1);
  assert.equal(table.apply(ids, grads), 3, 'position of the first row whose step wrote a non-finite value');
  assert.deepEqual(table.copyArray(0), before[0], 'weights unchanged');
  assert.deepEqual(table.copyArray(1), before[1], 'accumulators unchanged');
  // The table still steps normally afterwards.
  assert.equal(table.apply(Uint32Array.of(3), Float32Array.of(1, 1)), -1);
  assert.notDeepEqual(table.copyArray(0), before[0]);
});

test('adagrad, width 1 (two rows a step): an overflow at any position, in either lane, alone or after a repeat, is undone whole', () => {
  // Taken in pairs as (2,1) (5 alone: listed twice in a row) (5,3) (4,7) (9 alone: the last).
  const ids = Uint32Array.of(2, 1, 5, 5, 3, 4, 7, 9);
  for (let bad = 0; bad < ids.length; bad++) {
    const table = new Table({ name: 't', rows: 10, width: 1, optimizer: { type: 'adagrad', learningRate: 1 }, init: { type: 'normal', std: 0.1, seed: 2 } });
    assert.equal(table.apply(Uint32Array.of(1, 2, 3, 4, 5, 7, 9), Float32Array.of(0.5, -1, 2, 3, -0.25, 0.125, 1)), -1);
    const before = table.data.slice();
    const grads = Float32Array.from(ids, (_, i) => (i === bad ? 3e20 : 0.5 - i)); // 3e20² overflows the float32 accumulator
    assert.equal(table.apply(ids, grads), bad, `the overflow at position ${bad} is the one named`);
    assert.deepEqual(table.data, before, `overflow at position ${bad}: every row as it was`);
    grads[bad] = 0.25;
    assert.equal(table.apply(ids, grads), -1, 'the table still steps normally afterwards');
  }
});

test('a pull or push larger than the scratch area grows the memory and the rows are kept', () => {
  const rows = 300_000;
  const table = new Table({ name: 't', rows, width: 1, optimizer: { type: 'adagrad', learningRate: 0.1 } });
  assert.equal(table.apply(Uint32Array.of(7), Float32Array.of(1)), -1);
  const w7 = table.data[0 + 7 * table.stride];
  assert.ok(w7 < 0);
  // 250,000 rows: 1 MB of ids, 1 MB of gradients, 2 MB of saved rows, more than the scratch holds.
  const ids = Uint32Array.from({ length: 250_000 }, (_, i) => i + 10);
  assert.equal(table.apply(ids, new Float32Array(ids.length).fill(0.5)), -1);
  assert.equal(table.data[7 * table.stride], w7, 'row 7 kept through the growth (data is read again)');
  const out = new Float32Array(ids.length);
  assert.equal(table.gather(ids, out), -1);
  assert.ok(out.every((x) => x === out[0] && x < 0), 'every pushed row stepped once');
  assert.equal(table.copyArray(0)[rows - 1], 0, 'an untouched row is still 0');
});

test('every optimiser pulls through the wasm gather, widths 1 and 4', () => {
  for (const type of ['sgd', 'momentum', 'adagrad', 'adam'] as const) {
    for (const width of [1, 4]) {
      const table = new Table({ name: 't', rows: 64, width, optimizer: { type, learningRate: 0.1 }, init: { type: 'normal', std: 1, seed: 5 } });
      const w = table.copyArray(0);
      const ids = Uint32Array.of(63, 0, 5, 5, 31);
      const out = new Float32Array(ids.length * width);
      assert.equal(table.gather(ids, out), -1);
      assert.deepEqual(out, Float32Array.from(Array.from(ids).flatMap((id) => Array.from(w.subarray(id * width, (id + 1) * width)))), `${type}, width ${width}`);
    }
  }
});

test('the gather refuses an id past the table, naming the first one, at any position', () => {
  const table = new Table({ name: 't', rows: 100, width: 2, optimizer: { type: 'sgd', learningRate: 0.1 } });
  const out = new Float32Array(8);
  assert.equal(table.gather(Uint32Array.of(100, 1, 2, 3), out), 0);
  assert.equal(table.gather(Uint32Array.of(0, 99, 2 ** 32 - 1, 100), out), 2, 'ids are unsigned: 2^32 - 1 is past the end');
  assert.equal(table.gather(Uint32Array.of(0, 99, 99, 0), out), -1);
});

test("a push's checks in wasm name the first id past the table and the first non-finite gradient, at any position, and change nothing", () => {
  for (const type of ['sgd', 'adagrad'] as const) {
    const table = new Table({ name: 't', rows: 100, width: 2, optimizer: { type, learningRate: 0.1 } });
    const before = table.data.slice();
    // 11 rows: positions 0-7 go through the four-at-a-time pass, 8-10 are its tail.
    const ids = Uint32Array.from({ length: 11 }, (_, i) => 3 * i);
    const grads = Float32Array.from({ length: 22 }, (_, i) => 0.01 * (i - 11));
    assert.deepEqual(table.checkPush(ids, grads), { ok: true });
    for (const at of [0, 2, 5, 8, 10]) {
      for (const bad of [100, 2 ** 31, 2 ** 32 - 1]) {
        const wrong = ids.slice();
        wrong[at] = bad;
        wrong[Math.min(10, at + 1)] = 100; // a second bad id after it: the first is named
        assert.deepEqual(table.checkPush(wrong, grads), { ok: false, problem: 'row', position: at }, `${type}: id ${bad} at ${at}`);
      }
    }
    for (const at of [0, 3, 7, 16, 21]) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const wrong = grads.slice();
        wrong[at] = bad;
        wrong[Math.min(21, at + 2)] = NaN;
        assert.deepEqual(table.checkPush(ids, wrong), { ok: false, problem: 'gradient', position: at }, `${type}: ${bad} at ${at}`);
      }
    }
    // A bad id is reported before a bad gradient; a huge but finite gradient passes the check.
    assert.deepEqual(table.checkPush(Uint32Array.of(1, 200), Float32Array.of(NaN, 0, 0, 0)), { ok: false, problem: 'row', position: 1 });
    assert.deepEqual(table.checkPush(Uint32Array.of(1), Float32Array.of(3e38, -3e38)), { ok: true });
    assert.deepEqual(table.data, before, `${type}: the checks change no row`);
  }
});

test('checkPush then applyChecked steps the checked push, as apply() does, and leaves the caller\'s arrays alone', () => {
  for (const optimizer of [{ type: 'adagrad', learningRate: 0.05, l2: 0.01 }, { type: 'sgd', learningRate: 0.5, clipNorm: 0.1 }] as OptimizerSettings[]) {
    const spec = { name: 't', rows: 50, width: 2, optimizer, init: { type: 'normal' as const, std: 0.1, seed: 5 } };
    const checked = new Table(spec);
    const applied = new Table(spec);
    const ids = Uint32Array.of(4, 9, 9, 31, 49);
    const grads = Float32Array.from({ length: 10 }, (_, i) => 0.3 * (i - 4));
    const copy = grads.slice();
    assert.deepEqual(checked.checkPush(ids, grads), { ok: true });
    assert.equal(checked.applyChecked(), -1);
    assert.equal(applied.apply(ids, grads.slice()), -1);
    assert.deepEqual(checked.data, applied.data, optimizer.type);
    assert.notDeepEqual(checked.data, new Table(spec).data, `${optimizer.type}: the push was applied`);
    assert.deepEqual(grads, copy, `${optimizer.type}: clipping scales the table's copy, not the caller's gradients`);
  }
});

// That the committed table-wasm.ts matches table.wat is checked with the other kernel's binary, by one
// `build.mjs --check` in test/models/logistic.test.ts.
