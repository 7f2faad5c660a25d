// Fair sharing on real runs: three runs started together in one process, 4 workers each, on a pool of 4
// slots of the local Lambda service, under the max-min fair policy and under first-come-first-served.
// Fairness and utilisation come from the runs' own launch and return events.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { shutdownEmbeddedServices, startTraining, type RunConfig, type RunSummary } from '../../runtime/index';
import { configureSharing, shareReport, type SharePolicy, type SlotInterval } from '../../runtime/provisioning/fair-share';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { sharedDataset } from '../helpers/shared';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-fair-share-'));
after(async () => {
  configureSharing({ policy: 'fair', capacity: undefined });
  await shutdownEmbeddedServices();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const CAPACITY = 4;

function config(file: string, name: string, training: Partial<RunConfig['training']> = {}): RunConfig {
  return {
    name,
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 18 },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    // Short generations (a 2 s function limit: 1 s of work) so slots change hands often; epochs bound the work, enough
    // for several generations each even on a quiet machine with warm environments (else the first run
    // finishes inside its first generation, before the others ask for slots). 24 epochs were a 5 s pool on
    // a quiet machine once the workers got faster (2026-12-01): too few hand-overs for the shares to even out.
    training: { workers: 4, minibatch: 20, maxSeconds: 240, epochs: 72, patience: 1000, ...training },
    backend: 'local',
    lambda: { memoryMB: 256, timeoutSeconds: 2, functionName: `cirrus-fair-${name}` },
  };
}

/** Starts three runs together under `policy` and measures the pool from their events. */
async function together(file: string, policy: SharePolicy) {
  configureSharing({ policy, capacity: CAPACITY });
  const names = ['a', 'b', 'c'].map((x) => `${policy}-${x}`);
  const started = Date.now();
  const handles: Array<{ name: string; at: number; handle: Awaited<ReturnType<typeof startTraining>> }> = [];
  for (const name of names) handles.push({ name, at: Date.now(), handle: await startTraining(config(file, name), { stateDir }) });
  const summaries: RunSummary[] = await Promise.all(handles.map((h) => h.handle.done));
  const intervals: SlotInterval[] = [];
  summaries.forEach((s, k) => {
    assert.equal(s.status, 'completed', `${names[k]}: ${s.reason}`);
    const events = readRunEvents(s.runFolder);
    const offset = (handles[k].at - started) / 1000;
    for (const f of events) {
      if (f.type !== 'worker-finished') continue;
      const l = events.find((e) => e.type === 'worker-launched' && e.worker === f.worker && e.generation === f.generation);
      if (l) intervals.push({ job: names[k], start: offset + l.t, end: offset + f.t });
    }
  });
  return { report: shareReport(CAPACITY, names.map((id) => ({ id, demand: 4 })), intervals), summaries, intervals };
}

function maxConcurrent(intervals: SlotInterval[]): number {
  const edges = intervals.flatMap((i) => [[i.start, 1], [i.end - 0.1, -1]] as Array<[number, number]>).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

test('three runs on a pool of 4: the fair policy shares the slots (Jain >= 0.9, utilisation >= 90 %), FCFS serves one run first', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  // The dataset is deployed once before the runs race for it.
  const warm = await (await startTraining(config(file, 'warm', { workers: 1, epochs: 0.1 }), { stateDir })).done;
  assert.equal(warm.status, 'completed', warm.reason);

  const fair = await together(file, 'fair');
  const fcfs = await together(file, 'fcfs');
  const fmt = (r: typeof fair.report) => `Jain ${r.jain.toFixed(3)}, utilisation ${(r.utilisation * 100).toFixed(1)} %, makespan ${r.makespan.toFixed(1)} s, ${r.jobs.map((j) => `${j.id} ${j.sharedSlotSeconds.toFixed(1)}/${j.slotSeconds.toFixed(1)} slot-s`).join(', ')}`;
  t.diagnostic(`fair: ${fmt(fair.report)} (load ${os.loadavg()[0].toFixed(1)})`);
  t.diagnostic(`fcfs: ${fmt(fcfs.report)}`);
  assert.ok(fair.report.jain >= 0.9, `fair: ${fmt(fair.report)}`);
  assert.ok(fair.report.utilisation >= 0.9, `fair: ${fmt(fair.report)}`);
  assert.ok(fcfs.report.jain < fair.report.jain, `FCFS ${fmt(fcfs.report)} against fair ${fmt(fair.report)}`);
  // Never more than the pool's slots held at once (a return is recorded a moment after its slot is released).
  for (const r of [fair, fcfs]) assert.ok(maxConcurrent(r.intervals) <= CAPACITY, `${maxConcurrent(r.intervals)} invocations at once`);
});
