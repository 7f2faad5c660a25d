// Provisioning: the performance model fitted from real runs, the estimate recorded against the actual,
// the budget as a hard limit on a real run, the planner's choices and the simulator's AWS limits.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkRunConfig, estimateRun, resolveRunConfig, startTraining, type RunConfig } from '../../runtime/index';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { defaultPerfModel, fitPerfModel, localEnvironment, observeRun, predictRun, psUpdatesPerSecondAt, UNMEASURED_WARM_START_FRACTION, type PerfModel, type PerfObservation } from '../../runtime/provisioning/perf-model';
import { planRun, rightSizedMemoryMB } from '../../runtime/provisioning/planner';
import { awsEnvironment, PS_CAPACITY, simulate } from '../../runtime/provisioning/simulator';
import { BudgetGuard } from '../../runtime/provisioning/budget';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-provisioning-');

function criteoConfig(file: string, training: Partial<RunConfig['training']> = {}): RunConfig {
  return {
    name: 'prov',
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 18 },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    training: { workers: 2, minibatch: 20, maxSeconds: 60, epochs: 3, ...training },
    backend: 'local',
    lambda: { memoryMB: 512, timeoutSeconds: 20 },
  };
}

test('a run records its estimate; the model fitted from it predicts the next run of the same data', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const config = criteoConfig(file);
  const before = estimateRun(config, { stateDir });
  assert.match(before.basis ?? '', /default figures/, 'no past run yet: the estimate says it rests on defaults');

  const first = await (await startTraining(config, { stateDir })).done;
  assert.equal(first.status, 'completed', first.reason);
  assert.ok(first.estimate && first.estimate.expectedSeconds > 0, 'the summary records the estimate made before the run');

  const observation = observeRun(first.runFolder);
  assert.ok(observation, 'a finished run folder yields an observation');
  assert.equal(observation.trainRows, 9000, 'train rows from the load stage (10,000 rows, 10 % held out)');
  assert.ok(observation.samplesPerSecondPerWorker > 0 && observation.peakWorkerMemoryMB > 0);

  const fitted = estimateRun(config, { stateDir });
  assert.match(fitted.basis ?? '', /fitted from 1 past run/);
  assert.ok(fitted.range && fitted.range.seconds[0] < fitted.expectedSeconds && fitted.expectedSeconds < fitted.range.seconds[1], 'a range around the figure');
  assert.ok(fs.existsSync(path.join(stateDir, 'perf-models.json')), 'the fitted model is stored under the state dir');

  // A function of its own, so its workers start cold as the first run's did.
  const second = await (await startTraining({ ...config, lambda: { ...config.lambda, functionName: 'cirrus-prov-second' } }, { stateDir })).done;
  assert.equal(second.status, 'completed', second.reason);
  assert.match(second.estimate?.basis ?? '', /fitted from 1 past run/, 'the second run was estimated from the first');
  // The bench (section provisioning) measures the 30 % target; identical runs on a loaded 2-core machine differ up to 5x, so a test allows 2x.
  const timeError = Math.abs(second.estimate!.expectedSeconds - second.seconds) / second.seconds;
  const usdError = Math.abs(second.estimate!.expectedUSD - second.costUSD) / second.costUSD;
  assert.ok(timeError < 1, `time estimate ${second.estimate!.expectedSeconds.toFixed(2)} s against ${second.seconds.toFixed(2)} s`);
  assert.ok(usdError < 1, `dollar estimate ${second.estimate!.expectedUSD} against ${second.costUSD}`);

  // Right after, the same function again: the local service still holds the second run's environments
  // warm, the estimate counts them, and the model then has warm starts measured apart from cold ones.
  const third = await (await startTraining({ ...config, lambda: { ...config.lambda, functionName: 'cirrus-prov-second' } }, { stateDir })).done;
  assert.equal(third.status, 'completed', third.reason);
  assert.match(third.estimate?.basis ?? '', /2 of 2 workers start warm/, 'the estimate knew the environments were warm');
  const finished = readRunEvents(third.runFolder).filter((e) => e.type === 'worker-finished');
  assert.ok(finished.some((e) => e.type === 'worker-finished' && e.coldStart === false), 'the third run reused warm environments');
  const warmObservation = observeRun(third.runFolder)!;
  assert.ok(warmObservation.warmInvocations! > 0 && warmObservation.warmWorkerStartSeconds !== undefined, 'warm starts measured apart');
  assert.ok(warmObservation.warmSamplesPerSecondPerWorker! > 0, 'warm throughput measured apart');
  // Warm environments lower the estimate. Its error is the bench's to measure: on a quiet machine the warm
  // run is also faster per sample (its JIT-compiled worker code), which a model fitted from cold runs
  // does not know (estimate 1.7 s against 0.7 s in the suite of 2026-11-30; docs/provisioning.md).
  assert.ok(third.estimate!.expectedSeconds < second.estimate!.expectedSeconds, `warm ${third.estimate!.expectedSeconds} s, cold ${second.estimate!.expectedSeconds} s`);
  t.diagnostic(`warm run: estimate ${third.estimate!.expectedSeconds.toFixed(2)} s against ${third.seconds.toFixed(2)} s; per-worker samples/s cold ${observeRun(second.runFolder)!.samplesPerSecondPerWorker.toFixed(0)}, warm ${warmObservation.samplesPerSecondPerWorker.toFixed(0)}`);
});

