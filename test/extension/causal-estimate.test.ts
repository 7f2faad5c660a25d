// Run Causal Estimate from VS Code, with the real runtime on the local backend: it runs the
// *.doubleml.json in a cancellable progress notification, shows theta with its interval and opens the
// run folder's report (with the per-fold plot) in the Markdown preview; Cancel stops it; a bad config
// is shown with the field it is about.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake, Uri } from './fake-vscode';
import { activate } from './harness';
import * as runtime from '../../runtime/index';
import { makePlrCCDDHNR2018, writeCausalCsv } from '../../runtime/causal/synthetic';

after(() => runtime.shutdownEmbeddedServices());

test('Run Causal Estimate shows theta and the report; Cancel stops it; a bad config names its field', { timeout: 300_000 }, async () => {
  const ext = activate();
  try {
    writeCausalCsv(path.join(ext.workspace, 'effect.csv'), makePlrCCDDHNR2018({ n: 600, p: 5, seed: 2 }));
    const file = path.join(ext.workspace, 'effect.doubleml.json');
    fs.writeFileSync(file, JSON.stringify({ data: { path: 'effect.csv', outcome: 'y', treatment: 'd' }, model: 'plr', folds: 3, repetitions: 2, learners: { outcome: { type: 'ridge' }, treatment: { type: 'ridge' } } }, null, 2));
    fake.findFilesResult = [Uri.file(file)];

    const summary = (await commands.executeCommand('cirrus.runCausalEstimate')) as runtime.DoubleMLSummary;
    assert.equal(summary?.status, 'completed', JSON.stringify(fake.messages));
    const progress = fake.progress.find((p) => p.title === 'Cirrus: causal estimate effect')!;
    assert.ok(progress, 'ran in a progress notification');
    assert.ok(progress.reports.some((r) => /6 of 6 fold tasks done/.test(r.message ?? '')), JSON.stringify(progress.reports));
    const info = fake.messages.find((m) => m.kind === 'info')!;
    assert.match(info.message, /^doubleml-plr-effect: θ = [-\d.]+ \(SE [\d.e-]+, 95 % CI [-\d.]+ to [-\d.]+, p /);
    assert.ok(info.message.includes(`θ = ${Number(summary.estimate!.theta.toPrecision(5))}`), info.message);
    const preview = fake.executed.find((c) => c.command === 'markdown.showPreview')!;
    assert.ok(preview, 'the report opened in the Markdown preview');
    const report = (preview.args[0] as Uri).fsPath;
    assert.equal(path.dirname(report), summary.runFolder);
    assert.match(fs.readFileSync(report, 'utf8'), /!\[per-fold and per-repetition estimates\]\(folds\.svg\)/);
    assert.match(fs.readFileSync(path.join(summary.runFolder, 'folds.svg'), 'utf8'), /^<svg [^>]*>/);

    // Cancel from the notification: the estimate stops and says so.
    fake.messages.length = 0;
    const started = fake.progress.length;
    const cancelled = commands.executeCommand('cirrus.runCausalEstimate', Uri.file(file));
    while (fake.progress.length === started) await new Promise((r) => setTimeout(r, 20));
    fake.progress.at(-1)!.source.cancel();
    const stopped = (await cancelled) as runtime.DoubleMLSummary | undefined;
    assert.ok(fake.messages.some((m) => /Causal estimate cancelled/.test(m.message)), JSON.stringify(fake.messages));
    assert.equal(stopped?.status, 'stopped');
    assert.equal(JSON.parse(fs.readFileSync(path.join(stopped.runFolder, 'summary.json'), 'utf8')).status, 'stopped');

    // A config the schema refuses: the error names the field.
    fake.messages.length = 0;
    const bad = path.join(ext.workspace, 'bad.doubleml.json');
    fs.writeFileSync(bad, JSON.stringify({ data: { path: 'effect.csv', outcome: 'y', treatment: 'd' }, model: 'irm', folds: 1 }, null, 2));
    assert.equal(await commands.executeCommand('cirrus.runCausalEstimate', Uri.file(bad)), undefined);
    const error = fake.messages.find((m) => m.kind === 'error');
    assert.match(error?.message ?? '', /bad\.doubleml\.json is not a valid causal estimate configuration.*folds: must be >= 2/s, JSON.stringify(fake.messages));
  } finally {
    await ext.dispose();
  }
});
