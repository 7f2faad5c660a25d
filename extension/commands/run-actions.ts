// Commands on runs: Stop, Open Dashboard, Compare Runs, Delete Run, Reveal Run Folder. Each takes a
// tree node, a run id (status bar, dashboard) or nothing (command palette: pick a run).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { showError } from '../errors';
import { fmtLoss, fmtUSD } from '../../runtime/api';
import type { CirrusHost } from '../host';
import { headlineLoss, shownName } from '../runs/run-model';
import type { RunEntry } from '../runs/run-registry';

/** A run id from whatever a command was invoked with. */
export function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && typeof (arg as { runId?: unknown }).runId === 'string') return (arg as { runId: string }).runId;
  return undefined;
}

function pickItem(r: RunEntry) {
  return { label: shownName(r.view), description: `${r.view.status} · loss ${fmtLoss(headlineLoss(r.view))} · ${fmtUSD(r.view.costUSD)}`, detail: r.runId, runId: r.runId };
}

async function pickRun(runs: RunEntry[], title: string, empty: string): Promise<string | undefined> {
  if (runs.length === 0) {
    void vscode.window.showInformationMessage(empty);
    return undefined;
  }
  if (runs.length === 1) return runs[0].runId;
  return (await vscode.window.showQuickPick(runs.map(pickItem), { title }))?.runId;
}

export async function stopRun(host: CirrusHost, arg?: unknown): Promise<void> {
  const runId = runIdOf(arg) ?? (await pickRun(host.registry.liveRuns(), 'Stop Run', 'No run is running.'));
  if (!runId) return;
  try {
    await host.registry.stop(runId);
  } catch (err) {
    await showError(host, `Could not stop ${runId}`, err);
  }
}

export async function openDashboard(host: CirrusHost, arg?: unknown): Promise<void> {
  if (!runIdOf(arg)) host.registry.refresh();
  const runId = runIdOf(arg) ?? (await pickRun(host.registry.list(), 'Open Dashboard', 'No runs yet: start one with "Cirrus: Start Training Run".'));
  if (runId) host.dashboards.open([runId]);
}

/** From the tree: (clicked node, all selected nodes); from the palette: a multi-pick. */
export async function compareRuns(host: CirrusHost, clicked?: unknown, selected?: unknown[]): Promise<void> {
  let runIds = (selected?.length ? selected : clicked ? [clicked] : []).map(runIdOf).filter((x): x is string => !!x);
  if (runIds.length < 2) {
    host.registry.refresh();
    const picks = await vscode.window.showQuickPick(
      host.registry.list().map((r) => ({ ...pickItem(r), picked: runIds.includes(r.runId) })),
      { title: 'Compare Runs', canPickMany: true, placeHolder: 'Pick two or more runs to overlay' },
    );
    if (!picks) return;
    runIds = picks.map((p) => p.runId);
  }
  if (runIds.length > 0) host.dashboards.open([...new Set(runIds)]);
}

export async function deleteRun(host: CirrusHost, arg?: unknown): Promise<void> {
  const finished = host.registry.list().filter((r) => !r.live);
  const runId = runIdOf(arg) ?? (await pickRun(finished, 'Delete Run', 'No finished runs to delete.'));
  const entry = runId && host.registry.get(runId);
  if (!entry) return;
  if (entry.live) {
    void vscode.window.showWarningMessage(`"${shownName(entry.view)}" is still running: stop it first.`);
    return;
  }
  const ok = await vscode.window.showWarningMessage(`Delete run "${shownName(entry.view)}"?`, { modal: true, detail: `Its folder ${entry.runFolder} (metrics, model, logs) will be deleted.` }, 'Delete');
  if (ok !== 'Delete') return;
  try {
    host.registry.delete(entry.runId);
  } catch (err) {
    await showError(host, `Could not delete ${entry.runId}`, err);
  }
}

export async function revealRunFolder(host: CirrusHost, arg?: unknown): Promise<void> {
  const runId = runIdOf(arg) ?? (await pickRun(host.registry.list(), 'Reveal Run Folder', 'No runs yet.'));
  const entry = runId && host.registry.get(runId);
  if (!entry) return;
  const uri = vscode.Uri.file(entry.runFolder);
  // Inside the workspace the explorer can show it (this also works in a browser, e.g. code-server);
  // outside it, hand it to the OS file manager.
  const inWorkspace = vscode.workspace.workspaceFolders?.some((f) => !path.relative(f.uri.fsPath, entry.runFolder).startsWith('..'));
  await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
}
