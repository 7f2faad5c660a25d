// Byzantine fault injection (faults.byzantineWorkers) end to end: the corrupted worker is named in the
// event stream, and its updates damage an asynchronous-SGD model (no screen in the parameter server yet).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunConfig } from '../../runtime/config/run-config';
import type { RunEvent } from '../../runtime/recording/events';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { startTraining } from '../../runtime/index';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-byzantine-');

test('Criteo 10k, 1 of 2 workers flips its gradients (factor 10): named in worker-launched events, and the model ends above 0.47 (or the run is failed as diverged)', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const config: RunConfig = {
    name: 'criteo-10k-byzantine',
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    optimizer: { type: 'adagrad', learningRate: 0.02 }, // as test/driver/train.test.ts, where an honest run reaches <= 0.470
    training: { workers: 2, minibatch: 20, maxSeconds: 90, epochs: 3, evalEverySeconds: 0.25 },
    lambda: { memoryMB: 1024, timeoutSeconds: 20 },
    faults: { byzantineWorkers: { count: 1, kind: 'flip', factor: 10 } },
  };
  const summary = await (await startTraining(config, { stateDir })).done;
  // The driver's stopping rules may end the run as failed (diverged, or no better than the base rate).
  assert.ok(summary.status === 'completed' || (summary.status === 'failed' && /diverged|base-rate loss/.test(summary.reason)), `${summary.status}: ${summary.reason}`);
  const launched = readRunEvents(summary.runFolder).filter((e): e is Extract<RunEvent, { type: 'worker-launched' }> => e.type === 'worker-launched');
  assert.ok(launched.some((e) => e.worker === 0));
  for (const e of launched) assert.deepEqual(e.byzantine, e.worker === 0 ? { kind: 'flip', factor: 10 } : undefined);
  t.diagnostic(`one flipping worker: ${summary.status}, test log-loss ${summary.testLoss} (${summary.reason})`);
  assert.ok(summary.testLoss === null || !(summary.testLoss <= 0.47), `test log-loss ${summary.testLoss}`);
});
