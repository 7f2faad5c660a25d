// The runs table's data from real run folders (RunFolder, the recorder's own writer): rows with their
// loss figures folded from metrics.jsonl, status of live / interrupted runs, a sweep's trials grouped
// and its view; meta.json (Rename, Tags) written, read back, and refused without loss when corrupt;
// the parameter importance against hand-computed values.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { DistributiveOmit, RunEvent, RunSummary } from '../../runtime/recording/events';
import { RunFolder, runsDirectory } from '../../runtime/recording/run-folder';
import { META_FILE, readRunMeta, updateRunMeta } from '../../runtime/recording/run-meta';
import { paramImportance, ranks } from '../../runtime/tracking/importance';
import { listRunTable, listSweeps, readSweepView } from '../../runtime/tracking/run-table';

function stateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-table-'));
}

/** A run folder written the way a run writes it; `losses` become eval events; no summary = still open. */
function writeRun(state: string, runId: string, opts: { name: string; lr: number; losses: number[]; status?: RunSummary['status']; accuracy?: number[] }): string {
  const dir = path.join(runsDirectory(state), runId);
  const config = { name: opts.name, optimizer: { type: 'adagrad', learningRate: opts.lr }, training: { workers: 2 } };
  const folder = new RunFolder(dir, config);
  const ev = (e: DistributiveOmit<RunEvent, 'runId'>) => folder.append({ ...e, runId } as RunEvent);
  ev({ t: 0, type: 'run-started', name: opts.name, config, backend: 'local' });
  opts.losses.forEach((l, i) => {
    ev({ t: 1 + i, type: 'worker-heartbeat', worker: 0, generation: 0, samples: 10, samplesPerSecond: 5, s3MBps: 1, memoryMB: 100 });
    ev({ t: 1.5 + i, type: 'eval', testLoss: l, samples: 1000 * (i + 1), costUSD: 0.001 * (i + 1), ...(opts.accuracy ? { testAccuracy: opts.accuracy[i] } : {}) });
  });
  if (opts.status) {
    const summary: RunSummary = {
      runId, name: opts.name, status: opts.status, reason: opts.status === 'failed' ? 'NON_FINITE: gradient -Infinity' : 'epochs done',
      testLoss: opts.losses.at(-1) ?? null, testAccuracy: opts.accuracy?.at(-1) ?? null, seconds: 12.5, samples: 1000 * opts.losses.length, samplesPerSecond: 80,
      costUSD: 0.02, cost: {}, stages: [{ stage: 'train', seconds: 10, gbSeconds: 3.5, peakMemoryMB: 200, costUSD: 0.01, workers: 2, memoryMB: 1024 }], runFolder: dir,
    };
    folder.writeSummary(summary);
    folder.close();
  }
  // No summary and closed: the driver died (interrupted). Left open: driver.pid names this live process.
  return dir;
}

test('listRunTable: one row per run folder with its loss figures, status, config and meta', () => {
  const state = stateDir();
  writeRun(state, '20261130-100000-a', { name: 'ctr', lr: 0.05, losses: [0.6, 0.5, 0.55], status: 'completed', accuracy: [0.7, 0.78, 0.76] });
  writeRun(state, '20261130-100001-b', { name: 'ctr', lr: 0.5, losses: [0.9, Number.NaN], status: 'failed' });
  writeRun(state, '20261130-100002-c', { name: 'live', lr: 0.1, losses: [0.7] });
  const rows = listRunTable(state);
  assert.deepEqual(rows.map((r) => r.runId), ['20261130-100002-c', '20261130-100001-b', '20261130-100000-a']);
  const [live, failed, done] = rows;
  assert.equal(done.status, 'completed');
  assert.equal(done.lastLoss, 0.55);
  assert.equal(done.minLoss, 0.5);
  assert.deepEqual(done.best, { metric: 'accuracy', value: 0.78 });
  assert.equal(done.samples, 3000);
  assert.equal(done.seconds, 12.5);
  assert.equal(done.gbSeconds, 3.5);
  assert.deepEqual((done.config as { optimizer: { learningRate: number } }).optimizer.learningRate, 0.05);
  // A non-finite evaluation is not a loss figure.
  assert.equal(failed.status, 'failed');
  assert.equal(failed.minLoss, 0.9);
  assert.match(failed.reason, /NON_FINITE/);
  // No summary, its driver (this process) alive: running, its time from its last event.
  assert.equal(live.status, 'running');
  assert.equal(live.seconds, 1.5);
  assert.deepEqual(done.tags, []);
});

