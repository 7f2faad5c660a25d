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

test('DistinctIds serves a range it collected before from its list, and re-collects a changed range or a smaller model', () => {
  const part = randomPartition(200, 40, 12);
  const first = new DistinctIds(40).collect(part, 0, 100);
  // Another set (another step, a later invocation) gets the same list for the same partition and range.
  assert.equal(new DistinctIds(40).collect(part, 0, 100), first);
  const shorter = new DistinctIds(40).collect(part, 0, 50);
  assert.notEqual(shorter, first);
  const expected = new Set<number>();
  for (let k = part.rowStart[0]; k < part.rowStart[50]; k++) expected.add(part.indices[k]);
  assert.deepEqual(new Set(shorter), expected);
  // A model too small for the ids is still refused, although the range was collected for a larger one.
  assert.throws(() => new DistinctIds(5).collect(part, 0, 50), /outside the model \(5 weights\)/);
});

test('DistinctIds keeps at most as many ids per partition as it has entries: past that its lists are collected again', () => {
  const part = randomPartition(200, 40, 13);
  const distinct = new DistinctIds(40);
  const first = distinct.collect(part, 0, 200);
  assert.equal(distinct.collect(part, 0, 200), first);
  // 199 one-row ranges of 6 entries each, with the first list: more ids than the partition's 1,200 entries.
  for (let r = 1; r < 200; r++) distinct.collect(part, r, r + 1);
  const again = distinct.collect(part, 0, 200);
  assert.notEqual(again, first);
  assert.deepEqual(again, first);
});

test('partitions kept in wasm memory or copied in at each switch train the same weights, and reset() restarts the accumulators', () => {
  const parts = [randomPartition(300, 60, 21), randomPartition(250, 60, 22), randomPartition(280, 60, 23)];
  const all = Uint32Array.from({ length: 60 }, (_, i) => i);
  const bytes = (p: SamplePartition) => 4 * (2 * p.rows + 1 + 3 * p.rowStart[p.rows]); // the columns and the positions column
  const trained: Float32Array[] = [];
  // Every partition kept; none kept; room for one (the others are copied in at each switch).
  for (const budget of [Infinity, 0, bytes(parts[0]) + 8]) {
    const trainer = new LocalAdagradTrainer(60, budget);
    for (let round = 0; round < 3; round++) {
      for (const part of parts) for (let from = 0; from < part.rows; from += 120) trainer.train(part, from, Math.min(part.rows, from + 120), 0.05);
    }
    // A second invocation: fresh accumulators, the same weights to start from.
    const start = trainer.getRows(all, new Float32Array(60));
    trainer.reset();
    for (const part of [...parts].reverse()) trainer.train(part, 0, part.rows, 0.05);
    const fresh = new LocalAdagradTrainer(60, 0);
    fresh.setRows(all, start);
    for (const part of [...parts].reverse()) fresh.train(part, 0, part.rows, 0.05);
    const got = trainer.getRows(all, new Float32Array(60));
    assert.deepEqual(got, fresh.getRows(all, new Float32Array(60)));
    trained.push(got);
  }
  assert.ok(trained[0].some((w) => w !== 0));
  assert.deepEqual(trained[1], trained[0]);
  assert.deepEqual(trained[2], trained[0]);
});

test("trainRange (the trainer's own numbering of the features) trains what setRows, train and getRows train, bit for bit: across partitions, cuts, invocations and copies in", () => {
  const parts = [randomPartition(300, 80, 31), randomPartition(250, 80, 32), randomPartition(280, 80, 33)];
  const bytes = (p: SamplePartition) => 4 * (2 * p.rows + 1 + 3 * p.rowStart[p.rows]);
  // Every partition kept; none kept (copied in at each switch); room for one.
  for (const budget of [Infinity, 0, bytes(parts[0]) + 8]) {
    const byId = new LocalAdagradTrainer(80, Infinity);
    const numbered = new LocalAdagradTrainer(80, budget);
    const distinct = new DistinctIds(80);
    // The shared model each trains against (a server applying the change at rate 1).
    const modelA = new Float32Array(80);
    const modelB = new Float32Array(80);
    const gather = (model: Float32Array, ids: Uint32Array) => Float32Array.from(ids, (id) => model[id]);
    let steps = 0;
    // Minibatches of 120 for two epochs, then another cut (77) and a new invocation (reset), then 120 again.
    for (const [minibatch, reset] of [[120, false], [120, false], [77, true], [120, false]] as const) {
      if (reset) {
        byId.reset();
        numbered.reset();
      }
      for (const part of parts) {
        for (let from = 0; from < part.rows; from += minibatch) {
          const to = Math.min(part.rows, from + minibatch);
          const ids = distinct.collect(part, from, to);
          const beforeA = gather(modelA, ids);
          byId.setRows(ids, beforeA);
          byId.train(part, from, to, 0.05);
          const afterA = byId.getRows(ids, new Float32Array(ids.length));
          const changeA = Float32Array.from(ids, (_, j) => beforeA[j] - afterA[j]); // rounded to float32 as sent
          const changeB = numbered.trainRange(part, from, to, ids, gather(modelB, ids), 0.05, new Float32Array(ids.length));
          for (let j = 0; j < ids.length; j++) {
            modelA[ids[j]] -= changeA[j];
            modelB[ids[j]] -= changeB[j];
          }
          steps++;
        }
      }
    }
    assert.ok(steps > 20 && modelA.some((w) => w !== 0));
    assert.deepEqual(modelB, modelA, `budget ${budget}`);
  }
});

test('a trainer keeps its weights by feature id or in its own numbering, not both; an id list missing a row id is a clear error', () => {
  const part = randomPartition(50, 30, 41);
  const ids = new DistinctIds(30).collect(part, 0, 50);
  const byId = new LocalAdagradTrainer(30);
  byId.train(part, 0, 50, 0.1);
  assert.throws(() => byId.trainRange(part, 0, 50, ids, new Float32Array(ids.length), 0.1, new Float32Array(ids.length)), /either by feature id .* or in its own numbering/);
  const numbered = new LocalAdagradTrainer(30);
  numbered.trainRange(part, 0, 50, ids, new Float32Array(ids.length), 0.1, new Float32Array(ids.length));
  assert.throws(() => numbered.getRows(ids, new Float32Array(ids.length)), /either by feature id .* or in its own numbering/);
  const other = randomPartition(50, 30, 42);
  const partial = new LocalAdagradTrainer(30);
  assert.throws(() => partial.trainRange(other, 0, 50, Uint32Array.of(0), Float32Array.of(0), 0.1, new Float32Array(1)), /of rows 0\.\.50 is not in the range's id list/);
});