test('warm execution environments shorten the predicted start and bill less; unmeasured, they skip the runner start and most of the billed start', () => {
  const m = model({ workerStartSeconds: 0.8, unbilledSeconds: 0.6, launchStaggerSeconds: 0.3 });
  const cfg = resolveRunConfig({ ...criteoConfig('/nonexistent'), training: { workers: 4, minibatch: 20, epochs: 1 } }).config;
  const env = localEnvironment(2);
  const cold = predictRun(m, cfg, env, 4, 512);
  const unmeasured = predictRun(m, cfg, env, 4, 512, { warmEnvironments: 4 });
  // No runner start and no stagger (0.6 + 3 x 0.3 s), and the billed start is a tenth of the cold one's (0.8 - 0.08 s).
  const skipped = 0.6 + 3 * 0.3 + 0.8 * (1 - UNMEASURED_WARM_START_FRACTION);
  assert.ok(Math.abs(cold.seconds - unmeasured.seconds - skipped) < 1e-9, `${cold.seconds} - ${unmeasured.seconds}`);
  assert.ok(unmeasured.breakdown.lambdaCompute < cold.breakdown.lambdaCompute, 'warm starts bill less');
  const measured = predictRun({ ...m, warmWorkerStartSeconds: 0.1, warmUnbilledSeconds: 0.05 }, cfg, env, 4, 512, { warmEnvironments: 4 });
  assert.ok(measured.seconds < unmeasured.seconds && measured.breakdown.lambdaCompute < cold.breakdown.lambdaCompute);
  // Some warm, some cold: the cold ones decide when the last worker is up.
  const mixed = predictRun({ ...m, warmWorkerStartSeconds: 0.1, warmUnbilledSeconds: 0.05 }, cfg, env, 4, 512, { warmEnvironments: 2 });
  assert.ok(mixed.seconds > measured.seconds && mixed.seconds < cold.seconds);
});

test('fitting: cold figures only from runs with cold invocations, warm ones apart', () => {
  const base = observeLike({ workerStartSeconds: 0.9, unbilledSeconds: 0.7, coldInvocations: 2, warmInvocations: 0 });
  const warmRun = observeLike({ runId: 'b', workerStartSeconds: 0.05, unbilledSeconds: 0.01, coldInvocations: 0, warmInvocations: 2, warmWorkerStartSeconds: 0.05, warmUnbilledSeconds: 0.01 });
  const fitted = fitPerfModel('k', [base, warmRun])!;
  assert.equal(fitted.workerStartSeconds, 0.9, 'a run whose workers were all warm says nothing of cold starts');
  assert.equal(fitted.unbilledSeconds, 0.7);
  assert.equal(fitted.warmWorkerStartSeconds, 0.05);
  assert.equal(fitted.warmUnbilledSeconds, 0.01);
});