test('meta.json: rename and tag a run, read back by the table; a corrupt file is reported and never overwritten', () => {
  const state = stateDir();
  const dir = writeRun(state, '20261130-100000-a', { name: 'ctr', lr: 0.05, losses: [0.6], status: 'completed' });
  updateRunMeta(dir, { displayName: '  lr 0.05 baseline ', tags: ['baseline', ' criteo', 'baseline', ''] });
  assert.deepEqual(readRunMeta(dir), { displayName: 'lr 0.05 baseline', tags: ['baseline', 'criteo'] });
  let [row] = listRunTable(state);
  assert.equal(row.name, 'lr 0.05 baseline');
  assert.equal(row.runName, 'ctr');
  assert.deepEqual(row.tags, ['baseline', 'criteo']);
  // An empty name goes back to the run's own; tags kept.
  updateRunMeta(dir, { displayName: '' });
  [row] = listRunTable(state);
  assert.equal(row.name, 'ctr');
  assert.deepEqual(row.tags, ['baseline', 'criteo']);
  assert.throws(() => updateRunMeta(dir, { tags: ['x'.repeat(41)] }), /longer than 40 characters/);
  assert.throws(() => updateRunMeta(dir, { displayName: 'n'.repeat(121) }), /at most 120 characters/);
  assert.throws(() => updateRunMeta(path.join(state, 'nope'), { tags: ['a'] }), /no run folder/);
  // A hand-broken meta.json: the row still lists (own name, the problem named), and a rename refuses rather than lose it.
  fs.writeFileSync(path.join(dir, META_FILE), '{"tags": ["kept"');
  [row] = listRunTable(state);
  assert.equal(row.name, 'ctr');
  assert.match(row.metaProblem ?? '', /meta\.json: not valid JSON/);
  assert.throws(() => updateRunMeta(dir, { displayName: 'x' }), /meta\.json: not valid JSON/);
  assert.equal(fs.readFileSync(path.join(dir, META_FILE), 'utf8'), '{"tags": ["kept"');
  fs.writeFileSync(path.join(dir, META_FILE), '{"tags": "kept"}');
  assert.throws(() => readRunMeta(dir), /tags must be a list of strings/);
});

