// The dashboard panel's entry point (bundled to dist/webview/dashboard.js). It folds the host's
// messages into the model at once and redraws at most once per animation frame, so a replay of
// thousands of events and a live tail of a few go through the same path.
import type { HostToPanel } from '../protocol';
import { hostApi } from '../shared/vscode-api';
import { DashboardModel } from './model';
import { watchTheme } from './theme';
import { DashboardView } from './view';

const host = hostApi();
const model = new DashboardModel();
let frame = 0;

function scheduleRender(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    view.render();
  });
}

const view = new DashboardView(document.getElementById('app') ?? document.body, model, (msg) => host.postMessage(msg), scheduleRender);

function handle(msg: HostToPanel): void {
  switch (msg.type) {
    case 'reset':
      model.reset(msg.runs);
      break;
    case 'events':
      model.applyBatch(msg.runId, msg.events);
      break;
    case 'run-status':
      model.run(msg.runId).status = msg.status;
      break;
    case 'run-name':
      model.run(msg.runId).name = msg.name;
      break;
    default:
      return; // a message from a newer host: ignore rather than break
  }
  scheduleRender();
}

window.addEventListener('message', (ev: MessageEvent) => {
  const msg = ev.data as HostToPanel | undefined;
  if (msg && typeof msg === 'object' && typeof msg.type === 'string') handle(msg);
});

watchTheme(() => {
  view.themeChanged();
  scheduleRender();
});

// Read-only hook for the browser tests: what the canvases cannot tell through the DOM.
(window as unknown as { __cirrusDashboard: unknown }).__cirrusDashboard = { charts: () => view.chartInfo() };

view.render();
document.getElementById('app')?.setAttribute('aria-busy', 'false');
host.postMessage({ type: 'ready' });
