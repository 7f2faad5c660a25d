// The dashboard panel in a real browser: the bundled script under the real CSP, fed recorded runs the
// way the host feeds them. Needs `npm run build` first and Debian's chromium (/usr/bin/chromium).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it as test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { RunEvent } from '../../runtime/recording/events';
import type { ChartInfo } from '../../webview/dashboard/charts';
import { fmtCount, fmtNum, fmtSeconds, fmtUSD } from '../../runtime/util/format';
import { gbSecondsSaved } from '../../runtime/provisioning/right-size';
import { BUNDLE, CHROMIUM, countColor, launch, openPanel, paintedPixels, readFixture, ROOT, startServer, THEMES, type PanelPage } from './harness';

const skip = !fs.existsSync(CHROMIUM) ? `needs Debian chromium at ${CHROMIUM} (apt-get install -y chromium)` : false;
/** Each test skips on its own (not the suite as a whole), so `npm test` counts every one that did not run. */
const it = (name: string, fn: () => Promise<void>) => test(name, { skip }, fn);
const SCREENSHOTS = path.join(ROOT, 'test', 'e2e', 'screenshots');

const run1 = readFixture('recorded-run.jsonl');
const run2 = readFixture('recorded-run-2.jsonl');
const id1 = run1[0].runId;
const id2 = run2[0].runId;
const name1 = (run1[0] as Extract<RunEvent, { type: 'run-started' }>).name;
const name2 = (run2[0] as Extract<RunEvent, { type: 'run-started' }>).name;
const CHART_IDS = ['loss-time', 'loss-cost', 'throughput', 'workers', 'stages', 'cost'];

