// Model averaging's last push (runtime/worker/model-step.ts LastPush): a pull sent before the worker's
// previous push gets that push's change taken off the rows they share. The positions where two id
// lists meet are found once per pair of lists and reused; these check the values it takes off, that a
// reused pair takes the newest push's values, that another push list is matched afresh, and that the
// by-feature table it borrows from the environment comes back clean.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LastPush } from '../../runtime/worker/model-step';

const FEATURES = 64;

test('takes the last push off the rows it shares, by id, and leaves the others bit for bit', () => {
  const last = new LastPush(FEATURES);
  const pulled = Float32Array.of(1, -0, 3, 4);
  last.takeOff(Uint32Array.of(5, 9, 40, 2), pulled); // nothing pushed yet
  assert.deepEqual(pulled, Float32Array.of(1, -0, 3, 4));
  last.set({ ids: Uint32Array.of(40, 7, 5, 63), values: Float32Array.of(0.5, 100, 0.25, 100) });
  last.takeOff(Uint32Array.of(5, 9, 40, 2), pulled);
  assert.deepEqual(pulled, Float32Array.of(0.75, -0, 2.5, 4));
  assert.ok(Object.is(pulled[1], -0));
  last.set(undefined); // a push with no pull in flight before it: nothing to take off later
  last.takeOff(Uint32Array.of(5, 9, 40, 2), pulled);
  assert.deepEqual(pulled, Float32Array.of(0.75, -0, 2.5, 4));
});

test('the same pair of id lists reuses its matches with the newest values; another push list is matched afresh', () => {
  const last = new LastPush(FEATURES);
  const minibatch = Uint32Array.of(1, 2, 3, 4, 5, 6);
  const pushedA = Uint32Array.of(2, 4, 6);
  last.set({ ids: pushedA, values: Float32Array.of(1, 1, 1) });
  const first = new Float32Array(6).fill(10);
  last.takeOff(minibatch, first);
  assert.deepEqual(first, Float32Array.of(10, 9, 10, 9, 10, 9));
  // The same lists again (the next epoch), other values: the positions are those found before.
  last.set({ ids: pushedA, values: Float32Array.of(2, 3, 4) });
  const again = new Float32Array(6).fill(10);
  last.takeOff(minibatch, again);
  assert.deepEqual(again, Float32Array.of(10, 8, 10, 7, 10, 6));
  // Another push list (a filter's subset: a fresh array) with the same minibatch: matched by its ids.
  last.set({ ids: Uint32Array.of(1, 6, 60), values: Float32Array.of(5, 6, 7) });
  const other = new Float32Array(6).fill(10);
  last.takeOff(minibatch, other);
  assert.deepEqual(other, Float32Array.of(5, 10, 10, 10, 10, 4));
});

test('the by-feature table goes back to the environment clean: a later step matches only its own push', () => {
  const first = new LastPush(FEATURES);
  first.set({ ids: Uint32Array.of(10, 20, 30), values: Float32Array.of(1, 1, 1) });
  first.takeOff(Uint32Array.of(10, 20), new Float32Array(2));
  first.close();
  const second = new LastPush(FEATURES); // takes the table the first gave back
  second.set({ ids: Uint32Array.of(31), values: Float32Array.of(1) });
  const pulled = Float32Array.of(5, 5, 5);
  second.takeOff(Uint32Array.of(10, 30, 31), pulled);
  assert.deepEqual(pulled, Float32Array.of(5, 5, 4));
});
