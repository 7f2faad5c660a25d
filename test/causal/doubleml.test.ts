// Double machine learning as a serverless map stage: the estimate computed by fold tasks on the real
// local Lambda service (data and folds read from the embedded S3) equals the single-process computation
// on the same folds, for PLR and IRM; a crashed task is retried; a rerun reproduces the estimate
// exactly; the run folder records it; the CLI prints it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { resolveDoubleMLConfig, type DoubleMLConfig } from '../../runtime/causal/config';
import { crossFitInProcess } from '../../runtime/causal/crossfit';
import { readCausalCsv } from '../../runtime/causal/data';
import { aggregate, type DoubleMLEstimate } from '../../runtime/causal/estimate';
import { assignFolds, encodeFolds, foldsSha256 } from '../../runtime/causal/folds';
import { DOUBLEML_FILE, FOLDS_FILE, REPORT_FILE } from '../../runtime/causal/record';
import { crossFitPlan, runDoubleML } from '../../runtime/causal/run';
import { makeIrmData, makePlrCCDDHNR2018, writeCausalCsv } from '../../runtime/causal/synthetic';
import { readRunEvents, SUMMARY_FILE } from '../../runtime/recording/run-folder';
import { shutdownEmbeddedServices } from '../../runtime/index';

const root = path.resolve(__dirname, '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-doubleml-'));
const ctx = { stateDir: path.join(dir, 'state') };
after(async () => {
  await shutdownEmbeddedServices();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The single-process computation: the same data file, folds and learners, every fold fitted here. */
async function inProcess(config: DoubleMLConfig): Promise<DoubleMLEstimate> {
  const resolved = resolveDoubleMLConfig(config);
  const data = await readCausalCsv(resolved.data.path, resolved.data);
  const folds = assignFolds(data.n, resolved.folds, resolved.repetitions, resolved.seed);
  const plan = crossFitPlan(resolved);
  return aggregate(data, folds, plan, crossFitInProcess(data, folds, plan), resolved.trimming);
}

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.abs(expected), `${what}: serverless ${actual} vs single process ${expected}`);
}

function assertSameEstimate(serverless: DoubleMLEstimate, single: DoubleMLEstimate): void {
  assertClose(serverless.theta, single.theta, 'theta');
  assertClose(serverless.se, single.se, 'SE');
  serverless.perRepetition.forEach((r, i) => {
    assertClose(r.theta, single.perRepetition[i].theta, `theta of repetition ${i + 1}`);
    r.perFold.forEach((f, k) => assertClose(f, single.perRepetition[i].perFold[k], `theta of repetition ${i + 1} fold ${k + 1}`));
  });
  serverless.nuisance.forEach((q, i) => assertClose(q.value, single.nuisance[i].value, `${q.name} quality`));
}

