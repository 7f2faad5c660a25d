// training.adaptive in a real local run (runtime/driver/adaptive-control.ts): the driver re-plans the
// workers running at once and the memory of the next generation, each decision a `resize` event with its
// reason; slots held back wait at generation boundaries and still train their share of the data; a
// scale-in makes running generations over the limit return early.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../../runtime/recording/events';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { resolveRunConfig, startTraining, type RunConfig } from '../../runtime/index';
import { sharedDataset } from '../helpers/shared';
import { DashboardModel } from '../../webview/dashboard/model';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-adaptive-');

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
/** Enough epochs for several 3 s generations on a fast machine (~10 s here), bounded by maxSeconds on a slow one. */
const EPOCHS = 400;

test('training.adaptive: sizes re-planned with reasons, never more running than allowed, every epoch trained', { timeout: 240_000 }, async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const config: RunConfig = {
    name: 'adaptive',
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 18 },
    optimizer: { type: 'adagrad', learningRate: 0.05 },
    // EPOCHS: the Criteo sample's test loss stops falling after 2-4 (docs/benchmarks.md), which the
    // MLLess rule answers with a scale-in. Patience off, so the epochs end the run. A 3 s function limit
    // makes generations end (and new ones launch) every ~2 s, so some launch after the memory change
    // if the run lasts a few generations (at 12 epochs and 20 s a fast machine finished first; with the
    // faster workers of 2026-12-01, 100 epochs ended before a generation launched after the change at 2.3 s).
    training: { workers: 4, minibatch: 100, epochs: EPOCHS, maxSeconds: 200, evalEverySeconds: 0.5, patience: 0, adaptive: true, adaptiveEverySeconds: 1 },
    backend: 'local',
    lambda: { memoryMB: 512, timeoutSeconds: 3 },
  };
  assert.equal(resolveRunConfig(config).config.training.adaptiveEverySeconds, 1);
  const summary = await (await startTraining(config, { stateDir })).done;
  assert.equal(summary.status, 'completed', summary.reason);
  assert.match(summary.reason, new RegExp(`${EPOCHS} epochs done`));
  assert.equal(summary.samples, EPOCHS * 9000, 'every slot trained its share, held back or not');

  const events = readRunEvents(summary.runFolder);
  const resizes = events.filter((e): e is Ev<'resize'> => e.type === 'resize');
  for (const r of resizes) t.diagnostic(`${r.t.toFixed(1)} s: ${r.previousWorkers} -> ${r.workers} workers, ${r.previousMemoryMB} -> ${r.memoryMB} MB: ${r.reason}`);
  assert.ok(resizes.length >= 2, `re-plans: ${resizes.map((r) => `${r.t.toFixed(1)} s ${r.previousWorkers}->${r.workers} ${r.reason}`).join(' | ')}`);
  for (const r of resizes) assert.ok(r.reason.length > 10 && r.workers >= 1 && r.workers <= 4, JSON.stringify(r));
  // The dashboard's workers chart: the allowed workers after each re-plan, and each decision's reason.
  const dashboard = new DashboardModel();
  dashboard.reset([{ runId: summary.runId, name: 'adaptive', status: 'completed' }]);
  const run = dashboard.applyBatch(summary.runId, events);
  assert.deepEqual(run.resizes.map((r) => r.reason), resizes.map((r) => r.reason));
  assert.equal(run.workersTarget.last!.y, resizes.at(-1)!.workers);
  // The first size is set before any worker starts.
  const firstLaunch = events.findIndex((e) => e.type === 'worker-launched');
  assert.ok(events.indexOf(resizes[0]) < firstLaunch && /^start: /.test(resizes[0].reason), resizes[0].reason);

  // At every launch fewer were running than the latest decision allowed.
  let allowed = 4;
  let running = 0;
  let maxRunning = 0;
  for (const e of events) {
    if (e.type === 'resize') allowed = e.workers;
    else if (e.type === 'worker-launched') {
      assert.ok(running < allowed, `launch at ${e.t.toFixed(2)} s with ${running} running of ${allowed} allowed`);
      maxRunning = Math.max(maxRunning, ++running);
    } else if (e.type === 'worker-finished') running--;
  }

  // The MLLess rule scaled in once the loss stopped falling, and the generations over the new limit
  // returned early (at their next heartbeat) instead of running to their time limit.
  const scaleIn = resizes.find((r) => r.workers < r.previousWorkers && /stopped falling|scale in/.test(r.reason));
  assert.ok(scaleIn, `a scale-in among: ${resizes.map((r) => r.reason).join(' | ')}`);
  running = 0;
  let runningAtScaleIn = 0;
  let settledAt: number | undefined;
  for (const e of events) {
    if (e.type === 'worker-launched') running++;
    else if (e.type === 'worker-finished') running--;
    if (e === scaleIn) runningAtScaleIn = running;
    if (e.t >= scaleIn.t && settledAt === undefined && running <= scaleIn.workers) settledAt = e.t;
  }
  assert.ok(settledAt !== undefined && settledAt - scaleIn.t < 5, `${runningAtScaleIn} running at the scale-in to ${scaleIn.workers} at ${scaleIn.t.toFixed(1)} s; at most ${scaleIn.workers} from ${settledAt?.toFixed(1)} s`);

  // Memory: re-planned from the run's own measured peak (right-sized), for the generations launched after.
  const memoryChange = resizes.find((r) => r.memoryMB !== r.previousMemoryMB);
  assert.ok(memoryChange && memoryChange.memoryMB < 512 && /memory 512 -> \d+ MB/.test(memoryChange.reason), `memory decisions: ${resizes.map((r) => r.memoryMB).join(', ')}`);
  const after = events.filter((e): e is Ev<'worker-finished'> => e.type === 'worker-finished' && e.t > memoryChange.t + 0.5);
  const launchedAfter = new Set(events.filter((e): e is Ev<'worker-launched'> => e.type === 'worker-launched' && e.t > memoryChange.t).map((e) => `${e.worker}/${e.generation}`));
  const finishedNew = after.filter((e) => launchedAfter.has(`${e.worker}/${e.generation}`));
  assert.ok(finishedNew.length > 0 && finishedNew.every((e) => e.memoryMB === memoryChange.memoryMB), `generations launched after the change ran (and were billed) at the new memory: change to ${memoryChange.memoryMB} MB at ${memoryChange.t.toFixed(1)} s; launched after and finished: ${finishedNew.map((e) => `${e.worker}/${e.generation}@${e.t.toFixed(1)}:${e.memoryMB}`).join(', ') || 'none'}`);
});
