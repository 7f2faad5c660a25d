// Driver restart from VS Code: real `cirrus train` processes (the built CLI bundle) are SIGKILLed
// mid-run, then the extension is activated against their state directory, as when VS Code is reopened.
// - one notification lists every interrupted run (not one per run);
// - "Resume" (notification) and "Resume Run" (Runs tree) continue a run from its last checkpoint, live
//   in the tree, the status bar and the dashboard, to a completed summary;
// - "Mark Stopped" closes one with a stopped summary; nothing is offered once none is left;
// - nothing the killed CLI started keeps running.
// Needs dist/ (`npm run build`).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake, type Shown } from './fake-vscode';
import { activate, ROOT, sleep, tempDir } from './harness';
import * as runtime from '../../runtime/index';
import type { RunEvent, RunSummary } from '../../runtime/api';
import type { RunsTreeProvider } from '../../extension/runs/runs-tree';
import type { HostToPanel } from '../../webview/protocol';

const CLI = path.join(ROOT, 'bin', 'cirrus.js');
const workspace = tempDir('cirrus-resume-');
const stateDir = path.join(workspace, '.cirrus');
after(async () => {
  await runtime.shutdownEmbeddedServices();
  fs.rmSync(workspace, { recursive: true, force: true });
});

function writeData(): void {
  const lines: string[] = [];
  for (let i = 0; i < 4000; i++) lines.push(`${i % 2 ? 1 : -1} ${i % 2 ? 1 : 2}:1 ${3 + (i % 7)}:1`);
  fs.writeFileSync(path.join(workspace, 'tiny.libsvm'), lines.join('\n') + '\n');
}

function writeConfig(name: string, checkpointEverySeconds: number): string {
  const file = path.join(workspace, `${name}.cirrus.json`);
  const config = {
    name,
    dataset: { path: 'tiny.libsvm', format: 'libsvm', testFraction: 0.2 },
    model: { type: 'logistic', hashBits: 10 },
    optimizer: { type: 'adagrad', learningRate: 0.1 },
    training: { workers: 1, minibatch: 50, maxSeconds: 8, evalEverySeconds: 1, checkpointEverySeconds },
    backend: 'local',
    lambda: { memoryMB: 256, timeoutSeconds: 10 },
  };
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Processes whose parent is `pid`, and theirs (from /proc). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => [...parentOf].filter(([, parent]) => parent === p).forEach(([child]) => (out.push(child), walk(child)));
  walk(pid);
  return out;
}

function running(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** `cirrus train` in a child process, SIGKILLed once `until` shows in its metrics.jsonl. */
async function trainAndKill(config: string, until: (e: RunEvent) => boolean): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'train', config, '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    const runFolder = await waitFor(`the run folder (${output})`, () => /-> (\S+)/.exec(output)?.[1]);
    await waitFor('the event', () => (runtime.readRunEvents(runFolder).some(until) ? true : undefined));
    const started = descendants(child.pid!);
    child.kill('SIGKILL');
    await exited;
    await waitFor('the killed CLI\'s processes to exit', () => (started.some(running) ? undefined : true), 15_000);
    assert.ok(!fs.existsSync(path.join(runFolder, 'summary.json')), 'the killed run has no summary');
    return runFolder;
  } finally {
    child.kill('SIGKILL');
  }
}

/** Activates on the workspace as a reopened VS Code would; `answer` replies to the interrupted-runs notification. */
async function reopen(answer: string | undefined) {
  const state = new Map<string, unknown>();
  const ext = activate(runtime, {
    workspace,
    workspaceState: { get: (k: string, d?: unknown) => (state.has(k) ? state.get(k) : d), update: async (k: string, v: unknown) => void state.set(k, v), keys: () => [...state.keys()] },
  });
  // The offer waits for the secret storage first, so this answer is in place before it is asked.
  fake.answer = (kind, shown) => (kind === 'warning' && /interrupted/.test((shown as Shown).message) ? answer : undefined);
  await ext.host.interruptedOffer;
  const offers = fake.messages.filter((m) => m.kind === 'warning' && /interrupted/.test(m.message));
  return { ext, offers };
}

async function waitUntilEnded(ext: ReturnType<typeof activate>, runId: string): Promise<RunSummary> {
  await waitFor(`${runId} to end`, () => (ext.host.registry.get(runId)?.live === false ? true : undefined));
  return JSON.parse(fs.readFileSync(path.join(stateDir, 'runs', runId, 'summary.json'), 'utf8')) as RunSummary;
}