test('fitting: warm throughput apart from cold; a run whose workers all start warm is predicted at the warm rate', () => {
  const coldRun = observeLike({ samplesPerSecondPerWorker: 10_000, coldInvocations: 1, warmInvocations: 0 });
  // A warm re-run: JIT-compiled worker code, 1.9x the samples/s (the suite of 2026-11-30: 21,313 against 11,309).
  const warmRun = observeLike({ runId: 'b', samplesPerSecondPerWorker: 19_000, warmSamplesPerSecondPerWorker: 19_000, coldInvocations: 0, warmInvocations: 1, warmWorkerStartSeconds: 0.02 });
  const fitted = fitPerfModel('k', [coldRun, warmRun])!;
  assert.equal(fitted.samplesPerSecondPerCore, 10_000, 'the cold rate only from runs with cold invocations');
  assert.equal(fitted.warmSamplesPerSecondPerCore, 19_000);
  const cfg = resolveRunConfig({ ...criteoConfig('/nonexistent'), training: { workers: 1, minibatch: 100, epochs: 10 } }).config;
  const env = localEnvironment(2);
  const cold = predictRun(fitted, cfg, env, 1, 512);
  const warm = predictRun(fitted, cfg, env, 1, 512, { warmEnvironments: 1 });
  assert.ok(Math.abs(cold.samplesPerSecond / 10_000 - 1) < 1e-9, `cold ${cold.samplesPerSecond}`);
  assert.ok(Math.abs(warm.samplesPerSecond / 19_000 - 1) < 1e-9, `warm ${warm.samplesPerSecond}`);
  // One cold worker among warm ones finishes last: the cold rate decides.
  assert.equal(predictRun(fitted, resolveRunConfig({ ...cfg, training: { ...cfg.training, workers: 2 } }).config, env, 2, 512, { warmEnvironments: 1 }).samplesPerSecond, predictRun(fitted, cfg, env, 2, 512).samplesPerSecond);
});

test('a model fitted from one run predicts that run\'s own throughput, however small its updates (the channel never takes all of it)', () => {
  // a9a as shipped on a quiet machine (2026-11-30): minibatch 50, 2 workers at 86,000 samples/s each, i.e.
  // 0.58 ms per update; the former default channel of 1.5 ms per update predicted 25,900.
  const run = observeLike({ workers: 2, minibatch: 50, samplesPerSecondPerWorker: 86_000, trainRows: 32_561 });
  const fitted = fitPerfModel('k', [run])!;
  const cfg = resolveRunConfig({ ...criteoConfig('/nonexistent'), training: { workers: 2, minibatch: 50, epochs: 5 } }).config;
  const p = predictRun(fitted, cfg, localEnvironment(2), 2, 512);
  assert.ok(Math.abs(p.samplesPerSecond / (2 * 86_000) - 1) < 1e-6, `${p.samplesPerSecond} samples/s predicted`);
  // A smaller minibatch pays more channel per sample, a larger one less.
  const at = (minibatch: number) => predictRun(fitted, resolveRunConfig({ ...cfg, training: { ...cfg.training, minibatch } }).config, localEnvironment(2), 2, 512).samplesPerSecond;
  assert.ok(at(10) < p.samplesPerSecond && p.samplesPerSecond < at(1000));
});

