import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SamplePartition } from '../../runtime/data/partition';
import { TouchedSet } from '../../runtime/models/logistic';
import { evaluateSoftmax, softmaxGradient } from '../../runtime/models/softmax';
import { assertClose, finiteDifference, randomSamples, randomWeights } from './random-data';

const CLASSES = 4;

test('softmaxGradient equals finite differences of the average cross-entropy', () => {
  const part = randomSamples(8, 50, 200, 10, (_r, rand) => Math.floor(rand() * CLASSES));
  const touched = new TouchedSet(200);
  for (const [from, to] of [[0, 50], [20, 23]]) {
    const ids = touched.collect(part, from, to);
    const w = randomWeights(from + 2, ids.length * CLASSES);
    const grad = new Float32Array(w.length);
    const lossSum = softmaxGradient(part, from, to, touched, CLASSES, w, grad);
    assert.ok(lossSum > 0 && Number.isFinite(lossSum));
    const loss = () => softmaxGradient(part, from, to, touched, CLASSES, w, new Float32Array(w.length)) / (to - from);
    for (let j = 0; j < w.length; j++) assertClose(grad[j], finiteDifference(loss, w, j), 2e-4, `grad[${j}]`);
  }
});

test('softmax: no NaN on huge scores; bad labels rejected', () => {
  const part = randomSamples(9, 20, 50, 5, (r) => r % CLASSES);
  const touched = new TouchedSet(50);
  const ids = touched.collect(part, 0, 20);
  const w = randomWeights(1, ids.length * CLASSES, 1e4);
  const grad = new Float32Array(w.length);
  assert.ok(Number.isFinite(softmaxGradient(part, 0, 20, touched, CLASSES, w, grad)));
  assert.ok(grad.every(Number.isFinite));
  const bad = randomSamples(9, 3, 50, 5, () => CLASSES);
  touched.collect(bad, 0, 3);
  assert.throws(() => softmaxGradient(bad, 0, 3, touched, CLASSES, w, grad), RangeError);
});

test('evaluateSoftmax on a hand-checked case', () => {
  // 2 features x 3 classes. row 0: feature 0 (1), label 2; row 1: feature 1 (2), label 0.
  const part: SamplePartition = {
    kind: 1,
    rows: 2,
    labels: Float32Array.of(2, 0),
    rowStart: Uint32Array.of(0, 1, 2),
    indices: Uint32Array.of(0, 1),
    values: Float32Array.of(1, 2),
  };
  const w = Float32Array.of(0, 1, 2, /* feature 1 */ 0.5, 0, 0);
  const r = evaluateSoftmax(part, w, 3);
  // row 0 scores (0, 1, 2): p2 = e^2 / (1 + e + e^2), correct; row 1 scores (1, 0, 0): p0 = e / (e + 2), correct
  const expected = -Math.log(Math.exp(2) / (1 + Math.E + Math.exp(2))) - Math.log(Math.E / (Math.E + 2));
  assertClose(r.lossSum, expected, 1e-12, 'loss');
  assert.equal(r.correct, 2);
  assert.equal(r.rows, 2);
});
