// Deploy Dataset to S3 (explorer context menu or palette): detect the format, ask the split and the
// destination, then deploy with a cancellable, throttled progress notification and a summary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { columnWarnings, detectDelimiter, formatColumnTable, splitCsvLine, type DatasetFormat, type DeployOutcome, type DeployProgress } from '../../runtime/api';
import { dataFilesIn, DATA_EXTENSIONS, detectFormat, firstLines, FORMAT_NAMES, siblingTestFile } from '../deploy/detect-format';
import { showError } from '../errors';
import { fmtBytes, fmtCount } from '../../runtime/api';
import type { CirrusHost } from '../host';
import { isCancellation, withCancellableProgress, type ProgressReporter } from '../progress';
import { readSettings } from '../settings';
import { newRunConfigForDataset } from './new-run-config';
import { startRun } from './start-run';

const FORMATS: Array<{ label: string; format: DatasetFormat; detail: string }> = [
  { label: 'Criteo TSV', format: 'criteo', detail: 'label, 13 integer and 26 categorical tab-separated fields' },
  { label: 'LIBSVM', format: 'libsvm', detail: 'label idx:val idx:val …' },
  { label: 'CSV with a header', format: 'csv', detail: 'comma-separated, first line names the columns' },
  { label: 'Ratings', format: 'ratings', detail: 'user, item, rating, timestamp (tab or :: separated, MovieLens)' },
];

export interface DeployChoices {
  format: DatasetFormat;
  testFraction?: number;
  testFile?: string;
  labelColumn?: string;
  destination?: string;
}

/** The file(s) to deploy: the explorer selection (files, or the data files of a folder), or a picked file. */
async function filesToDeploy(clicked?: vscode.Uri, selected?: vscode.Uri[]): Promise<string[]> {
  const uris = selected?.length ? selected : clicked ? [clicked] : [];
  if (uris.length === 0) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Deploy Dataset to S3',
      canSelectMany: false,
      filters: { 'Data files': DATA_EXTENSIONS.map((e) => e.slice(1)), 'All files': ['*'] },
    });
    return picked ? picked.map((u) => u.fsPath) : [];
  }
  const files: string[] = [];
  for (const uri of uris) {
    if (!fs.statSync(uri.fsPath).isDirectory()) {
      files.push(uri.fsPath);
      continue;
    }
    const inside = dataFilesIn(uri.fsPath);
    if (inside.length <= 1) files.push(...inside);
    else {
      const picks = await vscode.window.showQuickPick(
        inside.map((f) => ({ label: path.basename(f), description: fmtBytes(fs.statSync(f).size), picked: true, file: f })),
        { title: `Deploy data files from ${path.basename(uri.fsPath)}`, canPickMany: true },
      );
      files.push(...(picks ?? []).map((p) => p.file));
    }
  }
  if (files.length === 0 && uris.length > 0) void vscode.window.showWarningMessage(`No data files (${DATA_EXTENSIONS.join(' ')}) found to deploy.`);
  return files;
}

/** The detected format (shown in the next question, which offers to change it), or the user's pick. */
async function askFormat(file: string, detect = true): Promise<DatasetFormat | undefined> {
  const detected = detect ? detectFormat(file, firstLines(file)) : undefined;
  if (detected) return detected;
  const pick = await vscode.window.showQuickPick(FORMATS, { title: `Format of ${path.basename(file)}`, placeHolder: 'The format could not be detected from the first line' });
  return pick?.format;
}

/** Validation of the test-fraction input box; undefined when the value is acceptable. */
export function validateTestFraction(value: string): string | undefined {
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x)) return 'Enter a number, e.g. 0.1';
  if (x <= 0 || x >= 1) return 'The test fraction must be greater than 0 and less than 1';
  return undefined;
}

export function validateS3Url(value: string): string | undefined {
  return /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/\S*)?$/.test(value.trim()) ? undefined : 'Enter s3://bucket/prefix';
}

