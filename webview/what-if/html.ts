// The what-if panel's HTML: its markup in the panels' shared shell.
import { renderPanelHtml, type PanelHtmlOptions } from '../shared/html-shell';

export function renderWhatIfHtml(o: PanelHtmlOptions): string {
  return renderPanelHtml({
    ...o,
    title: 'Cirrus: What if',
    body: `  <main id="app">
    <header class="top">
      <h1 id="title">What if</h1>
      <p id="basis" class="summary" role="status"></p>
    </header>
    <section class="charts" aria-label="Time and dollars against workers">
      <figure class="card"><figcaption><h2>Time (s) against workers</h2></figcaption><div class="chart-box"><canvas id="what-if-seconds" role="img" aria-label="Seconds against workers, one line per memory size"></canvas></div></figure>
      <figure class="card"><figcaption><h2>Dollars against workers</h2></figcaption><div class="chart-box"><canvas id="what-if-usd" role="img" aria-label="Dollars against workers, one line per memory size"></canvas></div></figure>
    </section>
  </main>`,
  });
}