describe('dashboard panel in Chromium', () => {
  let browser: Browser;
  let server: { origin: string; close: () => Promise<void> };

  before(async () => {
    if (skip) return;
    assert.ok(fs.existsSync(BUNDLE), `missing ${BUNDLE}: run \`npm run build\` first`);
    server = await startServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function fedPanel(theme: 'dark' | 'light' = 'dark'): Promise<PanelPage> {
    const p = await openPanel(browser, server.origin, theme);
    await p.send({ type: 'reset', runs: [{ runId: id1, name: name1, status: 'completed' }] });
    await p.feed(id1, run1);
    return p;
  }

  const chartInfo = (p: PanelPage) => p.page.evaluate(() => (window as unknown as { __cirrusDashboard: { charts(): ChartInfo[] } }).__cirrusDashboard.charts());

  const stageTable = (p: PanelPage) =>
    p.page.$$eval('#stage-table tbody tr', (rows) => rows.map((r) => Array.from(r.querySelectorAll('th, td')).map((c) => (c.textContent ?? '').trim())));

  it('says ready, shows the empty state, and loads with no CSP violation or console error', async () => {
    const p = await openPanel(browser, server.origin);
    assert.deepEqual(await p.posted(), [{ type: 'ready' }]);
    assert.equal(await p.page.isVisible('#empty'), true);
    assert.match(await p.page.textContent('#empty') ?? '', /Waiting for the run's first events/);
    assert.equal(await p.page.isVisible('#charts'), false);
    // The stylesheet applied (so style-src let it through): the body takes the theme's background.
    assert.equal(await p.page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(31, 31, 31)');

    const csp = await p.page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.match(csp ?? '', /^default-src 'none'; img-src http:\/\/127\.0\.0\.1:\d+ data:; style-src http:\/\/127\.0\.0\.1:\d+; script-src 'nonce-[^']+'; font-src http:\/\/127\.0\.0\.1:\d+$/);

    // A listed run with no events yet: its header row, and still the empty state.
    await p.send({ type: 'reset', runs: [{ runId: id1, name: name1, status: 'running' }] });
    await p.settle();
    assert.equal(await p.page.locator('.run-row').count(), 1);
    assert.equal(await p.page.isVisible('#empty'), true);
    await p.feed(id1, run1);
    assert.equal(await p.page.isVisible('#empty'), false);
    assert.deepEqual(await p.cspViolations(), []);
    assert.deepEqual(p.errors, []);
    await p.page.close();
  });

  it('draws every chart with axis titles and an accessible label after a recorded run is replayed', async () => {
    const p = await fedPanel();
    for (const id of CHART_IDS) {
      const { painted, total } = await paintedPixels(p.page, id);
      assert.ok(total > 10_000, `${id}: canvas has a size (${total} px)`);
      assert.ok(painted > total * 0.01, `${id}: canvas is drawn (${painted} of ${total} px painted)`);
      const label = await p.page.getAttribute(`#chart-${id} canvas`, 'aria-label');
      assert.ok(label && label.length > 30, `${id}: aria-label`);
    }
    // The run's colour (charts-blue) is on the loss, throughput, workers and cost charts: lines and bars were drawn.
    for (const id of ['loss-time', 'loss-cost', 'throughput', 'workers', 'cost']) {
      assert.ok((await countColor(p.page, id, THEMES.dark.vars['--vscode-charts-blue'])) > 100, `${id}: series drawn in the run colour`);
    }
    const info = await chartInfo(p);
    const byId = Object.fromEntries(info.map((c) => [c.id, c]));
    assert.equal(byId['loss-time'].xTitle, 'Time (s)');
    assert.equal(byId['loss-time'].yTitle, 'Loss');
    assert.equal(byId['loss-cost'].xTitle, 'Cost ($)');
    assert.equal(byId['throughput'].yTitle, 'Samples/s');
    assert.equal(byId['throughput'].y2Title, 'PS updates/s');
    assert.equal(byId['workers'].yTitle, 'Workers');
    assert.equal(byId['stages'].yTitle, 'Memory (MB)');
    assert.equal(byId['cost'].yTitle, 'Cost ($)');
    for (const c of info) assert.ok(c.xTitle && c.yTitle, `${c.id}: both axes titled`);
    // Every eval is plotted (no decimation loss in the stored series).
    const evals = run1.filter((e) => e.type === 'eval').length;
    assert.ok(byId['loss-cost'].points === evals, `loss-cost has ${byId['loss-cost'].points} points, want ${evals}`);
    // The latest numbers, as text above the charts.
    const last = run1.filter((e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval').at(-1)!;
    const summary = await p.page.textContent('#summary');
    assert.match(summary ?? '', new RegExp(`test loss ${fmtNum(last.testLoss).replace('.', '\\.')}`));
    const row = p.page.locator(`.run-row[data-run-id="${id1}"]`);
    assert.match(await row.textContent() ?? '', /Completed/);
    assert.match(await row.textContent() ?? '', /Accuracy/);
    await p.page.close();
  });

  it('shows the per-stage table with the recorded numbers, and the cost components', async () => {
    const p = await fedPanel();
    const rows = await stageTable(p);
    const finished = run1.filter((e): e is Extract<RunEvent, { type: 'stage-finished' }> => e.type === 'stage-finished');
    assert.equal(rows.length, finished.length);
    finished.forEach((s, i) => {
      assert.deepEqual(rows[i], [name1, s.stage, fmtCount(s.workers), fmtCount(s.memoryMB), fmtCount(s.peakMemoryMB), fmtNum(s.gbSeconds), fmtNum(gbSecondsSaved(s.gbSeconds, s.memoryMB, s.peakMemoryMB)), fmtSeconds(s.seconds), fmtUSD(s.costUSD)]);
    });
    const cost = run1.filter((e): e is Extract<RunEvent, { type: 'cost' }> => e.type === 'cost').at(-1)!;
    const info = await chartInfo(p);
    const costChart = info.find((c) => c.id === 'cost')!;
    assert.equal(costChart.points, Object.keys(cost.byComponent).length);
    assert.match(await p.page.getAttribute('#chart-cost canvas', 'aria-label') ?? '', new RegExp(`total \\${fmtUSD(cost.totalUSD)}`));
    // Components too small to see as bars are listed as shares under the chart.
    assert.match(await p.page.textContent('#chart-cost .chart-note') ?? '', /Lambda compute \d+\.\d %.*S3 requests/);
    await p.page.close();
  });

  it('overlays a second run (legends list both) and a replay after ready/reset does not duplicate', async () => {
    const p = await fedPanel();
    const before = await stageTable(p);
    await p.send({ type: 'reset', runs: [{ runId: id1, name: name1, status: 'completed' }, { runId: id2, name: name2, status: 'stopped' }] });
    await p.feed(id1, run1);
    await p.feed(id2, run2);
    const legend = await p.page.$$eval('#chart-loss-cost .legend-item', (items) => items.map((i) => i.textContent?.trim()));
    assert.deepEqual(legend, [name1, name2]);
    assert.equal(await p.page.locator('.run-row').count(), 2);
    // The second run's colour (charts-red) is drawn.
    assert.ok((await countColor(p.page, 'loss-cost', THEMES.dark.vars['--vscode-charts-red'])) > 100);
    // The legend hides a run's line.
    const red = THEMES.dark.vars['--vscode-charts-red'];
    await p.page.locator('#chart-loss-cost .legend-item').nth(1).click();
    await p.settle();
    assert.equal(await p.page.locator('#chart-loss-cost .legend-item').nth(1).getAttribute('aria-pressed'), 'false');
    assert.ok((await countColor(p.page, 'loss-cost', red)) < 10, 'hidden run no longer drawn');
    await p.page.locator('#chart-loss-cost .legend-item').nth(1).click();
    await p.settle();
    assert.ok((await countColor(p.page, 'loss-cost', red)) > 100, 'shown again');
    const both = await stageTable(p);
    assert.equal(both.length, before.length + run2.filter((e) => e.type === 'stage-finished').length);

    // The host replays everything after the panel says ready again (e.g. it was hidden): same table.
    await p.send({ type: 'reset', runs: [{ runId: id1, name: name1, status: 'completed' }, { runId: id2, name: name2, status: 'stopped' }] });
    await p.feed(id1, run1, 1000);
    await p.feed(id2, run2, 1000);
    assert.deepEqual(await stageTable(p), both);
    const info = await chartInfo(p);
    assert.equal(info.find((c) => c.id === 'loss-cost')!.points, [...run1, ...run2].filter((e) => e.type === 'eval').length);
    assert.deepEqual(await p.cspViolations(), []);
    assert.deepEqual(p.errors, []);
    await p.page.close();
  });

  it('compares runs of different channels on one loss chart, against time and against dollars', async () => {
    // The two recorded runs, as an asynchronous parameter-server run and a PyWren-style run through S3.
    const withTraining = (events: RunEvent[], training: unknown) =>
      events.map((e) => (e.type === 'run-started' ? { ...e, config: { ...(e.config as object), training } } : e));
    const asyncRun = withTraining(run1, { sync: 'async-sgd' });
    const s3Run = withTraining(run2, { sync: 'sync-sgd', synchronous: { channel: 's3', scheme: 'pywren', aggregation: { rule: 'mean' } } });
    const p = await openPanel(browser, server.origin);
    await p.send({ type: 'reset', runs: [{ runId: id1, name: name1, status: 'completed' }, { runId: id2, name: name2, status: 'stopped' }] });
    await p.feed(id1, asyncRun);
    await p.feed(id2, s3Run);
    // The panel's summary names each run's channel and sync mode.
    const summary = (await p.page.textContent('#summary')) ?? '';
    assert.match(summary, new RegExp(`${name1}: completed, async-sgd through the parameter server,`));
    assert.match(summary, new RegExp(`${name2}: stopped, sync-sgd through S3 \\(pywren, mean\\),`));
    const evals = [...run1, ...run2].filter((e) => e.type === 'eval');
    const costs = evals.map((e) => (e as Extract<RunEvent, { type: 'eval' }>).costUSD);
    const [blue, red] = [THEMES.dark.vars['--vscode-charts-blue'], THEMES.dark.vars['--vscode-charts-red']];
    for (const [axis, title] of [['cost', 'Cost ($)'], ['time', 'Time (s)']] as const) {
      await p.page.selectOption('#loss-x', axis);
      await p.settle();
      const chart = (await chartInfo(p)).find((c) => c.id === 'loss-time')!;
      assert.equal(chart.xTitle, title);
      // Both runs' evaluations are on the one chart (test loss and best-so-far lines hold each eval).
      assert.ok(chart.points >= 2 * evals.length, `${axis}: ${chart.points} points for ${evals.length} evaluations`);
      assert.deepEqual(chart.legend.filter((l) => / test$/.test(l)), [`${name1} test`, `${name2} test`]);
      if (axis === 'cost') assert.ok(chart.xRange![1] >= Math.max(...costs) * 0.999, `the dollar axis reaches ${Math.max(...costs)}: ${chart.xRange}`);
      assert.ok((await countColor(p.page, 'loss-time', blue)) > 100, `${axis}: the async run is drawn`);
      assert.ok((await countColor(p.page, 'loss-time', red)) > 100, `${axis}: the S3 run is drawn`);
    }
    assert.deepEqual(await p.cspViolations(), []);
    assert.deepEqual(p.errors, []);
    await p.page.close();
  });

  it('applies live batches incrementally: the same state as one replay', async () => {
    const p = await openPanel(browser, server.origin);
    await p.send({ type: 'reset', runs: [{ runId: id1, name: name1, status: 'running' }] });
    const half = Math.floor(run1.length / 2);
    await p.feed(id1, run1.slice(0, half), 23);
    const mid = await stageTable(p);
    assert.ok(mid.some((r) => r[1].includes('(running)')), 'the stage in progress is shown as running');
    await p.feed(id1, run1.slice(half), 9);
    const live = await stageTable(p);
    const q = await fedPanel();
    assert.deepEqual(live, await stageTable(q));
    assert.deepEqual((await chartInfo(p)).map((c) => c.points), (await chartInfo(q)).map((c) => c.points));
    await p.page.close();
    await q.page.close();
  });

  it('decimates a long series: every point kept, a few thousand drawn, quickly', async () => {
    const p = await openPanel(browser, server.origin);
    const runId = 'long-run';
    const n = 60_000;
    const events: RunEvent[] = [];
    for (let i = 0; i < n; i++) {
      const t = i * 0.05;
      events.push({ runId, t, type: 'ps-stats', updates: i * 40, updatesPerSecond: 800 + 200 * Math.sin(i / 50) + (i % 97 === 0 ? 600 : 0), connections: 16 });
      events.push({ runId, t: t + 0.01, type: 'worker-heartbeat', worker: i % 16, generation: 0, samples: i, samplesPerSecond: 9000 + (i % 13) * 50, s3MBps: 9, memoryMB: 700, trainLoss: 0.5 + 0.2 * Math.exp(-t / 300) + ((i * 7919) % 100) / 2000 });
    }
    await p.send({ type: 'reset', runs: [{ runId, name: 'long', status: 'running' }] });
    const started = Date.now();
    await p.feed(runId, events, 5000);
    const ms = Date.now() - started;
    const info = (await chartInfo(p)).find((c) => c.id === 'throughput')!;
    assert.equal(info.points, 2 * n);
    assert.ok(info.drawn < info.points / 5, `decimated: ${info.drawn} of ${info.points} points drawn`);
    assert.ok((await countColor(p.page, 'throughput', THEMES.dark.vars['--vscode-charts-blue'])) > 100);
    assert.ok(ms < 20_000, `120k events applied and drawn in ${ms} ms`);
    assert.deepEqual(p.errors, []);
    await p.page.close();
  });

  it('recolours the charts when the theme changes', async () => {
    const p = await fedPanel('dark');
    const darkFg = THEMES.dark.vars['--vscode-charts-foreground'];
    const lightFg = THEMES.light.vars['--vscode-charts-foreground'];
    const darkBlue = THEMES.dark.vars['--vscode-charts-blue'];
    const lightBlue = THEMES.light.vars['--vscode-charts-blue'];
    const before = { fg: await countColor(p.page, 'loss-time', darkFg, 8), lightFg: await countColor(p.page, 'loss-time', lightFg, 8), blue: await countColor(p.page, 'loss-time', darkBlue, 6) };
    assert.ok(before.fg > 50, `dark axis titles drawn in the dark foreground (${before.fg})`);
    assert.ok(before.blue > 100);
    await p.setTheme('light');
    const afterFg = await countColor(p.page, 'loss-time', lightFg, 8);
    const afterDarkFg = await countColor(p.page, 'loss-time', darkFg, 8);
    const afterBlue = await countColor(p.page, 'loss-time', lightBlue, 6);
    const afterDarkBlue = await countColor(p.page, 'loss-time', darkBlue, 6);
    assert.ok(afterFg > 50 && afterFg > before.lightFg * 4, `light axis titles drawn in the light foreground (${before.lightFg} -> ${afterFg})`);
    assert.ok(afterDarkFg < before.fg / 4, `dark foreground gone (${before.fg} -> ${afterDarkFg})`);
    // Lines and point markers alike (Chart.js keeps shared point options unless fully updated).
    assert.ok(afterBlue > 100 && afterDarkBlue < before.blue / 20, `line colour follows charts-blue (${before.blue} -> ${afterDarkBlue} dark-blue px, ${afterBlue} light-blue px)`);
    assert.equal(await p.page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)');
    await p.page.close();
  });

  it('Stop posts stop-run for its run, only a running run can be stopped; Run folder posts reveal-run-folder', async () => {
    const p = await openPanel(browser, server.origin);
    await p.send({ type: 'reset', runs: [{ runId: id1, name: name1, status: 'completed' }, { runId: id2, name: name2, status: 'running' }] });
    await p.feed(id1, run1);
    await p.feed(id2, run2.filter((e) => e.type !== 'run-finished'));
    const stop1 = p.page.locator(`.run-row[data-run-id="${id1}"] vscode-button.stop`);
    const stop2 = p.page.locator(`.run-row[data-run-id="${id2}"] vscode-button.stop`);
    assert.equal(await stop1.getAttribute('disabled'), '');
    assert.equal(await stop2.getAttribute('disabled'), null);
    await stop1.click({ force: true });
    await stop2.click();
    assert.deepEqual((await p.posted()).filter((m) => m.type === 'stop-run'), [{ type: 'stop-run', runId: id2 }]);
    await p.page.locator(`.run-row[data-run-id="${id1}"] vscode-button.reveal`).click();
    assert.deepEqual((await p.posted()).filter((m) => m.type === 'reveal-run-folder'), [{ type: 'reveal-run-folder', runId: id1 }]);
    // The host then reports the status; the button disables.
    await p.send({ type: 'run-status', runId: id2, status: 'stopped' });
    await p.settle();
    assert.equal(await stop2.getAttribute('disabled'), '');
    assert.match(await p.page.locator(`.run-row[data-run-id="${id2}"] .status`).textContent() ?? '', /Stopped/);
    await p.page.close();
  });

  it('takes dark and light screenshots of two runs', async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    for (const theme of ['dark', 'light'] as const) {
      const p = await openPanel(browser, server.origin, theme);
      await p.send({ type: 'reset', runs: [{ runId: id1, name: name1, status: 'completed' }, { runId: id2, name: name2, status: 'running' }] });
      await p.feed(id1, run1);
      await p.feed(id2, run2.filter((e) => e.type !== 'run-finished'));
      const file = path.join(SCREENSHOTS, `dashboard-${theme}.png`);
      await p.page.screenshot({ path: file, fullPage: true });
      assert.ok(fs.statSync(file).size > 20_000);
      assert.deepEqual(p.errors, []);
      await p.page.close();
    }
  });
});
