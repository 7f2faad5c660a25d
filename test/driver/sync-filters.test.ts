// Send less in synchronous SGD (training.sync "sync-sgd" with training.filter): each worker's step
// update goes through its filter before it enters the collective, the held-back rows are kept by the
// worker and flushed in one last step when its generation ends. On Criteo 10k through the parameter
// server's store and a real redis-server: the significance filter trains to the issue-2 target and
// sends fewer update bytes than the same run without a filter; top-k with error feedback trains too.
// Update bytes: what each worker contributed to the steps (after the filter), counted by its sync step
// (heartbeats -> worker-finished events -> the run summary's traffic).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunConfig } from '../../runtime/config/run-config';
import type { RunEvent, RunSummary } from '../../runtime/recording/events';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { findRedisServer } from '../../runtime/redis/server';
import { startTraining } from '../../runtime/index';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-sync-filters-');

type Training = NonNullable<RunConfig['training']>;

// As test/driver/sync-train.test.ts, with 5 s generations (the shortest allowed): each worker's
// generations end (and flush, then rejoin) several times in a run.
function criteo(file: string, training: Training): RunConfig {
  return {
    name: `criteo-10k-sync-${training.filter?.type ?? 'dense'}`,
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    training: { workers: 2, minibatch: 20, maxSeconds: 200, epochs: 3, evalEverySeconds: 0.5, sync: 'sync-sgd', ...training },
    lambda: { memoryMB: 1024, timeoutSeconds: 5 },
  };
}

async function train(config: RunConfig): Promise<{ summary: RunSummary; events: RunEvent[] }> {
  const summary = await (await startTraining(config, { stateDir })).done;
  assert.equal(summary.status, 'completed', summary.reason);
  return { summary, events: readRunEvents(summary.runFolder) };
}

const describe = (name: string, s: RunSummary) =>
  `${name}: loss ${s.testLoss?.toFixed(4)}, samples ${s.samples}, update bytes ${s.traffic?.total.pushBytes}, updates ${s.traffic?.total.pushes}, all bytes ${s.traffic?.total.bytesSent} (${s.reason})`;

for (const [channel, scheme] of [['ps', 'all-reduce'], ['redis', 'scatter-reduce']] as const) {
  test(`sync-sgd through ${channel} (${scheme}) with the significance filter: Criteo 10k <= 0.470, fewer update bytes than without a filter`, async (t) => {
    const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
    if (!file) return;
    if (channel === 'redis' && !findRedisServer()) return t.skip('needs redis-server (Debian: apt-get install redis-server)');
    const dense = await train(criteo(file, { channel, scheme }));
    const significance = await train(criteo(file, { channel, scheme, filter: { type: 'significance' } })); // the defaults: v 3, cap 0.05
    const figures = [describe('dense', dense.summary), describe('significance (v 3, cap 0.05)', significance.summary)].join('\n');
    t.diagnostic(figures);
    for (const run of [dense, significance]) {
      assert.ok(run.summary.testLoss !== null && run.summary.testLoss <= 0.47, figures);
      // Every epoch was trained: the filter delays updates, it does not skip rows.
      assert.match(run.summary.reason, /epochs done/, figures);
      const traffic = run.summary.traffic!;
      assert.ok(traffic.perWorker.length === 2 && traffic.perWorker.every((w) => w.pushes > 0 && w.pushBytes > 0), figures);
      // The finished generations report what they sent, and the summary adds them up.
      const finished = run.events.filter((e): e is Extract<RunEvent, { type: 'worker-finished' }> => e.type === 'worker-finished');
      assert.equal(finished.reduce((sum, e) => sum + (e.traffic?.pushBytes ?? 0), 0), traffic.total.pushBytes);
    }
    assert.equal(significance.summary.samples, dense.summary.samples);
    assert.ok(significance.summary.traffic!.total.pushBytes < dense.summary.traffic!.total.pushBytes, figures);
    // Held-back rows show in mid-run heartbeats of the filtered run only (the last heartbeat of a
    // generation follows its flush; test/worker/sync-step-filter.test.ts checks the flush itself).
    const heartbeats = (events: RunEvent[]) => events.filter((e): e is Extract<RunEvent, { type: 'worker-heartbeat' }> => e.type === 'worker-heartbeat');
    assert.ok(!heartbeats(dense.events).some((e) => (e.heldRows ?? 0) > 0));
    const midRun = heartbeats(significance.events).filter((e) => e.samples > 0 && e.samples < dense.summary.samples / 4);
    if (midRun.length > 0) assert.ok(midRun.some((e) => (e.heldRows ?? 0) > 0), 'a mid-run heartbeat of the filtered run reports held-back rows');
    const ended = significance.events.filter((e) => e.type === 'worker-finished' && e.status === 'time-limit').length;
    t.diagnostic(`${ended} generation(s) of the filtered run ended at their time limit mid-run (and flushed), in ${significance.summary.seconds.toFixed(1)} s`);
    // A run longer than one generation (5 s, returning 1 s early) had generations end mid-run.
    if (significance.summary.seconds > 6) assert.ok(ended >= 1, `${ended} generations ended mid-run in ${significance.summary.seconds} s`);
  });
}

