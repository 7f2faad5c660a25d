// The worker's per-minibatch kernels run in wasm (TouchedSet.collect, logisticGradient: see
// runtime/models/touched.ts). They must give exactly what the plain JS they replaced gave: the same
// sorted ids and positions, and the same float32 gradient and float64 loss, bit for bit, on real
// Criteo rows. The JS below is that earlier code's arithmetic, kept here as the reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartitionKind, type SamplePartition } from '../../runtime/data/partition';
import { logisticGradient, logLoss, sigmoid, TouchedSet } from '../../runtime/models/logistic';
import { CollectedRanges } from '../../runtime/models/touched';
import { loadCriteo } from '../../bench/criteo';
import { sharedDataset } from '../helpers/shared';
import { randomSamples, rng } from './random-data';

/** Sorted unique feature ids of rows [from, to) and each entry's position among them. */
function referenceCollect(part: SamplePartition, from: number, to: number): { ids: Uint32Array; local: Int32Array } {
  const first = part.rowStart[from];
  const end = part.rowStart[to];
  const ids = Uint32Array.from(new Set(part.indices.subarray(first, end))).sort();
  const position = new Map<number, number>();
  ids.forEach((id, j) => position.set(id, j));
  const local = Int32Array.from(part.indices.subarray(first, end), (id) => position.get(id)!);
  return { ids, local };
}

/** The JS logisticGradient (before the wasm kernel): float64 margins, float32 accumulation, average. */
function referenceGradient(part: SamplePartition, from: number, to: number, local: Int32Array, weights: Float32Array, gradOut: Float32Array): number {
  const { labels, rowStart, values } = part;
  const first = rowStart[from];
  gradOut.fill(0);
  let lossSum = 0;
  for (let r = from; r < to; r++) {
    const a = rowStart[r] - first;
    const b = rowStart[r + 1] - first;
    let z = 0;
    for (let k = a; k < b; k++) z += weights[local[k]] * values[k + first];
    const y = labels[r];
    lossSum += logLoss(z, y);
    const gr = sigmoid(z) - y;
    for (let k = a; k < b; k++) gradOut[local[k]] += gr * values[k + first];
  }
  const scale = 1 / (to - from);
  for (let j = 0; j < gradOut.length; j++) gradOut[j] *= scale;
  return lossSum;
}

function assertSameFloats(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let j = 0; j < expected.length; j++) {
    if (!Object.is(actual[j], expected[j])) assert.fail(`${what}[${j}]: ${actual[j]} !== ${expected[j]}`);
  }
}

test('wasm collect and logisticGradient equal the JS reference bit for bit on Criteo rows', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const part = await loadCriteo(file, 20);
  const random = rng(7);
  // The bench's minibatch (200), tiny ones (one row, a few rows: fewer ids than the radix sort's
  // buckets) and large ones (the set's memory regrows), at random offsets; weights of both signs and
  // large enough for saturated margins.
  const sizes = [200, 1, 3, 37, 200, 1000, 5000, 200, 10, 2000];
  const touched = new TouchedSet(2 ** 20);
  for (const [i, size] of sizes.entries()) {
    const from = Math.floor(random() * (part.rows - size));
    const to = from + size;
    const expected = referenceCollect(part, from, to);
    const ids = touched.collect(part, from, to);
    assert.deepEqual(Array.from(ids), Array.from(expected.ids), `minibatch ${i}: ids`);
    assert.deepEqual(Array.from(touched.local), Array.from(expected.local), `minibatch ${i}: positions`);
    const scale = i % 3 === 0 ? 8 : 0.5;
    const weights = Float32Array.from(ids, () => (random() - 0.5) * scale);
    const grad = new Float32Array(ids.length);
    const wantGrad = new Float32Array(ids.length);
    const loss = logisticGradient(part, from, to, touched, weights, grad);
    const wantLoss = referenceGradient(part, from, to, expected.local, weights, wantGrad);
    assert.ok(Object.is(loss, wantLoss), `minibatch ${i}: loss ${loss} !== ${wantLoss}`);
    assertSameFloats(grad, wantGrad, `minibatch ${i}: gradient`);
    assert.ok(grad.some((g) => g !== 0), `minibatch ${i}: a gradient of zeros tests nothing`);
  }
});

test('logisticGradient without a matching collect (positionOf path) equals the JS reference too', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const part = await loadCriteo(file, 20);
  const touched = new TouchedSet(2 ** 20);
  // Collect 400 rows, then take the gradient of the second half: positions come through positionOf.
  const ids = touched.collect(part, 1000, 1400).slice();
  const weights = Float32Array.from(ids, (_, j) => Math.sin(j) * 0.3);
  const grad = new Float32Array(ids.length);
  const loss = logisticGradient(part, 1200, 1400, touched, weights, grad);
  const pos = new Map<number, number>();
  ids.forEach((id, j) => pos.set(id, j));
  const local = Int32Array.from(part.indices.subarray(part.rowStart[1200], part.rowStart[1400]), (id) => pos.get(id)!);
  const wantGrad = new Float32Array(ids.length);
  const wantLoss = referenceGradient(part, 1200, 1400, local, weights, wantGrad);
  assert.ok(Object.is(loss, wantLoss), `loss ${loss} !== ${wantLoss}`);
  assertSameFloats(grad, wantGrad, 'gradient');
  // The set's ids survive the kernel (it may regrow the set's memory), and a new collect still works.
  assert.deepEqual(Array.from(touched.current), Array.from(ids));
  assert.deepEqual(Array.from(touched.collect(part, 0, 50)), Array.from(referenceCollect(part, 0, 50).ids));
});