test('a tight budget stops the run with the model saved, the reason naming the budget, and the cost within it', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  // About 25 s of 2 workers x 512 MB and the parameter server: room to train even on a loaded machine.
  const budgetUSD = 0.001;
  // Epochs beyond reach (1,000 of these 9,000 rows took 20 s here, under the budget's ~25 s, once the
  // workers got faster) and no early stop on a rising test loss: the budget ends it.
  const config = criteoConfig(file, { epochs: 100_000, maxSeconds: 120, budgetUSD, patience: 1000 });
  const summary = await (await startTraining(config, { stateDir })).done;
  assert.match(summary.reason, /budget of \$0\.001 reached/);
  assert.ok(summary.costUSD <= budgetUSD, `cost $${summary.costUSD} within the budget $${budgetUSD}`);
  assert.ok(summary.samples > 0, 'it trained until the budget');
  assert.ok(summary.modelPath && fs.existsSync(summary.modelPath), 'the model is saved');
  const events = readRunEvents(summary.runFolder);
  const costs = events.filter((e) => e.type === 'eval').map((e) => (e.type === 'eval' ? e.costUSD : 0));
  assert.ok(costs.every((c) => c <= budgetUSD), 'no live figure passed the budget either');
});

test('a budget below what loading already cost launches no worker', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const summary = await (await startTraining(criteoConfig(file, { budgetUSD: 0.000001 }), { stateDir })).done;
  assert.match(summary.reason, /budget of \$0\.000001 reached/);
  assert.equal(readRunEvents(summary.runFolder).filter((e) => e.type === 'worker-launched').length, 0);
});

test('the budget guard stops one tick early enough', () => {
  const guard = BudgetGuard.forRun(0.001, 10, 1024, 1);
  // 10 x 1 GB x $0.0000166667/s + the parameter server: ~$0.000190/s, over 3 s of margin.
  assert.ok(Math.abs(guard.burnUSDPerSecond - (10 * 0.0000166667 + 0.085 / 3600)) < 1e-12);
  assert.equal(guard.mustStop(0.0001), false);
  assert.equal(guard.mustStop(0.001 - guard.burnUSDPerSecond * 3 + 1e-9), true);
});

function model(overrides: Partial<PerfModel> = {}): PerfModel {
  const config = resolveRunConfig({ dataset: { path: '/nonexistent', format: 'criteo', testFraction: 0.1 }, model: { type: 'logistic' }, optimizer: { type: 'adagrad', learningRate: 0.1 }, training: { workers: 1, minibatch: 100, epochs: 1 } } as RunConfig).config;
  return { ...defaultPerfModel(config, 1_000_000), source: 'past-runs', samplesPerSecondPerCore: 20_000, setupSeconds: 1, workerStartSeconds: 0.5, unbilledSeconds: 0, tailSeconds: 0.5, peakWorkerMemoryMB: 200, ...overrides };
}
const awsConfig = (training: Partial<RunConfig['training']>) => resolveRunConfig({
  dataset: { path: '/nonexistent', format: 'criteo', testFraction: 0.1 },
  model: { type: 'logistic' },
  optimizer: { type: 'adagrad', learningRate: 0.1 },
  training: { workers: 100, minibatch: 100, maxSeconds: 3600, epochs: 10, ...training },
  backend: 'aws',
} as RunConfig).config;

test('the planner picks the cheapest size that meets the deadline, and says when none does', () => {
  const m = model();
  const config = awsConfig({ deadlineSeconds: 200 });
  const plan = planRun(config, m, awsEnvironment());
  assert.equal(plan.deadlineInfeasible, false);
  assert.ok(plan.prediction.seconds <= 200, `planned ${plan.prediction.seconds} s`);
  // Cheapest: every other size that meets the deadline costs at least as much.
  for (const row of simulate(m, config, { workers: Array.from({ length: 100 }, (_, i) => i + 1), memoryMB: [plan.memoryMB] })) {
    if (row.seconds <= 200) assert.ok(row.usd >= plan.prediction.usd - 1e-12, `${row.workers} workers: $${row.usd} < planned $${plan.prediction.usd}`);
  }
  const tight = planRun(awsConfig({ deadlineSeconds: 1 }), m, awsEnvironment());
  assert.equal(tight.deadlineInfeasible, true);
  assert.match(tight.notes.join('\n'), /deadline of 1 s cannot be met: the best achievable is about [\d.]+ s with \d+ workers/);
  assert.ok(tight.prediction.seconds > 1);
});

