// Start Training Run and Estimate Cost: validate the config, show the estimate, start, watch.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { showWhatIf } from '../what-if-panel';
import type { RunConfig, RunEstimate, RunHandle } from '../../runtime/api';
import { showError } from '../errors';
import { fmtCostComponent, fmtLoss, fmtSeconds, fmtUSD, fmtUSDShare, type RunSummary } from '../../runtime/api';
import type { CirrusHost } from '../host';
import { isCancellation, withCancellableProgress } from '../progress';
import { loadRunConfig, pickConfigFile } from './run-config-file';

export function describeEstimate(config: RunConfig, e: RunEstimate): string {
  const parts = Object.entries(e.breakdown)
    .filter(([, usd]) => usd > 0)
    .map(([k, usd]) => `${fmtCostComponent(k)} ${fmtUSDShare(usd)}`)
    .join(', ');
  const range = (pair: [number, number] | undefined, fmt: (x: number) => string) => (pair ? ` (${fmt(pair[0])} to ${fmt(pair[1])})` : '');
  return [
    `${e.workers} workers × ${e.memoryMB} MB on ${e.backend}`,
    `expected time: about ${fmtSeconds(e.expectedSeconds)}${range(e.range?.seconds, fmtSeconds)}`,
    `expected cost: about ${fmtUSD(e.expectedUSD)}${range(e.range?.usd, fmtUSD)}${parts ? `; ${parts}` : ''}`,
    ...(e.basis ? [`estimate ${e.basis}`] : []),
    ...(e.notes ?? []),
  ].join('\n');
}

/** The toast when a run ends: a failed run says why (no "test loss –"); a figure is named only if the run has it. */
export function finishedMessage(s: RunSummary): string {
  if (s.status === 'failed') return `Run "${s.name}" failed after ${fmtSeconds(s.seconds)}: ${s.reason || 'no reason recorded'}.`;
  const figures = [
    ...(s.testLoss != null ? [`test loss ${fmtLoss(s.testLoss)}`] : []),
    fmtUSD(s.costUSD),
    fmtSeconds(s.seconds),
  ];
  return `Run "${s.name}" ${s.status}: ${figures.join(', ')}${s.reason ? ` (${s.reason})` : ''}.`;
}

/** A run just started or resumed: into the registry (tree, status bar), a dashboard beside, and one
 *  message when it ends. */
export function followRun(host: CirrusHost, handle: RunHandle, name: string): void {
  host.registry.addLive(handle, name);
  host.dashboards.open([handle.runId]);
  void handle.done.then(
    async (s) => {
      const message = finishedMessage(s);
      const show = s.status === 'failed' ? vscode.window.showErrorMessage : vscode.window.showInformationMessage;
      if ((await show(message, 'Open Dashboard')) === 'Open Dashboard') host.dashboards.open([handle.runId]);
    },
    (err: unknown) => showError(host, `Run "${name}" failed`, err),
  );
}

export async function startRun(host: CirrusHost, arg?: unknown, opts: { confirmed?: boolean } = {}): Promise<string | undefined> {
  const uri = await pickConfigFile(arg, 'Start Training Run');
  if (!uri) return undefined;
  const loaded = await loadRunConfig(host, uri);
  if (!loaded) return undefined;
  const { config } = loaded;
  const name = config.name ?? path.basename(uri.fsPath, '.cirrus.json');
  const estimate = host.runtime.estimateRun(config, { stateDir: host.runtimeContext().stateDir });
  if (!opts.confirmed) {
    // On AWS the Plan step first: what the run creates and calls, its cost and guardrails (nothing created yet).
    let plan = '';
    if ((config.backend ?? 'local') === 'aws') {
      try {
        plan = host.runtime.planAws(config).text;
      } catch (err) {
        await showError(host, `Could not plan "${name}" on AWS`, err);
        return undefined;
      }
      host.log.info(plan);
    }
    const start = plan ? 'Start on AWS' : 'Start';
    const detail = plan ? `${describeEstimate(config, estimate)}\n\n${plan}` : describeEstimate(config, estimate);
    const go = await vscode.window.showInformationMessage(`Start training run "${name}"?`, { modal: true, detail }, start);
    if (go !== start) return undefined;
  }
  try {
    const handle = await withCancellableProgress(`Cirrus: starting "${name}"`, (signal, progress) => {
      progress.update(undefined, 'starting the parameter server and workers…');
      return host.runtime.startTraining(config, host.runtimeContext(), { configPath: uri.fsPath, signal });
    });
    followRun(host, handle, name);
    host.log.info(`run ${handle.runId} started from ${uri.fsPath} (folder ${handle.runFolder})`);
    return handle.runId;
  } catch (err) {
    if (isCancellation(err)) {
      void vscode.window.showInformationMessage(`Run "${name}" was not started (cancelled).`);
      return undefined;
    }
    await showError(host, `Could not start "${name}"`, config.backend === 'aws' ? host.runtime.explainAwsError(err, config.aws?.profile) : err);
    return undefined;
  }
}

export async function estimateCost(host: CirrusHost, arg?: unknown): Promise<RunEstimate | undefined> {
  const uri = await pickConfigFile(arg, 'Estimate Cost');
  if (!uri) return undefined;
  const loaded = await loadRunConfig(host, uri);
  if (!loaded) return undefined;
  const estimate = host.runtime.estimateRun(loaded.config, { stateDir: host.runtimeContext().stateDir });
  const choice = await vscode.window.showInformationMessage(
    `Estimate for ${path.basename(uri.fsPath)}`,
    { modal: true, detail: describeEstimate(loaded.config, estimate) },
    'Start Training Run',
    ...(host.runtime.whatIf ? ['Show What-If Chart'] : []),
  );
  if (choice === 'Start Training Run') await startRun(host, uri, { confirmed: true });
  if (choice === 'Show What-If Chart' && host.runtime.whatIf) showWhatIf(host.extensionUri, host.runtime.whatIf(loaded.config, host.runtimeContext().stateDir));
  return estimate;
}
