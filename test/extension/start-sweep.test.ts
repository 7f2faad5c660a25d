// Start Hyperparameter Sweep through the command, with the real runtime on the local backend: the
// trials become live runs in the tree, the dashboard overlays them, Stop Run stops one trial (the
// sweep goes on), and the end offers the best configuration.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake, Uri, window, type Shown } from './fake-vscode';
import { activate } from './harness';
import * as runtime from '../../runtime/index';

after(() => runtime.shutdownEmbeddedServices());

test('a sweep of 3 trials from its file: live trials, overlaid dashboard, one stopped by hand, best config offered', { timeout: 180_000 }, async () => {
  const ext = activate();
  try {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`${i % 2 ? 1 : -1} ${i % 2 ? 1 : 2}:1 ${3 + (i % 5)}:1`);
    fs.writeFileSync(path.join(ext.workspace, 'tiny.libsvm'), lines.join('\n') + '\n');
    fs.writeFileSync(
      path.join(ext.workspace, 'tiny.cirrus.json'),
      JSON.stringify({
        dataset: { path: 'tiny.libsvm', format: 'libsvm', testFraction: 0.2 },
        model: { type: 'logistic' },
        optimizer: { type: 'adagrad', learningRate: 0.1 },
        // Many epochs: the time limit ends the trials, so the one stopped by hand is still running then.
        training: { workers: 1, minibatch: 20, epochs: 200, maxSeconds: 8, evalEverySeconds: 0.5 },
        lambda: { memoryMB: 256, timeoutSeconds: 10 },
      }),
    );
    const sweepFile = path.join(ext.workspace, 'lr.sweep.json');
    fs.writeFileSync(sweepFile, JSON.stringify({ name: 'lr', base: 'tiny.cirrus.json', parameters: { 'optimizer.learningRate': [0.05, 0.1, 0.2] }, parallel: 2, earlyStopping: { rule: 'none' } }));

    const ended = new Promise<Shown>((resolve) => {
      fake.answer = (kind, shown) => {
        const s = shown as Shown;
        if (s.options?.modal) return 'Start';
        if (/^Sweep "lr"/.test(s.message ?? '')) resolve(s);
        return undefined;
      };
    });
    const sweepId = (await commands.executeCommand('cirrus.startSweep', Uri.file(sweepFile))) as string;
    assert.ok(sweepId, JSON.stringify(fake.messages));
    const modal = fake.messages.find((m) => m.options?.modal)!;
    assert.match(modal.options!.detail!, /^3 trials \(grid over optimizer\.learningRate\)\n2 at a time/);

    // Both first trials run live; stop the first with the ordinary Stop Run command.
    while (ext.host.registry.liveRuns().length < 2) await new Promise((r) => setTimeout(r, 100));
    const live = ext.host.registry.liveRuns();
    assert.deepEqual(live.map((r) => r.view.name).sort(), ['lr-1', 'lr-2']);
    const panel = fake.panels.at(-1)!;
    assert.ok(panel, 'a dashboard opened');
    // The Runs tree shows the live sweep with its running trials under it, not beside it.
    const tree = fake.treeViews.get('cirrus.runs')!.treeDataProvider as { getChildren(n?: unknown): Array<{ runId: string }> };
    const top = tree.getChildren();
    assert.ok(top.some((n) => n.runId === sweepId), 'the sweep is listed');
    assert.ok(!top.some((n) => live.some((r) => r.runId === n.runId)), 'its trials are not at the top');
    assert.deepEqual(tree.getChildren({ kind: 'run', runId: sweepId }).map((n) => n.runId).sort(), live.map((r) => r.runId).sort());
    await new Promise((r) => setTimeout(r, 1500));
    const first = live.find((r) => r.view.name === 'lr-1')!;
    await commands.executeCommand('cirrus.stopRun', first.runId);

    const end = await ended;
    assert.match(end.message, /Sweep "lr" completed: best lr-[23]: loss /);
    assert.deepEqual(end.actions, ['Open Best Config', 'Compare Trials']);
    const record = JSON.parse(fs.readFileSync(path.join(ext.stateDir, 'runs', sweepId, 'sweep.json'), 'utf8'));
    assert.deepEqual(record.trials.map((t: { status: string }) => t.status), ['stopped', 'completed', 'completed']);
    assert.ok(fs.existsSync(path.join(ext.stateDir, 'runs', sweepId, 'best.cirrus.json')));
    // The last panel overlays every trial; the sweep's own record is a run in the tree.
    assert.equal(fake.panels.at(-1)!.title.length > 0, true);
    const trialIds = record.trials.map((t: { runId: string }) => t.runId);
    assert.ok(ext.host.dashboards.all().some((p) => trialIds.every((id: string) => p.runIds.includes(id))), 'a dashboard shows all three trials');
    assert.ok(ext.host.registry.get(sweepId), 'the sweep record is listed with the runs');
  } finally {
    await ext.dispose();
  }
});

