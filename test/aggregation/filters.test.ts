import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignificanceFilter, TopKFilter, createFilter, filterProblem, type SparseUpdate, type UpdateFilter } from '../../runtime/aggregation/filters';
import { seededRandom } from '../../runtime/aggregation/byzantine';

/** Adds what a filter releases into a dense total. */
function addInto(total: Float64Array, width: number, u: SparseUpdate): void {
  for (let r = 0; r < u.ids.length; r++) for (let c = 0; c < width; c++) total[u.ids[r] * width + c] += u.values[r * width + c];
}

/** Feeds random sparse updates; returns the dense sum fed, the dense sum released (sends + flush) and the rows sent before the flush. */
function feed(filter: UpdateFilter, rows: number, width: number, steps: number, weightsOf: (id: number) => number) {
  const rand = seededRandom(3);
  const fed = new Float64Array(rows * width);
  const released = new Float64Array(rows * width);
  let sentRows = 0;
  let fedRows = 0;
  for (let s = 0; s < steps; s++) {
    const ids = new Set<number>();
    while (ids.size < 20) ids.add(Math.floor(rand() * rows));
    const sorted = Uint32Array.from([...ids].sort((a, b) => a - b));
    const update = Float32Array.from({ length: sorted.length * width }, () => (rand() - 0.5) * 0.01);
    const weights = Float32Array.from({ length: sorted.length * width }, (_, k) => weightsOf(sorted[Math.floor(k / width)]));
    addInto(fed, width, { ids: sorted, values: update });
    const out = filter.select(sorted, update, weights);
    for (let r = 1; r < out.ids.length; r++) assert.ok(out.ids[r] > out.ids[r - 1], 'sent ids are sorted and distinct');
    sentRows += out.ids.length;
    fedRows += sorted.length;
    addInto(released, width, out);
  }
  const pendingBefore = filter.pendingRows;
  const rest = filter.flush();
  addInto(released, width, rest);
  assert.equal(filter.pendingRows, 0);
  assert.equal(rest.ids.length, pendingBefore);
  return { fed, released, sentRows, fedRows };
}

function assertSameTotals(a: Float64Array, b: Float64Array): void {
  for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - b[j]) < 1e-5, `row value ${j}: fed ${a[j]}, released ${b[j]}`);
}

test('significance filter: sends fewer rows, delays the small updates and loses none (flush)', () => {
  for (const width of [1, 3]) {
    const filter = new SignificanceFilter(500, width, 0.7, 1);
    const { fed, released, sentRows, fedRows } = feed(filter, 500, width, 300, () => 0.5);
    assert.ok(sentRows < fedRows / 3, `width ${width}: sent ${sentRows} of ${fedRows} rows`);
    assertSameTotals(fed, released);
  }
});

test('significance filter: the MLLess rule |change / weight| > v / sqrt(t), and zero weights always send', () => {
  const filter = new SignificanceFilter(10, 1, 1, 0.1);
  const one = Uint32Array.of(3);
  // t = 1: bound 1; change 0.1 x 5 = 0.5 of weight 1: held.
  assert.equal(filter.select(one, Float32Array.of(5), Float32Array.of(1)).ids.length, 0);
  // t = 4 after two empty steps: bound 0.5; accumulated 0.1 x (5 + 0.1) = 0.51 > 0.5: sent, all of it.
  filter.select(new Uint32Array(0), new Float32Array(0), new Float32Array(0));
  filter.select(new Uint32Array(0), new Float32Array(0), new Float32Array(0));
  assert.equal(filter.currentThreshold, 1 / Math.sqrt(3));
  const sent = filter.select(one, Float32Array.of(0.1), Float32Array.of(1));
  assert.deepEqual([...sent.ids], [3]);
  assert.ok(Math.abs(sent.values[0] - 5.1) < 1e-6);
  assert.equal(filter.pendingRows, 0);
  // A zero weight: any change is significant.
  assert.deepEqual([...filter.select(Uint32Array.of(7), Float32Array.of(1e-9), Float32Array.of(0)).ids], [7]);
  // stepsBefore continues the schedule of an earlier generation.
  assert.equal(new SignificanceFilter(10, 1, 0.7, 1, 99).currentThreshold, 0.7 / Math.sqrt(99));
});

test('significance filter: the cap (maxThreshold) bounds the early threshold, the MLLess rule takes over below it', () => {
  const filter = new SignificanceFilter(10, 1, 3, 0.1, 0, 0.05);
  // t = 1: the rule alone says 3 (a change of 300 %); the cap says 5 %. 0.1 x 1 = 0.1 of weight 1 is sent.
  assert.equal(filter.currentThreshold, 0.05);
  assert.deepEqual([...filter.select(Uint32Array.of(4), Float32Array.of(1), Float32Array.of(1)).ids], [4]);
  // 0.1 x 0.4 = 0.04 of weight 1 is held (under 0.05).
  assert.equal(filter.select(Uint32Array.of(4), Float32Array.of(0.4), Float32Array.of(1)).ids.length, 0);
  // From t = (3 / 0.05)^2 = 3600 on, v / sqrt(t) is below the cap and decides.
  assert.equal(new SignificanceFilter(10, 1, 3, 0.1, 3599, 0.05).currentThreshold, 0.05);
  assert.equal(new SignificanceFilter(10, 1, 3, 0.1, 9999, 0.05).currentThreshold, 3 / Math.sqrt(9999));
  assert.match(filterProblem({ type: 'significance', threshold: 3, maxThreshold: -1 })!, /training\.filter\.maxThreshold/);
  assert.equal(filterProblem({ type: 'significance', threshold: 3, maxThreshold: 0.05 }), undefined);
});

test('top-k with error feedback: sends ceil(fraction x touched) rows per step, keeps the residual, loses nothing', () => {
  const filter = new TopKFilter(400, 2, 0.1);
  const { fed, released, sentRows } = feed(filter, 400, 2, 200, () => 1);
  assert.equal(sentRows, 200 * 2); // ceil(0.1 x 20) per step
  assertSameTotals(fed, released);
});

test('top-k picks the largest accumulated rows: a residual grows until it is sent', () => {
  const filter = new TopKFilter(10, 1, 0.5);
  const ids = Uint32Array.of(1, 2);
  assert.deepEqual([...filter.select(ids, Float32Array.of(0.3, -1), new Float32Array(2)).ids], [2]);
  // row 1 now holds 0.3 + 0.3 = 0.6 > 0.5: it goes, with its residual.
  const out = filter.select(ids, Float32Array.of(0.3, 0.5), new Float32Array(2));
  assert.deepEqual([...out.ids], [1]);
  assert.ok(Math.abs(out.values[0] - 0.6) < 1e-6);
});

test('bad settings and rows are refused with the setting named', () => {
  assert.match(filterProblem({ type: 'topk', fraction: 0 })!, /training\.filter\.fraction must be in \(0, 1\]/);
  assert.match(filterProblem({ type: 'significance', threshold: -1 })!, /training\.filter\.threshold/);
  assert.match(filterProblem({ type: 'nope' } as never)!, /"significance" or "topk"/);
  assert.equal(filterProblem({ type: 'significance', threshold: 0.7 }), undefined);
  assert.throws(() => createFilter({ type: 'topk', fraction: 2 }, 10, 1, 1), /fraction/);
  assert.throws(() => new SignificanceFilter(10, 1, 0.7, 1).select(Uint32Array.of(12), Float32Array.of(1), Float32Array.of(1)), /row 12 is outside the filter's 10 rows/);
});
