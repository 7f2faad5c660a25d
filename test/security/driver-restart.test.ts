// The driver dies mid-run (the CLI is SIGKILLed, as when VS Code or a terminal is killed):
// - no process it started keeps running (embedded S3, local Lambda service, workers, parameter server);
// - `cirrus resume RUN_FOLDER` continues the run from its last checkpoint, or marks it stopped when it
//   died before the first one;
// - fake AWS credentials in the environment never reach the run folder, the state directory (logs,
//   metrics, objects) or the CLI's output.
// Runs the real CLI (dist/cli.js: `npm run build` first) on Criteo 10k from ../shared.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { RunEvent, RunSummary } from '../../runtime/recording/events';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { sharedDataset } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'cirrus.js');
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-restart-'));
after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

const FAKE = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKE7Q2CIRRUSX9Z',
  AWS_SECRET_ACCESS_KEY: 'fakeSecret/k3Lq9wT7vBn2Xc8Rz5Yp1Mh4Jd6Fg0Ss',
  AWS_SESSION_TOKEN: 'FakeSessionToken//cirrus+test/7f3a9b2c4d5e6f708192a3b4c5d6e7f8',
};
const env = { ...process.env, ...FAKE };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process descending from `pid` (from /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z'; // a zombie has exited already
  } catch {
    return false;
  }
}