test('runs whose driver was killed: one notification; Resume and Resume Run continue them live; Mark Stopped closes one', { timeout: 300_000 }, async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js (run npm run build)');
  writeData();

  // 1. One run killed after its first checkpoint; VS Code reopens and the user picks Resume.
  const first = await trainAndKill(writeConfig('first', 1), (e) => e.type === 'checkpoint');
  const firstId = path.basename(first);
  let { ext, offers } = await reopen('Resume');
  try {
    assert.equal(offers.length, 1);
    assert.match(offers[0].message, /a run was interrupted .*"first"/);
    assert.deepEqual(offers[0].actions, ['Resume', 'Mark Stopped']);
    const live = ext.host.registry.get(firstId);
    assert.ok(live?.live, 'the resumed run is live in the registry');
    assert.equal(ext.host.registry.list().filter((r) => r.runId === firstId).length, 1, 'listed once');
    const bar = fake.statusBarItems.find((s) => s.id === 'cirrus.run')!;
    assert.ok(bar.visible && bar.text.includes('first'), bar.text);
    const panel = fake.panels.at(-1)!;
    assert.ok(panel, 'a dashboard opened for it');
    panel.webview.received.fire({ type: 'ready' });
    const summary = await waitUntilEnded(ext, firstId);
    assert.equal(summary.status, 'completed', summary.reason);
    const events = runtime.readRunEvents(first);
    assert.ok(events.some((e) => e.type === 'run-resumed'), 'resumed from its checkpoint');
    assert.ok(!fs.existsSync(path.join(first, 'driver.pid')), 'driver.pid removed at the end');
    await sleep(400); // the dashboard's last live batch
    const sent = (panel.webview.posted as HostToPanel[]).flatMap((m) => (m.type === 'events' ? m.events : []));
    assert.ok(sent.some((e) => e.type === 'run-started'), 'the dashboard has the run from its start');
    assert.ok(sent.some((e) => e.type === 'run-resumed') && sent.some((e) => e.type === 'run-finished'));
  } finally {
    await ext.close();
  }

  // 2. Two more killed (one after a checkpoint, one before any): one notification lists both.
  const second = await trainAndKill(writeConfig('second', 1), (e) => e.type === 'checkpoint');
  const third = await trainAndKill(writeConfig('third', 600), (e) => e.type === 'worker-heartbeat');
  ({ ext, offers } = await reopen(undefined)); // dismissed
  try {
    assert.equal(offers.length, 1, 'one notification, not one per run');
    assert.match(offers[0].message, /2 runs were interrupted .*"second", "third"/);
    const tree = fake.treeViews.get('cirrus.runs')!.treeDataProvider as RunsTreeProvider;
    const items = tree.getChildren().map((n) => tree.getTreeItem(n));
    const contextOf = (name: string) => items.find((i) => i.label === name)?.contextValue;
    assert.equal(contextOf('second'), 'cirrusRun.interrupted');
    assert.equal(contextOf('third'), 'cirrusRun.interrupted');
    assert.equal(contextOf('first'), 'cirrusRun.finished');
    // Resume Run from the Runs tree's context menu (it passes the node).
    const resumedId = await commands.executeCommand('cirrus.resumeRun', { kind: 'run', runId: path.basename(second) });
    assert.equal(resumedId, path.basename(second));
    assert.ok(ext.host.registry.get(path.basename(second))?.live);
    const summary = await waitUntilEnded(ext, path.basename(second));
    assert.equal(summary.status, 'completed', summary.reason);
  } finally {
    await ext.close();
  }

  // 3. Reopened again: only the third is left; Mark Stopped closes it without running anything.
  ({ ext, offers } = await reopen('Mark Stopped'));
  try {
    assert.equal(offers.length, 1);
    assert.match(offers[0].message, /a run was interrupted .*"third"/);
    const summary = JSON.parse(fs.readFileSync(path.join(third, 'summary.json'), 'utf8')) as RunSummary;
    assert.equal(summary.status, 'stopped');
    assert.match(summary.reason, /interrupted/);
    assert.equal(runtime.readRunEvents(third).at(-1)?.type, 'run-finished');
    assert.equal(ext.host.registry.get(path.basename(third))?.view.status, 'stopped');
    assert.equal(ext.host.registry.liveRuns().length, 0);
  } finally {
    await ext.close();
  }

  // 4. Nothing interrupted is left: no notification.
  ({ ext, offers } = await reopen(undefined));
  try {
    assert.equal(offers.length, 0);
  } finally {
    await ext.close();
  }
});
