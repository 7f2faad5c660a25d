// The dashboard's model folded from recorded events, in plain Node (no browser).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent } from '../../runtime/recording/events';
import { componentName } from '../../webview/dashboard/chart-specs';
import { bestSoFar, ema, seriesCsv } from '../../webview/dashboard/curves';
import { DashboardModel, RunModel, Series } from '../../webview/dashboard/model';
import { diffParams, flatten, runLabels } from '../../webview/dashboard/params';
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
  it('tracks the best evaluation and how many evaluations in a row the test loss rose', () => {
    const run = new RunModel('r', 'r');
    const losses = [0.7, 0.6, 0.65, 0.66, 0.59, 0.61, 0.62, 0.63];
    losses.forEach((testLoss, i) => run.apply({ runId: 'r', t: i, type: 'eval', testLoss, samples: i * 10, costUSD: i / 100 }));
    assert.equal(run.best?.testLoss, 0.59);
    assert.equal(run.best?.samples, 40);
    assert.equal(run.risingEvals, 3);
    run.apply({ runId: 'r', t: 9, type: 'eval', testLoss: 0.63, samples: 90, costUSD: 0.09 });
    assert.equal(run.risingEvals, 0, 'an equal loss is not a rise');
    assert.deepEqual(run.lossSeries('samples').test.points.map((p) => p.x), [0, 10, 20, 30, 40, 50, 60, 70, 90]);
    // No breakdown yet: the total so far; then the breakdown.
    assert.deepEqual(run.costBreakdown, { spentSoFar: 0.09 });
    run.apply({ runId: 'r', t: 10, type: 'cost', totalUSD: 0.1, byComponent: { lambdaCompute: 0.1 } });
    assert.deepEqual(run.costBreakdown, { lambdaCompute: 0.1 });
  });

  it('smooths with a debiased EMA, keeps the best so far, and writes CSV with quoting', () => {
    const pts = [{ x: 0, y: 1 }, { x: 1, y: 0 }, { x: 2, y: 1 }];
    assert.equal(ema(pts, 0), pts);
    const s = ema(pts, 0.5);
    assert.equal(s[0].y, 1, 'the first point is not pulled towards 0');
    assert.ok(Math.abs(s[1].y - (0.5 * 0.5 * 1 + 0.5 * 0) / 0.75) < 1e-12);
    assert.deepEqual(bestSoFar([{ x: 0, y: 3 }, { x: 1, y: 4 }, { x: 2, y: 2 }]).map((p) => p.y), [3, 3, 2]);
    assert.equal(seriesCsv('Time (s)', 'Loss', [{ label: 'a, "b"', points: [{ x: 1, y: 2 }] }]), 'series,Time (s),Loss\n"a, ""b""",1,2\n');
  });

  it('finds the parameters that differ and names same-named runs by them', () => {
    assert.deepEqual([...flatten({ $schema: 'x', a: { b: 1, c: [1, 2] }, d: 'e' })], [['a.b', '1'], ['a.c', '[1,2]'], ['d', 'e']]);
    const runs = [
      { runId: 'r1', name: 'ctr', config: { name: 'ctr', optimizer: { learningRate: 0.05 }, training: { workers: 2 } } },
      { runId: 'r2', name: 'ctr', config: { name: 'ctr', optimizer: { learningRate: 0.5 }, training: { workers: 2 } } },
      { runId: 'r3', name: 'ml', config: { name: 'ml', optimizer: { learningRate: 0.5 }, training: { workers: 4, epochs: 3 } } },
    ];
    const diff = diffParams(runs);
    assert.deepEqual(diff.paths, ['optimizer.learningRate', 'training.epochs', 'training.workers']);
    assert.equal(diff.values.get('r1')?.get('training.epochs'), '–');
    assert.deepEqual([...runLabels(runs)], [['r1', 'ctr (lr=0.05)'], ['r2', 'ctr (lr=0.5)'], ['r3', 'ml']]);
    // Two runs of one unchanged config: told apart by their ids.
    const same = runLabels([{ runId: '2026-a-111111', name: 'x', config: {} }, { runId: '2026-a-222222', name: 'x', config: {} }]);
    assert.deepEqual([...same.values()], ['x (111111)', 'x (222222)']);
    assert.deepEqual(diffParams([runs[0]]).paths, [], 'one run: nothing differs');
  });
});

describe('dashboard: the run\'s channel and sync mode', () => {
  it('names them from the run-started config', () => {
    const model = new DashboardModel();
    const base = { t: 0, type: 'run-started', name: 'r', backend: 'local' } as const;
    model.applyBatch('a', [{ ...base, runId: 'a', config: { training: { sync: 'async-sgd' } } } as unknown as RunEvent]);
    model.applyBatch('b', [{ ...base, runId: 'b', config: { training: { sync: 'sync-sgd', synchronous: { channel: 's3', scheme: 'scatter-reduce', aggregation: { rule: 'krum', f: 1 } } } } } as unknown as RunEvent]);
    assert.equal(model.runs.get('a')!.trainingMode, 'async-sgd through the parameter server');
    assert.equal(model.runs.get('b')!.trainingMode, 'sync-sgd through S3 (scatter-reduce, krum)');
  });
});
