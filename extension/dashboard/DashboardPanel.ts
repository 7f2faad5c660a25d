// The dashboard's host side: one WebviewPanel showing one run or several overlaid (Compare Runs).
// The host keeps every event of its runs (metrics.jsonl replay plus the live tail) and, after each
// `ready` from the panel (first load, reload, or coming back after VS Code restarted), sends `reset`
// then the events in batches; live events are forwarded in batches every ~250 ms.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunEvent } from '../../runtime/api';
import type { HostToPanel, PanelToHost, RunStatus } from '../../webview/protocol';
import type { RunRegistry } from '../runs/run-registry';
import { shownName } from '../runs/run-model';

export const DASHBOARD_VIEW_TYPE = 'cirrus.dashboard';

export type RenderDashboardHtml = (o: { cspSource: string; nonce: string; scriptUri: string; styleUri: string }) => string;

export interface DashboardDeps {
  registry: RunRegistry;
  extensionUri: vscode.Uri;
  renderHtml: RenderDashboardHtml;
  stopRun(runId: string): void;
  revealRunFolder(runId: string): void;
  /** Live batches are flushed this often (ms). */
  flushMs?: number;
}

/** The state VS Code keeps for a panel across restarts (the panel is asked to store it with setState; the host also keeps a copy). */
export interface DashboardState {
  runIds: string[];
}

const REPLAY_BATCH = 2000;

export class DashboardPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  /** Live events received since the last flush, per run. */
  private pending = new Map<string, RunEvent[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastStatus = new Map<string, RunStatus>();
  /** The names the panel was last sent (a rename is sent as it happens). */
  private lastName = new Map<string, string>();
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;

  constructor(readonly panel: vscode.WebviewPanel, public runIds: string[], private readonly deps: DashboardDeps) {
    panel.webview.options = webviewOptions(deps.extensionUri);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: PanelToHost) => this.receive(m)),
      deps.registry.onEvents((runId, events) => this.queue(runId, events)),
      deps.registry.onDidChange(() => {
        this.postStatusChanges();
        this.postRenames();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    this.render();
  }

  /** A new panel: in `column` (where the other dashboards are) or beside the editor when there is none. */
  static create(runIds: string[], title: string, deps: DashboardDeps, column?: vscode.ViewColumn): DashboardPanel {
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, title, { viewColumn: column ?? vscode.ViewColumn.Beside, preserveFocus: true }, webviewOptions(deps.extensionUri));
    return new DashboardPanel(panel, runIds, deps);
  }

  /** Shows other runs in this panel (a comparison reusing the comparison tab): fresh HTML, then the replay on `ready`. */
  showRuns(runIds: string[], title: string): void {
    this.runIds = [...runIds];
    this.pending.clear();
    this.lastStatus.clear();
    this.lastName.clear();
    this.panel.title = title;
    this.render();
    this.panel.reveal(undefined, true);
  }

  shows(runIds: string[]): boolean {
    return sameSet(this.runIds, runIds);
  }

  /** Fresh HTML with a fresh nonce; the panel will say `ready` again and get the whole replay. */
  render(): void {
    const { webview } = this.panel;
    const asset = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...p)).toString();
    this.ready = false;
    webview.html = this.deps.renderHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      scriptUri: asset('dist', 'webview', 'dashboard.js'),
      styleUri: asset('media', 'dashboard.css'),
    });
  }

  private receive(m: PanelToHost): void {
    switch (m.type) {
      case 'ready':
        this.replay();
        break;
      case 'stop-run':
        if (this.runIds.includes(m.runId)) this.deps.stopRun(m.runId);
        break;
      case 'reveal-run-folder':
        if (this.runIds.includes(m.runId)) this.deps.revealRunFolder(m.runId);
        break;
      case 'save-export':
        void saveExport(m.fileName, m.format, m.data);
        break;
    }
  }

  /** reset, then every kept event of every run; whatever was queued is part of that replay. */
  private replay(): void {
    this.pending.clear();
    const runs = this.runIds.map((runId) => {
      const entry = this.deps.registry.get(runId);
      const status: RunStatus = entry?.view.status ?? 'stopped';
      this.lastStatus.set(runId, status);
      const name = entry ? shownName(entry.view) : runId;
      this.lastName.set(runId, name);
      return { runId, name, status };
    });
    this.post({ type: 'reset', runs });
    for (const { runId } of runs) {
      const events = this.deps.registry.events(runId);
      for (let i = 0; i < events.length; i += REPLAY_BATCH) this.post({ type: 'events', runId, events: events.slice(i, i + REPLAY_BATCH) });
    }
    this.ready = true;
  }

  private queue(runId: string, events: RunEvent[]): void {
    // Before `ready` the panel cannot receive anything; the replay on `ready` will include these.
    if (!this.ready || !this.runIds.includes(runId)) return;
    const list = this.pending.get(runId) ?? [];
    list.push(...events);
    this.pending.set(runId, list);
    this.timer ??= setTimeout(() => this.flush(), this.deps.flushMs ?? 250);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batches = this.pending;
    this.pending = new Map();
    for (const [runId, events] of batches) this.post({ type: 'events', runId, events });
  }

  private postStatusChanges(): void {
    if (!this.ready) return;
    for (const runId of this.runIds) {
      const status = this.deps.registry.get(runId)?.view.status;
      if (status && status !== this.lastStatus.get(runId)) {
        this.flush(); // the last events before the status change go first
        this.lastStatus.set(runId, status);
        this.post({ type: 'run-status', runId, status });
      }
    }
  }

  /** A run renamed (Rename in the runs table): its new name in the legends, cards and the tab's title. */
  private postRenames(): void {
    if (!this.ready) return;
    let renamed = false;
    for (const runId of this.runIds) {
      const view = this.deps.registry.get(runId)?.view;
      const name = view && shownName(view);
      if (name && name !== this.lastName.get(runId)) {
        this.lastName.set(runId, name);
        this.post({ type: 'run-name', runId, name });
        renamed = true;
      }
    }
    if (renamed) this.panel.title = dashboardTitle(this.deps.registry, this.runIds);
  }

  private post(message: HostToPanel): void {
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.disposed.fire();
    this.disposed.dispose();
  }
}

