// The dashboard host: CSP'd HTML with a fresh nonce, replay on every `ready` (reset, then events),
// live events batched, stop/reveal from the panel, Compare Runs, and restore after a restart.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostToPanel } from '../../webview/protocol';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commands, fake, FakeWebviewPanel, Uri } from './fake-vscode';
import { activate, ROOT, sampleEvents, sampleSummary, ScriptedRun, sleep } from './harness';

const posted = (p: FakeWebviewPanel) => p.webview.posted as HostToPanel[];
const ready = (p: FakeWebviewPanel) => p.webview.received.fire({ type: 'ready' });

test('open: HTML with CSP and nonce; `ready` replays reset then events; live events are batched', async () => {
  const ext = activate();
  try {
    const run = new ScriptedRun(ext.stateDir, 'live1', 'ctr');
    ext.host.registry.addLive(run, 'ctr');
    const events = sampleEvents('live1');
    for (const e of events.slice(0, 6)) run.emit(e);

    await commands.executeCommand('cirrus.openDashboard', 'live1');
    assert.equal(fake.panels.length, 1);
    const panel = fake.panels[0];
    const html = panel.webview.html;
    const nonce = /script-src 'nonce-([^']+)'/.exec(html)?.[1];
    assert.ok(nonce, 'CSP with a nonce');
    assert.ok(html.includes(`nonce="${nonce}"`), 'the script carries it');
    assert.ok(html.includes('https:///') && html.includes('/dist/webview/dashboard.js'), 'script served through asWebviewUri');
    const roots = (panel.webview.options as { localResourceRoots: Array<{ path: string }> }).localResourceRoots.map((u) => u.path);
    assert.deepEqual(roots, [`${ROOT}/dist/webview`, `${ROOT}/media`], 'only the bundled panel code and media');
    assert.equal(posted(panel).length, 0, 'nothing is sent before the panel says ready');

    ready(panel);
    const first = posted(panel);
    assert.deepEqual(first[0], { type: 'reset', runs: [{ runId: 'live1', name: 'ctr', status: 'running' }] });
    assert.deepEqual(first.slice(1), [{ type: 'events', runId: 'live1', events: events.slice(0, 6) }]);

    // Live: several events inside one interval arrive as one batch.
    for (const e of events.slice(6)) run.emit(e);
    assert.equal(posted(panel).length, 2, 'held until the flush');
    await sleep(350);
    assert.deepEqual(posted(panel)[2], { type: 'events', runId: 'live1', events: events.slice(6) });

    // A reload (or the panel coming back) says ready again: the whole series is sent again.
    ready(panel);
    const again = posted(panel).slice(3);
    assert.equal(again[0].type, 'reset');
    assert.deepEqual(again[1], { type: 'events', runId: 'live1', events });

    // The run ends: its status goes to the panel.
    run.end(sampleSummary('live1', run.runFolder));
    await sleep(10);
    assert.deepEqual(posted(panel).at(-1), { type: 'run-status', runId: 'live1', status: 'completed' });

    // Opening the same run again reveals the panel instead of making a second one.
    await commands.executeCommand('cirrus.openDashboard', 'live1');
    assert.equal(fake.panels.length, 1);
    assert.equal(panel.revealed, 1);
  } finally {
    await ext.dispose();
  }
});

