// Activates the extension against the fake `vscode` with the REAL runtime and the real dashboard HTML,
// in a throw-away workspace; plus a scripted RunHandle for tests that drive a run's event stream.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fake, fakeExtensionContext, Uri } from './fake-vscode'; // first: installs the `vscode` hook
import * as runtime from '../../runtime/index';
import { RunFolder, runsDirectory } from '../../runtime/recording/run-folder';
import type { RunEvent, RunHandle, RunSummary } from '../../runtime/api';
import { activateWith, deactivate } from '../../extension/extension';
import type { CirrusRuntime } from '../../extension/runtime-port';
import { renderDashboardHtml } from '../../webview/dashboard/html';

export const ROOT = path.resolve(__dirname, '..', '..');

export function tempDir(prefix = 'cirrus-ext-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A fresh fake VS Code with one workspace folder, and the extension activated in it. */
export function activate(rt: CirrusRuntime = runtime, restart?: { workspace: string; workspaceState: unknown }) {
  fake.reset();
  const workspace = restart?.workspace ?? tempDir();
  fake.workspaceFolders = [{ uri: Uri.file(workspace), name: 'ws', index: 0 }];
  const context = fakeExtensionContext(ROOT, path.join(workspace, '.global'));
  // A restart keeps what VS Code keeps: the workspace and its workspace state.
  if (restart) Object.assign(context, { workspaceState: restart.workspaceState });
  const host = activateWith(context as never, rt, renderDashboardHtml);
  return {
    host,
    context,
    workspace,
    stateDir: path.join(workspace, '.cirrus'),
    /** What closing VS Code does: deactivate and dispose; the workspace stays. */
    async close() {
      await deactivate();
      for (const d of context.subscriptions) d.dispose();
    },
    async dispose() {
      await this.close();
      fs.rmSync(workspace, { recursive: true, force: true });
    },
  };
}

/** A RunHandle whose events the test emits; they go to the run folder too, through the runtime's own writer. */
export class ScriptedRun implements RunHandle {
  readonly runFolder: string;
  private readonly listeners = new Set<(e: RunEvent) => void>();
  private readonly folder: RunFolder;
  private finish!: (s: RunSummary) => void;
  readonly done: Promise<RunSummary>;
  stopped: string[] = [];

  constructor(stateDir: string, readonly runId: string, readonly name = runId) {
    this.runFolder = path.join(runsDirectory(stateDir), runId);
    this.folder = new RunFolder(this.runFolder, { name } as never);
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  onEvent(listener: (e: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: RunEvent): void {
    this.folder.append(e);
    for (const l of this.listeners) l(e);
  }

  async stop(reason?: string): Promise<void> {
    this.stopped.push(reason ?? '');
  }

  end(summary: RunSummary): void {
    this.folder.writeSummary(summary);
    this.folder.close();
    this.finish(summary);
  }
}

/** A short run's events: train stage with two workers, heartbeats, an eval, a cost, then the end. */
export function sampleEvents(runId: string): RunEvent[] {
  return [
    { t: 0, runId, type: 'run-started', name: 'ctr', config: {}, backend: 'local' },
    { t: 0.5, runId, type: 'stage-started', stage: 'load', workers: 1, memoryMB: 512 },
    { t: 2, runId, type: 'stage-finished', stage: 'load', seconds: 1.5, gbSeconds: 0.75, peakMemoryMB: 200, costUSD: 0.00001, workers: 1, memoryMB: 512 },
    { t: 2.1, runId, type: 'stage-started', stage: 'train', workers: 2, memoryMB: 1024 },
    { t: 2.2, runId, type: 'worker-launched', worker: 0, generation: 0, reason: 'start' },
    { t: 2.2, runId, type: 'worker-launched', worker: 1, generation: 0, reason: 'start' },
    { t: 3, runId, type: 'worker-heartbeat', worker: 0, generation: 0, samples: 1000, samplesPerSecond: 1000, s3MBps: 5, memoryMB: 300, trainLoss: 0.6 },
    { t: 3.1, runId, type: 'worker-heartbeat', worker: 1, generation: 0, samples: 1200, samplesPerSecond: 1100, s3MBps: 5, memoryMB: 310, trainLoss: 0.58 },
    { t: 4, runId, type: 'eval', testLoss: 0.52, testAccuracy: 0.77, samples: 2200, costUSD: 0.0004 },
    { t: 4.5, runId, type: 'worker-finished', worker: 1, generation: 0, status: 'time-limit', billedMs: 2300, memoryMB: 1024, samples: 1500 },
    { t: 4.6, runId, type: 'worker-launched', worker: 1, generation: 1, reason: 'time-limit' },
    { t: 5, runId, type: 'cost', totalUSD: 0.0012, byComponent: { lambda: 0.001, s3: 0.0002 } },
  ];
}

export function sampleSummary(runId: string, runFolder: string): RunSummary {
  return {
    runId, name: 'ctr', status: 'completed', reason: 'max time', testLoss: 0.5, testAccuracy: 0.78, seconds: 6, samples: 4000, samplesPerSecond: 700,
    costUSD: 0.0015, cost: { lambda: 0.0012, s3: 0.0003 },
    stages: [
      { stage: 'load', seconds: 1.5, gbSeconds: 0.75, peakMemoryMB: 200, costUSD: 0.00001, workers: 1, memoryMB: 512 },
      { stage: 'train', seconds: 4, gbSeconds: 8, peakMemoryMB: 330, costUSD: 0.0014, workers: 2, memoryMB: 1024 },
    ],
    runFolder,
  };
}

/** Waits for pending promise callbacks and timers shorter than `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
