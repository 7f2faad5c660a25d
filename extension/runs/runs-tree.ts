// The Runs view: run -> stages -> workers, with status, loss and cost in descriptions and tooltips.
import * as vscode from 'vscode';
import { fmtCount, fmtLoss, fmtSeconds, fmtUSD } from '../../runtime/api';
import { headlineLoss, shownName, type RunView, type StageView, type WorkerView } from './run-model';
import type { RunRegistry } from './run-registry';

export type RunsNode =
  | { kind: 'run'; runId: string }
  | { kind: 'stage'; runId: string; index: number }
  | { kind: 'worker'; runId: string; index: number; worker: number };

const STATUS_ICON: Record<string, string> = {
  running: 'sync~spin',
  completed: 'pass',
  stopped: 'debug-stop',
  failed: 'error',
  finished: 'pass',
  'time-limit': 'history',
  done: 'pass',
};

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;
  private pending: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly registry: RunRegistry, private readonly throttleMs = 500) {
    // Heartbeats arrive many times a second: repaint the tree at most twice a second.
    this.sub = registry.onDidChange(() => {
      if (this.throttleMs <= 0) return this.changed.fire(undefined);
      this.pending ??= setTimeout(() => {
        this.pending = undefined;
        this.changed.fire(undefined);
      }, this.throttleMs);
    });
  }

  getChildren(node?: RunsNode): RunsNode[] {
    // A sweep's trials are listed under the sweep, not beside it.
    if (!node) return this.registry.list().filter((r) => !this.registry.sweepOf(r.runId)).map((r) => ({ kind: 'run', runId: r.runId }));
    if (node.kind === 'run' && this.registry.isSweep(node.runId)) return this.registry.trialsOf(node.runId).map((r) => ({ kind: 'run', runId: r.runId }));
    const view = this.registry.detailedView(node.runId);
    if (!view) return [];
    if (node.kind === 'run') return view.stages.map((_, index) => ({ kind: 'stage', runId: node.runId, index }));
    if (node.kind === 'stage') {
      const stage = view.stages[node.index];
      return stage ? [...stage.workerViews.keys()].sort((a, b) => a - b).map((worker) => ({ kind: 'worker', runId: node.runId, index: node.index, worker })) : [];
    }
    return [];
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    const entry = this.registry.get(node.runId);
    const view = node.kind === 'run' ? entry?.view : this.registry.detailedView(node.runId);
    if (!view) return new vscode.TreeItem('(gone)');
    if (node.kind === 'run') {
      if (this.registry.isSweep(node.runId)) return sweepItem(view, this.registry.trialsOf(node.runId).length, entry?.runFolder);
      return runItem(view, entry?.live ?? false, entry?.runFolder, entry?.interrupted ?? false);
    }
    const stage = view.stages[node.index];
    if (node.kind === 'stage') return stageItem(node.runId, stage);
    return workerItem(node.runId, stage, stage.workerViews.get(node.worker)!);
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.sub.dispose();
    this.changed.dispose();
  }
}

function runItem(view: RunView, live: boolean, runFolder?: string, interrupted = false): vscode.TreeItem {
  const item = new vscode.TreeItem(shownName(view), vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `run:${view.runId}`;
  item.description = `${view.status} · loss ${fmtLoss(headlineLoss(view))} · ${fmtUSD(view.costUSD)}`;
  item.iconPath = new vscode.ThemeIcon(STATUS_ICON[view.status] ?? 'circle-outline');
  // `running` / `interrupted` / `finished` pick the actions in package.json menus (Stop only on live
  // runs, Resume only on runs whose driver died).
  item.contextValue = live ? 'cirrusRun.running' : interrupted ? 'cirrusRun.interrupted' : 'cirrusRun.finished';
  item.command = { command: 'cirrus.openDashboard', title: 'Open Dashboard', arguments: [view.runId] };
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${shownName(view)}**${view.displayName ? ` (${view.name})` : ''} \`${view.runId}\`\n\n`);
  md.appendMarkdown(`Status: ${view.status}${view.reason ? ` (${view.reason})` : ''}  \n`);
  if (view.backend) md.appendMarkdown(`Backend: ${view.backend}  \n`);
  md.appendMarkdown(`Test loss: ${fmtLoss(view.testLoss)} · train loss: ${fmtLoss(view.trainLoss)}  \n`);
  if (view.testAccuracy !== undefined) md.appendMarkdown(`Test accuracy: ${(view.testAccuracy * 100).toFixed(2)} %  \n`);
  md.appendMarkdown(`Cost: ${fmtUSD(view.costUSD)} · time: ${fmtSeconds(view.seconds)}  \n`);
  if (runFolder) md.appendMarkdown(`Folder: ${runFolder}`);
  item.tooltip = md;
  return item;
}

