// Synchronous SGD end to end on the embedded local stack (training.sync "sync-sgd"): every channel
// (the parameter server's store, S3, a real redis-server) trains Criteo 10k and a9a to the issue-2
// targets under the loopback network; robust aggregation against a Byzantine worker; a worker killed
// in a step does not hang the others; Redis killed mid-run stops the run with the model saved.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import type { RunConfig } from '../../runtime/config/run-config';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PRICES } from '../../runtime/cost/prices';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { localBackend } from '../../runtime/backends/backend';
import { localAdmin } from '../../runtime/backends/local-lambda/embedded';
import { findRedisServer } from '../../runtime/redis/server';
import { startTraining } from '../../runtime/index';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-sync-train-');

type Training = NonNullable<RunConfig['training']>;

function criteo(file: string, training: Training): RunConfig {
  return {
    name: 'criteo-10k-sync',
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    training: { workers: 2, minibatch: 20, maxSeconds: 150, epochs: 3, evalEverySeconds: 0.5, sync: 'sync-sgd', ...training },
    lambda: { memoryMB: 1024, timeoutSeconds: 120 },
  };
}

function a9a(train: string, testFile: string, training: Training): RunConfig {
  return {
    name: 'a9a-sync',
    dataset: { path: train, format: 'libsvm', testPath: testFile },
    model: { type: 'logistic' },
    optimizer: { type: 'adagrad', learningRate: 0.1, l2: 0.0001 },
    training: { workers: 2, minibatch: 50, maxSeconds: 150, epochs: 5, sync: 'sync-sgd', ...training },
    lambda: { memoryMB: 512, timeoutSeconds: 120 },
  };
}

/** Issue 2's a9a targets (docs/datasets.md): test log-loss <= 0.330 and accuracy >= 84.5 %. */
function assertA9aTargets(summary: { status: string; reason: string; testLoss: number | null; testAccuracy: number | null }): void {
  assert.equal(summary.status, 'completed', summary.reason);
  assert.ok(summary.testLoss !== null && summary.testLoss <= 0.33, `test log-loss ${summary.testLoss}`);
  assert.ok(summary.testAccuracy !== null && summary.testAccuracy >= 0.845, `test accuracy ${summary.testAccuracy}`);
}

function needsRedis(t: { skip(message: string): void }, channel: string): boolean {
  if (channel === 'redis' && !findRedisServer()) {
    t.skip('needs redis-server (Debian: apt-get install redis-server)');
    return false;
  }
  return true;
}

for (const [channel, scheme] of [['ps', 'all-reduce'], ['s3', 'all-reduce'], ['redis', 'scatter-reduce']] as const) {
  test(`sync-sgd through ${channel} (${scheme}): Criteo 10k test log-loss <= 0.470, every step merged`, async (t) => {
    const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
    if (!file || !needsRedis(t, channel)) return;
    const handle = await startTraining(criteo(file, { channel, scheme }), { stateDir });
    const summary = await handle.done;
    assert.equal(summary.status, 'completed', summary.reason);
    assert.ok(summary.testLoss !== null && summary.testLoss <= 0.47, `test log-loss ${summary.testLoss}`);
    // Every worker takes the largest share's samples (a smaller share wraps round): all reach the last
    // step together. On a loaded 2-core machine the S3 channel's ~700 steps may not all fit in maxSeconds.
    if (/epochs done/.test(summary.reason)) assert.ok(summary.samples >= 3 * 9000 && summary.samples <= 3 * 9000 * 1.25, `${summary.samples} samples`);
    else assert.match(summary.reason, /time limit/);
    assert.equal(summary.training?.sync, 'sync-sgd');
    assert.equal(summary.training?.channel, channel);
  });

  test(`sync-sgd through ${channel} (${scheme}): a9a test log-loss <= 0.330, accuracy >= 84.5 %`, async (t) => {
    const train = sharedDataset(t, 'libsvm-a9a/a9a');
    const testFile = sharedDataset(t, 'libsvm-a9a/a9a.t');
    if (!train || !testFile || !needsRedis(t, channel)) return;
    const summary = await (await startTraining(a9a(train, testFile, { channel, scheme }), { stateDir })).done;
    assertA9aTargets(summary);
  });
}

