// Run Causal Estimate: pick a `*.doubleml.json` (the one invoked on, the active editor's, or a picked
// one), run the double machine learning estimate in a cancellable progress notification (fold tasks
// done / total), then show the result: a message with theta, SE and the 95 % interval, and the run
// folder's report.md (tables and the per-fold plot, an SVG) in VS Code's Markdown preview.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DoubleMLSummary } from '../../runtime/api';
import { showError } from '../errors';
import { fmtUSD } from '../../runtime/api';
import type { CirrusHost } from '../host';
import { isCancellation, withCancellableProgress } from '../progress';

export const DOUBLEML_GLOB = '**/*.doubleml.json';
const isDoubleMLConfig = (uri: vscode.Uri | undefined): uri is vscode.Uri => !!uri && uri.path.endsWith('.doubleml.json');

async function pickConfig(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri && isDoubleMLConfig(arg)) return arg;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (isDoubleMLConfig(active)) return active;
  const found = await vscode.workspace.findFiles(DOUBLEML_GLOB, '**/node_modules/**', 200);
  if (found.length === 0) {
    void vscode.window.showInformationMessage('No causal estimate configuration (*.doubleml.json) in this workspace: see docs/doubleml.md for its fields.');
    return undefined;
  }
  if (found.length === 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri })),
    { title: 'Run Causal Estimate', placeHolder: 'Pick a double machine learning configuration' },
  );
  return picked?.uri;
}

const g = (x: number, digits = 4) => Number(x.toPrecision(digits)).toString();

export function causalEstimateMessage(s: DoubleMLSummary): string {
  const e = s.estimate!;
  return `${s.name}: θ = ${g(e.theta, 5)} (SE ${g(e.se)}, 95 % CI ${g(e.ci95[0])} to ${g(e.ci95[1])}, p ${g(e.pValue, 3)}); ${e.folds} folds × ${e.repetitions} repetitions in ${s.seconds.toFixed(1)} s, ${fmtUSD(s.costUSD)}.`;
}

export async function runCausalEstimate(host: CirrusHost, arg?: unknown): Promise<DoubleMLSummary | undefined> {
  const uri = await pickConfig(arg);
  if (!uri) return undefined;
  // Run what the editor shows: save first, the runtime reads the file.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open?.isDirty) await open.save();
  let config;
  try {
    config = host.runtime.loadDoubleMLConfig(uri.fsPath);
  } catch (err) {
    await showError(host, `${path.basename(uri.fsPath)} is not a valid causal estimate configuration`, err);
    return undefined;
  }
  try {
    const summary = await withCancellableProgress(`Cirrus: causal estimate ${path.basename(uri.fsPath, '.doubleml.json')}`, (signal, reporter) =>
      host.runtime.runDoubleML(config, host.runtimeContext(), {
        signal,
        onEvent: (e) => e.type === 'progress' && reporter.update(e.fraction, e.message),
      }),
    );
    host.log.info(`causal estimate ${summary.runId} ${summary.status}: ${summary.reason} (run folder ${summary.runFolder})`);
    if (summary.status === 'stopped') {
      void vscode.window.showInformationMessage('Causal estimate cancelled: the run folder records it as stopped.');
      return summary;
    }
    if (summary.status !== 'completed') {
      await showError(host, `Causal estimate ${summary.name} failed`, new Error(summary.reason));
      return summary;
    }
    void vscode.window.showInformationMessage(causalEstimateMessage(summary));
    if (summary.reportFile) await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(summary.reportFile));
    return summary;
  } catch (err) {
    if (isCancellation(err)) {
      void vscode.window.showInformationMessage('Causal estimate cancelled: the run folder records it as stopped.');
      return undefined;
    }
    await showError(host, 'The causal estimate failed', err);
    return undefined;
  } finally {
    host.registry.refresh();
  }
}
