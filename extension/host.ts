// What the commands share: the runtime, the run registry, the log, the views. Built once in activate().
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AwsCredentials, RuntimeContext } from '../runtime/api';
import type { Dashboards } from './dashboard/dashboards';
import type { RunsPanels } from './runs/runs-panel';
import type { DatasetsTreeProvider } from './datasets/datasets-tree';
import type { CirrusRuntime } from './runtime-port';
import type { RunRegistry } from './runs/run-registry';
import { readSettings } from './settings';

export interface CirrusHost {
  runtime: CirrusRuntime;
  log: vscode.LogOutputChannel;
  registry: RunRegistry;
  datasets: DatasetsTreeProvider;
  dashboards: Dashboards;
  /** The runs table and the sweep views. */
  runsPanels: RunsPanels;
  extensionUri: vscode.Uri;
  /** Read on every call, so a changed `cirrus.stateDirectory` applies to the next command. */
  runtimeContext(): RuntimeContext;
  /** The activation's offer to resume interrupted runs; resolves when answered (tests wait on it). */
  interruptedOffer?: Promise<void>;
}

/** `cirrus.stateDirectory` (relative to the first workspace folder), else `<workspace>/.cirrus`, else the extension's global storage. */
export function stateDirectory(globalStorage: vscode.Uri): string {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const setting = readSettings().stateDirectory.replace('${workspaceFolder}', root ?? '');
  if (setting) return path.resolve(root ?? globalStorage.fsPath, setting);
  return root ? path.join(root, '.cirrus') : globalStorage.fsPath;
}

/** `awsCredentials`: those saved with Set AWS Credentials (the runtime uses them only for the aws backend). */
export function makeRuntimeContext(log: vscode.LogOutputChannel, globalStorage: vscode.Uri, awsCredentials: () => AwsCredentials | undefined = () => undefined): () => RuntimeContext {
  const write = (level: 'info' | 'warn' | 'error', message: string) => log[level](message);
  return () => ({ stateDir: stateDirectory(globalStorage), log: write, awsCredentials: awsCredentials() });
}
