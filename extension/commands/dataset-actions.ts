// The Datasets view's item actions: copy a dataset's S3 URI (for a run config's dataset.path, the AWS
// CLI, a notebook) and delete a dataset (after a modal confirm naming what goes).
import * as vscode from 'vscode';
import { fmtBytes, fmtCount, type DatasetManifest } from '../../runtime/api';
import { datasetName, type DatasetNode } from '../datasets/datasets-tree';
import { showError } from '../errors';
import type { CirrusHost } from '../host';

/** The dataset a command is about: the tree item it was invoked on, or one picked from the list. */
async function pickDataset(host: CirrusHost, arg: unknown, purpose: string): Promise<DatasetNode | undefined> {
  const node = arg as Partial<DatasetNode> | undefined;
  if (node?.url && node.manifest) return node as DatasetNode;
  const datasets = await host.runtime.listDatasets(host.runtimeContext());
  if (datasets.length === 0) {
    void vscode.window.showInformationMessage('No deployed datasets. Right-click a data file in the Explorer and pick Deploy Dataset to S3.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    datasets.map((d) => ({ label: datasetName(d.url), description: d.url, node: d })),
    { title: purpose, placeHolder: 'Which dataset?' },
  );
  return pick?.node;
}

export async function copyDatasetUri(host: CirrusHost, arg?: unknown): Promise<string | undefined> {
  const node = await pickDataset(host, arg, 'Copy S3 URI');
  if (!node) return undefined;
  await vscode.env.clipboard.writeText(node.url);
  void vscode.window.showInformationMessage(`Copied ${node.url}`);
  return node.url;
}

function describe(m: DatasetManifest): string {
  const partitions = m.partitions.train.length + m.partitions.test.length;
  return `${fmtCount(m.counts.rows)} rows in ${partitions} partitions (${fmtBytes(m.counts.bytes)}), from ${m.source.file}`;
}

/** Deletes after a modal confirm; runs that used the dataset keep their folders (a config naming its
 *  s3:// URI is then refused before it starts: the pre-flight finds no manifest). */
export async function deleteDataset(host: CirrusHost, arg?: unknown): Promise<boolean> {
  const node = await pickDataset(host, arg, 'Delete Dataset');
  if (!node) return false;
  const name = datasetName(node.url);
  const go = await vscode.window.showWarningMessage(
    `Delete dataset "${name}"?`,
    { modal: true, detail: `${node.url}\n${describe(node.manifest)}\n\nThe data file it came from is not touched; deploying it again recreates the dataset.` },
    'Delete',
  );
  if (go !== 'Delete') return false;
  try {
    const objects = await host.runtime.deleteDataset(node.url, host.runtimeContext());
    host.log.info(`deleted dataset ${node.url} (${objects} objects)`);
    host.datasets.refresh();
    void vscode.window.showInformationMessage(`Deleted dataset "${name}" (${node.url}).`);
    return true;
  } catch (err) {
    await showError(host, `Could not delete "${name}"`, err);
    host.datasets.refresh();
    return false;
  }
}
