// The what-if chart beside the estimate: a webview panel showing the simulator's time and dollars
// against workers, one line per memory size (runtime/provisioning/what-if.ts, webview/what-if).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { WhatIfData } from '../runtime/api';
import { renderWhatIfHtml } from '../webview/what-if/html';
import { webviewOptions } from './dashboard/DashboardPanel';

export function showWhatIf(extensionUri: vscode.Uri, data: WhatIfData): vscode.WebviewPanel {
  const panel = vscode.window.createWebviewPanel('cirrus.whatIf', `What if: ${data.title}`, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, webviewOptions(extensionUri));
  const { webview } = panel;
  const asset = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  webview.onDidReceiveMessage((m: { type?: string }) => {
    if (m?.type === 'ready') void webview.postMessage({ type: 'what-if', data });
  });
  webview.html = renderWhatIfHtml({
    cspSource: webview.cspSource,
    nonce: randomBytes(16).toString('base64'),
    scriptUri: asset('dist', 'webview', 'what-if.js'),
    styleUri: asset('media', 'dashboard.css'),
  });
  return panel;
}
