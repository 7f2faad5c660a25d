// The status bar item: the running run's live loss and dollars; a click opens its dashboard.
import * as vscode from 'vscode';
import { fmtLoss, fmtUSD } from '../runtime/api';
import { headlineLoss, shownName } from './runs/run-model';
import type { RunRegistry } from './runs/run-registry';

export class RunStatusBar implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('cirrus.run', vscode.StatusBarAlignment.Left, 50);
  private readonly sub: vscode.Disposable;

  constructor(private readonly registry: RunRegistry) {
    this.item.name = 'Cirrus Run';
    this.sub = registry.onDidChange(() => this.update());
    this.update();
  }

  update(): void {
    const live = this.registry.liveRuns();
    if (live.length === 0) return this.item.hide();
    const { view } = live[0]; // the newest
    const more = live.length > 1 ? ` (+${live.length - 1})` : '';
    this.item.text = `$(pulse) ${shownName(view)}: loss ${fmtLoss(headlineLoss(view))} · ${fmtUSD(view.costUSD)}${more}`;
    this.item.tooltip = `Cirrus run ${view.runId} (${view.status}): open its dashboard`;
    this.item.command = { command: 'cirrus.openDashboard', title: 'Open Dashboard', arguments: [view.runId] };
    this.item.show();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