function cli(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args, '--state-dir', stateDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function writeConfig(file: string, checkpointEverySeconds: number, maxSeconds: number, shards = 1): string {
  const config = {
    name: path.basename(file, '.cirrus.json'),
    dataset: { path: sharedFile, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    // A time limit, not epochs, keeps the run going past the kill; a slow rate with l2 keeps however
    // many epochs fit in it (machine speed decides) near 0.465 (up to 80 epochs).
    optimizer: { type: 'adagrad', learningRate: 0.005, l2: 0.01 },
    training: { workers: 2, minibatch: 20, maxSeconds, checkpointEverySeconds, patience: 0 }, // the time limit ends it, not the validation rule
    lambda: { memoryMB: 512, timeoutSeconds: 5 },
    ...(shards > 1 ? { parameterServer: { shards } } : {}),
  };
  const out = path.join(stateDir, file);
  fs.writeFileSync(out, JSON.stringify(config, null, 2));
  return out;
}
let sharedFile = '';

/** Starts `cirrus train`, waits for `until` in its metrics, SIGKILLs it; checks nothing it started survives. */
async function killMidRun(config: string, until: (e: RunEvent) => boolean): Promise<{ runFolder: string; output: string; orphans: number }> {
  const run = cli(['train', config]);
  const runFolder = await waitFor('the run folder', () => /-> (\S+)/.exec(run.output())?.[1]);
  await waitFor('the event', () => (readRunEvents(runFolder).some(until) ? true : undefined));
  const started = descendants(run.child.pid!);
  assert.ok(started.length >= 3, `the CLI runs its services and workers (${started.length} processes)`);
  run.child.kill('SIGKILL');
  await run.exit;
  const deadline = Date.now() + 15_000;
  while (started.some(alive) && Date.now() < deadline) await sleep(200);
  const orphans = started.filter(alive);
  for (const pid of orphans) process.kill(pid, 'SIGKILL'); // don't leave them to the next test
  assert.deepEqual(orphans, [], `processes left running after the driver died: ${orphans.join(', ')}`);
  return { runFolder, output: run.output(), orphans: orphans.length };
}

function scanForCredentials(dir: string, outputs: string[]): string[] {
  const hits: string[] = [];
  const values = Object.values(FAKE).map((v) => Buffer.from(v));
  const visit = (p: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) return fs.readdirSync(p).forEach((n) => visit(path.join(p, n)));
    const bytes = fs.readFileSync(p);
    for (const v of values) if (bytes.includes(v)) hits.push(`${path.relative(dir, p)} holds ${v.toString().slice(0, 8)}…`);
  };
  visit(dir);
  outputs.forEach((o, i) => values.forEach((v) => o.includes(v.toString()) && hits.push(`CLI output ${i} holds ${v.toString().slice(0, 8)}…`)));
  return hits;
}

test('driver killed mid-run: no orphan processes; `cirrus resume` finishes it from its checkpoint or marks it stopped; no credential leaks', { timeout: 240_000 }, async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  sharedFile = file;
  assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js (run npm run build)');
  const outputs: string[] = [];

  // 1. Killed after a checkpoint: resumed from it.
  const withCheckpoint = await killMidRun(writeConfig('resumable.cirrus.json', 2, 14), (e) => e.type === 'checkpoint' && e.seq >= 1);
  outputs.push(withCheckpoint.output);
  assert.ok(!fs.existsSync(path.join(withCheckpoint.runFolder, 'summary.json')), 'the killed run has no summary');
  const resumed = cli(['resume', withCheckpoint.runFolder]);
  assert.equal(await resumed.exit, 0, resumed.output());
  outputs.push(resumed.output());
  const summary = JSON.parse(fs.readFileSync(path.join(withCheckpoint.runFolder, 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(summary.status, 'completed', summary.reason);
  assert.ok(summary.testLoss !== null && summary.testLoss < 0.5, `test loss ${summary.testLoss}`);
  const events = readRunEvents(withCheckpoint.runFolder);
  const resumedEvent = events.find((e) => e.type === 'run-resumed') as Extract<RunEvent, { type: 'run-resumed' }>;
  assert.ok(resumedEvent && resumedEvent.checkpoint >= 1, 'resumed from a checkpoint');
  const firstEvalAfter = events.find((e) => e.type === 'eval' && e.t > resumedEvent.t) as Extract<RunEvent, { type: 'eval' }>;
  assert.ok(firstEvalAfter.testLoss < 0.55, `the resumed model is the checkpointed one (loss ${firstEvalAfter.testLoss}, fresh 0.693)`);
  assert.ok(!fs.existsSync(path.join(withCheckpoint.runFolder, 'driver.pid')), 'driver.pid removed at the end');

  // Resuming again: the run is finished.
  const again = cli(['resume', withCheckpoint.runFolder]);
  assert.equal(await again.exit, 1);
  assert.match(again.output(), /already completed/);

  // 2. Killed before its first checkpoint: marked stopped.
  const early = await killMidRun(writeConfig('early.cirrus.json', 600, 30), (e) => e.type === 'worker-heartbeat');
  outputs.push(early.output);
  const marked = cli(['resume', early.runFolder]);
  assert.equal(await marked.exit, 0, marked.output());
  outputs.push(marked.output());
  const stopped = JSON.parse(fs.readFileSync(path.join(early.runFolder, 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(stopped.status, 'stopped');
  assert.match(stopped.reason, /before the first checkpoint/);

  // 3. The fake credentials appear nowhere: run folders, metrics, logs, the local services' files, CLI output.
  const hits = scanForCredentials(stateDir, outputs);
  assert.deepEqual(hits, []);
  console.log(
    `driver restart: 2/2 runs recovered (1 resumed from checkpoint ${resumedEvent.checkpoint} to ${summary.status}, test loss ${summary.testLoss?.toFixed(4)}; ` +
      `1 marked ${stopped.status}); 0 orphan processes; 0 credential hits in ${stateDir} and CLI output`,
  );
});

test('a sharded run (parameterServer.shards 2) killed mid-run resumes every shard from its own checkpoint of one round', { timeout: 240_000 }, async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  sharedFile = file;
  assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js (run npm run build)');
  // Killed once a shard wrote its third checkpoint: a shard's checkpoint event comes before the run's pointer
  // names its round (on CI the kill fell between them), but round 2 starts only after round 1's pointer was
  // written, so the run's pointer names round 1 or later.
  type Checkpoint = Extract<RunEvent, { type: 'checkpoint' }>;
  const bothShards = (e: RunEvent): e is Checkpoint => e.type === 'checkpoint' && e.seq >= 1;
  const killed = await killMidRun(writeConfig('sharded.cirrus.json', 2, 16, 2), (e) => e.type === 'checkpoint' && e.seq >= 2);
  const before = readRunEvents(killed.runFolder);
  assert.ok([0, 1].every((s) => before.some((e) => bothShards(e) && e.shard === s)), 'both shards checkpointed');
  const lastEvalBefore = before.filter((e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval').at(-1);
  assert.ok(lastEvalBefore, 'an evaluation before the kill');

  const resumed = cli(['resume', killed.runFolder]);
  assert.equal(await resumed.exit, 0, resumed.output());
  const summary = JSON.parse(fs.readFileSync(path.join(killed.runFolder, 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(summary.status, 'completed', summary.reason);
  assert.ok(summary.testLoss !== null && summary.testLoss < 0.5, `test loss ${summary.testLoss}`);
  const events = readRunEvents(killed.runFolder);
  const resumedEvent = events.find((e) => e.type === 'run-resumed') as Extract<RunEvent, { type: 'run-resumed' }>;
  assert.ok(resumedEvent && resumedEvent.checkpoint >= 1, 'resumed from a checkpoint');
  // Both halves of the model came back: with one shard's rows fresh (zero) the loss would be far above
  // where the run was when it was killed (its checkpoint is at most two rounds, 4 s, older).
  const firstEvalAfter = events.find((e) => e.type === 'eval' && e.t > resumedEvent.t) as Extract<RunEvent, { type: 'eval' }>;
  assert.ok(
    firstEvalAfter.testLoss <= lastEvalBefore.testLoss + 0.02,
    `resumed at loss ${firstEvalAfter.testLoss}; the killed run was at ${lastEvalBefore.testLoss} (fresh 0.693)`,
  );
  // Both shards keep checkpointing after the resume, numbering on from their own last checkpoint.
  for (const shard of [0, 1]) {
    const after = events.filter((e): e is Checkpoint => e.type === 'checkpoint' && e.shard === shard && e.t > resumedEvent.t);
    const last = Math.max(...before.filter((e): e is Checkpoint => e.type === 'checkpoint' && e.shard === shard).map((e) => e.seq));
    assert.ok(after.length > 0 && after[0].seq > resumedEvent.checkpoint && after[0].seq <= last + 1, `shard ${shard}: checkpoints after the resume ${after.map((e) => e.seq)}`);
  }
  console.log(
    `sharded driver restart: resumed from checkpoint ${resumedEvent.checkpoint} at loss ${firstEvalAfter.testLoss.toFixed(4)} (killed at ${lastEvalBefore.testLoss.toFixed(4)}); ` +
      `${summary.status}, test loss ${summary.testLoss?.toFixed(4)}`,
  );
});
