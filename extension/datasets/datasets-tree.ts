// The Datasets view: every deployed dataset, read from its manifest (rows, partitions, size).
import * as vscode from 'vscode';
import type { DatasetManifest, RuntimeContext } from '../../runtime/api';
import { fmtBytes, fmtCount } from '../../runtime/api';
import type { CirrusRuntime } from '../runtime-port';

export interface DatasetNode {
  url: string;
  manifest: DatasetManifest;
}

export class DatasetsTreeProvider implements vscode.TreeDataProvider<DatasetNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<DatasetNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly runtime: CirrusRuntime, private readonly context: () => RuntimeContext, private readonly log: (m: string) => void) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: DatasetNode): Promise<DatasetNode[]> {
    if (node) return [];
    try {
      return await this.runtime.listDatasets(this.context());
    } catch (err) {
      // An unreachable bucket must not break the view: log it and show the empty state.
      this.log(`listing datasets failed: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    }
  }

  getTreeItem(node: DatasetNode): vscode.TreeItem {
    return datasetItem(node);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function datasetName(url: string): string {
  // Deployments of a local file carry its checksum after the name (`clicks.tsv-3f2a9c0d1e4b`): not shown.
  const last = url.replace(/\/+$/, '').split('/').pop() || url;
  return last.replace(/-[0-9a-f]{12}$/, '');
}

export function datasetItem({ url, manifest: m }: DatasetNode): vscode.TreeItem {
  const item = new vscode.TreeItem(datasetName(url), vscode.TreeItemCollapsibleState.None);
  item.id = `dataset:${url}`;
  const partitions = m.partitions.train.length + m.partitions.test.length;
  item.description = `${m.schema.format} · ${fmtCount(m.counts.rows)} rows · ${partitions} partitions · ${fmtBytes(m.counts.bytes)}`;
  item.iconPath = new vscode.ThemeIcon('database');
  item.contextValue = 'cirrusDataset';
  item.tooltip = [
    url,
    `format: ${m.schema.format} (${m.schema.kind}), ${m.schema.featureCount} features${m.schema.hashBits ? ` (hashed, ${m.schema.hashBits} bits)` : ''}`,
    `rows: ${fmtCount(m.counts.trainRows)} train + ${fmtCount(m.counts.testRows)} test${m.counts.skippedRows ? `, ${fmtCount(m.counts.skippedRows)} skipped` : ''}`,
    `partitions: ${m.partitions.train.length} train + ${m.partitions.test.length} test, ${fmtBytes(m.counts.bytes)}`,
    `source: ${m.source.file}`,
    `deployed: ${m.createdAt}`,
  ].join('\n');
  return item;
}