/** The test split, with the detected format in the title; `format` asks for another format instead. */
async function askSplit(file: string, format: DatasetFormat): Promise<Pick<DeployChoices, 'testFraction' | 'testFile'> | { format: 'ask' } | undefined> {
  const sibling = siblingTestFile(file);
  const items: Array<vscode.QuickPickItem & { id: 'sibling' | 'fraction' | 'file' | 'format' }> = [
    ...(sibling ? [{ label: `Use ${path.basename(sibling)} as the test set`, description: 'the test file beside it', id: 'sibling' as const }] : []),
    { label: 'Hold out the last fraction of rows as the test set', id: 'fraction' },
    { label: 'Use a separate test file…', id: 'file' },
    { label: `Not ${FORMAT_NAMES[format]}? Pick the format…`, id: 'format' },
  ];
  const how = await vscode.window.showQuickPick(items, { title: `Test split for ${path.basename(file)} (format: ${FORMAT_NAMES[format]})` });
  if (!how) return undefined;
  if (how.id === 'format') return { format: 'ask' };
  if (how.id === 'sibling') return { testFile: sibling };
  if (how.id === 'file') {
    const test = await vscode.window.showOpenDialog({ title: 'Pick the test file', defaultUri: vscode.Uri.file(path.dirname(file)), canSelectMany: false });
    return test?.[0] ? { testFile: test[0].fsPath } : undefined;
  }
  const value = await vscode.window.showInputBox({ title: 'Test fraction', prompt: 'Fraction of rows (taken from the end of the file) kept for testing', value: '0.1', validateInput: validateTestFraction });
  return value === undefined ? undefined : { testFraction: Number(value) };
}

async function askDestination(file: string): Promise<{ destination?: string } | undefined> {
  const { s3Bucket, backend } = readSettings();
  const name = path.basename(file).replace(/\.[^.]+$/, '');
  const items: Array<vscode.QuickPickItem & { destination?: string | null }> = [
    { label: 'Local (embedded S3 server)', description: backend === 'local' ? 'default' : '', destination: undefined },
  ];
  if (s3Bucket) items.push({ label: `s3://${s3Bucket}/datasets/${name}`, description: 'cirrus.s3.bucket', destination: `s3://${s3Bucket}/datasets/${name}` });
  items.push({ label: 'Another S3 location…', destination: null });
  const pick = await vscode.window.showQuickPick(items, { title: 'Deploy to' });
  if (!pick) return undefined;
  if (pick.destination !== null) return { destination: pick.destination };
  const url = await vscode.window.showInputBox({ title: 'S3 destination', value: `s3://${s3Bucket || 'my-bucket'}/datasets/${name}`, validateInput: validateS3Url });
  return url === undefined ? undefined : { destination: url.trim() };
}

async function askCsvLabel(file: string): Promise<string | undefined> {
  const first = firstLines(file, 1)[0]?.replace(/\r$/, '') ?? '';
  // The runtime's own header reading (`,` `;` tab or `|`), so the pick lists the columns it will see.
  const header = first ? splitCsvLine(first, detectDelimiter(first)) : [];
  const pick = await vscode.window.showQuickPick(header, { title: 'Label column', placeHolder: 'Which column holds the label?' });
  return pick;
}

export function progressMessage(p: DeployProgress): string {
  const rows = `${fmtCount(p.rows)} rows`;
  switch (p.phase) {
    case 'count':
      return `reading… ${rows}`;
    case 'convert':
      return `converting… ${rows}, ${fmtBytes(p.bytesRead)} of ${fmtBytes(p.totalBytes)}`;
    case 'upload':
      return `uploading… ${p.partitionsUploaded} partitions, ${rows}`;
    case 'manifest':
      return 'writing the manifest…';
  }
}

/** Reports the runtime's progress through the throttled reporter (bytes read are the bar's measure). */
export function reportDeployProgress(reporter: ProgressReporter, p: DeployProgress): void {
  const fraction = p.phase === 'manifest' ? 1 : p.totalBytes > 0 ? p.bytesRead / p.totalBytes : undefined;
  reporter.update(fraction, progressMessage(p));
}

