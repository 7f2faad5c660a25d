// The runs panel's HTML (the runs table, or a sweep): its markup in the panels' shared shell.
import { renderPanelHtml, type PanelHtmlOptions } from '../shared/html-shell';

/** `styleUri` is the dashboard's stylesheet (shared look); `runsStyleUri` the table's own. */
export function renderRunsHtml(o: PanelHtmlOptions & { runsStyleUri: string }): string {
  return renderPanelHtml({
    ...o,
    title: 'Cirrus: Runs',
    stylesheets: [{ href: o.runsStyleUri }],
    body: `  <main id="app" class="runs-panel" aria-busy="true">
    <header class="top">
      <h1>Runs</h1>
      <p id="summary" class="summary" role="status" aria-live="polite"></p>
    </header>
    <div id="body"><p class="empty">Reading the run folders...</p></div>
  </main>`,
  });
}
