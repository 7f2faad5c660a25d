// What the Runs tree and the status bar show of one run, folded from its event stream (live events or
// the replay of metrics.jsonl). Pure: no vscode here.
import type { RunEvent, RunSummary, StageName } from '../../runtime/api';
import type { RunStatus } from '../../webview/protocol';

export type WorkerStatus = 'running' | 'time-limit' | 'done' | 'failed' | 'stopped';

export interface WorkerView {
  worker: number;
  generation: number;
  status: WorkerStatus;
  samples: number;
  samplesPerSecond?: number;
  memoryMB?: number;
  trainLoss?: number;
  billedMs?: number;
  error?: string;
}

export interface StageView {
  stage: StageName;
  status: 'running' | 'finished';
  workers: number;
  memoryMB: number;
  seconds?: number;
  gbSeconds?: number;
  peakMemoryMB?: number;
  costUSD?: number;
  /** Keyed by worker number: a later generation of the same worker replaces the earlier one. */
  workerViews: Map<number, WorkerView>;
}

export interface RunView {
  runId: string;
  /** The run's own name (its config's, from run-started and the summary). */
  name: string;
  /** The user's name for it (Rename: the run folder's meta.json), shown instead of `name`. */
  displayName?: string;
  backend?: string;
  status: RunStatus;
  reason?: string;
  seconds: number;
  trainLoss?: number;
  testLoss?: number;
  testAccuracy?: number;
  costUSD: number;
  stages: StageView[];
  lastMessage?: string;
}

export function emptyRunView(runId: string, name = runId): RunView {
  return { runId, name, status: 'running', seconds: 0, costUSD: 0, stages: [] };
}

/** The stage workers currently belong to: the last one started (workers carry no stage of their own). */
function currentStage(view: RunView): StageView | undefined {
  return view.stages[view.stages.length - 1];
}

export function applyEvent(view: RunView, e: RunEvent): RunView {
  view.seconds = Math.max(view.seconds, e.t);
  switch (e.type) {
    case 'run-started':
      view.name = e.name || view.name;
      view.backend = e.backend;
      view.status = 'running';
      break;
    case 'stage-started':
      view.stages.push({ stage: e.stage, status: 'running', workers: e.workers, memoryMB: e.memoryMB, workerViews: new Map() });
      break;
    case 'stage-finished': {
      const stage = [...view.stages].reverse().find((s) => s.stage === e.stage) ?? currentStage(view);
      if (stage) Object.assign(stage, { status: 'finished', seconds: e.seconds, gbSeconds: e.gbSeconds, peakMemoryMB: e.peakMemoryMB, costUSD: e.costUSD, workers: e.workers, memoryMB: e.memoryMB });
      break;
    }
    case 'progress':
      view.lastMessage = e.message;
      break;
    case 'worker-launched':
      currentStage(view)?.workerViews.set(e.worker, { worker: e.worker, generation: e.generation, status: 'running', samples: 0 });
      break;
    case 'worker-heartbeat': {
      const w = workerOf(view, e.worker, e.generation);
      Object.assign(w, { samples: e.samples, samplesPerSecond: e.samplesPerSecond, memoryMB: e.memoryMB });
      if (e.trainLoss !== undefined) {
        w.trainLoss = e.trainLoss;
        view.trainLoss = e.trainLoss;
      }
      break;
    }
    case 'worker-finished': {
      const w = workerOf(view, e.worker, e.generation);
      Object.assign(w, { status: e.status, error: e.error, billedMs: e.billedMs, samples: e.samples });
      break;
    }
    case 'eval':
      view.testLoss = e.testLoss;
      if (e.testAccuracy !== undefined) view.testAccuracy = e.testAccuracy;
      if (e.trainLoss !== undefined) view.trainLoss = e.trainLoss;
      view.costUSD = Math.max(view.costUSD, e.costUSD);
      break;
    case 'cost':
      view.costUSD = e.totalUSD;
      break;
    case 'run-finished':
      view.status = e.status;
      view.reason = e.reason;
      applySummary(view, e.summary);
      break;
  }
  return view;
}

function workerOf(view: RunView, worker: number, generation: number): WorkerView {
  const stage = currentStage(view) ?? addStage(view);
  let w = stage.workerViews.get(worker);
  if (!w || w.generation < generation) {
    w = { worker, generation, status: 'running', samples: 0 };
    stage.workerViews.set(worker, w);
  }
  return w;
}

function addStage(view: RunView): StageView {
  const stage: StageView = { stage: 'train', status: 'running', workers: 0, memoryMB: 0, workerViews: new Map() };
  view.stages.push(stage);
  return stage;
}

/** A finished run's summary.json says enough for the tree without reading its whole metrics.jsonl. */
export function applySummary(view: RunView, s: RunSummary): RunView {
  view.name = s.name || view.name;
  view.status = s.status;
  view.reason = s.reason;
  view.seconds = s.seconds;
  view.costUSD = s.costUSD;
  if (s.testLoss !== null) view.testLoss = s.testLoss;
  if (s.testAccuracy !== null) view.testAccuracy = s.testAccuracy;
  for (const st of s.stages) {
    const known = view.stages.find((v) => v.stage === st.stage);
    if (known) Object.assign(known, { ...st, status: 'finished' });
    else view.stages.push({ ...st, status: 'finished', workerViews: new Map() });
  }
  return view;
}

export function runViewFromEvents(runId: string, events: RunEvent[]): RunView {
  const view = emptyRunView(runId);
  for (const e of events) applyEvent(view, e);
  // A metrics.jsonl cut short (the host died mid-run) never says how it ended.
  return view;
}

/** What the tree, the dashboard and the status bar call the run: the user's name for it, else its own. */
export function shownName(view: RunView): string {
  return view.displayName ?? view.name;
}

/** The loss shown beside a run: the latest test loss, else the latest training loss. */
export function headlineLoss(view: RunView): number | undefined {
  return view.testLoss ?? view.trainLoss;
}