export function summary(file: string, o: DeployOutcome): string {
  const c = o.manifest.counts;
  const parts = o.manifest.partitions.train.length + o.manifest.partitions.test.length;
  return (
    `Deployed ${path.basename(file)} (${FORMAT_NAMES[o.manifest.schema.format]}) to ${o.url}: ${fmtCount(c.rows)} rows (${fmtCount(c.trainRows)} train, ${fmtCount(c.testRows)} test), ` +
    `${fmtBytes(c.bytes)} in ${parts} partitions, ${fmtCount(c.skippedRows)} rows skipped, ${o.seconds.toFixed(1)} s.`
  );
}

export async function deployDataset(host: CirrusHost, clicked?: vscode.Uri, selected?: vscode.Uri[]): Promise<DeployOutcome[]> {
  const outcomes: DeployOutcome[] = [];
  for (const file of await filesToDeploy(clicked, selected)) {
    const outcome = await deployOne(host, file);
    if (!outcome) break; // cancelled or failed: do not go on with the next file
    outcomes.push(outcome);
  }
  return outcomes;
}

async function deployOne(host: CirrusHost, file: string): Promise<DeployOutcome | undefined> {
  let format = await askFormat(file);
  if (!format) return undefined;
  let split = await askSplit(file, format);
  if (split && 'format' in split) {
    format = await askFormat(file, false);
    split = format ? await askSplit(file, format) : undefined;
  }
  if (!format || !split || 'format' in split) return undefined;
  const labelColumn = format === 'csv' ? await askCsvLabel(file) : undefined;
  if (format === 'csv' && !labelColumn) return undefined;
  const dest = await askDestination(file);
  if (!dest) return undefined;
  const name = path.basename(file);
  try {
    const outcome = await withCancellableProgress(`Cirrus: deploying ${name}`, (signal, reporter) =>
      host.runtime.deployDataset(
        { file, format, labelColumn, ...split, ...dest, skipBad: true, signal, onProgress: (p) => reportDeployProgress(reporter, p) },
        host.runtimeContext(),
      ),
    );
    host.datasets.refresh();
    const text = summary(file, outcome);
    host.log.info(text);
    // CSV: the table of columns (role, distinct values, missing share, range), so the user sees what
    // the model will see before training; ids and other ignored columns are called out.
    const columns = outcome.manifest.columns ?? [];
    if (columns.length) host.log.info(`Columns of ${name}:\n${formatColumnTable(columns)}`);
    for (const warning of columnWarnings(columns)) host.log.warn(warning);
    const ignored = columns.filter((c) => c.role === 'id' || c.role === 'constant' || c.role === 'ignored' || (c.role === 'timestamp' && !c.expanded));
    const actions = ['Start a run on it', ...(columns.length ? ['Show Columns'] : []), ...(outcome.manifest.skipped.length ? ['Show Skipped Rows'] : [])];
    const columnNote = ignored.length ? ` Ignored columns: ${ignored.map((c) => `${c.name} (${c.role})`).join(', ')}.` : '';
    void vscode.window.showInformationMessage(text + columnNote, ...actions).then(async (choice) => {
      // A config with the defaults (written and opened, to tune later), then Start: pre-flight and the estimate to confirm.
      if (choice === 'Start a run on it') await startRun(host, await newRunConfigForDataset(host, outcome.url, outcome.manifest));
      else if (choice === 'Show Columns') host.log.show(true);
      else if (choice === 'Show Skipped Rows') {
        for (const line of outcome.manifest.skipped) host.log.warn(`skipped ${line}`);
        host.log.show(true);
      }
    });
    return outcome;
  } catch (err) {
    if (isCancellation(err)) {
      void vscode.window.showInformationMessage(`Deploy of ${name} cancelled: the upload was aborted and no manifest was written.`);
      return undefined;
    }
    await showError(host, `Deploy of ${name} failed`, err);
    return undefined;
  }
}
