// The Runs tree and the status bar, built from a run's event stream (live) and from a run folder (finished).
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { fake, MarkdownString, type TreeItem } from './fake-vscode';
import { activate, sampleEvents, sampleSummary, ScriptedRun, sleep } from './harness';
import { RunsTreeProvider, type RunsNode } from '../../extension/runs/runs-tree';

function tree(host: ReturnType<typeof activate>['host']) {
  const provider = new RunsTreeProvider(host.registry, 0);
  const item = (n: RunsNode) => provider.getTreeItem(n) as unknown as TreeItem;
  return { provider, item };
}

test('a live run: run -> stages -> workers with status, loss and cost; the status bar follows it', async () => {
  const ext = activate();
  try {
    const run = new ScriptedRun(ext.stateDir, 'r1', 'ctr');
    ext.host.registry.addLive(run, 'ctr');
    for (const e of sampleEvents('r1')) run.emit(e);
    const { provider, item } = tree(ext.host);

    const [runNode] = provider.getChildren();
    const r = item(runNode);
    assert.equal(r.label, 'ctr');
    assert.equal(r.description, 'running · loss 0.5200 · $0.00120');
    assert.equal(r.contextValue, 'cirrusRun.running', 'live runs get the inline Stop action');
    assert.deepEqual(r.command, { command: 'cirrus.openDashboard', title: 'Open Dashboard', arguments: ['r1'] });
    assert.match((r.tooltip as MarkdownString).value, /Test accuracy: 77\.00 %/);

    const stages = provider.getChildren(runNode);
    assert.deepEqual(stages.map((s) => item(s).label), ['load', 'train']);
    assert.equal(item(stages[0]).description, 'finished · 1 × 512 MB · $0.00001');
    assert.equal(item(stages[1]).description, 'running · 2 × 1024 MB');

    const workers = provider.getChildren(stages[1]);
    assert.deepEqual(workers.map((w) => item(w).label), ['worker 0', 'worker 1']);
    assert.equal(item(workers[0]).description, 'running · gen 0 · loss 0.6000 · 1,000 samples');
    assert.equal(item(workers[1]).description, 'running · gen 1 · 0 samples', 'the next generation replaces the one that hit its time limit');

    const bar = fake.statusBarItems.find((s) => s.id === 'cirrus.run')!;
    assert.ok(bar.visible);
    assert.equal(bar.text, '$(pulse) ctr: loss 0.5200 · $0.00120');
    assert.deepEqual(bar.command, { command: 'cirrus.openDashboard', title: 'Open Dashboard', arguments: ['r1'] });

    run.emit({ t: 6, runId: 'r1', type: 'run-finished', status: 'completed', reason: 'max time', summary: sampleSummary('r1', run.runFolder) });
    run.end(sampleSummary('r1', run.runFolder));
    await sleep(10);
    const done = item(provider.getChildren()[0]);
    assert.equal(done.description, 'completed · loss 0.5000 · $0.00150');
    assert.equal(done.contextValue, 'cirrusRun.finished');
    assert.equal(bar.visible, false, 'no live run: the status bar item hides');
  } finally {
    await ext.dispose();
  }
});

test('a finished run is read back from its folder (summary first, workers from metrics.jsonl on expand)', async () => {
  const ext = activate();
  try {
    const run = new ScriptedRun(ext.stateDir, '20260101-000000-ctr-abcd', 'ctr');
    for (const e of sampleEvents(run.runId)) run.emit(e);
    run.end(sampleSummary(run.runId, run.runFolder));
    ext.host.registry.refresh(); // what Refresh Runs does
    const { provider, item } = tree(ext.host);
    const [runNode] = provider.getChildren();
    assert.equal(item(runNode).description, 'completed · loss 0.5000 · $0.00150');
    const stages = provider.getChildren(runNode);
    assert.equal(item(stages[1]).description, 'finished · 2 × 1024 MB · $0.00140');
    assert.match(String(item(stages[1]).tooltip), /peak memory used: 330 MB/);
    assert.equal(provider.getChildren(stages[1]).length, 2, 'two workers from metrics.jsonl');
  } finally {
    await ext.dispose();
  }
});

test('a run folder without a summary (its process died) shows as interrupted', async () => {
  const ext = activate();
  try {
    const run = new ScriptedRun(ext.stateDir, 'r-dead', 'dead');
    for (const e of sampleEvents(run.runId).slice(0, 5)) run.emit(e);
    ext.host.registry.refresh();
    const { provider, item } = tree(ext.host);
    const r = item(provider.getChildren()[0]);
    assert.match(r.description!, /^stopped/);
    assert.match((r.tooltip as MarkdownString).value, /interrupted/);
  } finally {
    await ext.dispose();
  }
});

test('Stop Run on a tree node stops that run; from the palette with one live run, stops it without asking', async () => {
  const ext = activate();
  try {
    const run = new ScriptedRun(ext.stateDir, 'r2', 'x');
    ext.host.registry.addLive(run, 'x');
    const { commands } = await import('./fake-vscode');
    await commands.executeCommand('cirrus.stopRun', { kind: 'run', runId: 'r2' });
    await commands.executeCommand('cirrus.stopRun');
    assert.equal(run.stopped.length, 2);
  } finally {
    await ext.dispose();
  }
});
