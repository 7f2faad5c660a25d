// The dashboard's HTML: its markup in the panels' shared shell (../shared/html-shell.ts, where the
// content security policy lives).
import { renderPanelHtml, type PanelHtmlOptions } from '../shared/html-shell';

export interface DashboardHtmlOptions extends PanelHtmlOptions {
  /** codicon.css, for the icon on the Stop button (optional: without it the button shows text only). */
  codiconsUri?: string;
}

export function renderDashboardHtml(o: DashboardHtmlOptions): string {
  return renderPanelHtml({
    ...o,
    title: 'Cirrus: Training dashboard',
    stylesheets: o.codiconsUri ? [{ href: o.codiconsUri, id: 'vscode-codicon-stylesheet' }] : [],
    body: `  <main id="app" aria-busy="true">
    <header class="top">
      <h1>Training runs</h1>
      <p id="summary" class="summary" role="status" aria-live="polite"></p>
    </header>
    <section id="runs" class="runs" aria-label="Runs"></section>
    <p id="empty" class="empty">Waiting for the run's first events...</p>
    <section id="charts" class="charts" aria-label="Charts" hidden></section>
  </main>`,
  });
}
