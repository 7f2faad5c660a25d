// Finding a `*.cirrus.json`, reading it (as the editor holds it, saved or not), filling in the
// settings and validating it with the runtime. Problems are shown here, at their field.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunConfig } from '../../runtime/api';
import { configProblems, showConfigProblems, showSyntaxError } from '../errors';
import type { CirrusHost } from '../host';
import { applySettingsDefaults, readSettings, SETTING_OF_FIELD } from '../settings';

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

/** Parses, merges settings and runs the runtime's pre-flight (every schema and cross-field problem,
 *  missing data files, a deployed dataset without a manifest, AWS region, bucket, address and
 *  credentials); on any problem shows them all (with Open File / Open Settings) and returns undefined. */
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
    const ctx = host.runtimeContext();
    const { config, warnings } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Cirrus: checking ${path.basename(uri.fsPath)}` },
      () => host.runtime.preflightRun(merged, { file: uri.fsPath, text, stateDir: ctx.stateDir, awsCredentials: ctx.awsCredentials }),
    );
    for (const w of warnings) host.log.warn(`${uri.fsPath}${w.line ? `:${w.line}` : ''}: ${w.field}: ${w.message}`);
    return { uri, text, config: withPathsFrom(path.dirname(uri.fsPath), config) };
  } catch (err) {
    const problems = configProblems(err, uri.fsPath);
    if (!problems) throw err;
    // A required setting neither the file nor the settings give (an AWS region) is fixed in the settings too.
    const unset = problems.filter((p) => SETTING_OF_FIELD[p.field] && valueAt(json, p.field) === undefined).map((p) => p.field);
    await showConfigProblems(host, uri, text, problems, [...fromSettings, ...unset]);
    return undefined;
  }
}

function valueAt(json: unknown, field: string): unknown {
  let v: unknown = json;
  for (const key of field.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** Data paths in a config are relative to the config file (as in the CLI), not to VS Code's cwd. */
export function withPathsFrom(dir: string, config: RunConfig): RunConfig {
  const resolve = (p: string | undefined) => (p === undefined || p.startsWith('s3://') ? p : path.resolve(dir, p));
  return { ...config, dataset: { ...config.dataset, path: resolve(config.dataset.path)!, testPath: resolve(config.dataset.testPath) } };
}
