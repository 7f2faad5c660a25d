// The dashboard's HTML shell. Pure (no vscode import): the extension host calls it with its webview's
// values and the browser tests call it with theirs, so the content security policy lives here only.

export interface DashboardHtmlOptions {
  /** webview.cspSource: the origin local resources are served from. */
  cspSource: string;
  /** A fresh random value per render; only the script carrying it runs. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  /** codicon.css, for the icon on the Stop button (optional: without it the button shows text only). */
  codiconsUri?: string;
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function dashboardCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function renderDashboardHtml(o: DashboardHtmlOptions): string {
  const codicons = o.codiconsUri ? `\n  <link rel="stylesheet" id="vscode-codicon-stylesheet" href="${attr(o.codiconsUri)}">` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${attr(dashboardCsp(o.cspSource, o.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${attr(o.styleUri)}">${codicons}
  <title>Cirrus: Training dashboard</title>
</head>
<body>
  <main id="app" aria-busy="true">
    <header class="top">
      <h1>Training runs</h1>
      <p id="summary" class="summary" role="status" aria-live="polite"></p>
    </header>
    <section id="runs" class="runs" aria-label="Runs"></section>
    <p id="empty" class="empty">Waiting for the run's first events...</p>
    <section id="charts" class="charts" aria-label="Charts" hidden></section>
  </main>
  <script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}
