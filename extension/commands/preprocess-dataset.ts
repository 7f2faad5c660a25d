// Preprocess Dataset (Datasets tree item or palette): asks the normalisation and an optional re-split,
// then runs the runtime's preprocessDataset (a map phase on the workers that writes a new dataset
// version) in a cancellable progress notification, and refreshes the Datasets tree.
import * as vscode from 'vscode';
import type { DatasetManifest, PreprocessOutcome } from '../../runtime/api';
import { datasetName, type DatasetNode } from '../datasets/datasets-tree';
import { showError } from '../errors';
import { fmtCount, fmtUSD } from '../../runtime/api';
import type { CirrusHost } from '../host';
import { isCancellation, withCancellableProgress } from '../progress';
import { validateTestFraction } from './deploy-dataset';

type Normalize = 'standard' | 'minmax' | undefined;

function isDatasetNode(arg: unknown): arg is DatasetNode {
  return !!arg && typeof arg === 'object' && typeof (arg as DatasetNode).url === 'string' && typeof (arg as DatasetNode).manifest === 'object';
}

/** The dataset the command is about: the tree item it was invoked on, else a picked deployed one. */
async function pickDataset(host: CirrusHost, arg: unknown): Promise<DatasetNode | undefined> {
  if (isDatasetNode(arg)) return arg;
  // Preprocessing reads rows of samples: ratings datasets have nothing to normalise.
  const datasets = (await host.runtime.listDatasets(host.runtimeContext())).filter((d) => d.manifest.schema.kind === 'samples');
  if (datasets.length === 0) {
    void vscode.window.showInformationMessage('No deployed dataset to preprocess: deploy one first ("Cirrus: Deploy Dataset to S3").');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    datasets.map((d) => ({ label: datasetName(d.url), description: `${d.manifest.schema.format} · ${fmtCount(d.manifest.counts.rows)} rows`, detail: d.url, dataset: d })),
    { title: 'Preprocess Dataset', placeHolder: 'Pick a deployed dataset' },
  );
  return pick?.dataset;
}

async function askNormalize(name: string): Promise<{ normalize: Normalize } | undefined> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'Standard', detail: '(x − mean) / standard deviation, per feature', normalize: 'standard' as Normalize },
      { label: 'Min-max', detail: '(x − min) / (max − min), per feature, into [0, 1]', normalize: 'minmax' as Normalize },
      { label: 'None', detail: 'keep the values as they are', normalize: undefined as Normalize },
    ],
    { title: `Normalise ${name}` },
  );
  return pick && { normalize: pick.normalize };
}

async function askResplit(name: string): Promise<{ testFraction?: number } | undefined> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'Keep the current train/test split', resplit: false },
      { label: 'Re-split train and test…', detail: 'each row goes to the test set with the given probability', resplit: true },
    ],
    { title: `Test split of ${name}` },
  );
  if (!pick) return undefined;
  if (!pick.resplit) return {};
  const value = await vscode.window.showInputBox({ title: 'Test fraction', prompt: 'Fraction of rows for the test set of the new version', value: '0.1', validateInput: validateTestFraction });
  return value === undefined ? undefined : { testFraction: Number(value) };
}

export function preprocessSummary(source: string, o: PreprocessOutcome): string {
  const c = (o.manifest as DatasetManifest).counts;
  return `Preprocessed ${datasetName(source)} into ${o.url}: ${fmtCount(c.trainRows)} train and ${fmtCount(c.testRows)} test rows, ${o.seconds.toFixed(1)} s, ${fmtUSD(o.costUSD)}.`;
}

export async function preprocessDataset(host: CirrusHost, arg?: unknown): Promise<PreprocessOutcome | undefined> {
  const dataset = await pickDataset(host, arg);
  if (!dataset) return undefined;
  const name = datasetName(dataset.url);
  const normalize = await askNormalize(name);
  if (!normalize) return undefined;
  const split = await askResplit(name);
  if (!split) return undefined;
  if (!normalize.normalize && split.testFraction === undefined) {
    void vscode.window.showInformationMessage(`Nothing to do for ${name}: pick a normalisation or a re-split to write a new version.`);
    return undefined;
  }
  try {
    const outcome = await withCancellableProgress(`Cirrus: preprocessing ${name}`, (signal, reporter) =>
      host.runtime.preprocessDataset(
        {
          dataset: dataset.url,
          steps: { normalize: normalize.normalize, testFraction: split.testFraction },
          onEvent: (e) => e.type === 'progress' && reporter.update(e.fraction, e.message),
          signal,
        },
        host.runtimeContext(),
      ),
    );
    const text = preprocessSummary(dataset.url, outcome);
    host.log.info(`${text} (run folder ${outcome.runFolder})`);
    void vscode.window.showInformationMessage(text);
    return outcome;
  } catch (err) {
    if (isCancellation(err)) {
      void vscode.window.showInformationMessage(`Preprocessing of ${name} cancelled: no manifest was written, so no new version appears.`);
      return undefined;
    }
    await showError(host, `Preprocessing of ${name} failed`, err);
    return undefined;
  } finally {
    // The new version, and the preprocess run's folder (it is recorded like a run).
    host.datasets.refresh();
    host.registry.refresh();
  }
}
