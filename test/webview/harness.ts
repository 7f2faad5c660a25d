// Browser harness for the panel tests: serves the real HTML shell (renderDashboardHtml, with its CSP),
// the bundled script and the stylesheet from 127.0.0.1, and opens it in Debian's Chromium with a
// stub acquireVsCodeApi that records what the panel posts.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RunEvent } from '../../runtime/recording/events';
import type { HostToPanel, PanelToHost } from '../../webview/protocol';
import { renderDashboardHtml } from '../../webview/dashboard/html';
import { renderRunsHtml } from '../../webview/runs/html';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
export const BUNDLE = path.join(ROOT, 'dist', 'webview', 'dashboard.js');

export function readFixture(name: string): RunEvent[] {
  return fs.readFileSync(path.join(ROOT, 'test', 'fixtures', name), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as RunEvent);
}

const FILES: Record<string, { file: string; type: string }> = {
  '/dist/webview/dashboard.js': { file: BUNDLE, type: 'text/javascript' },
  '/dist/webview/dashboard.js.map': { file: BUNDLE + '.map', type: 'application/json' },
  '/media/dashboard.css': { file: path.join(ROOT, 'media', 'dashboard.css'), type: 'text/css' },
  '/dist/webview/runs.js': { file: path.join(ROOT, 'dist', 'webview', 'runs.js'), type: 'text/javascript' },
  '/dist/webview/runs.js.map': { file: path.join(ROOT, 'dist', 'webview', 'runs.js.map'), type: 'application/json' },
  '/media/runs.css': { file: path.join(ROOT, 'media', 'runs.css'), type: 'text/css' },
  '/codicons/codicon.css': { file: path.join(ROOT, 'node_modules', '@vscode', 'codicons', 'dist', 'codicon.css'), type: 'text/css' },
  '/codicons/codicon.ttf': { file: path.join(ROOT, 'node_modules', '@vscode', 'codicons', 'dist', 'codicon.ttf'), type: 'font/ttf' },
};