/** A sweep: its trials as children; a click opens its trial table, parallel coordinates and importance. */
function sweepItem(view: RunView, trials: number, runFolder?: string): vscode.TreeItem {
  const item = runItem(view, false, runFolder);
  item.description = `sweep · ${trials} trial${trials === 1 ? '' : 's'} · ${view.status} · best ${fmtLoss(view.testLoss)} · ${fmtUSD(view.costUSD)}`;
  item.iconPath = new vscode.ThemeIcon(view.status === 'running' ? 'sync~spin' : 'beaker');
  // Its own menu entries (Open Sweep, Reveal); not Delete, which would orphan its trials' grouping.
  item.contextValue = 'cirrusRun.sweep';
  item.command = { command: 'cirrus.openSweep', title: 'Open Sweep', arguments: [view.runId] };
  return item;
}

function stageItem(runId: string, stage: StageView): vscode.TreeItem {
  const hasWorkers = stage.workerViews.size > 0;
  const item = new vscode.TreeItem(stage.stage, hasWorkers ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = `stage:${runId}:${stage.stage}:${stage.memoryMB}:${stage.workers}`;
  const parts = [stage.status, `${stage.workers} × ${stage.memoryMB} MB`];
  if (stage.costUSD !== undefined) parts.push(fmtUSD(stage.costUSD));
  item.description = parts.join(' · ');
  item.iconPath = new vscode.ThemeIcon(STATUS_ICON[stage.status] ?? 'circle-outline');
  item.contextValue = 'cirrusStage';
  item.tooltip = [
    `${stage.stage}: ${stage.status}`,
    `workers: ${stage.workers}, memory configured: ${stage.memoryMB} MB`,
    stage.peakMemoryMB !== undefined ? `peak memory used: ${stage.peakMemoryMB} MB` : '',
    stage.gbSeconds !== undefined ? `GB-seconds: ${stage.gbSeconds.toFixed(1)}` : '',
    stage.seconds !== undefined ? `duration: ${fmtSeconds(stage.seconds)}` : '',
    stage.costUSD !== undefined ? `cost: ${fmtUSD(stage.costUSD)}` : '',
  ].filter(Boolean).join('\n');
  return item;
}

function workerItem(runId: string, stage: StageView, w: WorkerView): vscode.TreeItem {
  const item = new vscode.TreeItem(`worker ${w.worker}`, vscode.TreeItemCollapsibleState.None);
  item.id = `worker:${runId}:${stage.stage}:${w.worker}`;
  const parts = [w.status, `gen ${w.generation}`];
  if (w.trainLoss !== undefined) parts.push(`loss ${fmtLoss(w.trainLoss)}`);
  parts.push(`${fmtCount(w.samples)} samples`);
  item.description = parts.join(' · ');
  item.iconPath = new vscode.ThemeIcon(w.status === 'failed' ? 'error' : w.status === 'running' ? 'pulse' : 'check');
  item.contextValue = 'cirrusWorker';
  item.tooltip = [
    `worker ${w.worker}, generation ${w.generation}: ${w.status}`,
    w.samplesPerSecond !== undefined ? `${fmtCount(Math.round(w.samplesPerSecond))} samples/s` : '',
    w.memoryMB !== undefined ? `memory used: ${w.memoryMB} MB` : '',
    w.billedMs !== undefined ? `billed: ${(w.billedMs / 1000).toFixed(1)} s` : '',
    w.error ? `error: ${w.error}` : '',
  ].filter(Boolean).join('\n');
  return item;
}