test('no sweep file: a template from the open run config is written beside it, opened, and started from the offer', { timeout: 180_000 }, async () => {
  const ext = activate();
  try {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(`${i % 2 ? 1 : -1} ${i % 2 ? 1 : 2}:1 ${3 + (i % 5)}:1`);
    fs.writeFileSync(path.join(ext.workspace, 'tiny.libsvm'), lines.join('\n') + '\n');
    const configFile = path.join(ext.workspace, 'tiny.cirrus.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        name: 'tiny',
        dataset: { path: 'tiny.libsvm', format: 'libsvm', testFraction: 0.2 },
        optimizer: { type: 'adagrad', learningRate: 0.1 },
        training: { workers: 1, minibatch: 20, epochs: 2, maxSeconds: 6 },
        lambda: { memoryMB: 256, timeoutSeconds: 10 },
      }),
    );
    window.activeTextEditor = { document: { uri: Uri.file(configFile) } };
    fake.findFilesResult = []; // no *.sweep.json in the workspace

    // Dismissing the offer writes nothing.
    fake.answer = () => undefined;
    assert.equal(await commands.executeCommand('cirrus.startSweep'), undefined);
    assert.match(fake.messages[0].message, /No sweep configuration \(\*\.sweep\.json\) yet\. Write one that searches around the settings of tiny\.cirrus\.json \(learning rate, minibatch, L2\)\?/);
    assert.deepEqual(fake.messages[0].actions, ['Write Sweep Template']);
    assert.ok(!fs.readdirSync(ext.workspace).some((f) => f.endsWith('.sweep.json')));

    fake.messages.length = 0;
    const ended = new Promise<Shown>((resolve) => {
      fake.answer = (_kind, shown) => {
        const s = shown as Shown;
        if (s.actions?.includes('Write Sweep Template')) return 'Write Sweep Template';
        if (s.actions?.includes('Start Sweep')) return 'Start Sweep';
        if (/^Sweep "tiny-sweep"/.test(s.message ?? '')) resolve(s);
        return undefined;
      };
    });
    const sweepId = (await commands.executeCommand('cirrus.startSweep')) as string;
    assert.ok(sweepId, JSON.stringify(fake.messages));
    const sweepFile = path.join(ext.workspace, 'tiny.sweep.json');
    assert.ok(fake.openedDocuments.some((d) => d.uri.fsPath === sweepFile), 'the template is opened in an editor');
    const offer = fake.messages.find((m) => m.actions?.includes('Start Sweep'))!;
    assert.match(offer.message, /^Wrote tiny\.sweep\.json: 8 trials \(random over optimizer\.learningRate, training\.minibatch, optimizer\.l2\)\. Edit it, or start it now\.$/);
    assert.ok(!fake.messages.some((m) => m.options?.modal), 'Start Sweep on the offer is the confirmation');
    const template = JSON.parse(fs.readFileSync(sweepFile, 'utf8'));
    assert.equal(template.base, 'tiny.cirrus.json');
    assert.deepEqual(template.parameters['optimizer.learningRate'], { min: 0.02, max: 0.5, scale: 'log' });

    const end = await ended;
    assert.match(end.message, /^Sweep "tiny-sweep" (completed|stopped)/);
    const record = JSON.parse(fs.readFileSync(path.join(ext.stateDir, 'runs', sweepId, 'sweep.json'), 'utf8'));
    assert.equal(record.trials.length, 8);
    for (const t of record.trials) {
      const lr = t.params['optimizer.learningRate'];
      assert.ok(lr >= 0.02 && lr <= 0.5, `trial lr ${lr} inside the template's range`);
      assert.ok([10, 20, 40].includes(t.params['training.minibatch']));
      assert.notEqual(t.status, 'failed', JSON.stringify(t));
    }
  } finally {
    await ext.dispose();
  }
});

test('no sweep file and no run config: says so and offers New Run Configuration', async () => {
  const ext = activate();
  try {
    fake.findFilesResult = [];
    await commands.executeCommand('cirrus.startSweep');
    assert.deepEqual(
      fake.messages.map((m) => [m.message, m.actions]),
      [['No run configuration (*.cirrus.json) in this workspace.', ['New Run Configuration']]],
    );
  } finally {
    await ext.dispose();
  }
});