test('a sweep: its trials name it in the table, its view has parameters, early-stopped status with reason, best trial', () => {
  const state = stateDir();
  const t1 = writeRun(state, '20261130-100001-t1', { name: 's-t1', lr: 0.01, losses: [0.7, 0.6], status: 'completed' });
  writeRun(state, '20261130-100002-t2', { name: 's-t2', lr: 0.1, losses: [0.5, 0.45, 0.47], status: 'completed' });
  writeRun(state, '20261130-100003-t3', { name: 's-t3', lr: 1, losses: [0.9], status: 'stopped' });
  const sweepDir = path.join(runsDirectory(state), '20261130-100000-s-sweep');
  const sweepFolder = new RunFolder(sweepDir, { name: 's' });
  sweepFolder.close();
  const trial = (index: number, runId: string | undefined, lr: number, status: string, reason: string, testLoss: number | null) => ({
    index, name: `s-t${index + 1}`, params: { 'optimizer.learningRate': lr }, runId, runFolder: runId && path.join(runsDirectory(state), runId),
    status, reason, testLoss, testAccuracy: null, testRMSE: null, progress: 1, gbSeconds: 1 + index, costUSD: 0.001, seconds: 10,
  });
  fs.writeFileSync(path.join(sweepDir, 'sweep.json'), JSON.stringify({
    name: 's', sweepId: '20261130-100000-s-sweep', config: { parameters: { 'optimizer.learningRate': [0.01, 0.1, 1, 10] } },
    trials: [
      trial(0, '20261130-100001-t1', 0.01, 'completed', 'epochs done', 0.6),
      trial(1, '20261130-100002-t2', 0.1, 'completed', 'epochs done', 0.47),
      trial(2, '20261130-100003-t3', 1, 'stopped-early', 'median: worse than the median 0.62 at 25 % of the budget', 0.9),
      trial(3, undefined, 10, 'not-started', '', null),
    ],
  }));
  const rows = listRunTable(state);
  const sweepRow = rows.find((r) => r.runId === '20261130-100000-s-sweep')!;
  assert.equal(sweepRow.kind, 'sweep');
  assert.deepEqual(rows.filter((r) => r.sweepId === sweepRow.runId).map((r) => r.runId).sort(), ['20261130-100001-t1', '20261130-100002-t2', '20261130-100003-t3']);
  assert.deepEqual(listSweeps(state), [{ sweepId: '20261130-100000-s-sweep', trialRunIds: ['20261130-100001-t1', '20261130-100002-t2', '20261130-100003-t3'] }]);

  const view = readSweepView(sweepDir)!;
  assert.deepEqual(view.parameters, ['optimizer.learningRate']);
  assert.deepEqual(view.trials.map((t) => t.status), ['completed', 'completed', 'stopped-early', 'not-started']);
  assert.match(view.trials[2].reason, /median/);
  // The best loss comes from the trial's evaluations (0.45), the final one from its last (0.47).
  assert.equal(view.trials[1].bestLoss, 0.45);
  assert.equal(view.trials[1].lastLoss, 0.47);
  assert.equal(view.trials[1].gbSeconds, 2);
  // No `best` in sweep.json yet (still running): the best completed trial so far.
  assert.equal(view.bestIndex, 1);
  assert.equal(view.bestConfigPath, undefined);
  fs.writeFileSync(path.join(sweepDir, 'best.cirrus.json'), '{}');
  assert.equal(readSweepView(sweepDir)!.bestConfigPath, path.join(sweepDir, 'best.cirrus.json'));
  assert.equal(readSweepView(t1), undefined, 'a training folder is no sweep');
});

test('paramImportance: Spearman for numbers (scale-free, signed direction), correlation ratio for categories', () => {
  assert.deepEqual(ranks([10, 30, 20, 20]), [0, 3, 1.5, 1.5]);
  // Loss falls monotonically (but not linearly) with lr: |rho| = 1 whatever the scale.
  const trials = [1e-4, 1e-3, 1e-2, 1e-1, 1].map((lr, i) => ({ params: { lr, opt: i % 2 ? 'sgd' : 'adagrad', batch: [64, 64, 64, 64, 64][i] }, metric: 1 / (i + 1) ** 3 }));
  const imp = paramImportance(trials, ['lr', 'opt', 'batch']);
  assert.equal(imp[0].param, 'lr');
  assert.ok(Math.abs(imp[0].score - 1) < 1e-12);
  assert.equal(imp[0].direction, -1);
  assert.equal(imp[0].method, 'spearman');
  // opt: groups {0,2,4} and {1,3}; eta computed by hand.
  const y = trials.map((t) => t.metric);
  const mean = y.reduce((a, b) => a + b) / 5;
  const ga = [y[0], y[2], y[4]];
  const gb = [y[1], y[3]];
  const m = (a: number[]) => a.reduce((s, v) => s + v) / a.length;
  const between = 3 * (m(ga) - mean) ** 2 + 2 * (m(gb) - mean) ** 2;
  const total = y.reduce((s, v) => s + (v - mean) ** 2, 0);
  const opt = imp.find((x) => x.param === 'opt')!;
  assert.equal(opt.method, 'eta');
  assert.ok(Math.abs(opt.score - Math.sqrt(between / total)) < 1e-12);
  // A constant parameter explains nothing; trials without a metric are left out; fewer than 3: 0.
  assert.equal(imp.find((x) => x.param === 'batch')!.score, 0);
  assert.equal(paramImportance([...trials.slice(0, 2), { params: { lr: 5 }, metric: null }], ['lr'])[0].score, 0);
  assert.equal(paramImportance([...trials, { params: { lr: 5 }, metric: Number.NaN }], ['lr'])[0].n, 5);
});
