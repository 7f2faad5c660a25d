// A push the parameter server refuses is reported with the server's reason (issue 8, item 2): the
// worker's invocation fails with it, and it reaches the run's event stream (worker-finished) and the
// log; the run fails naming it once the slot gives up. Until then, a refused push left in flight while
// the worker waited on S3 was an unhandled rejection: the invocation's process died ("exit status
// 128") and the reason was lost.
//
// The data makes the gradient overflow: feature 1 has the value 3e38 in every positive row, so a
// minibatch's gradient for it sums past float32's range to -Infinity, which the real server refuses
// (NON_FINITE, nothing applied). One minibatch a partition and slow S3 reads put the refusal's answer
// in the wait for the next partition.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunEvent } from '../../runtime/recording/events';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { startTraining } from '../../runtime/index';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-push-error-');

test('a push the parameter server refuses reaches the events and the log with the server\'s reason', { timeout: 120_000 }, async () => {
  const file = path.join(stateDir, 'overflow.libsvm');
  const rows: string[] = [];
  for (let i = 0; i < 5000; i++) rows.push(i % 2 === 0 ? `+1 1:3e38 ${2 + (i % 7)}:1` : `-1 ${10 + (i % 5)}:1`);
  fs.writeFileSync(file, rows.join('\n') + '\n');
  const handle = await startTraining(
    {
      name: 'push-refused',
      dataset: { path: file, format: 'libsvm', testFraction: 0.2 },
      model: { type: 'logistic' },
      optimizer: { type: 'sgd', learningRate: 0.1 },
      // 4,000 training rows make 4 partitions of 1,000 (the deploy's smallest): one minibatch each.
      training: { workers: 1, minibatch: 1000, maxSeconds: 60, epochs: 1 },
      lambda: { memoryMB: 256, timeoutSeconds: 10 },
      faults: { s3DelayMs: 300 },
    },
    { stateDir },
  );
  const summary = await handle.done;
  const events = readRunEvents(handle.runFolder);
  const failed = events.filter((e): e is Extract<RunEvent, { type: 'worker-finished' }> => e.type === 'worker-finished' && e.status === 'failed');
  const reason = /gradient -Infinity at position \d+: nothing applied/;
  assert.ok(failed.length >= 1, 'the invocation failed');
  for (const f of failed) assert.match(f.error ?? '', reason, `worker-finished carries the server's reason: ${f.error}`);
  const logged = events.filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log' && reason.test(e.message));
  assert.ok(logged.length >= 1, 'the reason is in the log');
  assert.equal(summary.status, 'failed');
  assert.match(summary.reason, reason);
  console.log(`refused push: ${failed.length} invocations failed with "${failed[0].error}"; run ${summary.status}: ${summary.reason}`);
});
