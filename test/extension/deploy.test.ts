// Deploy Dataset to S3 through the command, with the REAL runtime and its embedded local S3:
// prompts (format detected, split, destination), progress, summary with "Start a run on it",
// and Cancel aborting the deploy with no manifest written.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake, Uri, type Answer } from './fake-vscode';
import { activate } from './harness';
import * as runtime from '../../runtime/index';
import type { CirrusRuntime } from '../../extension/runtime-port';

after(() => runtime.shutdownEmbeddedServices());

function libsvmFile(dir: string, rows: number): string {
  const file = path.join(dir, 'small.libsvm');
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(`${i % 3 === 0 ? 1 : -1} ${1 + (i % 7)}:1 ${10 + (i % 5)}:0.5 ${20 + (i % 11)}:1`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Answers: hold out a fraction, 0.2, local destination; the summary's button as given. */
function answers(button?: string): Answer {
  return (kind, shown) => {
    if (kind === 'quickPick') {
      const items = (shown as { items: Array<{ label: string }> }).items;
      return items.find((i) => /fraction|^Local/.test(i.label));
    }
    if (kind === 'inputBox') {
      const box = shown as { validateInput(v: string): unknown };
      assert.equal(typeof box.validateInput('1.5'), 'string', 'out-of-range fraction refused');
      assert.equal(box.validateInput('0.2'), undefined);
      return '0.2';
    }
    return kind === 'info' ? button : undefined;
  };
}

test('deploys a libsvm file: detected format, progress, summary, and "Start a run on it" writes a config', { timeout: 120_000 }, async () => {
  const ext = activate();
  try {
    const file = libsvmFile(ext.workspace, 500);
    fake.answer = answers('Start a run on it');
    const outcomes = (await commands.executeCommand('cirrus.deployDataset', Uri.file(file), [Uri.file(file)])) as Awaited<ReturnType<CirrusRuntime['deployDataset']>>[];
    assert.equal(outcomes.length, 1, fake.messages.map((m) => m.message).join('\n'));
    const { manifest, url } = outcomes[0];
    assert.equal(manifest.schema.format, 'libsvm', 'detected without asking');
    assert.equal(manifest.counts.rows, 500);
    assert.equal(manifest.counts.testRows, 100);
    const summary = fake.messages.find((m) => m.message.startsWith('Deployed small.libsvm'))!;
    assert.match(summary.message, /500 rows \(400 train, 100 test\).* 0 rows skipped/);
    assert.ok(summary.actions.includes('Start a run on it'));
    assert.ok(fake.progress[0].reports.length > 0, 'progress was reported');
    await new Promise((r) => setTimeout(r, 50)); // the summary's button handler
    const config = path.join(ext.workspace, 'small.cirrus.json');
    assert.ok(fs.existsSync(config), `run config written: ${fs.readdirSync(ext.workspace)}`);
    const written = JSON.parse(fs.readFileSync(config, 'utf8'));
    assert.equal(written.dataset.path, url);
    assert.equal(written.model.type, 'logistic');
    runtime.validateRunConfig(written); // the generated config is valid for the runtime
    assert.ok(fake.openedDocuments.some((d) => d.uri.fsPath === config), 'and opened');
    // ... and Start follows: the pre-flight passes (the dataset is deployed) and the estimate asks to confirm.
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(fake.messages.some((m) => m.options?.modal && m.message === 'Start training run "small"?'), fake.messages.map((m) => m.message).join('\n'));
    const listed = await runtime.listDatasets(ext.host.runtimeContext());
    assert.ok(listed.some((d) => d.url === url), 'the Datasets view will list it');
  } finally {
    await ext.dispose();
  }
});

test('deploys a CSV: the label picked from its columns, the column table in the log, ignored columns named', { timeout: 120_000 }, async () => {
  const ext = activate();
  try {
    const file = path.join(ext.workspace, 'visits.csv');
    const lines = ['visit_id;country;seconds;bought'];
    for (let i = 0; i < 200; i++) lines.push(`${5000 + i * 13};${['fr', 'it', 'de'][i % 3]};${(i * 7.3) % 50};${i % 4 === 0 ? 'yes' : 'no'}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const picked: string[][] = [];
    const base = answers();
    fake.answer = (kind, shown) => {
      const items = kind === 'quickPick' ? (shown as { items: unknown[] }).items : [];
      if (typeof items[0] === 'string') {
        picked.push(items as string[]);
        return 'bought';
      }
      if (kind === 'quickPick' && !items.some((i) => /fraction|^Local/.test((i as { label: string }).label))) return items.find((i) => /CSV/.test((i as { label: string }).label));
      return base(kind, shown);
    };
    const outcomes = (await commands.executeCommand('cirrus.deployDataset', Uri.file(file))) as Awaited<ReturnType<CirrusRuntime['deployDataset']>>[];
    assert.equal(outcomes.length, 1, fake.messages.map((m) => m.message).join('\n'));
    assert.deepEqual(picked, [['visit_id', 'country', 'seconds', 'bought']], 'the label pick lists the ;-separated columns');
    const table = fake.logLines.find((l) => l.message.startsWith('Columns of visits.csv'));
    assert.ok(table, fake.logLines.map((l) => l.message).join('\n'));
    assert.match(table.message, /\nvisit_id\s+id\s+/);
    assert.match(table.message, /\nseconds\s+numeric\s+.*standardize/);
    assert.ok(fake.logLines.some((l) => l.level === 'warn' && /visit_id.*looks like an id/.test(l.message)));
    const summary = fake.messages.find((m) => m.message.startsWith('Deployed visits.csv'))!;
    assert.match(summary.message, /Ignored columns: visit_id \(id\)/);
    assert.ok(summary.actions.includes('Show Columns'));
  } finally {
    await ext.dispose();
  }
});

test('Cancel during the deploy aborts it: no manifest, a "cancelled" message', { timeout: 120_000 }, async () => {
  // The real runtime, with a spy that presses Cancel at its first progress report.
  const spy: CirrusRuntime = {
    ...runtime,
    deployDataset: (request, ctx) =>
      runtime.deployDataset({ ...request, onProgress: (p) => (request.onProgress?.(p), fake.progress[0].source.cancel()) }, ctx),
  };
  const ext = activate(spy);
  try {
    const file = libsvmFile(ext.workspace, 20_000);
    fake.answer = answers();
    const outcomes = (await commands.executeCommand('cirrus.deployDataset', Uri.file(file))) as unknown[];
    assert.deepEqual(outcomes, []);
    assert.ok(fake.messages.some((m) => /cancelled.*no manifest/.test(m.message)), fake.messages.map((m) => m.message).join('\n'));
    assert.ok(!fake.messages.some((m) => m.kind === 'error'));
    const listed = await runtime.listDatasets(ext.host.runtimeContext());
    assert.ok(!listed.some((d) => d.url.includes('small')), 'no dataset was published');
  } finally {
    await ext.dispose();
  }
});

test('a file whose format cannot be detected asks for it', { timeout: 60_000 }, async () => {
  const ext = activate();
  try {
    const file = path.join(ext.workspace, 'odd.txt');
    fs.writeFileSync(file, 'hello world\n');
    const asked: string[] = [];
    fake.answer = (kind, shown) => {
      if (kind === 'quickPick') asked.push(String((shown as { options: { title: string } }).options.title));
      return undefined; // the user dismisses it
    };
    await commands.executeCommand('cirrus.deployDataset', Uri.file(file));
    assert.deepEqual(asked, ['Format of odd.txt']);
  } finally {
    await ext.dispose();
  }
});