test('an id outside the table is refused (the first one, by value and table size) and the next collect is unaffected', () => {
  const part: SamplePartition = {
    kind: PartitionKind.Samples,
    rows: 2,
    labels: new Float32Array([1, 0]),
    rowStart: new Uint32Array([0, 3, 5]),
    indices: new Uint32Array([5, 9, 2, 9, 100]),
    values: new Float32Array([1, 1, 1, 1, 1]),
  };
  const touched = new TouchedSet(64);
  assert.throws(() => touched.collect(part, 0, 2), /id 100 is outside the table \(64 rows\)/);
  // Nothing of the refused batch is left behind: the next collect sees only its own ids.
  assert.deepEqual(Array.from(touched.collect(part, 0, 1)), [2, 5, 9]);
  assert.deepEqual(Array.from(touched.local), [1, 2, 0]);
});

test('collects saved by row range (CollectedRanges): a repeated range is not sorted again and gives the same ids, positions and gradient bit for bit', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const part = await loadCriteo(file, 20);
  const ranges = new CollectedRanges(64 * 2 ** 20);
  // Two sets share the saved ranges, as a worker's pull slots do; each range is collected by one and
  // later by the other, between collects of other ranges (the set's memory holds another batch then).
  const sets = [new TouchedSet(2 ** 20, ranges), new TouchedSet(2 ** 20, ranges)];
  const cuts = [[0, 200], [200, 400], [400, 437], [1000, 3000], [437, 438]] as const;
  const random = rng(11);
  for (let pass = 0; pass < 3; pass++) {
    for (const [i, [from, to]] of cuts.entries()) {
      const touched = sets[(i + pass) % 2];
      const hitsBefore = ranges.hits;
      const ids = touched.collect(part, from, to);
      // The first pass sorts and saves each range; the next ones are served from what was saved.
      assert.equal(ranges.hits - hitsBefore, pass === 0 ? 0 : 1, `pass ${pass}, rows ${from}..${to}: served from a saved range`);
      const expected = referenceCollect(part, from, to);
      assert.deepEqual(Array.from(ids), Array.from(expected.ids), `pass ${pass}, rows ${from}..${to}: ids`);
      assert.deepEqual(Array.from(touched.local), Array.from(expected.local), `pass ${pass}, rows ${from}..${to}: positions`);
      assert.deepEqual(Array.from(touched.positionOf.subarray(0, 64)), Array.from({ length: 64 }, (_, id) => expected.ids.indexOf(id)));
      const weights = Float32Array.from(ids, () => (random() - 0.5) * 4);
      const grad = new Float32Array(ids.length);
      const wantGrad = new Float32Array(ids.length);
      const loss = logisticGradient(part, from, to, touched, weights, grad);
      assert.ok(Object.is(loss, referenceGradient(part, from, to, expected.local, weights, wantGrad)), `pass ${pass}, rows ${from}..${to}: loss`);
      assertSameFloats(grad, wantGrad, `pass ${pass}, rows ${from}..${to}: gradient`);
    }
  }
  assert.equal(ranges.misses, cuts.length);
  // What it holds: a position per entry and the ids of each range.
  const words = cuts.reduce((sum, [from, to]) => sum + referenceCollect(part, from, to).ids.length + part.rowStart[to] - part.rowStart[from], 0);
  assert.equal(ranges.bytes, 4 * words);
});

test('saved collects: another cut of the same first row, a smaller table, and the byte budget', () => {
  const part = randomSamplesFor(3);
  const ranges = new CollectedRanges(1 << 20);
  const big = new TouchedSet(4096, ranges);
  big.collect(part, 0, 40);
  // Same first row, another end: sorted again (and saved in place of the first).
  assert.deepEqual(Array.from(big.collect(part, 0, 30)), Array.from(referenceCollect(part, 0, 30).ids));
  assert.equal(ranges.hits, 0);
  assert.deepEqual(Array.from(big.collect(part, 0, 30)), Array.from(referenceCollect(part, 0, 30).ids));
  assert.equal(ranges.hits, 1);
  // A set over a smaller table does not take ids saved against a larger one: it checks them again.
  const small = new TouchedSet(1000, ranges);
  assert.throws(() => small.collect(part, 0, 30), /is outside the table \(1000 rows\)/);
  // Past the budget nothing more is saved (what is saved stays), and collects still give the right ids.
  const tight = new CollectedRanges(600);
  const set = new TouchedSet(4096, tight);
  for (let pass = 0; pass < 2; pass++) {
    for (let from = 0; from < part.rows; from += 10) assert.deepEqual(Array.from(set.collect(part, from, from + 10)), Array.from(referenceCollect(part, from, from + 10).ids));
  }
  assert.ok(tight.bytes > 0 && tight.bytes <= 600, `${tight.bytes} bytes held`);
  assert.ok(tight.hits > 0 && tight.hits < part.rows / 10, `${tight.hits} of ${part.rows / 10} served`);
});

/** 100 rows of up to 20 features among 4096 (ids up to ~4,000: a table of 1000 refuses some). */
function randomSamplesFor(seed: number): SamplePartition {
  return randomSamples(seed, 100, 4096, 20, (r) => r % 2);
}