// The design-space table's other synchronous cells (docs/design-space.md) to the same issue-2 targets,
// kept short: the run stops at the target (patience off, so only the target or the limit ends it), with
// larger minibatches (fewer steps through the channel) and a learning rate to match: 4-8 s each here at
// load 10. The PyWren-style cell's Criteo run is the test after this loop's.
for (const [channel, scheme] of [['s3', 'scatter-reduce'], ['redis', 'all-reduce'], ['s3', 'pywren']] as const) {
  if (scheme !== 'pywren') {
    test(`sync-sgd through ${channel} (${scheme}): Criteo 10k to test log-loss <= 0.470`, async (t) => {
      const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
      if (!file || !needsRedis(t, channel)) return;
      const config = criteo(file, { channel, scheme, minibatch: 50, epochs: 5, targetLoss: 0.47, patience: 0, evalEverySeconds: 0.25 });
      config.optimizer = { type: 'adagrad', learningRate: 0.03 };
      const summary = await (await startTraining(config, { stateDir })).done;
      assert.equal(summary.status, 'completed', summary.reason);
      assert.match(summary.reason, /target loss 0\.47 reached/);
      assert.ok(summary.testLoss !== null && summary.testLoss <= 0.47, `test log-loss ${summary.testLoss}`);
      assert.deepEqual([summary.training?.channel, summary.training?.scheme], [channel, scheme]);
    });
  }

  test(`sync-sgd through ${channel} (${scheme}): a9a to test log-loss <= 0.330, accuracy >= 84.5 %`, async (t) => {
    const train = sharedDataset(t, 'libsvm-a9a/a9a');
    const testFile = sharedDataset(t, 'libsvm-a9a/a9a.t');
    if (!train || !testFile || !needsRedis(t, channel)) return;
    const config = a9a(train, testFile, { channel, scheme, minibatch: 250, targetLoss: 0.33, patience: 0, evalEverySeconds: 0.25 });
    config.optimizer = { type: 'adagrad', learningRate: 0.3, l2: 0.0001 };
    const summary = await (await startTraining(config, { stateDir })).done;
    assertA9aTargets(summary);
    assert.match(summary.reason, /target loss 0\.33 reached/);
    assert.deepEqual([summary.training?.channel, summary.training?.scheme], [channel, scheme]);
  });
}

// Issue 12: with 1 Byzantine worker of 5 (flip, factor 10) the mean follows the attacker uphill;
// Krum and the coordinate-wise median keep to the honest workers.
for (const rule of ['mean', 'krum', 'median'] as const) {
  test(`1 Byzantine worker of 5, sync-sgd with aggregation ${rule}`, async (t) => {
    const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
    if (!file) return;
    // Krum applies one worker's minibatch of 20 a step (a fifth of the rows read move the model) and,
    // on sparse gradients with nearly disjoint supports, favours the smallest ones (distance ~ the
    // norms), which drifts; the median of sparse updates moves only rows most workers touched. A lower
    // rate and more epochs: the steps the mean gets from 3 epochs, with less drift.
    // Krum also gets minibatches of 50: less varied updates make its choice less biased to small ones.
    const krum = rule === 'krum';
    // The median at 20 epochs ended at 0.4750 (on the bound) in two runs, 0.4747 at 30: 40 give it room.
    const config = criteo(file, { workers: 5, channel: 'ps', aggregation: rule, epochs: krum ? 25 : 40, minibatch: krum ? 50 : 20, maxSeconds: 400 });
    config.optimizer = { type: 'adagrad', learningRate: krum ? 0.015 : 0.01 };
    config.faults = { byzantineWorkers: { count: 1, kind: 'flip', factor: 10 } };
    config.lambda = { memoryMB: 512, timeoutSeconds: 150 };
    const handle = await startTraining(config, { stateDir });
    const summary = await handle.done;
    const evals = readRunEvents(handle.runFolder).filter((e) => e.type === 'eval');
    const baseline = evals.find((e) => e.type === 'eval' && e.baselineLoss !== undefined);
    const baseRate = baseline?.type === 'eval' ? baseline.baselineLoss! : NaN;
    t.diagnostic(`${rule}: ${summary.status} (${summary.reason}), test log-loss ${summary.testLoss}, base rate ${baseRate}`);
    if (rule === 'mean') {
      // Either the stopping rules catch it (diverged / no better than the base rate: status failed), or it ends above the base rate.
      const diverged = summary.status === 'failed' && /diverge|base.rate|non-finite|NaN/i.test(summary.reason);
      const worst = Math.max(...evals.map((e) => (e.type === 'eval' ? e.testLoss : -Infinity)));
      assert.ok(diverged || (summary.testLoss !== null && summary.testLoss > baseRate) || worst > baseRate, `mean should fail: ${summary.status}, ${summary.reason}, loss ${summary.testLoss}`);
    } else {
      assert.equal(summary.status, 'completed', summary.reason);
      assert.ok(summary.testLoss !== null && summary.testLoss <= 0.475, `test log-loss ${summary.testLoss}`);
    }
  });
}

