// The dashboard's tracking views in a real browser: runs told apart by their parameters (and renamed), the best
// evaluation and a rising-loss warning, the loss chart's x axis / smoothing / log scale, PNG and CSV
// export, and the workers and cost charts keeping up with a live run. Needs `npm run build` first.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { RunEvent } from '../../runtime/recording/events';
import type { ChartInfo } from '../../webview/dashboard/charts';
import { ema } from '../../webview/dashboard/curves';
import { BUNDLE, CHROMIUM, launch, openPanel, ROOT, startServer, type PanelPage } from './harness';

const skip = !fs.existsSync(CHROMIUM) ? `needs Debian chromium at ${CHROMIUM} (apt-get install -y chromium)` : false;
const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');

/** A live run of `ctr` at learning rate `lr`: workers start at 2 s, evaluations every 5 s, no cost breakdown yet. */
function liveRun(runId: string, lr: number, losses: number[], until = 40, baselineLoss?: number): RunEvent[] {
  const events: RunEvent[] = [
    { runId, t: 0, type: 'run-started', name: 'ctr', backend: 'local', config: { name: 'ctr', model: { type: 'logistic' }, optimizer: { type: 'adagrad', learningRate: lr }, training: { workers: 2 } } },
    { runId, t: 1, type: 'stage-started', stage: 'train', workers: 2, memoryMB: 1024 },
    { runId, t: 2, type: 'worker-launched', worker: 0, generation: 0, reason: 'start' },
    { runId, t: 2.1, type: 'worker-launched', worker: 1, generation: 0, reason: 'start' },
  ];
  let e = 0;
  for (let t = 3; t <= until; t++) {
    events.push({ runId, t, type: 'worker-heartbeat', worker: t % 2, generation: 0, samples: t * 1000, samplesPerSecond: 1000, s3MBps: 1, memoryMB: 300, trainLoss: 0.6 });
    if (t % 5 === 0 && e < losses.length) {
      events.push({ runId, t, type: 'eval', testLoss: losses[e], trainLoss: losses[e] - 0.02, samples: t * 2000, costUSD: t * 0.0001, ...(baselineLoss !== undefined ? { baselineLoss } : {}) });
      e++;
    }
  }
  return events;
}

const FALLS_THEN_RISES = [0.7, 0.6, 0.55, 0.58, 0.62, 0.7];
const FALLS = [0.69, 0.62, 0.57, 0.54, 0.52, 0.51, 0.505];

