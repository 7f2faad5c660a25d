// The what-if panel's HTML shell (pure, like the dashboard's: the host and the browser test both call it).
import { dashboardCsp } from '../dashboard/html';

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderWhatIfHtml(o: { cspSource: string; nonce: string; scriptUri: string; styleUri: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${attr(dashboardCsp(o.cspSource, o.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${attr(o.styleUri)}">
  <title>Cirrus: What if</title>
</head>
<body>
  <main id="app">
    <header class="top">
      <h1 id="title">What if</h1>
      <p id="basis" class="summary" role="status"></p>
    </header>
    <section class="charts" aria-label="Time and dollars against workers">
      <figure class="card"><figcaption><h2>Time (s) against workers</h2></figcaption><div class="chart-box"><canvas id="what-if-seconds" role="img" aria-label="Seconds against workers, one line per memory size"></canvas></div></figure>
      <figure class="card"><figcaption><h2>Dollars against workers</h2></figcaption><div class="chart-box"><canvas id="what-if-usd" role="img" aria-label="Dollars against workers, one line per memory size"></canvas></div></figure>
    </section>
  </main>
  <script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}