test('PLR on 3 workers of the local Lambda service equals the single-process computation on the same folds; a crashed task is retried; a rerun reproduces it exactly', async () => {
  const file = path.join(dir, 'plr.csv');
  writeCausalCsv(file, makePlrCCDDHNR2018({ n: 2000, seed: 7 }));
  const config: DoubleMLConfig = { name: 'plr-test', data: { path: file, outcome: 'y', treatment: 'd' }, model: 'plr', folds: 4, repetitions: 2, seed: 11, workers: 3, lambda: { memoryMB: 512 } };
  const events: string[] = [];
  const summary = await runDoubleML(config, ctx, { faults: { crashFirstAttempt: [5] }, onEvent: (e) => events.push(e.type === 'worker-launched' ? `launched:${e.reason}` : e.type) });
  assert.equal(summary.status, 'completed', summary.reason);
  const e = summary.estimate!;
  assertSameEstimate(e, await inProcess(config));
  assert.ok(Math.abs(e.theta - 0.5) < 4 * e.se, `theta ${e.theta} near 0.5 (SE ${e.se})`);
  assert.equal(e.perRepetition.length, 2);
  assert.equal(e.perRepetition[0].perFold.length, 4);
  assert.deepEqual(e.nuisance.map((q) => [q.name, q.metric]), [['ml_l', 'r2'], ['ml_m', 'r2']]);
  assert.ok(e.nuisance.every((q) => q.value > 0.2 && q.value < 0.9), `out-of-fold R² ${e.nuisance.map((q) => q.value)}`);

  // The crash: one failed attempt, relaunched, 9 invocations for 8 tasks.
  assert.deepEqual({ ...summary.tasks, seconds: 0, fitSeconds: 0 }, { total: 8, invocations: 9, failedAttempts: 1, throttled: 0, seconds: 0, fitSeconds: 0 });
  assert.ok(summary.tasks.fitSeconds > 0 && summary.tasks.fitSeconds <= summary.tasks.seconds, 'the workers timed their fits');
  assert.equal(events.filter((x) => x === 'launched:relaunch-after-failure').length, 1);

  // Time and cost by stage; the crossfit stage holds the Lambda compute.
  assert.deepEqual(summary.stages.map((s) => s.stage), ['load', 'crossfit', 'aggregate']);
  const crossfit = summary.stages[1];
  assert.ok(crossfit.gbSeconds > 0 && crossfit.cost.lambdaCompute > 0 && crossfit.cost.lambdaRequests > 0, 'crossfit billed');
  assert.ok(Math.abs(summary.stages.reduce((a, s) => a + s.costUSD, 0) - summary.costUSD) < 1e-12, 'stages add up to the total');

  // The run folder: summary, events, the estimate, the recorded folds, the report.
  const folder = summary.runFolder;
  const recorded = JSON.parse(fs.readFileSync(path.join(folder, SUMMARY_FILE), 'utf8'));
  assert.equal(recorded.status, 'completed');
  assert.deepEqual(recorded.stages.map((s: { stage: string }) => s.stage), ['load', 'crossfit', 'aggregate']);
  assert.equal(JSON.parse(fs.readFileSync(path.join(folder, DOUBLEML_FILE), 'utf8')).estimate.theta, e.theta);
  assert.ok(fs.readFileSync(path.join(folder, FOLDS_FILE)).equals(encodeFolds(assignFolds(2000, 4, 2, 11))), 'folds.bin is the seeded assignment');
  assert.match(fs.readFileSync(path.join(folder, REPORT_FILE), 'utf8'), /\| theta \| SE \| 95 % CI/);
  assert.equal(readRunEvents(folder).at(-1)!.type, 'run-finished');

  // A rerun: the same folds (same digest), the same estimate to the last bit.
  const again = await runDoubleML(config, ctx);
  assert.equal(again.folds.sha256, summary.folds.sha256);
  assert.equal(again.data.sha256, summary.data.sha256);
  assert.equal(again.estimate!.theta, e.theta);
  assert.equal(again.estimate!.se, e.se);
  // Another seed: other folds.
  assert.notEqual(foldsSha256(assignFolds(2000, 4, 2, 12)), summary.folds.sha256);
});

test('IRM (ridge outcomes, logistic propensity, trimming) on the local Lambda service equals the single-process computation', async () => {
  const file = path.join(dir, 'irm.csv');
  writeCausalCsv(file, makeIrmData({ n: 1500, seed: 3 }));
  const config: DoubleMLConfig = {
    data: { path: file, outcome: 'y', treatment: 'd' },
    model: 'irm',
    folds: 3,
    repetitions: 2,
    seed: 5,
    workers: 2,
    learners: { outcome: { type: 'ridge' }, treatment: { type: 'logistic', innerFolds: 3 } },
    trimming: 0.05,
    lambda: { memoryMB: 512 },
  };
  const summary = await runDoubleML(config, ctx);
  assert.equal(summary.status, 'completed', summary.reason);
  const e = summary.estimate!;
  assertSameEstimate(e, await inProcess(config));
  assert.deepEqual(e.nuisance.map((q) => [q.name, q.metric]), [['ml_g0', 'r2'], ['ml_g1', 'r2'], ['ml_m', 'logLoss']]);
  const logLoss = e.nuisance[2].value;
  assert.ok(logLoss > 0.2 && logLoss < Math.log(2), `propensity log-loss ${logLoss} beats a coin`);
  assert.ok(typeof e.trimmed === 'number');
  assert.ok(Math.abs(e.theta - 0.5) < 4 * e.se, `ATE ${e.theta} near 0.5 (SE ${e.se})`);
});

