// New Run Configuration: writes a `*.cirrus.json` for a deployed dataset (or a local data file) and
// opens it; the JSON schema then completes and checks it in the editor. The settings are the runtime's
// (runtime/config/new-config.ts: defaults that stop on the validation loss and keep the best model),
// with the workers from cirrus.worker.count; each file's run name is its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type DatasetManifest, type RunConfig } from '../../runtime/api';
import { datasetName } from '../datasets/datasets-tree';
import { DATA_EXTENSIONS, detectFormat, firstLines, siblingTestFile } from '../deploy/detect-format';
import { showError } from '../errors';
import type { CirrusHost } from '../host';
import { readSettings } from '../settings';

/** `<dir>/<name>.cirrus.json`, or `<name>-2.cirrus.json`… when taken. */
export function freeConfigPath(dir: string, name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-') || 'run';
  for (let i = 1; ; i++) {
    const file = path.join(dir, `${safe}${i === 1 ? '' : `-${i}`}.cirrus.json`);
    if (!fs.existsSync(file)) return file;
  }
}

/** Writes the config under a free file name and opens it. The run's name is the file's (`clicks-2`),
 *  so two configs made for one dataset give runs that legends and the Runs tree tell apart. */
async function writeAndOpen(dir: string, baseName: string, build: (name: string) => RunConfig): Promise<vscode.Uri> {
  fs.mkdirSync(dir, { recursive: true });
  const file = freeConfigPath(dir, baseName);
  const config = build(path.basename(file, '.cirrus.json'));
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n', { flag: 'wx' });
  const uri = vscode.Uri.file(file);
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  return uri;
}

function configDir(near?: string): string {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? (near ? path.dirname(near) : process.cwd());
}

export function newRunConfigForDataset(host: CirrusHost, url: string, manifest: DatasetManifest): Promise<vscode.Uri> {
  const base = datasetName(url).replace(/\.(gz)$/i, '').replace(/\.(tsv|csv|txt|libsvm|svm|data|dat|base|train)$/i, '');
  const { kind, classes } = manifest.schema;
  return writeAndOpen(configDir(manifest.source.file), base, (name) => host.runtime.newRunConfig({ name, path: url, kind, classes, workers: readSettings().workerCount }));
}

/** A config for a local data file, converted when the run starts; the test file beside it (`u1.test`
 *  for `u1.base`) is its test split when there is one. Paths are relative to the config when inside its folder. */
export function newRunConfigForFile(host: CirrusHost, file: string): Promise<vscode.Uri> {
  const dir = configDir(file);
  const rel = (p: string) => (path.relative(dir, p).startsWith('..') ? p : path.relative(dir, p));
  const test = siblingTestFile(file);
  const base = path.basename(file).replace(/\.gz$/i, '').replace(/\.[^.]+$/, '');
  const format = detectFormat(file, firstLines(file));
  return writeAndOpen(dir, base, (name) => host.runtime.newRunConfig({ name, path: rel(file), format, ...(test ? { testPath: rel(test) } : {}), workers: readSettings().workerCount }));
}

/** From the palette (pick a deployed dataset or a local file) or from a Datasets tree item. */
export async function newRunConfig(host: CirrusHost, arg?: unknown): Promise<vscode.Uri | undefined> {
  try {
    if (arg instanceof vscode.Uri) return await newRunConfigForFile(host, arg.fsPath);
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
    return await newRunConfigForFile(host, file);
  } catch (err) {
    await showError(host, 'Could not create the run configuration', err);
    return undefined;
  }
}
