import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePartition, encodeSamples, type SamplePartition } from '../../runtime/data/partition';
import { ADAGRAD_INITIAL_G2, DistinctIds, LocalAdagradTrainer } from '../../runtime/models/local-adagrad';
import { trainAdagradLocal } from '../../runtime/models/logistic';

function randomPartition(rows: number, features: number, seed: number): SamplePartition {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const labels = new Float32Array(rows);
  const rowStart = new Uint32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    const ids = new Set<number>([0]);
    while (ids.size < 6) ids.add(1 + Math.floor(rand() * (features - 1)));
    for (const id of [...ids].sort((a, b) => a - b)) {
      indices.push(id);
      values.push(id === 0 ? 1 : rand());
    }
    labels[r] = rand() < 0.3 ? 1 : 0;
    rowStart[r + 1] = indices.length;
  }
  return decodePartition(encodeSamples({ rows, labels, rowStart, indices: Uint32Array.from(indices), values: Float32Array.from(values) })) as SamplePartition;
}

test('chunked local training equals one pass of the reference AdaGrad loop', () => {
  const part = randomPartition(5000, 300, 7);
  const expected = new Float32Array(300);
  trainAdagradLocal(part, expected, new Float32Array(300).fill(ADAGRAD_INITIAL_G2), 0.05, 1);

  const trainer = new LocalAdagradTrainer(300);
  const all = Uint32Array.from({ length: 300 }, (_, i) => i);
  for (let from = 0; from < part.rows; from += 700) trainer.train(part, from, Math.min(part.rows, from + 700), 0.05);
  const got = trainer.getRows(all, new Float32Array(300));
  assert.ok(expected.some((w) => w !== 0));
  assert.deepEqual(got, expected);
});

test('setRows overwrites only the given rows, across partitions', () => {
  const trainer = new LocalAdagradTrainer(50);
  trainer.setRows(Uint32Array.of(3, 10, 49), Float32Array.of(1.5, -2, 0.25));
  assert.deepEqual(trainer.getRows(Uint32Array.of(3, 4, 10, 49), new Float32Array(4)), Float32Array.of(1.5, 0, -2, 0.25));
  const a = randomPartition(100, 50, 1);
  const b = randomPartition(120, 50, 2);
  trainer.train(a, 0, 100, 0.1);
  trainer.train(b, 0, 120, 0.1); // a new partition is loaded in place of the first
  const after = trainer.getRows(Uint32Array.of(0), new Float32Array(1));
  assert.ok(Number.isFinite(after[0]) && after[0] !== 0);
});

test('a feature id outside the model is a clear error, not a stray write', () => {
  const trainer = new LocalAdagradTrainer(10);
  assert.throws(() => trainer.train(randomPartition(20, 40, 3), 0, 20, 0.1), /outside the model \(10 weights\)/);
});

test('DistinctIds lists each feature of a row range once, across repeated calls', () => {
  const part = randomPartition(300, 40, 11);
  const distinct = new DistinctIds(40);
  for (const [from, to] of [[0, 300], [10, 20], [0, 300], [299, 300]]) {
    const expected = new Set<number>();
    for (let k = part.rowStart[from]; k < part.rowStart[to]; k++) expected.add(part.indices[k]);
    const got = [...distinct.collect(part, from, to)];
    assert.equal(got.length, expected.size);
    assert.deepEqual(new Set(got), expected);
  }
  assert.throws(() => new DistinctIds(5).collect(part, 0, 10), /outside the model \(5 weights\)/);
});
