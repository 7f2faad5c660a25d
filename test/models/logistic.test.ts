import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SamplePartition } from '../../runtime/data/partition';
import { evaluateLogistic, logisticGradient, logLoss, trainAdagradLocal, TouchedSet } from '../../runtime/models/logistic';
import { loadCriteo, sliceRows } from '../../bench/criteo';
import { sharedDataset } from '../helpers/shared';
import { assertClose, finiteDifference, randomSamples, randomWeights, rng } from './random-data';

test('TouchedSet: sorted unique ids, positions, and a clean reset between calls', () => {
  const part = randomSamples(7, 120, 5000, 30, () => 0);
  const touched = new TouchedSet(5000);
  const rand = rng(3);
  let previous: number[] = [];
  for (let call = 0; call < 40; call++) {
    const from = Math.floor(rand() * 100);
    const to = from + Math.floor(rand() * 20); // sometimes empty
    const ids = touched.collect(part, from, to);
    const expected = [...new Set(Array.from(part.indices.subarray(part.rowStart[from], part.rowStart[to])))].sort((a, b) => a - b);
    assert.deepEqual(Array.from(ids), expected);
    for (let j = 0; j < expected.length; j++) assert.equal(touched.positionOf[expected[j]], j);
    for (const id of previous) if (!expected.includes(id)) assert.equal(touched.positionOf[id], -1, `stale position for ${id}`);
    for (let k = part.rowStart[from]; k < part.rowStart[to]; k++) assert.equal(touched.local[k - part.rowStart[from]], expected.indexOf(part.indices[k]));
    assert.equal(touched.positionOf.reduce((n, p) => n + (p >= 0 ? 1 : 0), 0), expected.length);
    previous = expected;
  }
});

test('TouchedSet: collectIds over an id column, large batches, ids out of range rejected', () => {
  const touched = new TouchedSet(1 << 20);
  const rand = rng(11);
  const ids = new Uint32Array(20000).map(() => Math.floor(rand() * (1 << 20)));
  const big = Array.from(touched.collectIds(ids, 100, 19000));
  assert.deepEqual(big, [...new Set(Array.from(ids.subarray(100, 19000)))].sort((a, b) => a - b));
  assert.equal(touched.positionOf[big[7]], 7);
  assert.deepEqual(Array.from(touched.collectIds(Uint32Array.of(5, 3, 5, 9), 0, 4)), [3, 5, 9]);
  assert.deepEqual(Array.from(touched.local.subarray(0, 4)), [1, 0, 1, 2]);
  assert.deepEqual([3, 5, 9].map((id) => touched.positionOf[id]), [0, 1, 2]);
  assert.equal(touched.positionOf.reduce((n, p) => n + (p >= 0 ? 1 : 0), 0), 3, 'the big set was reset');
  assert.throws(() => touched.collectIds(Uint32Array.of(1 << 20), 0, 1), RangeError);
});

test('TouchedSet: positionOf made on its first read, after collects that never needed it', () => {
  const touched = new TouchedSet(1000);
  touched.collectIds(Uint32Array.of(7, 1, 7), 0, 3);
  touched.collectIds(Uint32Array.of(500, 2, 999, 2), 0, 4); // the kernels' path: `local` only
  assert.deepEqual(Array.from(touched.local.subarray(0, 4)), [1, 0, 2, 0]);
  const pos = touched.positionOf;
  assert.deepEqual([2, 500, 999].map((id) => pos[id]), [0, 1, 2]);
  assert.equal(pos.reduce((n, p) => n + (p >= 0 ? 1 : 0), 0), 3, 'only the last collect is marked');
  touched.collectIds(Uint32Array.of(1), 0, 1);
  assert.deepEqual([touched.positionOf[1], touched.positionOf[500]], [0, -1]);
});

function batchLoss(part: SamplePartition, from: number, to: number, touched: TouchedSet, w: Float32Array): number {
  return logisticGradient(part, from, to, touched, w, new Float32Array(w.length));
}

test('logisticGradient equals finite differences of the average log-loss', () => {
  const part = randomSamples(21, 60, 300, 12, (_r, rand) => (rand() < 0.4 ? 1 : 0));
  const touched = new TouchedSet(300);
  for (const [from, to] of [[0, 60], [10, 17], [59, 60]]) {
    const ids = touched.collect(part, from, to);
    const w = randomWeights(from + 1, ids.length);
    const grad = new Float32Array(ids.length);
    const lossSum = logisticGradient(part, from, to, touched, w, grad);
    assert.ok(Number.isFinite(lossSum) && lossSum > 0);
    for (let j = 0; j < ids.length; j++) {
      const fd = finiteDifference(() => batchLoss(part, from, to, touched, w) / (to - from), w, j);
      assertClose(grad[j], fd, 2e-4, `d loss / d w[${ids[j]}]`);
    }
  }
});