test('right-sizing: the smallest memory that holds the measured peak, in 64 MB steps', () => {
  assert.equal(rightSizedMemoryMB(70), 128);
  assert.equal(rightSizedMemoryMB(300), 384);
});

test('the simulator applies AWS limits: CPU in proportion to memory, the scaling rate, the concurrency limit', () => {
  const m = model({ trainRows: 100_000_000 });
  const config = awsConfig({ epochs: 1 });
  const env = awsEnvironment();
  const small = predictRun(m, config, env, 2, 885);
  const vcpu = predictRun(m, config, env, 2, 1769);
  const big = predictRun(m, config, env, 2, 10240);
  assert.ok(small.samplesPerSecond < vcpu.samplesPerSecond, 'half a vCPU trains slower');
  assert.ok(Math.abs(big.samplesPerSecond - vcpu.samplesPerSecond) < 1e-6, 'one training thread gains nothing past one vCPU');
  assert.ok(big.usd > vcpu.usd, '...but pays for the memory');
  const thousand = predictRun(m, config, env, 1000, 1769);
  const more = predictRun(m, config, env, 1000 + 1, 1769);
  assert.equal(more.workers, 1000, 'the account concurrency caps the workers');
  assert.match(more.notes.join(), /concurrency/);
  assert.ok(thousand.notes.some((n) => /parameter server caps/.test(n)), 'a single parameter server saturates at 1,000 workers');
  // Its capacity is the measured table for the model's kind of update, read at the run's minibatch:
  // exact at a measured point, between its neighbours elsewhere, fewer updates/s for larger minibatches.
  const [[m0, u0], [m1, u1]] = PS_CAPACITY.sparse;
  assert.equal(psUpdatesPerSecondAt(env, m0), u0);
  const between = psUpdatesPerSecondAt(env, Math.sqrt(m0 * m1));
  assert.ok(Math.abs(between - Math.sqrt(u0 * u1)) < 1e-6 * u0, `log-log midpoint ${between}`);
  assert.ok(psUpdatesPerSecondAt(env, 100_000) < PS_CAPACITY.sparse.at(-1)![1], 'extended past the last point');
  assert.equal(predictRun(m, config, env, 1000, 1769).samplesPerSecond, psUpdatesPerSecondAt(env, config.training.minibatch) * config.training.minibatch, 'capped at updates/s x minibatch');
  assert.match(thousand.notes.join(), new RegExp(`caps updates at ${Math.round(psUpdatesPerSecondAt(env, config.training.minibatch))}/s`));
  assert.deepEqual(awsEnvironment({ model: { type: 'mf', factors: 50 } } as never).psCapacity, PS_CAPACITY.mf, 'MF updates (51 floats a row) have their own table');
  assert.equal(psUpdatesPerSecondAt(localEnvironment(2), 1000), Infinity, 'locally the server shares the cores instead (host load)');
  // Locally, memory buys nothing and cores cap the speed-up.
  const local = localEnvironment(2);
  const one = predictRun(m, config, local, 1, 512);
  const four = predictRun(m, config, local, 4, 512);
  assert.ok(four.samplesPerSecond < 2.1 * one.samplesPerSecond, 'two cores cap four local workers');
});

test('fitting two worker counts separates the host load from the per-core rate', () => {
  const base = observeLike({ workers: 1, samplesPerSecondPerWorker: 10_000 });
  // With 2 cores and a host load h: share(1) = 1, share(3) = 2 / (3 + h). Make h = 1: 3 workers get 0.5 each.
  const three = observeLike({ workers: 3, samplesPerSecondPerWorker: 5_000, runId: 'b' });
  const fitted = fitPerfModel('k', [base, three])!;
  assert.ok(Math.abs(fitted.hostLoad - 1) < 0.06, `host load ${fitted.hostLoad}`);
  assert.ok(Math.abs(fitted.samplesPerSecondPerCore - 10_000) < 500);
});

