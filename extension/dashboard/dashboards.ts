// Opens, finds and restores dashboard panels. Which runs each open panel shows is also kept in the
// workspace state, so a panel restored after a restart finds its runs even if its webview saved none.
import * as vscode from 'vscode';
import { dashboardTitle, DASHBOARD_VIEW_TYPE, DashboardPanel, type DashboardDeps, type DashboardState } from './DashboardPanel';

const OPEN_KEY = 'cirrus.openDashboards';

export class Dashboards implements vscode.Disposable {
  private readonly panels = new Set<DashboardPanel>();
  private readonly serializer: vscode.Disposable;
  private shuttingDown = false;

  constructor(private readonly deps: DashboardDeps, private readonly memento: vscode.Memento) {
    this.serializer = vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => void this.restore(panel, state as DashboardState | undefined),
    });
  }

  /**
   * Shows the runs in their existing panel; a comparison reuses the comparison tab (one tab, not one per
   * selection); otherwise a new panel in the column the dashboards already use (not a new editor group
   * per run), or beside the editor for the first.
   */
  open(runIds: string[]): DashboardPanel {
    const panels = [...this.panels];
    const existing = panels.find((p) => p.shows(runIds));
    if (existing) {
      existing.panel.reveal(undefined, true);
      return existing;
    }
    const comparison = runIds.length > 1 ? panels.find((p) => p.runIds.length > 1) : undefined;
    if (comparison) {
      comparison.showRuns(runIds, this.title(runIds));
      this.remember();
      return comparison;
    }
    const column = panels.map((p) => p.panel.viewColumn).find((c) => c !== undefined);
    return this.track(DashboardPanel.create(runIds, this.title(runIds), this.deps, column));
  }

  all(): DashboardPanel[] {
    return [...this.panels];
  }

  restore(panel: vscode.WebviewPanel, state: DashboardState | undefined): DashboardPanel {
    let runIds = state?.runIds;
    if (!runIds?.length) {
      // The webview saved nothing: take a remembered panel's runs that no restored panel shows yet.
      const remembered = this.memento.get<string[][]>(OPEN_KEY, []);
      runIds = remembered.find((ids) => ![...this.panels].some((p) => p.shows(ids))) ?? [];
    }
    this.deps.registry.refresh(); // run folders may have changed while VS Code was closed
    panel.title = this.title(runIds);
    return this.track(new DashboardPanel(panel, runIds, this.deps));
  }

  private track(p: DashboardPanel): DashboardPanel {
    this.panels.add(p);
    p.onDidDispose(() => {
      this.panels.delete(p);
      this.remember();
    });
    this.remember();
    return p;
  }

  private remember(): void {
    if (this.shuttingDown) return;
    void this.memento.update(OPEN_KEY, [...this.panels].map((p) => p.runIds));
  }

  private title(runIds: string[]): string {
    return dashboardTitle(this.deps.registry, runIds);
  }

  dispose(): void {
    // Leave the panels open (VS Code restores them on its next start); drop only our listeners,
    // without forgetting which runs they show.
    this.shuttingDown = true;
    this.serializer.dispose();
    for (const p of [...this.panels]) p.dispose();
  }
}
