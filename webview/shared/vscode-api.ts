// The webview's handle on its host, typed with the shared protocol. VS Code allows one
// acquireVsCodeApi() call per page, so every panel script calls `hostApi()` and gets the same object.
import type { PanelToHost } from '../protocol';

interface VsCodeApi<M = PanelToHost> {
  postMessage(message: M): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

let api: VsCodeApi | undefined;

/** M: the messages this panel posts (the dashboard's by default; the runs panel's RunsPanelToHost). */
export function hostApi<M = PanelToHost>(): VsCodeApi<M> {
  api ??= acquireVsCodeApi();
  return api as unknown as VsCodeApi<M>;
}
