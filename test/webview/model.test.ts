// The dashboard's model folded from recorded events, in plain Node (no browser).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent } from '../../runtime/recording/events';
import { componentName } from '../../webview/dashboard/charts';
import { DashboardModel, RunModel, Series } from '../../webview/dashboard/model';
import { readFixture } from './harness';

describe('dashboard model', () => {
  it('keeps a series sorted: same x replaces, a late point is inserted in place', () => {
    const s = new Series();
    s.add(1, 10);
    s.add(3, 30);
    s.add(3, 31);
    s.add(2, 20);
    s.add(0.5, 5);
    s.add(2, 21);
    s.add(4, NaN);
    assert.deepEqual(s.points, [{ x: 0.5, y: 5 }, { x: 1, y: 10 }, { x: 2, y: 21 }, { x: 3, y: 31 }]);
  });

  it('folds a recorded run into the numbers the panel shows', () => {
    const events = readFixture('recorded-run.jsonl');
    const model = new DashboardModel();
    model.reset([{ runId: events[0].runId, name: 'listed name', status: 'running' }]);
    const run = model.applyBatch(events[0].runId, events);
    assert.equal(run.name, 'listed name'); // the host's name wins over run-started
    assert.equal(run.status, 'completed');
    const finished = events.filter((e): e is Extract<RunEvent, { type: 'stage-finished' }> => e.type === 'stage-finished');
    assert.deepEqual([...run.stages.keys()], finished.map((s) => s.stage));
    for (const s of finished) {
      const row = run.stages.get(s.stage)!;
      assert.deepEqual([row.workers, row.memoryMB, row.peakMemoryMB, row.seconds, row.gbSeconds, row.costUSD, row.finished], [s.workers, s.memoryMB, s.peakMemoryMB, s.seconds, s.gbSeconds, s.costUSD, true]);
    }
    const evals = events.filter((e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval');
    assert.equal(run.testLoss.points.length, evals.length);
    assert.equal(run.lossByCost.points.length, evals.length);
    assert.equal(run.latestTestLoss, evals.at(-1)!.testLoss);
    assert.equal(run.workersRunning.last!.y, 0, 'every launched worker finished');
    const launched = events.filter((e) => e.type === 'worker-launched').length;
    assert.equal(Math.max(...run.workersRunning.points.map((p) => p.y)) <= launched, true);
    const lastCost = events.filter((e): e is Extract<RunEvent, { type: 'cost' }> => e.type === 'cost').at(-1)!;
    assert.deepEqual(run.costByComponent, lastCost.byComponent);
    assert.equal(run.costUSD, lastCost.totalUSD);
    // The evaluated train loss is preferred to the workers' minibatch losses.
    assert.equal(run.trainLoss, run.evalTrainLoss);
  });

  it('sums worker rates, forgets a finished generation, and averages minibatch losses', () => {
    const run = new RunModel('r', 'r');
    const base = { runId: 'r', s3MBps: 1, memoryMB: 100 };
    const hb = (t: number, worker: number, generation: number, rate: number, trainLoss?: number): RunEvent => ({ ...base, t, type: 'worker-heartbeat', worker, generation, samples: 0, samplesPerSecond: rate, trainLoss });
    run.apply({ runId: 'r', t: 0, type: 'worker-launched', worker: 0, generation: 0, reason: 'start' });
    run.apply({ runId: 'r', t: 0, type: 'worker-launched', worker: 1, generation: 0, reason: 'start' });
    run.apply(hb(1, 0, 0, 100, 0.6));
    run.apply(hb(1.5, 1, 0, 50, 0.4));
    assert.deepEqual(run.samplesPerSecond.last, { x: 1.5, y: 150 });
    assert.deepEqual(run.trainLoss.last, { x: 1.5, y: 0.5 });
    // Generation 1 of worker 0 starts before generation 0's finish arrives: the newer one is kept.
    run.apply({ runId: 'r', t: 2, type: 'worker-launched', worker: 0, generation: 1, reason: 'time-limit' });
    run.apply(hb(2.1, 0, 1, 80));
    run.apply({ runId: 'r', t: 2.2, type: 'worker-finished', worker: 0, generation: 0, status: 'time-limit', billedMs: 2000, memoryMB: 100, samples: 0 });
    assert.deepEqual(run.samplesPerSecond.last, { x: 2.1, y: 130 });
    assert.deepEqual(run.workersRunning.last, { x: 2.2, y: 2 });
  });

  it('drops a stage\'s progress line when the stage finishes, keeps warnings', () => {
    const run = new RunModel('r', 'r');
    const base = { runId: 'r' };
    run.apply({ ...base, t: 1, type: 'stage-started', stage: 'load', workers: 0, memoryMB: 0 });
    run.apply({ ...base, t: 1.1, type: 'progress', stage: 'load', message: 'count: 0 rows, 0 partitions uploaded' });
    assert.equal(run.message, 'count: 0 rows, 0 partitions uploaded');
    run.apply({ ...base, t: 2, type: 'stage-finished', stage: 'load', seconds: 1, gbSeconds: 0, peakMemoryMB: 50, costUSD: 0, workers: 0, memoryMB: 0 });
    assert.equal(run.message, '', 'training with "count: 0 rows" under the run reads as if nothing was loaded');
    run.apply({ ...base, t: 3, type: 'stage-started', stage: 'train', workers: 2, memoryMB: 512 });
    run.apply({ ...base, t: 4, type: 'log', level: 'warn', message: 'worker 1 relaunched' });
    run.apply({ ...base, t: 5, type: 'stage-finished', stage: 'train', seconds: 2, gbSeconds: 1, peakMemoryMB: 80, costUSD: 0.001, workers: 2, memoryMB: 512 });
    assert.equal(run.message, 'worker 1 relaunched');
  });

  it('names cost components in words', () => {
    assert.equal(componentName('lambdaCompute'), 'Lambda compute');
    assert.equal(componentName('s3Requests'), 'S3 requests');
    assert.equal(componentName('parameterServer'), 'Parameter server');
    assert.equal(componentName('ps_host'), 'PS host');
  });
});
