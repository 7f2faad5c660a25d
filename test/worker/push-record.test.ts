// Model averaging's record of its last push (runtime/worker/model-step.ts PushRecord): the correction
// of a pull sent before that push merges it with the next minibatch's ascending ids, so the record
// must be a copy (the pushed arrays are reused) with its ids ascending whatever order they came in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalAdagradTrainer } from '../../runtime/models/local-adagrad';
import { PushRecord } from '../../runtime/worker/model-step';

test('PushRecord keeps a copy of the pushed rows, ids ascending, and the correction it feeds matches by id', () => {
  const record = new PushRecord();
  const ids = Uint32Array.of(3, 9, 12);
  const values = Float32Array.of(0.5, -1, 2);
  record.set({ ids, values });
  ids.fill(0); // the step reuses its buffers
  values.fill(0);
  assert.deepEqual(record.ids, Uint32Array.of(3, 9, 12));
  assert.deepEqual(record.values, Float32Array.of(0.5, -1, 2));

  // Rows in another order (a filter releasing rows held from earlier minibatches) are put in order.
  record.set({ ids: Uint32Array.of(40, 7, 21, 2), values: Float32Array.of(4, 1, 3, 0.25) });
  assert.deepEqual(record.ids, Uint32Array.of(2, 7, 21, 40));
  assert.deepEqual(record.values, Float32Array.of(0.25, 1, 3, 4));
  const trainer = new LocalAdagradTrainer(64);
  const pulled = Float32Array.of(10, 10, 10, 10);
  trainer.setRows(Uint32Array.of(7, 8, 21, 63), pulled, record);
  assert.deepEqual(pulled, Float32Array.of(9, 10, 7, 10));

  // More rows than the buffers held, then none.
  const many = Uint32Array.from({ length: 5000 }, (_, i) => 2 * i);
  record.set({ ids: many, values: new Float32Array(5000).fill(1) });
  assert.deepEqual(record.ids, many);
  record.set({ ids: new Uint32Array(0), values: new Float32Array(0) });
  assert.equal(record.ids.length, 0);
});