test('cirrus doubleml CONFIG.json --json prints the estimate; a bad config names the field and line', () => {
  const file = path.join(dir, 'cli.csv');
  writeCausalCsv(file, makePlrCCDDHNR2018({ n: 600, p: 5, seed: 1 }));
  const configFile = path.join(dir, 'cli.doubleml.json');
  fs.writeFileSync(configFile, JSON.stringify({ data: { path: 'cli.csv', outcome: 'y', treatment: 'd' }, model: 'plr', folds: 3, learners: { outcome: { type: 'ridge' }, treatment: { type: 'ridge' } } }, null, 2));
  const run = spawnSync(process.execPath, [path.join(root, 'bin', 'cirrus.js'), 'doubleml', configFile, '--json', '--state-dir', path.join(dir, 'cli-state')], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.status, 'completed');
  assert.ok(out.ci95[0] < out.theta && out.theta < out.ci95[1]);
  assert.ok(out.pValue >= 0 && out.pValue <= 1 && out.se > 0);
  assert.deepEqual(out.stages.map((s: { stage: string }) => s.stage), ['load', 'crossfit', 'aggregate']);
  assert.ok(fs.existsSync(path.join(out.runFolder, REPORT_FILE)));

  const bad = path.join(dir, 'bad.doubleml.json');
  fs.writeFileSync(bad, JSON.stringify({ data: { path: 'cli.csv', outcome: 'y', treatment: 'd' }, model: 'irm', learners: { treatment: { type: 'ridge' } } }, null, 2));
  const refused = spawnSync(process.execPath, [path.join(root, 'bin', 'cirrus.js'), 'doubleml', bad], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /bad\.doubleml\.json:\d+: learners\.treatment\.type: model "irm" estimates a propensity/);
});

test('within the backend\'s concurrency: with the function reserved to 1 concurrent invocation, 3 workers wait for the slot instead of failing', async () => {
  const { localBackend } = await import('../../runtime/backends/backend');
  const { PutFunctionConcurrencyCommand, DeleteFunctionConcurrencyCommand } = await import('@aws-sdk/client-lambda');
  const { DOUBLEML_FUNCTION } = await import('../../runtime/causal/run');
  const file = path.join(dir, 'slots.csv');
  writeCausalCsv(file, makePlrCCDDHNR2018({ n: 400, p: 5, seed: 9 }));
  const config: DoubleMLConfig = { data: { path: file, outcome: 'y', treatment: 'd' }, model: 'plr', folds: 3, workers: 3, maxAttempts: 1, learners: { outcome: { type: 'ridge' }, treatment: { type: 'ridge' } }, lambda: { memoryMB: 256 } };
  await runDoubleML(config, ctx); // deploys the function
  const backend = await localBackend(ctx.stateDir);
  await backend.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: DOUBLEML_FUNCTION, ReservedConcurrentExecutions: 1 }));
  try {
    const summary = await runDoubleML(config, ctx);
    assert.equal(summary.status, 'completed', summary.reason);
    assert.ok(summary.tasks.throttled > 0, 'some launches waited for the slot');
    assert.equal(summary.tasks.failedAttempts, 0, 'waiting is not a failed attempt (maxAttempts is 1)');
    assertSameEstimate(summary.estimate!, await inProcess(config));
  } finally {
    await backend.lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: DOUBLEML_FUNCTION }));
  }
});
