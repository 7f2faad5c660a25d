// New Run Configuration: writes a `*.cirrus.json` for a deployed dataset (or a local data file) with
// settings-based defaults and opens it; the JSON schema then completes and checks it in the editor.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type DatasetFormat, type DatasetManifest, type RunConfig } from '../../runtime/api';
import { datasetName } from '../datasets/datasets-tree';
import { DATA_EXTENSIONS, detectFormat, firstLines } from '../deploy/detect-format';
import { showError } from '../errors';
import type { CirrusHost } from '../host';
import type { CirrusRuntime } from '../runtime-port';
import { readSettings } from '../settings';

/** A first config for a dataset: the model follows its kind (ratings -> MF, many classes -> softmax);
 *  every other setting is the runtime's default, written out so the user sees what to tune. */
export function runConfigFor(runtime: Pick<CirrusRuntime, 'resolveRunConfig'>, datasetPath: string, name: string, format: DatasetFormat | undefined, manifest: DatasetManifest | undefined, workers: number): RunConfig {
  const ratings = format === 'ratings' || manifest?.schema.kind === 'ratings';
  const classes = manifest?.schema.classes ?? 2;
  const model: RunConfig['model'] = ratings ? { type: 'mf' } : classes > 2 ? { type: 'softmax', classes } : { type: 'logistic' };
  const { config } = runtime.resolveRunConfig({ name, dataset: { path: datasetPath, ...(format ? { format } : {}) }, model, training: { workers } });
  // Left out: fault injection, and what the cirrus.* settings fill in when the file does not say (backend, worker memory).
  const { faults: _faults, backend: _backend, lambda: _lambda, ...written } = config;
  return written;
}

/** `<dir>/<name>.cirrus.json`, or `<name>-2.cirrus.json`… when taken. */
export function freeConfigPath(dir: string, name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-') || 'run';
  for (let i = 1; ; i++) {
    const file = path.join(dir, `${safe}${i === 1 ? '' : `-${i}`}.cirrus.json`);
    if (!fs.existsSync(file)) return file;
  }
}

async function writeAndOpen(dir: string, config: RunConfig): Promise<vscode.Uri> {
  const file = freeConfigPath(dir, config.name ?? 'run');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  const uri = vscode.Uri.file(file);
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  return uri;
}

function configDir(near?: string): string {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? (near ? path.dirname(near) : process.cwd());
}

export function newRunConfigForDataset(host: CirrusHost, url: string, manifest: DatasetManifest): Promise<vscode.Uri> {
  const name = datasetName(url).replace(/\.(tsv|csv|txt|libsvm|svm|data|dat)$/i, '');
  const config = runConfigFor(host.runtime, url, name, manifest.schema.format, manifest, readSettings().workerCount);
  return writeAndOpen(configDir(manifest.source.file), config);
}

/** From the palette (pick a deployed dataset or a local file) or from a Datasets tree item. */
export async function newRunConfig(host: CirrusHost, arg?: unknown): Promise<vscode.Uri | undefined> {
  try {
    const node = arg as { url?: string; manifest?: DatasetManifest } | undefined;
    if (node?.url && node.manifest) return await newRunConfigForDataset(host, node.url, node.manifest);
    const datasets = await host.runtime.listDatasets(host.runtimeContext()).catch(() => []);
    const items: Array<vscode.QuickPickItem & { url?: string; manifest?: DatasetManifest }> = [
      ...datasets.map((d) => ({ label: datasetName(d.url), description: d.url, url: d.url, manifest: d.manifest })),
      { label: 'A local data file…', description: 'converted and partitioned when the run starts' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'New Run Configuration', placeHolder: 'Train on which dataset?' });
    if (!pick) return undefined;
    if (pick.url && pick.manifest) return await newRunConfigForDataset(host, pick.url, pick.manifest);
    const files = await vscode.window.showOpenDialog({ title: 'Data file to train on', canSelectMany: false, filters: { 'Data files': DATA_EXTENSIONS.map((e) => e.slice(1)), 'All files': ['*'] } });
    const file = files?.[0]?.fsPath;
    if (!file) return undefined;
    const dir = configDir(file);
    const relative = path.relative(dir, file);
    const name = path.basename(file).replace(/\.[^.]+$/, '');
    const config = runConfigFor(host.runtime, relative.startsWith('..') ? file : relative, name, detectFormat(file, firstLines(file)), undefined, readSettings().workerCount);
    return await writeAndOpen(dir, config);
  } catch (err) {
    await showError(host, 'Could not create the run configuration', err);
    return undefined;
  }
}
