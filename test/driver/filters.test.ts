// Send less (training.filter) end to end on the local stack: the significance filter (MLLess) and top-k
// with error feedback against dense pushes on Criteo 10k, with what each worker sent counted by its
// parameter-server client (heartbeats -> worker-finished events -> the run summary).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunConfig } from '../../runtime/config/run-config';
import type { RunEvent, RunSummary } from '../../runtime/recording/events';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { startTraining } from '../../runtime/index';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-filters-');

function criteoConfig(file: string, filter?: NonNullable<RunConfig['training']>['filter']): RunConfig {
  return {
    name: `criteo-10k-${filter?.type ?? 'dense'}`,
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    optimizer: { type: 'adagrad', learningRate: 0.02 }, // as test/driver/train.test.ts
    training: { workers: 2, minibatch: 20, maxSeconds: 90, epochs: 3, evalEverySeconds: 0.25, ...(filter ? { filter } : {}) },
    lambda: { memoryMB: 1024, timeoutSeconds: 20 },
  };
}

async function train(config: RunConfig): Promise<{ summary: RunSummary; events: RunEvent[] }> {
  const summary = await (await startTraining(config, { stateDir })).done;
  assert.equal(summary.status, 'completed', summary.reason);
  return { summary, events: readRunEvents(summary.runFolder) };
}

// Measured (2 workers, 3 epochs, 2026-11-30): dense 3.43 MB of updates, loss 0.4599; significance 0.7:
// 1.22 MB (2.8x fewer), loss 0.4619; top-k 0.1: 0.72 MB (4.8x fewer), loss 0.4585. The target is
// 5x for the significance filter on Criteo repeated to >= 500k rows: on 10k rows x 3 epochs most hashed
// features are seen a handful of times and their first update (a zero weight) is always significant.
test('Criteo 10k: the significance filter sends >= 2.5x fewer update bytes than dense (loss within 0.003), top-k 0.1 >= 4x; all train to <= 0.470', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const dense = await train(criteoConfig(file));
  const significance = await train(criteoConfig(file, { type: 'significance', threshold: 0.7 }));
  const topk = await train(criteoConfig(file, { type: 'topk', fraction: 0.1 }));
  const report = (name: string, s: RunSummary) =>
    `${name}: loss ${s.testLoss?.toFixed(4)}, update bytes ${s.traffic?.total.pushBytes}, pushes ${s.traffic?.total.pushes}, all bytes ${s.traffic?.total.bytesSent}, requests ${s.traffic?.total.requests}`;
  const figures = [report('dense', dense.summary), report('significance', significance.summary), report('topk', topk.summary)].join('\n');
  t.diagnostic(figures);
  for (const run of [dense, significance, topk]) {
    const traffic = run.summary.traffic!;
    assert.equal(traffic.perWorker.length, 2);
    assert.ok(traffic.perWorker.every((w) => w.pushes > 0 && w.bytesSent > w.pushBytes), figures);
    assert.equal(traffic.total.bytesSent, traffic.perWorker[0].bytesSent + traffic.perWorker[1].bytesSent);
    // Every epoch was trained: the filters delay updates, they do not skip rows.
    assert.equal(run.summary.samples, dense.summary.samples);
    assert.ok(run.summary.testLoss! <= 0.47, figures);
    // The finished generations report what they sent.
    const finished = run.events.filter((e): e is Extract<RunEvent, { type: 'worker-finished' }> => e.type === 'worker-finished');
    assert.equal(finished.reduce((sum, e) => sum + (e.traffic?.bytesSent ?? 0), 0), traffic.total.bytesSent);
  }
  const d = dense.summary.traffic!.total;
  assert.ok(significance.summary.traffic!.total.pushBytes * 2.5 <= d.pushBytes, figures);
  assert.ok(topk.summary.traffic!.total.pushBytes * 4 <= d.pushBytes, figures);
  assert.ok(Math.abs(significance.summary.testLoss! - dense.summary.testLoss!) <= 0.003, figures);
  // Held-back rows show in the heartbeats of the filtered runs only. (A fast run may end before the
  // driver reads a heartbeat taken mid-generation; the final one follows the flush and holds none, so
  // the filtered runs are checked when they have mid-run heartbeats. test/worker/model-step-filter.test.ts
  // checks the held rows and the flush directly.)
  const heartbeats = (events: RunEvent[]) => events.filter((e): e is Extract<RunEvent, { type: 'worker-heartbeat' }> => e.type === 'worker-heartbeat');
  const held = (events: RunEvent[]) => heartbeats(events).some((e) => (e.heldRows ?? 0) > 0);
  const midRun = (events: RunEvent[]) => heartbeats(events).some((e) => e.samples > 0 && e.samples < dense.summary.samples / 2);
  assert.ok(!held(dense.events));
  for (const run of [significance, topk]) if (midRun(run.events)) assert.ok(held(run.events), 'a mid-run heartbeat of a filtered run reports held-back rows');
});
