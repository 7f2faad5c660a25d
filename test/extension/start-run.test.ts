// Start Training Run through the command: config problems open the file at the field, the estimate
// is confirmed in a modal, and a real run (real runtime, local backend) feeds the tree, the status
// bar and the dashboard until it ends.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake, setConfig, Uri, type Shown } from './fake-vscode';
import { activate } from './harness';
import { describeEstimate, finishedMessage } from '../../extension/commands/start-run';
import * as runtime from '../../runtime/index';
import type { HostToPanel } from '../../webview/protocol';

after(() => runtime.shutdownEmbeddedServices());

function writeConfig(dir: string, name: string, config: unknown): string {
  const file = path.join(dir, `${name}.cirrus.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

function tinyData(dir: string): string {
  const file = path.join(dir, 'tiny.libsvm');
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const y = i % 2;
    lines.push(`${y ? 1 : -1} ${y ? 1 : 2}:1 ${3 + (i % 5)}:1`);
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const valid = {
  name: 'tiny',
  dataset: { path: 'tiny.libsvm', format: 'libsvm', testFraction: 0.2 },
  model: { type: 'logistic', hashBits: 10 },
  optimizer: { type: 'adagrad', learningRate: 0.1 },
  training: { workers: 1, minibatch: 50, maxSeconds: 6, evalEverySeconds: 1 },
  backend: 'local',
  lambda: { memoryMB: 256, timeoutSeconds: 10 },
};

test('a config problem is shown with "Open File", which opens the file at the field', async () => {
  const ext = activate();
  try {
    const file = writeConfig(ext.workspace, 'bad', { ...valid, training: { ...valid.training, workers: 0 } });
    fake.answer = (kind, shown) => (kind === 'error' ? 'Open File' : undefined);
    await commands.executeCommand('cirrus.startRun', Uri.file(file));
    const err = fake.messages.find((m) => m.kind === 'error')!;
    assert.match(err.message, /bad\.cirrus\.json is not a valid run configuration: training\.workers/);
    const opened = fake.openedDocuments.at(-1)!;
    assert.equal(opened.uri.fsPath, file);
    const line = fs.readFileSync(file, 'utf8').split('\n')[opened.selection!.start.line];
    assert.match(line, /"workers"/, 'the cursor is on the field');
    assert.ok(fake.logLines.some((l) => l.level === 'error' && l.message.includes('training.workers')));
  } finally {
    await ext.dispose();
  }
});

test('a bad value that came from a setting offers "Open Settings" at that setting', async () => {
  const ext = activate();
  try {
    const { lambda: _omit, ...noLambda } = valid;
    const file = writeConfig(ext.workspace, 'uses-settings', noLambda);
    setConfig('cirrus.worker.memoryMB', 1); // below Lambda's minimum
    fake.answer = (kind) => (kind === 'error' ? 'Open Settings' : undefined);
    await commands.executeCommand('cirrus.startRun', Uri.file(file));
    const err = fake.messages.find((m) => m.kind === 'error');
    assert.ok(err?.actions.includes('Open Settings'), JSON.stringify(fake.messages));
    assert.deepEqual(fake.executed.find((e) => e.command === 'workbench.action.openSettings')?.args, ['cirrus.worker.memoryMB']);
  } finally {
    await ext.dispose();
  }
});

test('JSON syntax errors open the file where parsing stopped', async () => {
  const ext = activate();
  try {
    const file = path.join(ext.workspace, 'broken.cirrus.json');
    fs.writeFileSync(file, '{\n  "name": "x",\n  oops\n}');
    fake.answer = (kind) => (kind === 'error' ? 'Open File' : undefined);
    await commands.executeCommand('cirrus.startRun', Uri.file(file));
    assert.match(fake.messages[0].message, /not valid JSON/);
    assert.equal(fake.openedDocuments.at(-1)!.selection!.start.line, 2);
  } finally {
    await ext.dispose();
  }
});

test('the estimate is shown in a modal; dismissing it starts nothing', async () => {
  const ext = activate();
  try {
    tinyData(ext.workspace);
    const file = writeConfig(ext.workspace, 'tiny', valid);
    fake.findFilesResult = [Uri.file(file)]; // from the palette: the only config is picked
    await commands.executeCommand('cirrus.startRun');
    const modal = fake.messages.find((m) => m.options?.modal)!;
    assert.equal(modal.message, 'Start training run "tiny"?');
    assert.match(modal.options!.detail!, /1 workers × 256 MB on local\nexpected time: about .*\nexpected cost: about \$/);
    assert.deepEqual(modal.actions, ['Start']);
    assert.equal(ext.host.registry.list().length, 0);
  } finally {
    await ext.dispose();
  }
});

test('the estimate names cost components in words and never shows $0.00000; a failed run\'s toast says why', () => {
  const detail = describeEstimate({ backend: 'local' } as never, {
    workers: 2, memoryMB: 512, backend: 'local', expectedSeconds: 60, expectedUSD: 0.0021,
    breakdown: { lambdaCompute: 0.002, lambdaRequests: 0.0000004, s3Requests: 0.0001, parameterServer: 0 },
  } as never);
  assert.match(detail, /on local\n.*\nexpected cost: about \$0\.00210; Lambda compute \$0\.00200, Lambda requests under \$0\.00001, S3 requests \$0\.00010/);
  assert.doesNotMatch(detail, /lambdaCompute|\$0\.00000/);
  const base = { runId: 'r', name: 'ctr', seconds: 6, samples: 0, samplesPerSecond: 0, costUSD: 0.0001, cost: {}, stages: [], runFolder: '/x', testAccuracy: null };
  assert.equal(finishedMessage({ ...base, status: 'failed', reason: 'NON_FINITE: gradient -Infinity', testLoss: 1.984 }), 'Run "ctr" failed after 6.0 s: NON_FINITE: gradient -Infinity.');
  assert.equal(finishedMessage({ ...base, status: 'stopped', reason: 'stopped by the user', testLoss: null }), 'Run "ctr" stopped: $0.00010, 6.0 s (stopped by the user).');
  assert.match(finishedMessage({ ...base, status: 'completed', reason: '', testLoss: 0.4512 }), /^Run "ctr" completed: test loss 0\.4512, \$0\.00010, 6\.0 s\.$/);
});

test('a real local run: tree, status bar and dashboard follow it; Stop from the panel stops it', { timeout: 180_000 }, async () => {
  const ext = activate();
  try {
    tinyData(ext.workspace);
    const file = writeConfig(ext.workspace, 'tiny', valid);
    const finished = new Promise<Shown>((resolve) => {
      fake.answer = (kind, shown) => {
        const s = shown as Shown;
        if (s.options?.modal) return 'Start';
        if (/^Run "tiny"/.test(s.message ?? '')) resolve(s);
        return undefined;
      };
    });
    const runId = (await commands.executeCommand('cirrus.startRun', Uri.file(file))) as string;
    assert.ok(runId, JSON.stringify(fake.messages));
    assert.equal(ext.host.registry.liveRuns()[0]?.runId, runId);
    const panel = fake.panels[0];
    assert.ok(panel, 'the dashboard opened beside');
    panel.webview.received.fire({ type: 'ready' });
    // Let it train a little, then stop it from the panel.
    await new Promise((r) => setTimeout(r, 2500));
    const bar = fake.statusBarItems.find((s) => s.id === 'cirrus.run')!;
    assert.ok(bar.visible && bar.text.includes('tiny: loss'), bar.text);
    panel.webview.received.fire({ type: 'stop-run', runId });
    const end = await finished;
    assert.match(end.message, /Run "tiny" (stopped|completed)/);
    await new Promise((r) => setTimeout(r, 20)); // the registry moves it to the finished list
    const posted = panel.webview.posted as HostToPanel[];
    assert.equal(posted[0].type, 'reset');
    const sent = posted.flatMap((m) => (m.type === 'events' ? m.events : []));
    assert.ok(sent.some((e) => e.type === 'run-started'), 'replay or live carried run-started');
    assert.ok(sent.some((e) => e.type === 'run-finished'));
    assert.ok(posted.some((m) => m.type === 'run-status'));
    const entry = ext.host.registry.get(runId)!;
    assert.equal(entry.live, false);
    assert.ok(fs.existsSync(path.join(entry.runFolder, 'metrics.jsonl')));
    assert.equal(bar.visible, false);
  } finally {
    await ext.dispose();
  }
});
