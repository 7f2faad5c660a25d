// Start Hyperparameter Sweep: pick a `*.sweep.json`, confirm the trial count, run the sweep in the
// extension host. Every trial is a live run in the Runs tree (Stop Run stops one; the sweep goes on),
// the dashboard overlays the trials as they start, and the end shows the best configuration.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { showError } from '../errors';
import { fmtLoss, fmtUSD } from '../../runtime/api';
import type { CirrusHost } from '../host';

export const SWEEP_GLOB = '**/*.sweep.json';

async function pickSweepFile(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri && arg.path.endsWith('.sweep.json')) return arg;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.path.endsWith('.sweep.json')) return active;
  const found = await vscode.workspace.findFiles(SWEEP_GLOB, '**/node_modules/**', 200);
  if (found.length === 0) {
    void vscode.window.showInformationMessage('No sweep configuration (*.sweep.json) in this workspace: see docs/sweeps.md for its fields.');
    return undefined;
  }
  if (found.length === 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri })),
    { title: 'Start Hyperparameter Sweep', placeHolder: 'Pick a sweep configuration' },
  );
  return picked?.uri;
}

/** Returns the sweep's id once it has started (its summary arrives later, as a message). */
export async function startSweep(host: CirrusHost, arg?: unknown, opts: { confirmed?: boolean } = {}): Promise<string | undefined> {
  const uri = await pickSweepFile(arg);
  if (!uri) return undefined;
  let loaded;
  try {
    loaded = host.runtime.loadSweepConfig(uri.fsPath);
  } catch (err) {
    await showError(host, `${path.basename(uri.fsPath)} is not a valid sweep configuration`, err);
    return undefined;
  }
  const { sweep, base } = loaded;
  const trials = host.runtime.expandTrials(sweep, base);
  if (!opts.confirmed) {
    const detail = [
      `${trials.length} trials (${sweep.search?.method ?? 'grid'} over ${Object.keys(sweep.parameters).join(', ')})`,
      `${sweep.parallel ?? 2} at a time, early stopping: ${sweep.earlyStopping?.rule ?? 'successive-halving'}`,
      `each trial: ${trials[0].config.training.workers} workers × ${trials[0].config.lambda.memoryMB} MB on ${trials[0].config.backend}`,
    ].join('\n');
    const go = await vscode.window.showInformationMessage(`Start sweep "${sweep.name ?? path.basename(uri.fsPath, '.sweep.json')}"?`, { modal: true, detail }, 'Start');
    if (go !== 'Start') return undefined;
  }
  const handle = await host.runtime.startSweep(sweep, base, host.runtimeContext(), { sweepPath: uri.fsPath });
  host.registry.addSweep(handle);
  const trialRuns: string[] = [];
  const unsubscribe = handle.onTrialStarted((trial, run) => {
    host.registry.addLive(run, trial.name, handle.sweepId);
    trialRuns.push(run.runId);
    // One panel per sweep, reopened with every trial so far overlaid.
    if (trialRuns.length >= Math.min(handle.parallel, handle.trials.length)) host.dashboards.open([...trialRuns]);
  });
  host.log.info(`sweep ${handle.sweepId} started from ${uri.fsPath}: ${handle.trials.length} trials, ${handle.parallel} at a time`);
  void handle.done.then(
    async (summary) => {
      unsubscribe();
      host.registry.refresh();
      const best = summary.best ? `best ${summary.best.name}: loss ${fmtLoss(summary.best.testLoss)}` : 'no trial completed';
      const message = `Sweep "${summary.name}" ${summary.status}: ${best}; ${summary.gbSeconds.toFixed(1)} GB-s, ${fmtUSD(summary.costUSD)} in all.`;
      const actions = summary.best ? ['Open Best Config', 'Compare Trials'] : ['Compare Trials'];
      const choice = await vscode.window.showInformationMessage(message, ...actions);
      if (choice === 'Open Best Config' && summary.best) await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(summary.best.configPath)));
      if (choice === 'Compare Trials') host.dashboards.open(summary.ranking.map((r) => r.runId).filter((id): id is string => !!id));
    },
    (err: unknown) => {
      unsubscribe();
      return showError(host, 'The sweep failed', err);
    },
  );
  return handle.sweepId;
}