/** A chart the panel exported: the user picks where; a PNG arrives as a data URL, a CSV as text. */
export async function saveExport(fileName: string, format: 'png' | 'csv', data: string): Promise<string | undefined> {
  const base = vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri = await vscode.window.showSaveDialog({
    ...(base ? { defaultUri: vscode.Uri.joinPath(base, path.basename(fileName)) } : {}),
    filters: format === 'png' ? { 'PNG image': ['png'] } : { 'CSV table': ['csv'] },
    saveLabel: 'Save chart',
  });
  if (!uri) return undefined;
  const png = /^data:image\/png;base64,(.*)$/s.exec(data);
  if (format === 'png' && !png) {
    void vscode.window.showErrorMessage('Cirrus: the chart image could not be read from the panel; nothing was saved.');
    return undefined;
  }
  try {
    await fs.writeFile(uri.fsPath, format === 'png' ? Buffer.from(png![1], 'base64') : data);
  } catch (err) {
    void vscode.window.showErrorMessage(`Cirrus: could not save ${uri.fsPath}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  return uri.fsPath;
}

/** A dashboard tab's title: the run's name (the user's, after a rename), or how many runs it compares. */
export function dashboardTitle(registry: Pick<RunRegistry, 'get'>, runIds: string[]): string {
  const view = runIds.length === 1 ? registry.get(runIds[0])?.view : undefined;
  if (runIds.length === 1) return `Cirrus: ${view ? shownName(view) : runIds[0]}`;
  return `Cirrus: compare ${runIds.length} runs`;
}

/** Scripts on; only the bundled panel code and media may load. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
