// The runs panel's host: Open Runs Table sends the rows read from the run folders on `ready`; Rename
// and Tags ask in an input box and write meta.json through the runtime (a bad answer is refused with a
// message and nothing written); Compare opens the comparison dashboard; a sweep's row opens its view;
// the Runs tree lists a sweep's trials under the sweep.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { DistributiveOmit, RunEvent, RunSummary } from '../../runtime/recording/events';
import { RunFolder, runsDirectory } from '../../runtime/recording/run-folder';
import type { HostToPanel, RunsHostToPanel } from '../../webview/protocol';
import { commands, fake, type FakeWebviewPanel } from './fake-vscode';
import { activate, sleep } from './harness';

function writeRun(stateDir: string, runId: string, name: string, lr: number, loss: number): string {
  const dir = path.join(runsDirectory(stateDir), runId);
  const config = { name, optimizer: { type: 'adagrad', learningRate: lr } };
  const folder = new RunFolder(dir, config);
  const ev = (e: DistributiveOmit<RunEvent, 'runId'>) => folder.append({ ...e, runId } as RunEvent);
  ev({ t: 0, type: 'run-started', name, config, backend: 'local' });
  ev({ t: 2, type: 'eval', testLoss: loss, samples: 100, costUSD: 0.001 });
  const summary: RunSummary = { runId, name, status: 'completed', reason: 'epochs done', testLoss: loss, testAccuracy: null, seconds: 3, samples: 100, samplesPerSecond: 33, costUSD: 0.001, cost: {}, stages: [], runFolder: dir };
  folder.writeSummary(summary);
  folder.close();
  return dir;
}

const posted = (p: FakeWebviewPanel) => p.webview.posted as RunsHostToPanel[];