test('render() makes a fresh nonce each time', async () => {
  const ext = activate();
  try {
    const run = new ScriptedRun(ext.stateDir, 'n1');
    ext.host.registry.addLive(run);
    const p = ext.host.dashboards.open(['n1']);
    const nonceOf = () => /nonce-([^']+)'/.exec(p.panel.webview.html)![1];
    const a = nonceOf();
    p.render();
    assert.notEqual(nonceOf(), a);
  } finally {
    await ext.dispose();
  }
});

test('the panel asks to stop a run and to reveal its folder', async () => {
  const ext = activate();
  try {
    const run = new ScriptedRun(ext.stateDir, 's1');
    ext.host.registry.addLive(run);
    const p = ext.host.dashboards.open(['s1']);
    const panel = p.panel as unknown as FakeWebviewPanel;
    panel.webview.received.fire({ type: 'stop-run', runId: 's1' });
    panel.webview.received.fire({ type: 'stop-run', runId: 'not-shown-here' });
    await sleep(5);
    assert.equal(run.stopped.length, 1, 'only runs the panel shows');
    panel.webview.received.fire({ type: 'reveal-run-folder', runId: 's1' });
    await sleep(5);
    const reveal = fake.executed.find((e) => e.command === 'revealInExplorer');
    assert.ok(reveal, 'the folder is inside the workspace: revealed in the explorer');
    assert.equal((reveal.args[0] as { fsPath: string }).fsPath, run.runFolder);
  } finally {
    await ext.dispose();
  }
});

test('a chart exported from the panel is saved where the user picks: PNG decoded, CSV as text; cancel saves nothing', async () => {
  const ext = activate();
  try {
    const run = new ScriptedRun(ext.stateDir, 'x1');
    ext.host.registry.addLive(run);
    const panel = ext.host.dashboards.open(['x1']).panel as unknown as FakeWebviewPanel;
    const target = path.join(ext.stateDir, 'loss.png');
    const asked: unknown[] = [];
    fake.answer = (kind, shown) => {
      asked.push(shown);
      return kind === 'saveDialog' ? Uri.file(target) : undefined;
    };
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    panel.webview.received.fire({ type: 'save-export', fileName: 'loss-time.png', format: 'png', data: `data:image/png;base64,${png.toString('base64')}` });
    await sleep(20);
    assert.deepEqual(fs.readFileSync(target), png);
    assert.deepEqual((asked[0] as { filters: unknown }).filters, { 'PNG image': ['png'] });
    const csvTarget = path.join(ext.stateDir, 'loss.csv');
    fake.answer = (kind) => (kind === 'saveDialog' ? Uri.file(csvTarget) : undefined);
    panel.webview.received.fire({ type: 'save-export', fileName: 'loss-time.csv', format: 'csv', data: 'series,x,y\na,1,2\n' });
    await sleep(20);
    assert.equal(fs.readFileSync(csvTarget, 'utf8'), 'series,x,y\na,1,2\n');
    // Not a PNG: an error, nothing written. Dismissed dialog: nothing written.
    fs.rmSync(target);
    fake.answer = (kind) => (kind === 'saveDialog' ? Uri.file(target) : undefined);
    panel.webview.received.fire({ type: 'save-export', fileName: 'x.png', format: 'png', data: 'not a data url' });
    await sleep(20);
    assert.equal(fs.existsSync(target), false);
    assert.match(fake.messages.at(-1)?.message ?? '', /could not be read from the panel; nothing was saved/);
    fake.answer = () => undefined;
    panel.webview.received.fire({ type: 'save-export', fileName: 'x.csv', format: 'csv', data: 'a' });
    await sleep(20);
    assert.equal(fs.existsSync(target), false);
  } finally {
    await ext.dispose();
  }
});

test('Compare Runs overlays the selected finished runs, replayed from their metrics.jsonl', async () => {
  const ext = activate();
  try {
    for (const id of ['a', 'b']) {
      const r = new ScriptedRun(ext.stateDir, id, `run-${id}`);
      for (const e of sampleEvents(id)) r.emit(e);
      r.end(sampleSummary(id, r.runFolder));
    }
    ext.host.registry.refresh();
    await commands.executeCommand('cirrus.compareRuns', { kind: 'run', runId: 'a' }, [{ kind: 'run', runId: 'a' }, { kind: 'run', runId: 'b' }]);
    const panel = fake.panels[0];
    assert.equal(panel.title, 'Cirrus: compare 2 runs');
    ready(panel);
    const msgs = posted(panel);
    assert.deepEqual(msgs[0], { type: 'reset', runs: [{ runId: 'a', name: 'ctr', status: 'completed' }, { runId: 'b', name: 'ctr', status: 'completed' }] });
    assert.deepEqual(msgs.slice(1).map((m) => m.type === 'events' && [m.runId, m.events.length]), [['a', 12], ['b', 12]]);
  } finally {
    await ext.dispose();
  }
});

test('one comparison tab is reused for the next comparison; a run opens in the dashboards\' column', async () => {
  const ext = activate();
  try {
    for (const id of ['a', 'b', 'c']) {
      const r = new ScriptedRun(ext.stateDir, id, `run-${id}`);
      for (const e of sampleEvents(id)) r.emit(e);
      r.end(sampleSummary(id, r.runFolder));
    }
    ext.host.registry.refresh();
    await commands.executeCommand('cirrus.compareRuns', { kind: 'run', runId: 'a' }, [{ kind: 'run', runId: 'a' }, { kind: 'run', runId: 'b' }]);
    const panel = fake.panels[0];
    assert.equal(panel.requestedColumn, -2, 'the first dashboard opens beside the editor');
    ready(panel);
    await commands.executeCommand('cirrus.compareRuns', { kind: 'run', runId: 'a' }, [{ kind: 'run', runId: 'a' }, { kind: 'run', runId: 'b' }, { kind: 'run', runId: 'c' }]);
    assert.equal(fake.panels.length, 1, 'no second tab for the second comparison');
    assert.equal(panel.title, 'Cirrus: compare 3 runs');
    const before = posted(panel).length;
    ready(panel); // the fresh HTML loads and says ready
    const reset = posted(panel)[before];
    assert.deepEqual(reset.type === 'reset' && reset.runs.map((r) => r.runId), ['a', 'b', 'c']);
    assert.deepEqual(ext.context.workspaceState.get('cirrus.openDashboards'), [['a', 'b', 'c']]);
    // A single run: its own tab, in the column the comparison is in (not one more editor group).
    await commands.executeCommand('cirrus.openDashboard', 'c');
    assert.equal(fake.panels.length, 2);
    assert.equal(fake.panels[1].requestedColumn, panel.viewColumn);
  } finally {
    await ext.dispose();
  }
});

test('after a restart the serializer brings the panel back with its runs (from workspace state)', async () => {
  const first = activate();
  const r = new ScriptedRun(first.stateDir, 'old', 'old');
  for (const e of sampleEvents('old')) r.emit(e);
  r.end(sampleSummary('old', r.runFolder));
  first.host.registry.refresh();
  first.host.dashboards.open(['old']);
  assert.deepEqual(first.context.workspaceState.get('cirrus.openDashboards'), [['old']]);
  await first.close(); // VS Code closes: the panel stays open in its layout

  const second = activate(undefined, { workspace: first.workspace, workspaceState: first.context.workspaceState });
  try {
    assert.deepEqual(second.context.workspaceState.get('cirrus.openDashboards'), [['old']], 'closing VS Code did not forget the panel');
    // VS Code hands back the panel it kept; the webview saved no state of its own.
    const restored = new FakeWebviewPanel('cirrus.dashboard', 'Cirrus: old');
    await fake.serializers.get('cirrus.dashboard')!.deserializeWebviewPanel(restored, undefined);
    assert.ok(restored.webview.html.includes('Content-Security-Policy'));
    ready(restored);
    const msgs = posted(restored);
    assert.deepEqual(msgs[0], { type: 'reset', runs: [{ runId: 'old', name: 'ctr', status: 'completed' }] });
    assert.deepEqual(msgs[1], { type: 'events', runId: 'old', events: sampleEvents('old') });
  } finally {
    await second.dispose();
  }
});