function observeLike(o: Partial<PerfObservation>): PerfObservation {
  return {
    runId: 'a', workers: 1, memoryMB: 512, minibatch: 100, cores: 2, backend: 'local' as const, samplesPerSecondPerWorker: 10_000,
    setupSeconds: 1, workerStartSeconds: 0.5, unbilledSeconds: 0, tailSeconds: 0.3, psStartSeconds: 0, loadSeconds: 1, loadPuts: 0, trainRows: 9000,
    launchStaggerSeconds: 0, trainSeconds: 5, samples: 27000, costUSD: 0.0002, peakWorkerMemoryMB: 70, lossCurve: [] as Array<[number, number]>, ...o,
  };
}

test('lambda.memoryMB "auto": accepted, resolved as a flag on the starting size, and right-sized from the measured peak', () => {
  const json = { dataset: { path: '/nonexistent', format: 'criteo', testFraction: 0.1 }, model: { type: 'logistic' }, optimizer: { type: 'adagrad', learningRate: 0.1 }, training: { workers: 2 }, lambda: { memoryMB: 'auto' } };
  const { resolved } = checkRunConfig(json);
  assert.equal(resolved.lambda.autoMemory, true);
  assert.equal(resolved.lambda.memoryMB, 1024, 'the default until a run has measured the peak');
  assert.deepEqual(resolveRunConfig(resolved).config, resolved, 'resolving again changes nothing');
  assert.throws(() => checkRunConfig({ ...json, lambda: { memoryMB: 'big' } }), /lambda\.memoryMB/);
  assert.throws(() => checkRunConfig({ ...json, lambda: { memoryMB: 64 } }), /lambda\.memoryMB/);
  // Locally memory buys no CPU: the smallest that holds the peak. On AWS: the grid from there up to one vCPU, fastest first.
  const local = planRun(resolved, model({ peakWorkerMemoryMB: 70 }), localEnvironment(2));
  assert.equal(local.memoryMB, 128);
  const aws = planRun({ ...resolved, backend: 'aws' }, model({ peakWorkerMemoryMB: 300 }), awsEnvironment());
  assert.equal(aws.memoryMB, 1769, 'on AWS the smallest that keeps the full vCPU');
  const fixed = planRun({ ...resolved, lambda: { ...resolved.lambda, autoMemory: undefined, memoryMB: 512 } }, model({ peakWorkerMemoryMB: 70 }), localEnvironment(2));
  assert.equal(fixed.memoryMB, 512, 'a number is kept');
});

test('a run with memory "auto" after a measured run on the same data runs at the right-sized memory and records it', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const measured = observeRun((await (await startTraining(criteoConfig(file), { stateDir })).done).runFolder);
  assert.ok(measured && measured.peakWorkerMemoryMB > 0);
  const given = criteoConfig(file);
  const summary = await (await startTraining({ ...given, lambda: { ...given.lambda, memoryMB: 'auto' } }, { stateDir })).done;
  assert.equal(summary.status, 'completed', summary.reason);
  const train = summary.stages.find((s) => s.stage === 'train')!;
  assert.ok(train.memoryMB >= rightSizedMemoryMB(measured.peakWorkerMemoryMB) && train.memoryMB < 512, `ran at ${train.memoryMB} MB (peak ${measured.peakWorkerMemoryMB} MB)`);
  assert.ok(train.peakMemoryMB <= train.memoryMB, `peak ${train.peakMemoryMB} MB fits in ${train.memoryMB} MB`);
  const recorded = JSON.parse(fs.readFileSync(path.join(summary.runFolder, 'config.json'), 'utf8')) as RunConfig;
  assert.equal(recorded.lambda?.memoryMB, train.memoryMB, 'the run folder records the memory it ran at');
});