test('logisticGradient works without a matching collect (positionOf path) and on extreme margins', () => {
  const part = randomSamples(5, 30, 100, 10, (r) => r % 2);
  const touched = new TouchedSet(100);
  const ids = touched.collect(part, 0, 30);
  const w = randomWeights(9, ids.length, 1000); // margins in the thousands
  const fast = new Float32Array(ids.length);
  const loss = logisticGradient(part, 0, 30, touched, w, fast);
  assert.ok(Number.isFinite(loss));
  assert.ok(fast.every(Number.isFinite));
  // rows [5, 30) are a subset of the collected set: the positionOf path gives the same per-row sums
  const sub = new Float32Array(ids.length);
  const lossSub = logisticGradient(part, 5, 30, touched, w, sub);
  const direct = evaluateSubset(part, 5, 30, touched, w);
  assertClose(lossSub, direct, 1e-9, 'subset loss');
  assert.equal(logLoss(1e6, 1), 0);
  assert.equal(logLoss(-1e6, 1), 34.538776394910684);
  assert.equal(logLoss(1e6, 0), 34.538776394910684);
  assertClose(logLoss(0, 1), Math.LN2, 1e-15, 'log-loss at 0');
});

function evaluateSubset(part: SamplePartition, from: number, to: number, touched: TouchedSet, w: Float32Array): number {
  let sum = 0;
  for (let r = from; r < to; r++) {
    let z = 0;
    for (let k = part.rowStart[r]; k < part.rowStart[r + 1]; k++) z += w[touched.positionOf[part.indices[k]]] * part.values[k];
    sum += logLoss(z, part.labels[r]);
  }
  return sum;
}

test('evaluateLogistic on a hand-checked case', () => {
  // row 0: features 0 (1.0), 2 (2.0), label 1 -> z = 0.5 + 2 * 0.25 = 1
  // row 1: feature 1 (1.0), label 0            -> z = -2
  // row 2: feature 2 (4.0), label 0            -> z = 1 (wrong side)
  const part: SamplePartition = {
    kind: 1,
    rows: 3,
    labels: Float32Array.of(1, 0, 0),
    rowStart: Uint32Array.of(0, 2, 3, 4),
    indices: Uint32Array.of(0, 2, 1, 2),
    values: Float32Array.of(1, 2, 1, 4),
  };
  const w = Float32Array.of(0.5, -2, 0.25);
  const r = evaluateLogistic(part, w);
  const expected = Math.log1p(Math.exp(-1)) + Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(1));
  assertClose(r.lossSum, expected, 1e-12, 'loss');
  assert.equal(r.correct, 2);
  assert.equal(r.rows, 3);
});

test('trainAdagradLocal matches a plain per-sample AdaGrad loop', () => {
  const part = randomSamples(33, 400, 64, 8, (_r, rand) => (rand() < 0.3 ? 1 : 0));
  const w = new Float32Array(64);
  const g2 = new Float32Array(64).fill(1e-6);
  assert.equal(trainAdagradLocal(part, w, g2, 0.1, 3), 1200);
  const wr = new Float32Array(64);
  const gr2 = new Float32Array(64).fill(1e-6);
  for (let e = 0; e < 3; e++) {
    for (let s = 0; s < part.rows; s++) {
      let z = 0;
      for (let k = part.rowStart[s]; k < part.rowStart[s + 1]; k++) z += wr[part.indices[k]] * part.values[k];
      const gr = 1 / (1 + Math.exp(-z)) - part.labels[s];
      for (let k = part.rowStart[s]; k < part.rowStart[s + 1]; k++) {
        const v = part.values[k];
        if (v === 0) continue;
        const g = gr * v;
        gr2[part.indices[k]] += g * g;
        wr[part.indices[k]] -= (0.1 * g) / Math.sqrt(gr2[part.indices[k]]);
      }
    }
  }
  for (let j = 0; j < 64; j++) assertClose(w[j], wr[j], 1e-3, `w[${j}]`);
  assert.throws(() => trainAdagradLocal(part, new Float32Array(10), new Float32Array(10), 0.1, 1), RangeError);
});

test('trainAdagradLocal on Criteo 10k reaches the reference log-loss (0.488, 5 epochs, lr 0.05)', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const part = await loadCriteo(file, 20);
  assert.equal(part.rows, 10000);
  const w = new Float32Array(1 << 20);
  const g2 = new Float32Array(1 << 20).fill(1e-6);
  trainAdagradLocal(part, w, g2, 0.05, 5, 9000);
  const r = evaluateLogistic(sliceRows(part, 9000, 10000), w);
  const ll = r.lossSum / r.rows;
  assert.ok(Math.abs(ll - 0.4879) < 0.005, `test log-loss ${ll}, reference 0.4879`);
  assert.ok(r.correct / r.rows > 0.76, `accuracy ${r.correct / r.rows}`);
});

// build.mjs --check compares every kernel's committed binary with its source: logistic.wat here and
// runtime/ps/table.wat (the parameter server's).
test('the committed wasm binaries match their .wat sources (logistic.wat, ps/table.wat)', (t) => {
  try {
    require.resolve('wabt');
  } catch {
    t.skip('wabt (devDependency) is not installed');
    return;
  }
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  const path = require('node:path') as typeof import('node:path');
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'runtime', 'models', 'wasm', 'build.mjs'), '--check'], { stdio: 'pipe' });
});
