// Matrix factorisation in synchronous SGD (training.sync "sync-sgd"): the user and item tables share
// one key space in the step's collective (runtime/worker/sync-step.ts), and every channel's step
// merges and applies both. MovieLens 100k u1 under the loopback network, to an RMSE target like the
// asynchronous MF test's (test/driver/mf.test.ts: <= 0.930 after 40 epochs; here 20-22 epochs).
// Measured (load 9-10): ps 0.9395 after 20 epochs (64 s), redis 0.9391 (76 s), s3 0.9494 after 16 epochs
// of 1,000-rating steps (93 s), hence 22 there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTraining } from '../../runtime/index';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { findRedisServer } from '../../runtime/redis/server';
import { validateRunConfig } from '../../runtime/config/validate';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-sync-mf-');

const TARGET_RMSE = 0.95;
/** Per worker step: S3's steps cost tens of ms even on loopback (the local S3's requests), so fewer, larger ones there. */
const MINIBATCH = { ps: 200, redis: 200, s3: 1000 } as const;
const EPOCHS = { ps: 20, redis: 20, s3: 22 } as const;

for (const [channel, scheme] of [['ps', 'all-reduce'], ['redis', 'scatter-reduce'], ['s3', 'all-reduce']] as const) {
  test(`sync-sgd mf through ${channel} (${scheme}): MovieLens 100k u1 test RMSE <= ${TARGET_RMSE}`, async (t) => {
    const train = sharedDataset(t, 'movielens-100k/u1.base');
    const testFile = sharedDataset(t, 'movielens-100k/u1.test');
    if (!train || !testFile) return;
    if (channel === 'redis' && !findRedisServer()) return t.skip('needs redis-server (Debian: apt-get install redis-server)');
    const handle = await startTraining(
      {
        name: `ml-100k-sync-${channel}`,
        dataset: { path: train, format: 'ratings', testPath: testFile },
        model: { type: 'mf', factors: 100 },
        // The step applies the mean of the two workers' summed gradients: twice the async test's rate
        // gives each rating the same step as there.
        optimizer: { type: 'sgd', learningRate: 0.02, l2: 0.1 },
        training: { workers: 2, minibatch: MINIBATCH[channel], maxSeconds: 170, epochs: EPOCHS[channel], sync: 'sync-sgd', channel, scheme, patience: 0 },
        lambda: { memoryMB: 512, timeoutSeconds: 60 },
      },
      { stateDir },
    );
    const summary = await handle.done;
    assert.equal(summary.status, 'completed', summary.reason);
    console.log(`# ${channel} ${scheme}: test RMSE ${summary.testRMSE} after ${summary.samples} ratings in ${summary.seconds.toFixed(1)} s`);
    assert.ok(summary.testRMSE != null && summary.testRMSE <= TARGET_RMSE, `test RMSE ${summary.testRMSE}`);
    const events = readRunEvents(handle.runFolder);
    // Every step merged both workers' updates (none left out), and both tables moved.
    const finished = events.filter((e) => e.type === 'worker-finished');
    assert.ok(finished.length >= 2 && finished.every((e) => e.type === 'worker-finished' && e.status !== 'failed'), JSON.stringify(finished));
    const first = events.find((e) => e.type === 'eval');
    assert.ok(first && first.type === 'eval' && first.testRMSE !== undefined && first.testRMSE > summary.testRMSE! + 0.02, 'the RMSE fell during the run');
  });
}

test('sync-sgd mf: scheme "pywren" is refused with the reason (its model object is one dense table)', () => {
  assert.throws(
    () =>
      validateRunConfig({
        name: 'x',
        dataset: { path: 'ratings.txt', format: 'ratings' },
        model: { type: 'mf', factors: 10 },
        training: { sync: 'sync-sgd', channel: 's3', scheme: 'pywren' },
      }),
    /training\.scheme.*"pywren" is implemented for logistic and softmax/s,
  );
});
