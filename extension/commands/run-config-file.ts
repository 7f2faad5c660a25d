// Finding a `*.cirrus.json`, reading it (as the editor holds it, saved or not), filling in the
// settings and validating it with the runtime. Problems are shown here, at their field.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunConfig } from '../../runtime/api';
import { configProblems, showConfigProblems, showSyntaxError } from '../errors';
import type { CirrusHost } from '../host';
import { applySettingsDefaults, readSettings } from '../settings';

export const CONFIG_GLOB = '**/*.cirrus.json';

export function isRunConfig(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return !!uri && uri.path.endsWith('.cirrus.json');
}

/** The config the command is about: the one it was invoked on, the active editor's, or a picked one. */
export async function pickConfigFile(arg: unknown, purpose: string): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri && isRunConfig(arg)) return arg;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (isRunConfig(active)) return active;
  const found = await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**', 200);
  if (found.length === 0) {
    const choice = await vscode.window.showInformationMessage('No run configuration (*.cirrus.json) in this workspace.', 'New Run Configuration');
    if (choice) await vscode.commands.executeCommand('cirrus.newRunConfig');
    return undefined;
  }
  if (found.length === 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri })),
    { title: purpose, placeHolder: 'Pick a run configuration' },
  );
  return picked?.uri;
}

export interface LoadedConfig {
  uri: vscode.Uri;
  config: RunConfig;
  text: string;
}

/** Parses, merges settings and validates; on any problem shows it (with Open File / Open Settings) and returns undefined. */
export async function loadRunConfig(host: CirrusHost, uri: vscode.Uri): Promise<LoadedConfig | undefined> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const text = doc.getText();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    await showSyntaxError(host, uri, text, err);
    return undefined;
  }
  const { json: merged, fromSettings } = applySettingsDefaults(json, readSettings());
  try {
    const config = host.runtime.validateRunConfig(merged, uri.fsPath, text);
    return { uri, text, config: withPathsFrom(path.dirname(uri.fsPath), config) };
  } catch (err) {
    const problems = configProblems(err, uri.fsPath);
    if (!problems) throw err;
    await showConfigProblems(host, uri, text, problems, fromSettings);
    return undefined;
  }
}

/** Data paths in a config are relative to the config file (as in the CLI), not to VS Code's cwd. */
export function withPathsFrom(dir: string, config: RunConfig): RunConfig {
  const resolve = (p: string | undefined) => (p === undefined || p.startsWith('s3://') ? p : path.resolve(dir, p));
  return { ...config, dataset: { ...config.dataset, path: resolve(config.dataset.path)!, testPath: resolve(config.dataset.testPath) } };
}