describe('dashboard tracking views in Chromium', { skip }, () => {
  let browser: Browser;
  let server: { origin: string; close: () => Promise<void> };

  before(async () => {
    assert.ok(fs.existsSync(BUNDLE), `missing ${BUNDLE}: run \`npm run build\` first`);
    server = await startServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const chartInfo = async (p: PanelPage, id: string) =>
    (await p.page.evaluate(() => (window as unknown as { __cirrusDashboard: { charts(): ChartInfo[] } }).__cirrusDashboard.charts())).find((c) => c.id === id)!;

  async function twoRuns(theme: 'dark' | 'light' = 'dark'): Promise<PanelPage> {
    const p = await openPanel(browser, server.origin, theme);
    await p.send({ type: 'reset', runs: [{ runId: 'a', name: 'ctr', status: 'running' }, { runId: 'b', name: 'ctr', status: 'running' }] });
    await p.feed('a', liveRun('a', 0.05, FALLS));
    await p.feed('b', liveRun('b', 0.5, FALLS_THEN_RISES, 40, 0.6365));
    return p;
  }

  /** Clicks a chart's CSV button and returns the rows the panel posted for the host to save. */
  async function exportCsv(p: PanelPage, chartId: string): Promise<string[][]> {
    const before = (await p.posted()).length;
    await p.page.click(`#chart-${chartId} .export-csv`);
    const msg = (await p.posted()).slice(before).find((m) => m.type === 'save-export');
    assert.ok(msg && msg.type === 'save-export' && msg.format === 'csv' && msg.fileName === `${chartId}.csv`, 'a CSV export is posted');
    return msg.data.trim().split('\n').map((l) => l.split(','));
  }

  it('names same-named runs by the parameter that differs and shows only what differs in a table', async () => {
    const p = await twoRuns();
    const legend = await p.page.$$eval('#chart-loss-cost .legend-item', (items) => items.map((i) => i.textContent?.trim()));
    assert.deepEqual(legend, ['ctr (lr=0.05)', 'ctr (lr=0.5)']);
    assert.deepEqual(await p.page.$$eval('.run-row .run-name', (n) => n.map((x) => x.textContent)), ['ctr (lr=0.05)', 'ctr (lr=0.5)']);
    assert.equal(await p.page.isVisible('#params-diff'), true);
    const rows = await p.page.$$eval('#params-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('th, td')).map((c) => c.textContent)));
    assert.deepEqual(rows, [['lr (optimizer.learningRate)', '0.05', '0.5']], 'only the learning rate differs');
    // One run: nothing differs, no table, the plain name.
    const q = await openPanel(browser, server.origin);
    await q.send({ type: 'reset', runs: [{ runId: 'a', name: 'ctr', status: 'running' }] });
    await q.feed('a', liveRun('a', 0.05, FALLS));
    assert.equal(await q.page.isVisible('#params-diff'), false);
    assert.equal(await q.page.textContent('.run-row .run-name'), 'ctr');
    // Renamed in the runs table: the host sends the new name; the card and legends take it, and the
    // other run, alone with its name now, is no longer told apart by its parameters.
    await p.send({ type: 'run-name', runId: 'a', name: 'baseline' });
    await p.settle();
    assert.deepEqual(await p.page.$$eval('#chart-loss-cost .legend-item', (items) => items.map((i) => i.textContent?.trim())), ['baseline', 'ctr']);
    assert.deepEqual(await p.page.$$eval('.run-row .run-name', (n) => n.map((x) => x.textContent)), ['baseline', 'ctr']);
    assert.deepEqual(p.errors, []);
    assert.deepEqual(await p.cspViolations(), []);
    await p.page.close();
    await q.page.close();
  });

  it('marks the best evaluation, draws the best-so-far line, and warns when the test loss keeps rising', async () => {
    const p = await twoRuns();
    const rowA = p.page.locator('.run-row[data-run-id="a"]');
    const rowB = p.page.locator('.run-row[data-run-id="b"]');
    assert.equal(await rowA.locator('.badge.warning').isVisible(), false, 'a falling loss: no warning');
    assert.equal(await rowB.locator('.badge.warning').isVisible(), true);
    assert.equal(await rowB.locator('.badge.warning').textContent(), 'Test loss rising (3)');
    assert.match(await rowB.textContent() ?? '', /Best test loss0\.55 at 15(\.0)? s/);
    assert.match(await p.page.textContent('#summary') ?? '', /ctr \(lr=0\.5\): .*test loss has risen for 3 evaluations in a row/);
    const legend = await p.page.$$eval('#chart-loss-time .legend-item', (items) => items.map((i) => i.textContent?.trim()));
    assert.ok(legend.includes('ctr (lr=0.5) best so far') && legend.includes('ctr (lr=0.5) best evaluation'), legend.join(' | '));
    const csv = await exportCsv(p, 'loss-time');
    assert.deepEqual(csv[0], ['series', 'Time (s)', 'Loss']);
    const best = csv.filter((r) => r[0] === 'ctr (lr=0.5) best so far').map((r) => Number(r[2]));
    assert.deepEqual(best, [0.7, 0.6, 0.55, 0.55, 0.55, 0.55]);
    assert.deepEqual(csv.filter((r) => r[0] === 'ctr (lr=0.5) best evaluation').map((r) => [Number(r[1]), Number(r[2])]), [[15, 0.55]]);
    // The run reports its baseline (a constant prediction's loss): drawn across its evaluations.
    assert.ok(legend.includes('ctr (lr=0.5) baseline (constant prediction)') && !legend.includes('ctr (lr=0.05) baseline (constant prediction)'));
    assert.deepEqual(csv.filter((r) => r[0] === 'ctr (lr=0.5) baseline (constant prediction)').map((r) => [Number(r[1]), Number(r[2])]), [[5, 0.6365], [30, 0.6365]]);
    await p.page.close();
  });

  it('warns when the latest test loss is worse than the baseline', async () => {
    const p = await openPanel(browser, server.origin);
    await p.send({ type: 'reset', runs: [{ runId: 'w', name: 'ctr', status: 'running' }] });
    // Falls then jumps above the baseline once: not rising for 3, but worse than a constant prediction.
    await p.feed('w', liveRun('w', 1, [0.6, 0.5, 0.9], 40, 0.537));
    assert.equal(await p.page.textContent('.run-row .badge.warning'), 'Worse than baseline');
    assert.match(await p.page.textContent('#summary') ?? '', /test loss 0\.9 is worse than a constant prediction \(0\.537\)/);
    await p.page.close();
  });

  it('switches the loss chart to samples or dollars and to a log scale; smoothing is the EMA of the points', async () => {
    const p = await twoRuns();
    await p.page.selectOption('#loss-x', 'samples');
    await p.settle();
    assert.equal((await chartInfo(p, 'loss-time')).xTitle, 'Samples');
    const bySamples = await exportCsv(p, 'loss-time');
    assert.deepEqual(bySamples.filter((r) => r[0] === 'ctr (lr=0.05) test').map((r) => Number(r[1])), [10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000]);
    await p.page.selectOption('#loss-x', 'cost');
    await p.settle();
    assert.equal((await chartInfo(p, 'loss-time')).xTitle, 'Cost ($)');
    await p.page.check('#loss-log');
    await p.settle();
    assert.equal((await chartInfo(p, 'loss-time')).yTitle, 'Loss (log scale)');
    await p.page.uncheck('#loss-log');
    await p.page.selectOption('#loss-x', 'time');
    // Smoothing 0.6: the plotted test loss is the debiased EMA of the evaluations.
    await p.page.locator('#loss-smoothing').fill('0.6');
    await p.settle();
    assert.equal(await p.page.textContent('.loss-controls output'), '0.6');
    const smoothed = await exportCsv(p, 'loss-time');
    const got = smoothed.filter((r) => r[0] === 'ctr (lr=0.5) test').map((r) => Number(r[2]));
    const want = ema(FALLS_THEN_RISES.map((y, i) => ({ x: i, y })), 0.6).map((pt) => pt.y);
    assert.equal(got.length, want.length);
    got.forEach((y, i) => assert.ok(Math.abs(y - want[i]) < 1e-9, `point ${i}: ${y} vs ${want[i]}`));
    assert.notDeepEqual(got, FALLS_THEN_RISES);
    // The best-so-far line is never smoothed: it is what the run reached.
    assert.deepEqual(smoothed.filter((r) => r[0] === 'ctr (lr=0.5) best so far').map((r) => Number(r[2])), [0.7, 0.6, 0.55, 0.55, 0.55, 0.55]);
    assert.deepEqual(p.errors, []);
    await p.page.close();
  });

  it('exports a chart as a PNG painted on the theme background', async () => {
    const p = await twoRuns();
    await p.page.click('#chart-workers .export-png');
    const msg = (await p.posted()).find((m) => m.type === 'save-export');
    assert.ok(msg && msg.type === 'save-export' && msg.format === 'png' && msg.fileName === 'workers.png');
    const m = /^data:image\/png;base64,(.+)$/.exec(msg.data);
    assert.ok(m, 'a PNG data URL');
    const png = Buffer.from(m[1], 'base64');
    assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
    assert.ok(png.length > 2000, `${png.length} bytes`);
    await p.page.close();
  });

  it('keeps the workers and throughput charts on the run\'s own time axis and shows the cost so far while running', async () => {
    const p = await openPanel(browser, server.origin);
    await p.send({ type: 'reset', runs: [{ runId: 'a', name: 'ctr', status: 'running' }] });
    // Workers launched at 2 s and nothing changed since: the chart still reaches the run's 40 s.
    await p.feed('a', liveRun('a', 0.05, FALLS, 40));
    for (const id of ['workers', 'throughput', 'loss-time']) {
      const info = await chartInfo(p, id);
      assert.equal(info.xRange?.[1], 40, `${id} x axis ends at the run's time (${info.xRange})`);
    }
    const cost = await chartInfo(p, 'cost');
    assert.equal(cost.points, 1, 'one bar while running');
    assert.match(await p.page.textContent('#chart-cost .chart-note') ?? '', /ctr: \$0\.0035.* \(Spent so far \(split when the run ends\) 100\.0 %\)/);
    // The run goes on: the axis follows.
    await p.feed('a', [{ runId: 'a', t: 55, type: 'worker-heartbeat', worker: 0, generation: 0, samples: 1, samplesPerSecond: 1000, s3MBps: 1, memoryMB: 300 }]);
    assert.equal((await chartInfo(p, 'workers')).xRange?.[1], 55);
    // The breakdown arrives: it replaces the running total.
    await p.feed('a', [{ runId: 'a', t: 56, type: 'cost', totalUSD: 0.005, byComponent: { lambdaCompute: 0.004, s3Requests: 0.001 } }]);
    assert.equal((await chartInfo(p, 'cost')).points, 2);
    assert.doesNotMatch(await p.page.textContent('#chart-cost .chart-note') ?? '', /Spent so far/);
    await p.page.close();
  });

  it('hovers with units, shares a crosshair across the time charts, and zooms by dragging (double-click resets)', async () => {
    const p = await twoRuns();
    // Hover in the middle of the workers chart: its tooltip names time and workers; the crosshair is on every time chart at that x.
    await p.page.locator('#chart-workers canvas').hover();
    await p.settle();
    const workers = await chartInfo(p, 'workers');
    assert.ok(workers.crosshair !== null && workers.crosshair! > 5 && workers.crosshair! < 35, `crosshair at ${workers.crosshair}`);
    for (const id of ['loss-time', 'throughput']) assert.equal((await chartInfo(p, id)).crosshair, workers.crosshair, `${id} shares the crosshair`);
    assert.equal((await chartInfo(p, 'loss-cost')).crosshair, null, 'the dollars chart has another x axis');
    assert.match(workers.tooltip!.title.join(), /^Time: [\d.]+ s$/);
    assert.ok(workers.tooltip!.lines.some((l) => /^ctr \(lr=0\.05\): [0-9]+$/.test(l)), workers.tooltip!.lines.join(' | '));
    // The throughput chart's values carry their unit, the PS updates their own axis's.
    await p.page.locator('#chart-throughput canvas').hover();
    await p.settle();
    const lines = (await chartInfo(p, 'throughput')).tooltip!.lines;
    assert.ok(lines.some((l) => / samples\/s: [\d.]+k? Samples\/s$/.test(l)), lines.join(' | '));
    // Leaving the charts clears the crosshair everywhere.
    await p.page.locator('h1').hover();
    await p.settle();
    assert.equal((await chartInfo(p, 'workers')).crosshair, null);

    // Drag across the middle of the loss chart: its x axis shows that span only; the other charts do not zoom.
    await p.page.locator('#chart-loss-time canvas').scrollIntoViewIfNeeded();
    const loss = (await p.page.locator('#chart-loss-time canvas').boundingBox())!;
    const y = loss.y + loss.height * 0.5;
    await p.page.mouse.move(loss.x + loss.width * 0.4, y);
    await p.page.mouse.down();
    await p.page.mouse.move(loss.x + loss.width * 0.6, y, { steps: 4 });
    await p.page.mouse.up();
    await p.settle();
    let info = await chartInfo(p, 'loss-time');
    assert.ok(info.zoom && info.zoom[0] > 5 && info.zoom[1] < 35 && info.zoom[1] - info.zoom[0] > 2, `zoom ${info.zoom}`);
    assert.deepEqual(info.xRange, info.zoom);
    assert.equal(await p.page.isVisible('#chart-loss-time .reset-zoom'), true);
    assert.deepEqual((await chartInfo(p, 'workers')).xRange, [0, 40]);
    // New events keep the zoom; a double-click goes back to the whole run.
    await p.feed('a', [{ runId: 'a', t: 41, type: 'worker-heartbeat', worker: 0, generation: 0, samples: 1, samplesPerSecond: 1000, s3MBps: 1, memoryMB: 300 }]);
    assert.deepEqual((await chartInfo(p, 'loss-time')).xRange, info.zoom);
    await p.page.mouse.dblclick(loss.x + loss.width * 0.5, y);
    await p.settle();
    info = await chartInfo(p, 'loss-time');
    assert.equal(info.zoom, null);
    assert.deepEqual(info.xRange, [0, 41]);
    assert.equal(await p.page.isVisible('#chart-loss-time .reset-zoom'), false);
    assert.deepEqual(p.errors, []);
    await p.page.close();
  });

  it('takes dark and light screenshots of a comparison (docs/screenshots)', async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    for (const theme of ['dark', 'light'] as const) {
      const p = await twoRuns(theme);
      await p.page.locator('#loss-smoothing').fill('0.3');
      await p.settle();
      const file = path.join(SCREENSHOTS, `dashboard-compare-${theme}.png`);
      await p.page.screenshot({ path: file, fullPage: true });
      assert.ok(fs.statSync(file).size > 20_000);
      assert.deepEqual(p.errors, []);
      await p.page.close();
    }
  });
});
