// Closing or reloading the VS Code window while a run is live (issue 8, item 1): VS Code calls the
// extension's deactivate(), which stops the run cleanly before the extension host goes. The run ends
// `stopped`, its saved model is the one its last evaluation measured (the predict code gives the same
// figure), and the embedded services, the parameter server and the invocations are gone.
// Real runtime, local backend, the fake `vscode`.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake, Uri, type Shown } from './fake-vscode';
import { activate } from './harness';
import * as runtime from '../../runtime/index';
import type { RunEvent, RunSummary } from '../../runtime/api';
import { scoreFile } from '../../runtime/predict/score';

after(() => runtime.shutdownEmbeddedServices());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Live processes this one started, and theirs (from /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

test('closing the window mid-run stops it with the model its last evaluation measured; nothing left running', { skip: process.platform !== 'linux' && 'needs /proc', timeout: 120_000 }, async () => {
  const ext = activate();
  try {
    const train = path.join(ext.workspace, 'train.libsvm');
    const testFile = path.join(ext.workspace, 'test.libsvm');
    const row = (i: number) => `${i % 3 === 0 ? 1 : -1} ${i % 3 === 0 ? 1 : 2}:1 ${3 + (i % 7)}:1 ${11 + (i % 13)}:0.5`;
    fs.writeFileSync(train, Array.from({ length: 4000 }, (_, i) => row(i)).join('\n') + '\n');
    fs.writeFileSync(testFile, Array.from({ length: 1000 }, (_, i) => row(i + 7)).join('\n') + '\n');
    const file = path.join(ext.workspace, 'long.cirrus.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: 'long',
        dataset: { path: 'train.libsvm', format: 'libsvm', testPath: 'test.libsvm' },
        model: { type: 'logistic', hashBits: 10 },
        optimizer: { type: 'sgd', learningRate: 0.01 },
        training: { workers: 2, minibatch: 1, maxSeconds: 120, patience: 0, evalEverySeconds: 0.5 }, // runs until the window closes
        backend: 'local',
        lambda: { memoryMB: 256, timeoutSeconds: 10 },
      }),
    );
    fake.answer = (_kind, shown) => ((shown as Shown).options?.modal ? 'Start' : undefined);
    const runId = (await commands.executeCommand('cirrus.startRun', Uri.file(file))) as string;
    assert.ok(runId, JSON.stringify(fake.messages));
    const runFolder = ext.host.registry.liveRuns()[0].runFolder;
    const evals = () => runtime.readRunEvents(runFolder).filter((e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval' && e.samples > 0);
    for (let waited = 0; evals().length < 3; waited += 100) {
      assert.ok(waited < 60_000, 'three evaluations within a minute');
      await sleep(100);
    }
    // The run's processes: the services and invocations (dist/ bundles), not the test's own helpers (tsx's esbuild).
    const cmdline = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        return ''; // gone meanwhile
      }
    };
    const started = descendants(process.pid).filter((pid) => cmdline(pid).includes(`${path.sep}dist${path.sep}`));
    assert.ok(started.length >= 3, `services and workers run (${started.length} processes)`);

    const closing = Date.now();
    await ext.close(); // what VS Code does when the window closes or reloads
    const closeSeconds = (Date.now() - closing) / 1000;

    const summary = JSON.parse(fs.readFileSync(path.join(runFolder, 'summary.json'), 'utf8')) as RunSummary;
    assert.equal(summary.status, 'stopped', summary.reason);
    assert.match(summary.reason, /VS Code is closing/);
    const events = runtime.readRunEvents(runFolder);
    assert.equal(events.filter((e) => e.type === 'ps-restarted').length, 0, 'no restart');
    const lastEval = events.filter((e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval').at(-1)!;
    const scored = (await scoreFile(summary.modelPath!, testFile)).logLoss!;
    assert.ok(Math.abs(scored - lastEval.testLoss) < 1e-6 && Math.abs(scored - summary.testLoss!) < 1e-6, `saved model ${scored}, last evaluation ${lastEval.testLoss}`);
    assert.ok(scored < 0.69, `a trained model (log-loss ${scored})`);
    const left = () => started.filter((pid) => descendants(process.pid).includes(pid));
    for (let waited = 0; left().length > 0 && waited < 10_000; waited += 100) await sleep(100); // exits being reaped
    assert.deepEqual(left().map(cmdline), [], 'nothing the run started is left');
    console.log(`window closed mid-run: stopped in ${closeSeconds.toFixed(2)} s; saved model log-loss ${scored.toFixed(6)} = last evaluation; ${started.length} processes, none left`);
  } finally {
    fs.rmSync(ext.workspace, { recursive: true, force: true });
  }
});
