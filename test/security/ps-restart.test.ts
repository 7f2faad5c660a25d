// The train stage coordinates parameter-server restarts by events (issue 8, item 3): one restart at a
// time, a crash during a restart taken up by that restart, one `ps-restarted` a crash.
// The server is killed twice in quick succession, in two ways:
// - its replacement killed the moment it listens (the driver is connecting to it and restoring the
//   checkpoint): once two restarts ran at once, or the restart failed and took the run with it;
// - its replacement killed the moment the restart is recorded.
// Each run must complete, with the restarts recorded one after the other. And a server that dies while
// the run stops is not restarted: the model of the last evaluation is saved. On generated data.
// Linux only (finds the server's process in /proc).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { RunEvent } from '../../runtime/recording/events';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { shutdownEmbeddedServices, startTraining } from '../../runtime/index';
import { scoreFile } from '../../runtime/predict/score';

const ROOT = path.resolve(__dirname, '..', '..');
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-ps-restart-'));
const dataFile = path.join(stateDir, 'clicks.tsv');
before(() => {
  const generated = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'generate-demo-data.mjs'), dataFile, '6000'], { encoding: 'utf8' });
  assert.equal(generated.status, 0, generated.stderr);
});
after(async () => {
  await shutdownEmbeddedServices();
  fs.rmSync(stateDir, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Live parameter-server processes started by this process. */
function serverPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z' && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('ps-server.js')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Whether `pid` has a listening TCP socket (its socket inodes against /proc/net/tcp{,6}). */
function listening(pid: number): boolean {
  try {
    const inodes = new Set(
      fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
        try {
          return [/^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? ''];
        } catch {
          return [];
        }
      }),
    );
    return ['/proc/net/tcp', '/proc/net/tcp6'].some((table) =>
      fs.existsSync(table) && fs.readFileSync(table, 'utf8').split('\n').slice(1).some((row) => {
        const cols = row.trim().split(/\s+/);
        return cols[3] === '0A' && inodes.has(cols[9]); // 0A: LISTEN
      }),
    );
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) => events.filter((e): e is Of<T> => e.type === type);

for (const when of ['during the restart', 'right after the restart'] as const) {
  test(`the parameter server killed twice, the second time ${when}: the run completes, one restart a crash, one at a time`, { skip: process.platform !== 'linux' && 'needs /proc', timeout: 120_000 }, async () => {
    const handle = await startTraining(
      {
        name: 'ps-twice',
        dataset: { path: dataFile, format: 'criteo', testFraction: 0.2 },
        model: { type: 'logistic', hashBits: 16 },
        optimizer: { type: 'adagrad', learningRate: 0.05 },
        training: { workers: 2, minibatch: 5, maxSeconds: 20, patience: 0, evalEverySeconds: 0.5, checkpointEverySeconds: 1 }, // patience 0: the time limit ends it, after the kills
        lambda: { memoryMB: 256, timeoutSeconds: 10 },
      },
      { stateDir },
    );
    const events = () => readRunEvents(handle.runFolder);
    await waitFor('a checkpoint', () => (ofType(events(), 'checkpoint').length > 0 ? true : undefined));
    const [first] = serverPids();
    assert.ok(first, 'the parameter server runs');
    process.kill(first, 'SIGKILL');
    let second: number;
    if (when === 'during the restart') {
      // As soon as it listens: the driver is then connecting to it and restoring the checkpoint.
      second = await waitFor('its replacement listening', () => serverPids().find((pid) => pid !== first && listening(pid)), 30_000, 2);
    } else {
      await waitFor('the first restart', () => (ofType(events(), 'ps-restarted').length > 0 ? true : undefined), 30_000, 5);
      second = serverPids().find((pid) => pid !== first)!;
    }
    process.kill(second, 'SIGKILL');
    const summary = await handle.done;
    assert.equal(summary.status, 'completed', summary.reason);
    const restarts = ofType(events(), 'ps-restarted');
    assert.equal(restarts.length, 2, `one restart a crash: ${restarts.map((r) => r.reason).join('; ')}`);
    // One at a time: each restart began (at its crash) after the previous one was recorded.
    for (let i = 1; i < restarts.length; i++) assert.ok(restarts[i].t - restarts[i].downSeconds >= restarts[i - 1].t - 0.05, 'restarts do not overlap');
    assert.ok(restarts.every((r) => r.checkpoint !== null), 'each restored from a checkpoint');
    const after = ofType(events(), 'eval').filter((e) => e.t > restarts.at(-1)!.t);
    assert.ok(after.length >= 1 && summary.testLoss !== null && summary.testLoss < 0.6, `evaluations after the restarts; final loss ${summary.testLoss}`);
    console.log(`killed twice (${when}): ${restarts.length} restarts (${restarts.map((r) => `${r.reason}, down ${r.downSeconds.toFixed(2)} s`).join('; ')}); run ${summary.status}, test loss ${summary.testLoss?.toFixed(4)}`);
  });
}

test('the parameter server dies while the run stops: nothing is restarted, the model of the last evaluation is saved', { skip: process.platform !== 'linux' && 'needs /proc', timeout: 120_000 }, async () => {
  const testFile = path.join(stateDir, 'clicks-test.tsv');
  const trainFile = path.join(stateDir, 'clicks-train.tsv');
  const lines = fs.readFileSync(dataFile, 'utf8').trimEnd().split('\n');
  fs.writeFileSync(trainFile, lines.slice(0, 4800).join('\n') + '\n');
  fs.writeFileSync(testFile, lines.slice(4800).join('\n') + '\n');
  const handle = await startTraining(
    {
      name: 'ps-dies-on-stop',
      dataset: { path: trainFile, format: 'criteo', testPath: testFile },
      model: { type: 'logistic', hashBits: 16 },
      optimizer: { type: 'adagrad', learningRate: 0.05 },
      training: { workers: 2, minibatch: 5, maxSeconds: 60, patience: 0, evalEverySeconds: 0.5 },
      lambda: { memoryMB: 256, timeoutSeconds: 10 },
    },
    { stateDir },
  );
  const evals = () => ofType(readRunEvents(handle.runFolder), 'eval').filter((e) => e.samples > 0);
  await waitFor('evaluations of a model in training', () => (evals().length >= 2 ? true : undefined));
  const [server] = serverPids();
  void handle.stop('stopped by the test');
  process.kill(server, 'SIGKILL'); // while the driver waits for the workers to return, before it reads the final model
  const summary = await handle.done;
  const events = readRunEvents(handle.runFolder);
  assert.equal(summary.status, 'stopped', summary.reason);
  assert.deepEqual(ofType(events, 'ps-restarted'), [], 'nothing restarted');
  assert.ok(ofType(events, 'log').some((e) => /keeping the model of the last evaluation/.test(e.message)), 'the fallback is logged');
  const all = ofType(events, 'eval');
  const final = all[all.length - 1];
  // The model kept is the last evaluation's, or an earlier evaluation's when that was better (best-model keeping).
  // Every evaluation counts: the first may already see a trained model while its sample count is still 0
  // (the workers' first heartbeats arrive after it).
  const inRun = all.slice(0, -1).map((e) => e.testLoss!);
  assert.ok(inRun.includes(final.testLoss!) && final.testLoss! <= inRun[inRun.length - 1], `the final evaluation (${final.testLoss}) is of a model an evaluation in the run measured, the last or a better one (${inRun.join(', ')})`);
  const scored = (await scoreFile(summary.modelPath!, testFile)).logLoss!;
  assert.ok(Math.abs(scored - final.testLoss) < 1e-6 && scored < 0.6, `saved model ${scored}, last evaluation ${final.testLoss}`);
  console.log(`server killed while stopping: no restart; saved model log-loss ${scored.toFixed(6)} = an evaluated model`);
});