export async function startServer(): Promise<{ origin: string; close: () => Promise<void> }> {
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end(); // a webview has none; keep the console clean
      return;
    }
    if (url.pathname === '/') {
      const html = renderDashboardHtml({
        cspSource: origin,
        nonce: 'test' + Math.random().toString(36).slice(2),
        scriptUri: `${origin}/dist/webview/dashboard.js`,
        styleUri: `${origin}/media/dashboard.css`,
        codiconsUri: `${origin}/codicons/codicon.css`,
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    if (url.pathname === '/runs') {
      const html = renderRunsHtml({
        cspSource: origin,
        nonce: 'test' + Math.random().toString(36).slice(2),
        scriptUri: `${origin}/dist/webview/runs.js`,
        styleUri: `${origin}/media/dashboard.css`,
        runsStyleUri: `${origin}/media/runs.css`,
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    const entry = FILES[url.pathname];
    if (!entry || !fs.existsSync(entry.file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': entry.type });
    fs.createReadStream(entry.file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Theme variables as VS Code sets them on <html style> (values from Dark Modern and Light Modern). */
export const THEMES = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      '--vscode-font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-editor-background': '#1f1f1f',
      '--vscode-editor-foreground': '#cccccc',
      '--vscode-foreground': '#cccccc',
      '--vscode-descriptionForeground': '#9d9d9d',
      '--vscode-panel-border': '#2b2b2b',
      '--vscode-sideBar-background': '#181818',
      '--vscode-focusBorder': '#0078d4',
      '--vscode-button-background': '#0078d4',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-secondaryBackground': '#313131',
      '--vscode-button-secondaryForeground': '#cccccc',
      '--vscode-errorForeground': '#f85149',
      '--vscode-charts-foreground': '#cccccc',
      '--vscode-charts-lines': '#cccccc80',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-charts-red': '#f14c4c',
      '--vscode-charts-green': '#89d185',
      '--vscode-charts-yellow': '#cca700',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-purple': '#b180d7',
    },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: {
      '--vscode-font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-editor-background': '#ffffff',
      '--vscode-editor-foreground': '#3b3b3b',
      '--vscode-foreground': '#3b3b3b',
      '--vscode-descriptionForeground': '#3b3b3b',
      '--vscode-panel-border': '#e5e5e5',
      '--vscode-sideBar-background': '#f8f8f8',
      '--vscode-focusBorder': '#005fb8',
      '--vscode-button-background': '#005fb8',
      '--vscode-button-foreground': '#ffffff',
      '--vscode-button-secondaryBackground': '#e5e5e5',
      '--vscode-button-secondaryForeground': '#3b3b3b',
      '--vscode-errorForeground': '#f85149',
      '--vscode-charts-foreground': '#616161',
      '--vscode-charts-lines': '#61616180',
      '--vscode-charts-blue': '#1a85ff',
      '--vscode-charts-red': '#e51400',
      '--vscode-charts-green': '#388a34',
      '--vscode-charts-yellow': '#bf8803',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-purple': '#652d90',
    },
  },
} as const;

export type ThemeName = keyof typeof THEMES;

/**
 * Installs the VS Code API stub and the CSP-violation recorder before any page script runs. A string,
 * not a function: tsx's transform would add helpers (__name) that do not exist in the page.
 */
const INIT = `
  window.__posted = [];
  window.__cspViolations = [];
  let acquired = false;
  window.acquireVsCodeApi = () => {
    // VS Code throws on a second call; so does the stub, to catch it.
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return { postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => undefined };
  };
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
`;

export interface PanelPage {
  page: Page;
  errors: string[];
  send(msg: HostToPanel): Promise<void>;
  /** Replays a run the way the host does: batches of events after a reset. */
  feed(runId: string, events: RunEvent[], batch?: number): Promise<void>;
  posted(): Promise<PanelToHost[]>;
  cspViolations(): Promise<string[]>;
  settle(): Promise<void>;
  setTheme(name: ThemeName): Promise<void>;
}

/** `pagePath`: '/' the dashboard, '/runs' the runs panel. */
export async function openPanel(browser: Browser, origin: string, theme: ThemeName = 'dark', pagePath = '/'): Promise<PanelPage> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    // Chromium's hint about repeated getImageData comes from the tests' own pixel readback.
    if (m.text().includes('willReadFrequently')) return;
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  await page.addInitScript({ content: INIT });
  await page.goto(origin + pagePath);
  const p: PanelPage = {
    page,
    errors,
    send: async (msg) => {
      // As a JSON string: Playwright's own serialisation of big argument objects is slow.
      await page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify(msg));
    },
    feed: async (runId, events, batch = 250) => {
      for (let i = 0; i < events.length; i += batch) await p.send({ type: 'events', runId, events: events.slice(i, i + batch) });
      await p.settle();
    },
    posted: () => page.evaluate(() => (window as unknown as { __posted: PanelToHost[] }).__posted.slice()),
    cspViolations: () => page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations.slice()),
    // Two animation frames: the panel redraws on the next one after a message.
    settle: () => page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))),
    setTheme: async (name) => {
      const t = THEMES[name];
      await page.evaluate(({ bodyClass, vars }) => {
        const html = document.documentElement;
        for (const [k, v] of Object.entries(vars)) html.style.setProperty(k, v);
        document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
        document.body.classList.add(bodyClass);
        document.body.setAttribute('data-vscode-theme-kind', bodyClass);
      }, { bodyClass: t.bodyClass, vars: t.vars as Record<string, string> });
      await p.settle();
      await p.settle();
    },
  };
  await p.setTheme(theme);
  return p;
}

/** Counts the canvas's pixels whose colour is near `hex` (alpha > 96; antialiased edges keep their RGB). */
export async function countColor(page: Page, chartId: string, hex: string, tolerance = 24): Promise<number> {
  return page.evaluate(({ chartId, hex, tolerance }) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#chart-${chartId} canvas`)!;
    const ctx = canvas.getContext('2d')!;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const n = parseInt(hex.slice(1), 16);
    const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 96 && Math.abs(data[i] - r) <= tolerance && Math.abs(data[i + 1] - g) <= tolerance && Math.abs(data[i + 2] - b) <= tolerance) count++;
    }
    return count;
  }, { chartId, hex, tolerance });
}

/** Counts the canvas's painted pixels (the canvas is transparent where nothing is drawn). */
export async function paintedPixels(page: Page, chartId: string): Promise<{ painted: number; total: number }> {
  return page.evaluate((chartId) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#chart-${chartId} canvas`)!;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    return { painted, total: data.length / 4 };
  }, chartId);
}
