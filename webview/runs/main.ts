// The runs panel's entry point (bundled to dist/webview/runs.js): the runs table, or one sweep's views.
import type { RunsHostToPanel, RunsPanelToHost } from '../protocol';
import { hostApi } from '../shared/vscode-api';
import { watchTheme } from '../dashboard/theme';
import { RunsView } from './view';

const host = hostApi<RunsPanelToHost>();
const app = document.getElementById('app') ?? document.body;
const view = new RunsView(app, (msg) => host.postMessage(msg));

window.addEventListener('message', (ev: MessageEvent) => {
  const msg = ev.data as RunsHostToPanel | undefined;
  if (!msg || typeof msg !== 'object') return;
  if (msg.type === 'runs') view.setRuns(msg.rows);
  else if (msg.type === 'sweep') {
    document.querySelector('h1')!.textContent = 'Sweep';
    view.setSweep(msg.sweep);
  }
});

watchTheme(() => view.themeChanged());

// Read-only hook for the browser tests.
(window as unknown as { __cirrusRuns: unknown }).__cirrusRuns = { info: () => view.info() };

app.setAttribute('aria-busy', 'false');
host.postMessage({ type: 'ready' });
