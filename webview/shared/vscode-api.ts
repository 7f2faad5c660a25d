// The webview's handle on its host, typed with the shared protocol. VS Code allows one
// acquireVsCodeApi() call per page, so every panel script calls `hostApi()` and gets the same object.
import type { PanelToHost } from '../protocol';

interface VsCodeApi {
  postMessage(message: PanelToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

let api: VsCodeApi | undefined;

export function hostApi(): VsCodeApi {
  api ??= acquireVsCodeApi();
  return api;
}
