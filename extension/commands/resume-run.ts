// Runs whose driver died (VS Code or the CLI was killed mid-run). On activation they are offered in one
// notification: Resume (from the last checkpoint, shown live like a started run) or Mark Stopped. The
// Runs tree offers Resume Run on each. What counts as interrupted, resuming and marking stopped are
// the runtime's (listInterruptedRuns, resumeTraining, markRunStopped); this only asks and shows.
import * as vscode from 'vscode';
import { showError } from '../errors';
import type { CirrusHost } from '../host';
import { isCancellation, withCancellableProgress } from '../progress';
import { shownName } from '../runs/run-model';
import { runIdOf } from './run-actions';
import { followRun } from './start-run';

interface Interrupted {
  runId: string;
  runFolder: string;
  name: string;
}

const LISTED = 5;

function interruptedRuns(host: CirrusHost): Interrupted[] {
  return host.runtime.listInterruptedRuns(host.runtimeContext()).map((r) => ({ runId: r.runId, runFolder: r.runFolder, name: r.config?.name ?? r.runId }));
}

/** One notification for all interrupted runs (not one per run); resolves when it was answered. */
export async function offerInterruptedRuns(host: CirrusHost): Promise<void> {
  let runs: Interrupted[];
  try {
    runs = interruptedRuns(host);
  } catch (err) {
    host.log.warn(`could not look for interrupted runs: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  if (runs.length === 0) return;
  const names = runs.slice(0, LISTED).map((r) => `"${r.name}"`).join(', ') + (runs.length > LISTED ? ` and ${runs.length - LISTED} more` : '');
  host.log.warn(`interrupted runs (their driver stopped before they ended): ${runs.map((r) => r.runFolder).join(', ')}`);
  const choice = await vscode.window.showWarningMessage(
    `Cirrus: ${runs.length === 1 ? 'a run was' : `${runs.length} runs were`} interrupted when VS Code or the CLI stopped: ${names}. ` +
      'Resume continues from the last checkpoint; Mark Stopped keeps what was recorded.',
    'Resume',
    'Mark Stopped',
  );
  if (choice === 'Resume') {
    for (const run of runs) await resumeOne(host, run);
  } else if (choice === 'Mark Stopped') {
    for (const run of runs) markStopped(host, run);
    host.registry.refresh();
  }
}

/** `cirrus.resumeRun`: on a Runs tree node, a run id, or (palette) a picked interrupted run. */
export async function resumeRun(host: CirrusHost, arg?: unknown): Promise<string | undefined> {
  host.registry.refresh(); // another process may have finished or resumed it meanwhile
  const candidates = host.registry.interruptedRuns();
  let runId = runIdOf(arg);
  if (!runId) {
    if (candidates.length === 0) {
      void vscode.window.showInformationMessage('No interrupted runs to resume.');
      return undefined;
    }
    runId = candidates.length === 1
      ? candidates[0].runId
      : (await vscode.window.showQuickPick(candidates.map((r) => ({ label: shownName(r.view), description: r.runId, runId: r.runId })), { title: 'Resume Run' }))?.runId;
    if (!runId) return undefined;
  }
  const entry = candidates.find((r) => r.runId === runId);
  if (!entry) {
    void vscode.window.showInformationMessage(`Run ${runId} is not interrupted (it is running or has ended): nothing to resume.`);
    return undefined;
  }
  return resumeOne(host, { runId, runFolder: entry.runFolder, name: shownName(entry.view) });
}

async function resumeOne(host: CirrusHost, run: Interrupted): Promise<string | undefined> {
  try {
    const handle = await withCancellableProgress(`Cirrus: resuming "${run.name}"`, (signal, progress) => {
      progress.update(undefined, 'reading the last checkpoint…');
      return host.runtime.resumeTraining(run.runFolder, host.runtimeContext(), { signal });
    });
    followRun(host, handle, run.name);
    host.log.info(`run ${run.runId} resumed (folder ${run.runFolder})`);
    return handle.runId;
  } catch (err) {
    if (!isCancellation(err)) await showError(host, `Could not resume "${run.name}"`, err);
    return undefined;
  }
}

function markStopped(host: CirrusHost, run: Interrupted): void {
  try {
    host.runtime.markRunStopped(run.runFolder, 'interrupted: its driver stopped before the run ended; marked stopped from VS Code');
    host.log.info(`run ${run.runId} marked stopped`);
  } catch (err) {
    void showError(host, `Could not mark "${run.name}" stopped`, err);
  }
}