test('runs table: rows on ready, Rename and Tags write meta.json, Compare, a sweep opens its view; the tree groups trials', async () => {
  const ext = activate();
  try {
    const a = writeRun(ext.stateDir, '20261130-100001-a', 'ctr', 0.05, 0.5);
    writeRun(ext.stateDir, '20261130-100002-b', 'ctr', 0.5, 0.6);
    const sweepDir = path.join(runsDirectory(ext.stateDir), '20261130-100000-s-sweep');
    new RunFolder(sweepDir, { name: 's' }).close();
    fs.writeFileSync(path.join(sweepDir, 'sweep.json'), JSON.stringify({
      name: 's', config: { parameters: { 'optimizer.learningRate': [0.05, 0.5] } },
      trials: [
        { index: 0, name: 's-t1', params: { 'optimizer.learningRate': 0.05 }, runId: '20261130-100001-a', status: 'completed', reason: 'epochs done', testLoss: 0.5, gbSeconds: 1, costUSD: 0.001, seconds: 3 },
        { index: 1, name: 's-t2', params: { 'optimizer.learningRate': 0.5 }, runId: '20261130-100002-b', status: 'stopped-early', reason: 'median rule', testLoss: 0.6, gbSeconds: 1, costUSD: 0.001, seconds: 3 },
      ],
    }));
    ext.host.registry.refresh();

    // The Runs tree: the sweep at the top, its trials under it.
    const tree = fake.treeViews.get('cirrus.runs')!.treeDataProvider as { getChildren(n?: unknown): Array<{ runId: string }>; getTreeItem(n: unknown): { contextValue?: string; command?: { command: string } } };
    const top = tree.getChildren();
    assert.deepEqual(top.map((n) => n.runId), ['20261130-100000-s-sweep']);
    assert.equal(tree.getTreeItem(top[0]).contextValue, 'cirrusRun.sweep');
    assert.equal(tree.getTreeItem(top[0]).command?.command, 'cirrus.openSweep');
    assert.deepEqual(tree.getChildren(top[0]).map((n) => n.runId), ['20261130-100002-b', '20261130-100001-a']);

    await commands.executeCommand('cirrus.openRunsTable');
    const panel = fake.panels.find((p) => p.viewType === 'cirrus.runsTable')!;
    assert.ok(panel, 'a runs panel');
    assert.match(panel.webview.html, /script-src 'nonce-[^']+'/);
    assert.ok(panel.webview.html.includes('/dist/webview/runs.js') && panel.webview.html.includes('/media/runs.css'));
    assert.equal(posted(panel).length, 0, 'nothing before ready');
    panel.webview.received.fire({ type: 'ready' });
    const first = posted(panel)[0];
    assert.ok(first.type === 'runs');
    assert.deepEqual(first.rows.map((r) => [r.runId, r.kind, r.sweepId ?? null]), [
      ['20261130-100002-b', 'training', '20261130-100000-s-sweep'],
      ['20261130-100001-a', 'training', '20261130-100000-s-sweep'],
      ['20261130-100000-s-sweep', 'sweep', null],
    ]);

    // Rename: the input box's answer becomes meta.json's displayName and the panel gets the new rows.
    fake.answer = (kind) => (kind === 'inputBox' ? '  lr 0.05 baseline ' : undefined);
    panel.webview.received.fire({ type: 'rename', runId: '20261130-100001-a' });
    await sleep(20);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(a, 'meta.json'), 'utf8')), { displayName: 'lr 0.05 baseline', tags: [] });
    const renamed = posted(panel).at(-1)!;
    assert.ok(renamed.type === 'runs');
    assert.equal(renamed.rows.find((r) => r.runId === '20261130-100001-a')!.name, 'lr 0.05 baseline');
    fake.answer = (kind) => (kind === 'inputBox' ? 'baseline, criteo , ' : undefined);
    panel.webview.received.fire({ type: 'edit-tags', runId: '20261130-100001-a' });
    await sleep(20);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(a, 'meta.json'), 'utf8')).tags, ['baseline', 'criteo']);
    // A tag too long: refused with a message naming why; meta.json as it was.
    fake.answer = (kind) => (kind === 'inputBox' ? 'x'.repeat(50) : undefined);
    panel.webview.received.fire({ type: 'edit-tags', runId: '20261130-100001-a' });
    await sleep(20);
    assert.ok(fake.messages.some((m) => m.kind === 'error' && /could not tag lr 0\.05 baseline: tag .* longer than 40 characters/.test(m.message)), fake.messages.map((m) => m.message).join('\n'));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(a, 'meta.json'), 'utf8')).tags, ['baseline', 'criteo']);
    // Cancel: nothing written.
    fake.answer = () => undefined;
    panel.webview.received.fire({ type: 'rename', runId: '20261130-100001-a' });
    await sleep(20);
    assert.equal(JSON.parse(fs.readFileSync(path.join(a, 'meta.json'), 'utf8')).displayName, 'lr 0.05 baseline');

    // Compare: one comparison dashboard of both runs.
    panel.webview.received.fire({ type: 'compare', runIds: ['20261130-100001-a', '20261130-100002-b'] });
    const dash = fake.panels.filter((p) => p.viewType === 'cirrus.dashboard');
    assert.equal(dash.length, 1);
    assert.equal(dash[0].title, 'Cirrus: compare 2 runs');

    // The sweep's row: its own tab with its trials.
    panel.webview.received.fire({ type: 'open-sweep', sweepId: '20261130-100000-s-sweep' });
    const sweepPanel = fake.panels.filter((p) => p.viewType === 'cirrus.runsTable').at(-1)!;
    assert.notEqual(sweepPanel, panel);
    sweepPanel.webview.received.fire({ type: 'ready' });
    const sweepMsg = posted(sweepPanel)[0];
    assert.ok(sweepMsg.type === 'sweep');
    assert.deepEqual(sweepMsg.sweep.trials.map((t) => [t.name, t.status, t.reason]), [['s-t1', 'completed', 'epochs done'], ['s-t2', 'stopped-early', 'median rule']]);
    assert.equal(sweepMsg.sweep.bestIndex, 0);
    // Open Sweep again: the same tab.
    await commands.executeCommand('cirrus.openSweep', '20261130-100000-s-sweep');
    assert.equal(fake.panels.filter((p) => p.viewType === 'cirrus.runsTable').length, 2);
  } finally {
    await ext.dispose();
  }
});

