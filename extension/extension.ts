// Entry point: builds the host (runtime, log, registry, views) and registers every command.
// VS Code calls activate(context); tests call activateWith(context, runtime, renderHtml).
import * as vscode from 'vscode';
import { compareRuns, deleteRun, openDashboard, revealRunFolder, stopRun } from './commands/run-actions';
import { openSweep } from './runs/runs-panel';
import { deployDataset } from './commands/deploy-dataset';
import { copyDatasetUri, deleteDataset } from './commands/dataset-actions';
import { preprocessDataset } from './commands/preprocess-dataset';
import { runCausalEstimate } from './commands/run-causal-estimate';
import { offerInterruptedRuns, resumeRun } from './commands/resume-run';
import { newRunConfig } from './commands/new-run-config';
import { estimateCost, startRun } from './commands/start-run';
import { startSweep } from './commands/start-sweep';
import { selectAwsRegion, selectBackend } from './commands/select-backend';
import type { RenderDashboardHtml } from './dashboard/DashboardPanel';
import { Dashboards } from './dashboard/dashboards';
import { DatasetsTreeProvider } from './datasets/datasets-tree';
import { AwsCredentialStore, clearAwsCredentials, setAwsCredentials } from './credentials';
import { showError } from './errors';
import { makeRuntimeContext, type CirrusHost } from './host';
import { lazyRuntime, type CirrusRuntime } from './runtime-port';
import { RunRegistry } from './runs/run-registry';
import { RunsTreeProvider } from './runs/runs-tree';
import { RunsPanels } from './runs/runs-panel';
import { onSettingsChanged } from './settings';
import { renderDashboardHtml } from '../webview/dashboard/html';
import { RunStatusBar } from './status-bar';

let current: { host: CirrusHost } | undefined;

export function activate(context: vscode.ExtensionContext): CirrusHost {
  return activateWith(context, lazyRuntime(), renderDashboardHtml);
}

export function activateWith(context: vscode.ExtensionContext, runtime: CirrusRuntime, renderHtml: RenderDashboardHtml): CirrusHost {
  const log = vscode.window.createOutputChannel('Cirrus', { log: true });
  const credentials = new AwsCredentialStore(context.secrets, log);
  const runtimeContext = makeRuntimeContext(log, context.globalStorageUri, () => credentials.current());
  const registry = new RunRegistry(runtime, runtimeContext);
  const datasets = new DatasetsTreeProvider(runtime, runtimeContext, (m) => log.warn(m));
  const host = { runtime, log, registry, datasets, extensionUri: context.extensionUri, runtimeContext } as CirrusHost;
  host.dashboards = new Dashboards(
    {
      registry,
      extensionUri: context.extensionUri,
      renderHtml,
      stopRun: (runId) => void stopRun(host, runId),
      revealRunFolder: (runId) => void revealRunFolder(host, runId),
    },
    context.workspaceState,
  );
  host.runsPanels = new RunsPanels(host);
  const runsTree = new RunsTreeProvider(registry);
  const runsView = vscode.window.createTreeView('cirrus.runs', { treeDataProvider: runsTree, canSelectMany: true, showCollapseAll: true });
  const datasetsView = vscode.window.createTreeView('cirrus.datasets', { treeDataProvider: datasets });

  // Every command's failure ends in one visible, actionable message (and the log).
  const command = (id: string, fn: (...args: any[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        await showError(host, `Cirrus: ${id.replace('cirrus.', '')} failed`, err);
      }
    });

  const refreshRuns = () => registry.refresh();
  context.subscriptions.push(
    log,
    credentials,
    registry,
    datasets,
    host.dashboards,
    host.runsPanels,
    runsTree,
    runsView,
    datasetsView,
    new RunStatusBar(registry),
    command('cirrus.startRun', (arg) => startRun(host, arg)),
    command('cirrus.startSweep', (arg) => startSweep(host, arg)),
    command('cirrus.stopRun', (arg) => stopRun(host, arg)),
    command('cirrus.openDashboard', (arg) => openDashboard(host, arg)),
    command('cirrus.compareRuns', (clicked, selected) => compareRuns(host, clicked, selected)),
    command('cirrus.openRunsTable', () => host.runsPanels.openTable()),
    command('cirrus.openSweep', (arg) => openSweep(host, arg)),
    command('cirrus.deleteRun', (arg) => deleteRun(host, arg)),
    command('cirrus.revealRunFolder', (arg) => revealRunFolder(host, arg)),
    command('cirrus.deployDataset', (clicked, selected) => deployDataset(host, clicked, selected)),
    command('cirrus.newRunConfig', (arg) => newRunConfig(host, arg)),
    command('cirrus.deleteDataset', (arg) => deleteDataset(host, arg)),
    command('cirrus.copyDatasetUri', (arg) => copyDatasetUri(host, arg)),
    command('cirrus.selectBackend', () => selectBackend()),
    command('cirrus.selectAwsRegion', () => selectAwsRegion()),
    command('cirrus.estimateCost', (arg) => estimateCost(host, arg)),
    command('cirrus.refreshRuns', refreshRuns),
    command('cirrus.refreshDatasets', () => datasets.refresh()),
    command('cirrus.showLog', () => log.show()),
    command('cirrus.resumeRun', (arg) => resumeRun(host, arg)),
    command('cirrus.preprocessDataset', (arg) => preprocessDataset(host, arg)),
    command('cirrus.runCausalEstimate', (arg) => runCausalEstimate(host, arg)),
    command('cirrus.setAwsCredentials', () => setAwsCredentials(credentials, log)),
    command('cirrus.clearAwsCredentials', () => clearAwsCredentials(credentials, log)),
    // A new state directory or backend means other run folders and datasets.
    onSettingsChanged(() => {
      refreshRuns();
      datasets.refresh();
    }),
  );
  try {
    registry.refresh();
  } catch (err) {
    log.warn(`could not list runs: ${err instanceof Error ? err.message : String(err)}`);
  }
  log.info(`Cirrus activated; state directory ${runtimeContext().stateDir}`);
  // Runs whose driver died with the last VS Code (or a killed CLI): offer to resume them. Not awaited:
  // the notification stays until answered. After the stored credentials are read, which a resume on aws needs.
  host.interruptedOffer = credentials.loaded.then(() => offerInterruptedRuns(host));
  current = { host };
  return host;
}

/** Runs live in the extension host: stop them (saving their models) and the embedded services with it. */
export async function deactivate(): Promise<void> {
  const host = current?.host;
  current = undefined;
  if (!host) return;
  await host.registry.stopAll('VS Code is closing');
  await host.runtime.shutdownEmbeddedServices();
}
