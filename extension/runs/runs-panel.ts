// The runs panel's host side: one tab for the runs table (Cirrus: Open Runs Table) and one per sweep
// (Cirrus: Open Sweep, or a sweep's row in the table). The rows come from the run folders
// (runtime.listRunTable); they are re-sent, at most once a second, whenever the registry changes.
// Rename and Tags ask in an input box and write the run folder's meta.json through the runtime.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunTableRow } from '../../runtime/api';
import type { RunsHostToPanel, RunsPanelToHost } from '../../webview/protocol';
import { renderRunsHtml } from '../../webview/runs/html';
import type { CirrusHost } from '../host';
import { runIdOf } from '../commands/run-actions';
import { webviewOptions } from '../dashboard/DashboardPanel';
import { shownName } from './run-model';

export const RUNS_VIEW_TYPE = 'cirrus.runsTable';

type Target = { kind: 'table' } | { kind: 'sweep'; sweepId: string };

class RunsPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private rows: RunTableRow[] = [];
  readonly onDidDispose: vscode.Event<void>;

  constructor(readonly panel: vscode.WebviewPanel, readonly target: Target, private readonly host: CirrusHost, private readonly panels: RunsPanels) {
    const disposed = new vscode.EventEmitter<void>();
    this.onDidDispose = disposed.event;
    panel.webview.options = webviewOptions(host.extensionUri);
    this.disposables.push(
      disposed,
      panel.webview.onDidReceiveMessage((m: RunsPanelToHost) => void this.receive(m)),
      host.registry.onDidChange(() => this.scheduleUpdate()),
      panel.onDidDispose(() => {
        disposed.fire();
        this.dispose();
      }),
    );
    this.render();
  }

  private render(): void {
    const { webview } = this.panel;
    const asset = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.host.extensionUri, ...p)).toString();
    this.ready = false;
    webview.html = renderRunsHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      scriptUri: asset('dist', 'webview', 'runs.js'),
      styleUri: asset('media', 'dashboard.css'),
      runsStyleUri: asset('media', 'runs.css'),
    });
  }

  /** Live runs change many times a second: the table follows at most once a second. */
  private scheduleUpdate(): void {
    if (!this.ready) return;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, 1000);
  }

  update(): void {
    const ctx = this.host.runtimeContext();
    if (this.target.kind === 'table') {
      this.rows = this.host.runtime.listRunTable(ctx);
      this.post({ type: 'runs', rows: this.rows });
      return;
    }
    const folder = path.join(ctx.stateDir, 'runs', this.target.sweepId);
    const sweep = this.host.runtime.readSweepView(folder);
    if (sweep) this.post({ type: 'sweep', sweep });
    else void vscode.window.showWarningMessage(`Cirrus: ${folder} holds no sweep record (sweep.json).`);
  }

  private async receive(m: RunsPanelToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.update();
        break;
      case 'compare':
        if (m.runIds.length > 0) this.host.dashboards.open([...new Set(m.runIds)]);
        break;
      case 'open-dashboard':
        this.host.dashboards.open([m.runId]);
        break;
      case 'open-sweep':
        this.panels.openSweep(m.sweepId);
        break;
      case 'rename':
      case 'edit-tags':
        await this.editMeta(m.runId, m.type);
        break;
      case 'open-best-config': {
        const sweep = this.host.runtime.readSweepView(path.join(this.host.runtimeContext().stateDir, 'runs', m.sweepId));
        if (!sweep?.bestConfigPath) {
          void vscode.window.showInformationMessage('Cirrus: the sweep has no best config yet (best.cirrus.json is written when it ends).');
          return;
        }
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(sweep.bestConfigPath)));
        break;
      }
    }
  }

  /** Rename or Tags: asks, writes meta.json, refreshes every view of runs. */
  private async editMeta(runId: string, what: 'rename' | 'edit-tags'): Promise<void> {
    const row = this.rows.find((r) => r.runId === runId) ?? this.host.runtime.listRunTable(this.host.runtimeContext()).find((r) => r.runId === runId);
    if (!row) return;
    const answer = await vscode.window.showInputBox(
      what === 'rename'
        ? { title: `Rename run ${row.runId}`, value: row.name, prompt: `Shown instead of "${row.runName}"; empty goes back to it.` }
        : { title: `Tags of ${row.name}`, value: row.tags.join(', '), prompt: 'Comma-separated, e.g. baseline, lr-search' },
    );
    if (answer === undefined) return;
    try {
      this.host.runtime.updateRunMeta(row.runFolder, what === 'rename' ? { displayName: answer } : { tags: answer.split(',') });
    } catch (err) {
      void vscode.window.showErrorMessage(`Cirrus: could not ${what === 'rename' ? 'rename' : 'tag'} ${row.name}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.host.registry.refresh();
    this.panels.updateAll();
  }

  private post(msg: RunsHostToPanel): void {
    void this.panel.webview.postMessage(msg);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

export class RunsPanels implements vscode.Disposable {
  private readonly panels = new Set<RunsPanel>();

  constructor(private readonly host: CirrusHost) {}

  /** The runs table: the open tab if there is one. */
  openTable(): RunsPanel {
    return this.open({ kind: 'table' }, 'Cirrus: Runs');
  }

  /** A sweep's trials, parallel coordinates and importance: one tab per sweep. */
  openSweep(sweepId: string): RunsPanel {
    const view = this.host.registry.get(sweepId)?.view;
    const name = view ? shownName(view) : sweepId;
    return this.open({ kind: 'sweep', sweepId }, `Cirrus: sweep ${name}`);
  }

  all(): RunsPanel[] {
    return [...this.panels];
  }

  updateAll(): void {
    for (const p of this.panels) p.update();
  }

  private open(target: Target, title: string): RunsPanel {
    const existing = [...this.panels].find((p) => JSON.stringify(p.target) === JSON.stringify(target));
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(RUNS_VIEW_TYPE, title, { viewColumn: vscode.ViewColumn.Active }, webviewOptions(this.host.extensionUri));
    const p = new RunsPanel(panel, target, this.host, this);
    this.panels.add(p);
    p.onDidDispose(() => this.panels.delete(p));
    return p;
  }

  dispose(): void {
    for (const p of [...this.panels]) p.dispose();
    this.panels.clear();
  }
}

/** Cirrus: Open Sweep, from a sweep's node in the Runs tree, a run id, or the palette (a pick of the sweeps). */
export async function openSweep(host: CirrusHost, arg?: unknown): Promise<void> {
  let sweepId = runIdOf(arg);
  if (!sweepId) {
    host.registry.refresh();
    const sweeps = host.registry.list().filter((r) => host.registry.isSweep(r.runId));
    if (sweeps.length === 0) {
      void vscode.window.showInformationMessage('Cirrus: no sweeps yet (Cirrus: Start Hyperparameter Sweep starts one).');
      return;
    }
    sweepId = sweeps.length === 1 ? sweeps[0].runId : (await vscode.window.showQuickPick(sweeps.map((r) => ({ label: shownName(r.view), description: r.view.status, detail: r.runId, runId: r.runId })), { title: 'Open Sweep' }))?.runId;
  }
  if (sweepId) host.runsPanels.openSweep(sweepId);
}