test('PyWren-style sync-sgd (scheme "pywren"): the whole model goes through S3 each step, and Criteo 10k reaches <= 0.470', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const backend = await localBackend(stateDir);
  // 2^16 weights (a 256 KiB model object) keeps the steps short enough for a loaded machine; patience
  // off: a noisy evaluation must not end the run early.
  // 10 s invocations: every worker's generation ends several times, the reducer's too (the others wait
  // for its next generation, which republishes the model) and the run goes on.
  const config = criteo(file, { channel: 's3', scheme: 'pywren', patience: 0 });
  config.model = { type: 'logistic', hashBits: 16 };
  config.lambda = { memoryMB: 1024, timeoutSeconds: 10 };
  const handle = await startTraining(config, { stateDir });
  // While it trains, the step's model objects are in the run's bucket, dense: 2^16 float32 weights.
  const modelSizes = new Set<number>();
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const page = await backend.s3.send(new ListObjectsV2Command({ Bucket: backend.bucket, Prefix: `runs/${handle.runId}/sync/model/` }));
      for (const object of page.Contents ?? []) modelSizes.add(object.Size ?? -1);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const summary = await handle.done;
  watching = false;
  await watch;
  assert.equal(summary.status, 'completed', summary.reason);
  assert.ok(summary.testLoss !== null && summary.testLoss <= 0.47, `test log-loss ${summary.testLoss} (${summary.reason}, ${summary.samples} samples)`);
  assert.deepEqual([...modelSizes], [4 * 2 ** 16], `model object sizes seen: ${[...modelSizes]}`);
  assert.equal(summary.training?.scheme, 'pywren');
  const generations = readRunEvents(handle.runFolder).filter((e) => e.type === 'worker-launched' && e.worker === 0).length;
  assert.ok(generations >= 2, `worker 0 ran ${generations} generation(s)`);
  // The channel's requests are in the run's own cost meter: each step at least worker 1's gradient PUT,
  // worker 0's model PUT and worker 1's model GET (polls come on top), besides the partitions and checkpoints.
  const steps = summary.samples / (2 * 20);
  assert.ok(summary.cost.s3Requests >= steps * (2 * PRICES.s3PerPut + PRICES.s3PerGet), `S3 requests $${summary.cost.s3Requests} for ${steps} steps`);
  // The step objects are deleted when the run ends.
  const left = await backend.s3.send(new ListObjectsV2Command({ Bucket: backend.bucket, Prefix: `runs/${handle.runId}/sync/` }));
  assert.equal(left.KeyCount ?? 0, 0);
});

test('Krum with too few workers is refused at validation, naming training.aggregation', async () => {
  await assert.rejects(
    async () => (await startTraining({ ...criteo('/nonexistent', { workers: 4, aggregation: 'krum' }) }, { stateDir })).done,
    (error: Error) => /training\.aggregation/.test(error.message) && /2f \+ 3/.test(error.message),
  );
});

test('a worker killed in a synchronous step: the others go on after the step timeout, it is relaunched and rejoins', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const backend = await localBackend(stateDir);
  const config = criteo(file, { channel: 'ps', scheme: 'scatter-reduce', stepTimeoutSeconds: 2, epochs: 3, maxSeconds: 300 });
  // Short generations: generations also end and rejoin (the "left" marker) mid-run.
  config.lambda = { memoryMB: 1024, timeoutSeconds: 20 };
  const handle = await startTraining(config, { stateDir });
  // Once training is under way, kill one running worker process (as a crashed function would die).
  const admin = localAdmin(backend.localLambdaEndpoint!, backend.localCredentials!);
  const deadline = Date.now() + 120_000;
  let killed = false;
  while (!killed && Date.now() < deadline) {
    if (readRunEvents(handle.runFolder).some((e) => e.type === 'eval')) {
      const { invocations } = await admin.invocations();
      if (invocations.length > 0) killed = await admin.kill(invocations[invocations.length - 1].requestId);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(killed, 'a running worker was killed');
  const summary = await handle.done;
  assert.equal(summary.status, 'completed', summary.reason);
  // Every worker got through all its steps (a hung step would have ended the run on its time limit instead).
  assert.match(summary.reason, /3 epochs done/);
  const events = readRunEvents(handle.runFolder);
  assert.ok(events.some((e) => e.type === 'worker-finished' && e.status === 'failed'), 'a generation died');
  assert.ok(events.some((e) => e.type === 'worker-launched' && e.reason === 'relaunch-after-failure'), 'and was relaunched');
  assert.ok(summary.testLoss !== null && summary.testLoss <= 0.48, `test log-loss ${summary.testLoss}`);
});

test('Redis killed mid-run: a clear error naming Redis, and the model trained so far is saved', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file || !needsRedis(t, 'redis')) return;
  const handle = await startTraining(criteo(file, { channel: 'redis', epochs: 50, maxSeconds: 120 }), { stateDir });
  // The driver logs the pid of the run's own redis-server; kill exactly that process once training has evaluated.
  let pid: number | undefined;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const events = readRunEvents(handle.runFolder);
    const line = events.find((e) => e.type === 'log' && /redis-server pid \d+/.test(e.message));
    if (line?.type === 'log') pid = Number(/pid (\d+)/.exec(line.message)![1]);
    if (pid !== undefined && events.some((e) => e.type === 'eval')) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(pid !== undefined, 'the redis-server pid was logged');
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    const summary = await handle.done;
    assert.fail(`redis-server ${pid} was gone before the kill (${(error as Error).message}); the run: ${summary.status}, ${summary.reason}`);
  }
  const summary = await handle.done;
  assert.equal(summary.status, 'failed');
  assert.match(summary.reason, /Redis \(training\.channel "redis"\) died mid-run/);
  assert.ok(summary.modelPath && fs.existsSync(summary.modelPath), 'the model so far is saved');
  assert.ok(summary.testLoss !== null && summary.testLoss < Math.LN2, `the saved model has trained (test log-loss ${summary.testLoss})`);
});
