// Every run the extension knows: the live ones it started (their RunHandle and every event so far)
// and the finished ones found in the state directory's run folders. Views (tree, status bar,
// dashboards) read from here and listen to its change and event notifications.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { RunEvent, RunHandle, RuntimeContext, RunSummary } from '../../runtime/api';
import type { CirrusRuntime } from '../runtime-port';
import { applyEvent, applySummary, emptyRunView, runViewFromEvents, type RunView } from './run-model';

export interface RunEntry {
  runId: string;
  runFolder: string;
  view: RunView;
  live: boolean;
  /** Its driver died before it ended (no summary, no live driver): Resume Run can pick it up. */
  interrupted: boolean;
}

interface LiveRun {
  handle: RunHandle;
  events: RunEvent[];
  view: RunView;
  startedAt: number;
}

export class RunRegistry implements vscode.Disposable {
  private readonly live = new Map<string, LiveRun>();
  private finished = new Map<string, { runFolder: string; summary?: RunSummary; name?: string }>();
  private interrupted = new Set<string>();
  /** Full views (with workers) of finished runs, built from metrics.jsonl when first expanded. */
  private readonly detailed = new Map<string, RunView>();
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  private readonly eventListeners = new Set<(runId: string, events: RunEvent[]) => void>();
  private readonly unsubscribers: Array<() => void> = [];
  /** Sweeps started in this window: stopped before their runs, so they start no more trials. */
  private readonly sweeps = new Set<{ stop(reason?: string): Promise<void> }>();
  /** Trial run id -> its sweep's run id (from the sweeps' records, and the trials started here). */
  private sweepOfRun = new Map<string, string>();
  private sweepIds = new Set<string>();
  /** Run id -> the user's name for it (Rename: meta.json), read on refresh. */
  private displayNames = new Map<string, string>();

  /** Fires with a run id when that run changed, or undefined when the list itself changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly runtime: CirrusRuntime, private readonly context: () => RuntimeContext) {}

  /** Re-reads the run folders (finished runs, and runs another process wrote). */
  refresh(): void {
    const next = new Map<string, { runFolder: string; summary?: RunSummary; name?: string }>();
    const names = new Map<string, string>();
    for (const r of this.runtime.listRuns(this.context())) {
      if (!this.live.has(r.runId)) next.set(r.runId, { runFolder: r.runFolder, summary: r.summary, name: r.config?.name });
      const displayName = this.readDisplayName(r.runFolder);
      if (displayName) names.set(r.runId, displayName);
    }
    this.displayNames = names;
    for (const l of this.live.values()) l.view.displayName = names.get(l.handle.runId);
    this.finished = next;
    // The runtime decides what counts as interrupted (driver.pid names no live process).
    this.interrupted = new Set(this.runtime.listInterruptedRuns(this.context()).map((r) => r.runId).filter((id) => next.has(id)));
    for (const s of this.runtime.listSweeps(this.context())) {
      this.sweepIds.add(s.sweepId);
      for (const id of s.trialRunIds) this.sweepOfRun.set(id, s.sweepId);
    }
    this.detailed.clear();
    this.changed.fire(undefined);
  }

  /** Live runs first (newest first), then finished runs, newest first (run ids sort by start time). */
  list(): RunEntry[] {
    const live = [...this.live.values()]
      .sort((a, b) => b.startedAt - a.startedAt)
      .map((l) => ({ runId: l.handle.runId, runFolder: l.handle.runFolder, view: l.view, live: true, interrupted: false }));
    const done = [...this.finished.entries()]
      .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
      .map(([runId, f]) => ({ runId, runFolder: f.runFolder, view: this.finishedView(runId, false), live: false, interrupted: this.interrupted.has(runId) }));
    return [...live, ...done];
  }

  get(runId: string): RunEntry | undefined {
    const l = this.live.get(runId);
    if (l) return { runId, runFolder: l.handle.runFolder, view: l.view, live: true, interrupted: false };
    const f = this.finished.get(runId);
    return f && { runId, runFolder: f.runFolder, view: this.finishedView(runId, false), live: false, interrupted: this.interrupted.has(runId) };
  }

  /** The run's view with its workers (finished runs: read from metrics.jsonl on first call). */
  detailedView(runId: string): RunView | undefined {
    return this.live.get(runId)?.view ?? (this.finished.has(runId) ? this.finishedView(runId, true) : undefined);
  }

  /** The runs running now; a live sweep is listed (list()) but its trials are what counts as running. */
  liveRuns(): RunEntry[] {
    return this.list().filter((r) => r.live && !this.sweepIds.has(r.runId));
  }

  interruptedRuns(): RunEntry[] {
    return this.list().filter((r) => r.interrupted);
  }

  /** Every event of the run so far, in order (finished runs: the replay of metrics.jsonl). */
  events(runId: string): RunEvent[] {
    const l = this.live.get(runId);
    if (l) return l.events.slice();
    const f = this.finished.get(runId);
    return f ? this.readEvents(f.runFolder) : [];
  }

  /** Live events of every run, as they arrive. */
  onEvents(listener: (runId: string, events: RunEvent[]) => void): vscode.Disposable {
    this.eventListeners.add(listener);
    return new vscode.Disposable(() => this.eventListeners.delete(listener));
  }

  /** The sweep a run is a trial of, when that sweep is listed. */
  sweepOf(runId: string): string | undefined {
    const sweepId = this.sweepOfRun.get(runId);
    return sweepId && (this.live.has(sweepId) || this.finished.has(sweepId)) ? sweepId : undefined;
  }

  isSweep(runId: string): boolean {
    return this.sweepIds.has(runId);
  }

