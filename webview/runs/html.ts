// The runs panel's HTML shell (same content security policy as the dashboard). Pure: the host and the
// browser tests both call it.
import { dashboardCsp, type DashboardHtmlOptions } from '../dashboard/html';

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `styleUri` is the dashboard's stylesheet (shared look); `runsStyleUri` the table's own. */
export function renderRunsHtml(o: DashboardHtmlOptions & { runsStyleUri: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${attr(dashboardCsp(o.cspSource, o.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${attr(o.styleUri)}">
  <link rel="stylesheet" href="${attr(o.runsStyleUri)}">
  <title>Cirrus: Runs</title>
</head>
<body>
  <main id="app" class="runs-panel" aria-busy="true">
    <header class="top">
      <h1>Runs</h1>
      <p id="summary" class="summary" role="status" aria-live="polite"></p>
    </header>
    <div id="body"><p class="empty">Reading the run folders...</p></div>
  </main>
  <script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}
