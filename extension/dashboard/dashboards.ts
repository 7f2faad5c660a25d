// Opens, finds and restores dashboard panels. Which runs each open panel shows is also kept in the
// workspace state, so a panel restored after a restart finds its runs even if its webview saved none.
import * as vscode from 'vscode';
import { DASHBOARD_VIEW_TYPE, DashboardPanel, type DashboardDeps, type DashboardState } from './DashboardPanel';

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

  /** Shows the runs in their existing panel, or in a new one beside the editor. */
  open(runIds: string[]): DashboardPanel {
    const existing = [...this.panels].find((p) => p.shows(runIds));
    if (existing) {
      existing.panel.reveal(undefined, true);
      return existing;
    }
    return this.track(DashboardPanel.create(runIds, this.title(runIds), this.deps));
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
    if (runIds.length === 1) return `Cirrus: ${this.deps.registry.get(runIds[0])?.view.name ?? runIds[0]}`;
    return `Cirrus: compare ${runIds.length} runs`;
  }

  dispose(): void {
    // Leave the panels open (VS Code restores them on its next start); drop only our listeners,
    // without forgetting which runs they show.
    this.shuttingDown = true;
    this.serializer.dispose();
    for (const p of [...this.panels]) p.dispose();
  }
}