  /** The runs of a sweep's trials that are listed, in the list's order. */
  trialsOf(sweepId: string): RunEntry[] {
    return this.list().filter((r) => this.sweepOfRun.get(r.runId) === sweepId);
  }

  /** Takes over a run just started (or resumed): records its events, and moves it to the finished list when done. `sweepId`: it is a trial of that sweep. */
  addLive(handle: RunHandle, name?: string, sweepId?: string): void {
    if (sweepId) this.sweepOfRun.set(handle.runId, sweepId);
    const run: LiveRun = { handle, events: [], view: emptyRunView(handle.runId, name), startedAt: Date.now() };
    this.live.set(handle.runId, run);
    // A resumed run was listed as interrupted: it is live again, listed once.
    this.finished.delete(handle.runId);
    this.detailed.delete(handle.runId);
    this.interrupted.delete(handle.runId);
    const receive = (e: RunEvent) => {
      run.events.push(e);
      applyEvent(run.view, e);
      for (const l of this.eventListeners) l(handle.runId, [e]);
      this.changed.fire(handle.runId);
    };
    this.unsubscribers.push(handle.onEvent(receive));
    // Events emitted before we subscribed are only in metrics.jsonl: take them from there, once.
    const early = this.readEvents(handle.runFolder);
    if (early.length > 0) {
      const seen = new Set(run.events.map((e) => JSON.stringify(e)));
      const missed = early.filter((e) => !seen.has(JSON.stringify(e)));
      run.events.unshift(...missed);
      run.view = runViewFromEvents(handle.runId, run.events);
    }
    handle.done
      .then((summary) => applySummary(run.view, summary))
      .catch((err: unknown) => {
        run.view.status = 'failed';
        run.view.reason = err instanceof Error ? err.message : String(err);
      })
      .finally(() => {
        this.live.delete(handle.runId);
        this.finished.set(handle.runId, { runFolder: handle.runFolder, name: run.view.name });
        this.detailed.set(handle.runId, run.view);
        this.changed.fire(undefined);
      });
    this.changed.fire(undefined);
  }

  async stop(runId: string, reason = 'stopped from VS Code'): Promise<void> {
    await this.live.get(runId)?.handle.stop(reason);
  }

  /**
   * Takes over a sweep just started: stopAll stops it (its trials are added with addLive as they start).
   * A sweep with a record (sweepId, folder, events) is also listed as a live run, so the tree shows it,
   * running, with its trials under it.
   */
  addSweep(sweep: { stop(reason?: string): Promise<void>; done: Promise<unknown>; sweepId?: string; folder?: string; onEvent?: RunHandle['onEvent'] }): void {
    this.sweeps.add(sweep);
    void sweep.done.finally(() => this.sweeps.delete(sweep)).catch(() => undefined);
    if (!sweep.sweepId || !sweep.folder || !sweep.onEvent) return;
    this.sweepIds.add(sweep.sweepId);
    // The sweep's record ends with a run-finished event carrying its summary: that is the run's `done`.
    let summary: RunSummary | undefined;
    sweep.onEvent((e) => {
      if (e.type === 'run-finished') summary = e.summary;
    });
    this.addLive({
      runId: sweep.sweepId,
      runFolder: sweep.folder,
      onEvent: sweep.onEvent,
      stop: (reason) => sweep.stop(reason),
      done: sweep.done.then(() => summary ?? Promise.reject(new Error('the sweep ended without a summary'))),
    });
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.allSettled([...this.sweeps].map((s) => s.stop(reason)).concat([...this.live.values()].map((l) => l.handle.stop(reason))));
  }

  /** Deletes a finished run's folder. Live runs must be stopped first. */
  delete(runId: string): void {
    if (this.live.has(runId)) throw new Error(`run ${runId} is still running: stop it first`);
    const f = this.finished.get(runId);
    if (!f) return;
    fs.rmSync(f.runFolder, { recursive: true, force: true });
    this.finished.delete(runId);
    this.detailed.delete(runId);
    this.changed.fire(undefined);
  }

  dispose(): void {
    for (const u of this.unsubscribers) u();
    this.changed.dispose();
    this.eventListeners.clear();
  }

  /** The user's name for a run; an unreadable meta.json shows the run's own name (the runs table says why). */
  private readDisplayName(runFolder: string): string | undefined {
    try {
      return this.runtime.readRunMeta(runFolder).displayName;
    } catch {
      return undefined;
    }
  }

  private finishedView(runId: string, withWorkers: boolean): RunView {
    const view = this.buildFinishedView(runId, withWorkers);
    view.displayName = this.displayNames.get(runId);
    return view;
  }

  private buildFinishedView(runId: string, withWorkers: boolean): RunView {
    const cached = this.detailed.get(runId);
    if (cached) return cached;
    const f = this.finished.get(runId)!;
    if (!withWorkers && f.summary) return applySummary(emptyRunView(runId, f.name), f.summary);
    const view = runViewFromEvents(runId, this.readEvents(f.runFolder));
    if (f.summary) applySummary(view, f.summary);
    else if (view.status === 'running') {
      // No summary and not ours: the process that ran it ended before the run did.
      view.status = 'stopped';
      view.reason = this.interrupted.has(runId)
        ? 'interrupted: its driver stopped before the run ended (Resume Run picks it up from its last checkpoint)'
        : 'interrupted: the run folder has no summary';
    }
    this.detailed.set(runId, view);
    return view;
  }

  private readEvents(runFolder: string): RunEvent[] {
    try {
      return this.runtime.readRunEvents(runFolder);
    } catch {
      return []; // no metrics.jsonl yet
    }
  }
}
