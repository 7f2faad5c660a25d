// Start Hyperparameter Sweep: pick a `*.sweep.json` (none yet: write a template from the run config and
// offer to start it), confirm the trial count, run the sweep in the
// extension host. Every trial is a live run in the Runs tree (Stop Run stops one; the sweep goes on),
// the dashboard overlays the trials as they start, and the end shows the best configuration.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { showError } from '../errors';
import { fmtLoss, fmtUSD } from '../../runtime/api';
import type { SweepConfig, Trial } from '../../runtime/api';
import type { CirrusHost } from '../host';
import { isRunConfig, pickConfigFile } from './run-config-file';

export const SWEEP_GLOB = '**/*.sweep.json';

async function pickSweepFile(host: CirrusHost, arg: unknown): Promise<{ uri: vscode.Uri; confirmed?: boolean } | undefined> {
  if (arg instanceof vscode.Uri && arg.path.endsWith('.sweep.json')) return { uri: arg };
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.path.endsWith('.sweep.json')) return { uri: active };
  // Invoked on a run config, or no sweep file yet: offer a template built from the run config.
  if (arg instanceof vscode.Uri && isRunConfig(arg)) return offerTemplate(host, arg);
  const found = await vscode.workspace.findFiles(SWEEP_GLOB, '**/node_modules/**', 200);
  if (found.length === 0) return offerTemplate(host, arg);
  if (found.length === 1) return { uri: found[0] };
  const picked = await vscode.window.showQuickPick(
    found.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri })),
    { title: 'Start Hyperparameter Sweep', placeHolder: 'Pick a sweep configuration' },
  );
  return picked && { uri: picked.uri };
}

/**
 * No sweep file: write one around the open (or picked) run config's settings, open it, and offer to
 * start it. The user may edit it first; Start reads the file as saved then.
 */
async function offerTemplate(host: CirrusHost, arg: unknown): Promise<{ uri: vscode.Uri; confirmed: boolean } | undefined> {
  const configUri = await pickConfigFile(arg, 'Start Hyperparameter Sweep: the run configuration to vary');
  if (!configUri) return undefined;
  const configName = path.basename(configUri.fsPath);
  const choice = await vscode.window.showInformationMessage(
    `No sweep configuration (*.sweep.json) yet. Write one that searches around the settings of ${configName} (learning rate, minibatch, L2)?`,
    'Write Sweep Template',
  );
  if (choice !== 'Write Sweep Template') return undefined;
  // The sweep reads its base from disk: what the editor shows must be saved first.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === configUri.fsPath);
  if (open?.isDirty) await open.save();
  let written;
  try {
    written = host.runtime.writeSweepTemplate(configUri.fsPath);
  } catch (err) {
    await showError(host, `No sweep template for ${configName}`, err);
    return undefined;
  }
  const uri = vscode.Uri.file(written.file);
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  host.log.info(`sweep template ${written.file} written from ${configUri.fsPath}: ${written.trials} trials`);
  const detail = describeSweep(written.sweep, host.runtime.expandTrials(written.sweep, host.runtime.loadSweepConfig(written.file).base));
  const start = await vscode.window.showInformationMessage(`Wrote ${path.basename(written.file)}: ${detail.split('\n')[0]}. Edit it, or start it now.`, 'Start Sweep');
  if (start !== 'Start Sweep') return undefined;
  const edited = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === uri.fsPath);
  if (edited?.isDirty) await edited.save();
  return { uri, confirmed: true };
}

/** The confirm's lines: trials, search, parallelism and rule, each trial's size. */
function describeSweep(sweep: SweepConfig, trials: Trial[]): string {
  return [
    `${trials.length} trials (${sweep.search?.method ?? 'grid'} over ${Object.keys(sweep.parameters).join(', ')})`,
    `${sweep.parallel ?? 2} at a time, early stopping: ${sweep.earlyStopping?.rule ?? 'successive-halving'}`,
    `each trial: ${trials[0].config.training.workers} workers × ${trials[0].config.lambda.memoryMB} MB on ${trials[0].config.backend}`,
  ].join('\n');
}

/** Returns the sweep's id once it has started (its summary arrives later, as a message). */
export async function startSweep(host: CirrusHost, arg?: unknown, opts: { confirmed?: boolean } = {}): Promise<string | undefined> {
  const picked = await pickSweepFile(host, arg);
  if (!picked) return undefined;
  const { uri } = picked;
  let loaded;
  try {
    loaded = host.runtime.loadSweepConfig(uri.fsPath);
  } catch (err) {
    await showError(host, `${path.basename(uri.fsPath)} is not a valid sweep configuration`, err);
    return undefined;
  }
  const { sweep, base } = loaded;
  const trials = host.runtime.expandTrials(sweep, base);
  if (!opts.confirmed && !picked.confirmed) {
    const detail = describeSweep(sweep, trials);
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
