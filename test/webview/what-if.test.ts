// The what-if panel in Chromium: the real HTML shell (with its CSP) and bundle, fed the runtime's real
// simulator output, draws time and dollars against workers with one line per memory size.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it as test } from 'node:test';
import type { Browser } from 'playwright-core';
import { resolveRunConfig, type RunConfig } from '../../runtime/index';
import { whatIf, WHAT_IF_MEMORY, WHAT_IF_WORKERS } from '../../runtime/provisioning/what-if';
import { renderWhatIfHtml } from '../../webview/what-if/html';
import { CHROMIUM, launch, ROOT } from './harness';

const BUNDLE = path.join(ROOT, 'dist', 'webview', 'what-if.js');
const INIT = `
  window.__posted = [];
  window.__cspViolations = [];
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => undefined });
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
`;

const skip = !fs.existsSync(CHROMIUM) ? `${CHROMIUM} is absent` : !fs.existsSync(BUNDLE) ? `${BUNDLE} is absent: run \`npm run build\`` : false;

describe('what-if panel', { skip }, () => {
  let browser: Browser;
  let server: http.Server;
  let origin = '';
  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', origin);
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderWhatIfHtml({ cspSource: origin, nonce: 'n' + Math.random().toString(36).slice(2), scriptUri: `${origin}/what-if.js`, styleUri: `${origin}/dashboard.css` }));
      } else if (url.pathname === '/what-if.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(fs.readFileSync(BUNDLE));
      } else if (url.pathname === '/dashboard.css') {
        res.writeHead(200, { 'content-type': 'text/css' }).end(fs.readFileSync(path.join(ROOT, 'media', 'dashboard.css')));
      } else res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404).end(); // a webview has no favicon
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('draws seconds and dollars against workers, one line per memory size, from the simulator', async () => {
    const config: RunConfig = { name: 'whatif', dataset: { path: '/nonexistent', format: 'criteo', testFraction: 0.1 }, model: { type: 'logistic' }, optimizer: { type: 'adagrad', learningRate: 0.1 }, training: { workers: 2, minibatch: 100, epochs: 5 } };
    const data = whatIf(resolveRunConfig(config).config);
    assert.equal(data.series.length, WHAT_IF_MEMORY.length);
    assert.ok(data.series.every((s) => s.points.length === WHAT_IF_WORKERS.length));
    // A real property of the simulator: half a vCPU (885 MB and below) trains slower than one.
    const at = (mb: number, w: number) => data.series.find((s) => s.memoryMB === mb)!.points.find((p) => p.workers === w)!;
    assert.ok(at(512, 1).seconds > at(1769, 1).seconds);

    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.addInitScript({ content: INIT });
    await page.goto(origin + '/');
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'));
    await page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify({ type: 'what-if', data }));
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    assert.equal(await page.textContent('#title'), data.title);
    for (const id of ['what-if-seconds', 'what-if-usd']) {
      assert.equal(await page.getAttribute(`#${id}`, 'data-series'), String(WHAT_IF_MEMORY.length));
      const painted = await page.evaluate((id) => {
        const c = document.getElementById(id) as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 96) n++;
        return n;
      }, id);
      assert.ok(painted > 2000, `${id}: ${painted} painted pixels`);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), []);
    await page.close();
  });
});
