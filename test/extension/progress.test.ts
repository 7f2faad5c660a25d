// The progress helper: Cancel on the notification aborts the AbortSignal the runtime gets; the
// reporter turns fractions into throttled increments.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { fake } from './fake-vscode';
import { isCancellation, throttledReporter, withCancellableProgress } from '../../extension/progress';

test('cancelling the progress token aborts the signal handed to the task', async () => {
  fake.reset();
  let signal: AbortSignal | undefined;
  const running = withCancellableProgress('Deploying', (s) => {
    signal = s;
    // A runtime call that ends only when aborted, the way an aborted multipart upload does.
    return new Promise((_, reject) => s.addEventListener('abort', () => reject(new Error('upload aborted'))));
  });
  assert.equal(signal!.aborted, false);
  fake.progress[0].source.cancel();
  assert.equal(signal!.aborted, true);
  await assert.rejects(Promise.resolve(running), (err) => isCancellation(err), 'whatever the task threw after the abort reads as a cancellation');
  assert.equal(fake.progress[0].title, 'Deploying');
});

test('a task that finishes normally is not cancelled and its result comes through', async () => {
  fake.reset();
  const result = await withCancellableProgress('x', async (s, p) => {
    p.update(0.5, 'half');
    return s.aborted ? 'aborted' : 'done';
  });
  assert.equal(result, 'done');
  assert.deepEqual(fake.progress[0].reports, [{ message: 'half', increment: 50 }]);
});

test('the reporter sends increments, at most one report per interval, and flushes the last', () => {
  const reports: Array<{ message?: string; increment?: number }> = [];
  let now = 0;
  const r = throttledReporter({ report: (v) => reports.push(v) }, 250, () => now);
  r.update(0.1, 'a'); // first: shown at once
  now = 100;
  r.update(0.2, 'b'); // held back
  r.update(0.3, 'c'); // replaces b
  now = 300;
  r.update(0.4, 'd'); // shown
  r.update(0.9, 'e'); // held back
  r.flush();
  assert.deepEqual(reports, [
    { message: 'a', increment: 10 },
    { message: 'd', increment: 30 },
    { message: 'e', increment: 50 },
  ]);
  r.update(0.5, 'backwards'); // never moves the bar back
  r.flush();
  assert.equal(reports.at(-1)!.increment, 0);
});