test('sync-sgd through ps (all-reduce) with top-k 0.1 and error feedback: Criteo 10k <= 0.470', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const { summary } = await train(criteo(file, { channel: 'ps', scheme: 'all-reduce', filter: { type: 'topk', fraction: 0.1 } }));
  t.diagnostic(describe('top-k 0.1', summary));
  assert.ok(summary.testLoss !== null && summary.testLoss <= 0.47, describe('top-k 0.1', summary));
  assert.match(summary.reason, /epochs done/);
  assert.ok(summary.traffic!.total.pushes > 0);
});

// Matrix factorisation (both tables through one collective, test/driver/sync-mf.test.ts) with the
// significance filter: the user and item rows a step touches are held back alike, and the filtered
// run ends within the RMSE line of the same run without a filter.
test('sync-sgd mf through ps (all-reduce) with the significance filter: MovieLens 100k u1 RMSE within 0.005 of dense, fewer update bytes', async (t) => {
  const trainFile = sharedDataset(t, 'movielens-100k/u1.base');
  const testFile = sharedDataset(t, 'movielens-100k/u1.test');
  if (!trainFile || !testFile) return;
  const movielens = (filter?: Training['filter']): RunConfig => ({
    name: `ml-100k-sync-${filter?.type ?? 'dense'}`,
    dataset: { path: trainFile, format: 'ratings', testPath: testFile },
    model: { type: 'mf', factors: 100 },
    optimizer: { type: 'sgd', learningRate: 0.02, l2: 0.1 }, // as sync-mf.test.ts
    training: { workers: 2, minibatch: 200, maxSeconds: 170, epochs: 10, sync: 'sync-sgd', channel: 'ps', scheme: 'all-reduce', patience: 0, ...(filter ? { filter } : {}) },
    lambda: { memoryMB: 512, timeoutSeconds: 60 },
  });
  const dense = await train(movielens());
  const significance = await train(movielens({ type: 'significance' }));
  const figures = [dense, significance]
    .map((r, i) => `${i ? 'significance' : 'dense'}: RMSE ${r.summary.testRMSE?.toFixed(4)}, samples ${r.summary.samples}, update bytes ${r.summary.traffic?.total.pushBytes}`)
    .join('\n');
  t.diagnostic(figures);
  assert.equal(significance.summary.samples, dense.summary.samples, figures);
  assert.ok(dense.summary.testRMSE != null && significance.summary.testRMSE != null, figures);
  assert.ok(significance.summary.testRMSE! <= dense.summary.testRMSE! + 0.005, figures);
  assert.ok(significance.summary.traffic!.total.pushBytes < dense.summary.traffic!.total.pushBytes / 2, figures);
});