test('a renamed run goes by its new name in the Runs tree, an open dashboard (tab title, cards and legends) and a comparison; clearing the name goes back', async () => {
  const ext = activate();
  try {
    const a = '20261130-110001-a';
    const b = '20261130-110002-b';
    writeRun(ext.stateDir, a, 'ctr', 0.05, 0.5);
    writeRun(ext.stateDir, b, 'ctr', 0.5, 0.6);
    ext.host.registry.refresh();
    const tree = fake.treeViews.get('cirrus.runs')!.treeDataProvider as { getChildren(n?: unknown): Array<{ runId: string }>; getTreeItem(n: unknown): { label?: string; tooltip?: { value: string } } };
    const itemOf = (runId: string) => tree.getTreeItem(tree.getChildren().find((n) => n.runId === runId)!);
    assert.equal(itemOf(a).label, 'ctr');

    await commands.executeCommand('cirrus.openDashboard', a);
    const dash = fake.panels.find((p) => p.viewType === 'cirrus.dashboard')!;
    assert.equal(dash.title, 'Cirrus: ctr');
    dash.webview.received.fire({ type: 'ready' });
    const dashPosted = () => dash.webview.posted as HostToPanel[];
    assert.deepEqual(dashPosted()[0], { type: 'reset', runs: [{ runId: a, name: 'ctr', status: 'completed' }] });

    await commands.executeCommand('cirrus.openRunsTable');
    const table = fake.panels.find((p) => p.viewType === 'cirrus.runsTable')!;
    table.webview.received.fire({ type: 'ready' });
    fake.answer = (kind) => (kind === 'inputBox' ? 'baseline' : undefined);
    table.webview.received.fire({ type: 'rename', runId: a });
    await sleep(20);

    assert.equal(itemOf(a).label, 'baseline');
    assert.match(itemOf(a).tooltip!.value, /^\*\*baseline\*\* \(ctr\) /, 'the tooltip keeps the run\'s own name');
    assert.equal(itemOf(b).label, 'ctr');
    assert.equal(dash.title, 'Cirrus: baseline');
    assert.deepEqual(dashPosted().at(-1), { type: 'run-name', runId: a, name: 'baseline' });
    // The comparison's reset names it too (its legends and cards take the names from there).
    await commands.executeCommand('cirrus.compareRuns', undefined, [a, b]);
    const compare = fake.panels.filter((p) => p.viewType === 'cirrus.dashboard').at(-1)!;
    assert.notEqual(compare, dash);
    compare.webview.received.fire({ type: 'ready' });
    const reset = (compare.webview.posted as HostToPanel[])[0];
    assert.ok(reset.type === 'reset');
    assert.deepEqual(reset.runs.map((r) => [r.runId, r.name]).sort(), [[a, 'baseline'], [b, 'ctr']]);

    // An empty name goes back to the run's own.
    fake.answer = (kind) => (kind === 'inputBox' ? '' : undefined);
    table.webview.received.fire({ type: 'rename', runId: a });
    await sleep(20);
    assert.equal(itemOf(a).label, 'ctr');
    assert.equal(dash.title, 'Cirrus: ctr');
    assert.deepEqual(dashPosted().at(-1), { type: 'run-name', runId: a, name: 'ctr' });

    // An unreadable meta.json: the run's own name, nothing thrown.
    fs.writeFileSync(path.join(runsDirectory(ext.stateDir), b, 'meta.json'), '{ broken');
    ext.host.registry.refresh();
    assert.equal(itemOf(b).label, 'ctr');
  } finally {
    await ext.dispose();
  }
});
