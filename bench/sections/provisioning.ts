// provisioning: how well the fitted performance model predicts real local runs (the simulator's local
// calibration at 1, 2 and 4 workers), whether a budget holds on a real run, and what the simulator
// predicts on AWS at 10-500 workers. See docs/provisioning.md.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig, RunSummary } from '../../runtime/api';
import { CRITEO_10K, ROOT, round, SkipSection, type BenchContext, type SectionResult } from '../context';

const REPEAT = 3; // the Criteo sample x3: 27,000 training rows
const WORKERS = [1, 2, 4];
const SIMULATED_MAX_SECONDS = 48 * 3600;

export async function provisioning(ctx: BenchContext): Promise<SectionResult> {
  if (!fs.existsSync(CRITEO_10K)) throw new SkipSection(`${CRITEO_10K} is absent`);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'worker', 'index.js'))) throw new SkipSection('dist/worker/index.js is absent: run `npm run build`');
  const runtime = (await import('../../runtime')) as typeof import('../../runtime');
  const { loadPerfModel, predictRun, localEnvironment, simulate } = await import('../../runtime/provisioning');
  const { warmEnvironments } = await import('../../runtime/provisioning/estimate');
  const file = path.join(ctx.tmp, `criteo-10k-x${REPEAT}.txt`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.concat(Array.from({ length: REPEAT }, () => fs.readFileSync(CRITEO_10K))));
  const stateDir = path.join(ctx.tmp, 'provisioning-state');
  const config = (workers: number, training: Partial<RunConfig['training']> = {}): RunConfig => ({
    name: `bench-provisioning-${workers}w`,
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 18 },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    training: { workers, minibatch: 100, maxSeconds: 90, epochs: 2, ...training },
    backend: 'local',
    lambda: { memoryMB: 512, timeoutSeconds: 30 },
  });
  const run = async (c: RunConfig): Promise<RunSummary> => {
    const summary = await (await runtime.startTraining(c, { stateDir })).done;
    if (summary.status === 'failed') throw new Error(`run failed: ${summary.reason}`);
    return summary;
  };
  try {
    // The probe: a 2-worker run on a sample (runtime/provisioning/probe.ts); the model is fitted from it alone.
    // Twice: the first run in a fresh state dir creates the function and starts cold; the model keeps the smaller overheads.
    await runtime.probeRun(config(2), { stateDir });
    await runtime.probeRun(config(2), { stateDir });
    const probeLoad = (await import('node:os')).loadavg().map((x) => round(x, 1));
    const resolved = (c: RunConfig) => runtime.resolveRunConfig(c).config;
    const model = loadPerfModel(stateDir, resolved(config(2)));
    if (!model) throw new Error('no model fitted from the probe');
    const calibration = [];
    for (const workers of WORKERS) {
      // The runs before left this function's environments warm (same memory and time limit): counted as the estimate counts them.
      const warm = warmEnvironments(resolved(config(workers)), stateDir);
      const predicted = predictRun(model, resolved(config(workers)), localEnvironment(), workers, 512, { warmEnvironments: warm });
      const actual = await run(config(workers));
      const e = estimateError(predicted, actual);
      calibration.push({ workers, warmEnvironments: warm, predictedSeconds: e.estimatedSeconds, actualSeconds: e.actualSeconds, secondsError: e.secondsError, predictedUSD: e.estimatedUSD, actualUSD: e.actualUSD, usdError: e.usdError });
    }
    console.error(`provisioning: calibration ${JSON.stringify(calibration)}`);
    const budgetUSD = 0.0003;
    const budgeted = await run(config(2, { epochs: 1000, budgetUSD, patience: 1000 })); // the budget, not early stopping, ends it
    console.error(`provisioning: budget $${budgetUSD}: cost $${budgeted.costUSD}, ${budgeted.reason}`);
    // The parameter server's capacity for this data's updates (Criteo x3 at 2^18, 1 float a row), measured
    // now: the AWS figures below use it instead of the default table (simulator.ts PS_CAPACITY).
    const { awsEnvironmentFor, sampleShape, ratingsShape } = await import('../ps-capacity');
    const { loadCriteo } = await import('../criteo');
    const awsEnv = await awsEnvironmentFor(sampleShape(await loadCriteo(file, 18), 2 ** 18));
    console.error(`provisioning: parameter-server capacity (minibatch: updates/s) ${awsEnv.psCapacity.map(([m, u]) => `${m}: ${u}`).join(', ')}`);
    const aws = simulate(model, resolved(config(2, { epochs: 100 })), { workers: [10, 50, 100, 200, 500], memoryMB: [1769], environment: awsEnv });
    const maxError = Math.max(...calibration.flatMap((c) => [Math.abs(c.secondsError), Math.abs(c.usdError)]));
    // Staleness measured on real local runs (bench/staleness.ts): loss against samples at 1, 4 and 16
    // workers, minibatch 1,000; fitted in three forms (when in training staleness costs).
    const { measureStaleness } = await import('../staleness');
    const staleness = await measureStaleness(ctx.tmp, { workers: [1, 4, 16], minibatch: 1000, epochs: 8, runsPerSize: 2 });
    console.error(`provisioning: staleness ${JSON.stringify(staleness.fits)}, samples to reach ${JSON.stringify(staleness.toReach)}`);
    // Adaptive sizing against the best static size on the same grid, in the simulator (AWS, 10-500 workers),
    // from the probe-fitted model and its loss curve, under each fitted staleness form, scaled from the
    // measured minibatch to the simulated one (staleness in samples = (W - 1) x minibatch).
    const { compareAdaptive, fitConvergence, runPool } = await import('../../runtime/provisioning');
    const { oracleBound } = await import('../../runtime/provisioning/adaptive');
    const conv = fitConvergence(model);
    const grid = { workerGrid: [10, 25, 50, 100, 200, 500], memoryGrid: [512, 1024, 1769, 3008] };
    // The gradient noise scale along a sample-by-sample AdaGrad trajectory on the Criteo sample
    // (bench/noise-scale.ts, 3 row orders), and the factor that fits it to the 6 real asynchronous runs above.
    const { measureNoiseScale } = await import('../noise-scale');
    const { noiseModelFrom } = await import('../../runtime/provisioning/noise-scale');
    const { fitNoiseFactor } = await import('../../runtime/provisioning/staleness');
    const trajectories = await measureNoiseScale();
    const noise = noiseModelFrom(trajectories.map((t) => t.points), 1);
    const noiseFit = fitNoiseFactor(staleness.conv, staleness.curves, noise, staleness.options.minibatch);
    console.error(`provisioning: noise scale (loss:B) ${noise.points.map(([l, b]) => `${round(l, 3)}:${Math.round(b)}`).join(' ')}; factor to the async runs ${JSON.stringify(noiseFit)}`);
    const awsConfigAt = (minibatch: number) => resolved({ ...config(2, { epochs: undefined, maxSeconds: SIMULATED_MAX_SECONDS, minibatch }), backend: 'aws', aws: { maxInstanceMinutes: SIMULATED_MAX_SECONDS / 60 + 60 } });
    const simulatedModel = { ...model, trainRows: model.trainRows * 1000 };
    // Goodput re-planning over workers x memory x minibatch under the measured noise scale (as measured,
    // and at the factor fitted to the real runs), against the best static size of the same three-way grid,
    // and the oracle bound (the most any re-planning could save).
    const minibatchGrid = [100, 300, 1000, 3000, 10_000];
    const noiseRuns = [1, noiseFit.factor].map((factor) => {
      // The probe (2 workers at minibatch 100) is the convergence model's reference batch.
      const c = { ...conv, samplesScale: conv.samplesScale * 1000, form: 'noise-scale' as const, noise: { referenceBatch: 2 * 100, points: noise.points.map(([l, b]) => [l, b * factor] as [number, number]) } };
      const targetLoss = c.floorLoss + 0.05 * (c.initialLoss - c.floorLoss);
      const o = { ...grid, minibatchGrid, targetLoss };
      const bound = oracleBound(simulatedModel, awsConfigAt(1000), awsEnv, c, o);
      const r = compareAdaptive(simulatedModel, awsConfigAt(1000), awsEnv, c, { ...o, maxSeconds: SIMULATED_MAX_SECONDS, replanSeconds: 10 });
      return {
        noiseFactor: factor, timeSaved: round(r.timeSaved, 3), costRatio: round(r.costRatio, 3), oracleSaved: round(bound.saved, 3),
        adaptive: { seconds: round(r.adaptive.seconds, 1), usd: round(r.adaptive.usd, 4), start: `${r.adaptive.workers} x ${r.adaptive.memoryMB} MB x ${r.adaptive.minibatch}`, decisions: r.adaptive.decisions.map((d) => `${round(d.t, 0)} s: ${d.workers} x ${d.memoryMB} MB x ${d.minibatch} (${d.reason})`) },
        bestStatic: { workers: r.bestStatic.workers, memoryMB: r.bestStatic.memoryMB, minibatch: r.bestStatic.minibatch, seconds: round(r.bestStatic.seconds, 1), usd: round(r.bestStatic.usd, 4) },
      };
    });
    const adaptiveRuns = [100, 1000].flatMap((minibatch) =>
      staleness.fits.map((fit) => {
        // Simulated hours, not this machine's: the probe's loss curve (2 epochs since the probe trains the run's
        // own epochs) puts the target 5 % above the fitted floor at up to ~3 samples scales x 1000.
        const awsConfig = awsConfigAt(minibatch);
        const c = { ...conv, samplesScale: conv.samplesScale * 1000, form: fit.form, staleness: (fit.staleness / staleness.options.minibatch) * minibatch };
        let r: ReturnType<typeof compareAdaptive>;
        const targetLoss = c.floorLoss + 0.05 * (c.initialLoss - c.floorLoss);
        try {
          r = compareAdaptive(simulatedModel, awsConfig, awsEnv, c, { ...grid, targetLoss, maxSeconds: SIMULATED_MAX_SECONDS, replanSeconds: 10 });
        } catch (error) {
          // A target no size reaches is this run's figure, not the section's failure (the other figures stand).
          return { minibatch, form: fit.form, staleness: round(c.staleness, 5), timeSaved: NaN, error: (error as Error).message };
        }
        const largest = r.statics.find((s) => s.workers === 500 && s.memoryMB === 1769)!;
        return {
          minibatch, form: fit.form, staleness: round(c.staleness, 5),
          timeSaved: round(r.timeSaved, 3), costRatio: round(r.costRatio, 3),
          oracleSaved: round(oracleBound(simulatedModel, awsConfig, awsEnv, c, { ...grid, targetLoss }).saved, 3),
          adaptive: { seconds: round(r.adaptive.seconds, 1), usd: round(r.adaptive.usd, 4), decisions: r.adaptive.decisions.map((d) => `${round(d.t, 0)} s: ${d.workers} x ${d.memoryMB} MB (${d.reason})`) },
          bestStatic: { workers: r.bestStatic.workers, memoryMB: r.bestStatic.memoryMB, seconds: round(r.bestStatic.seconds, 1), usd: round(r.bestStatic.usd, 4) },
          largestStatic: { seconds: round(largest.seconds, 1), usd: round(largest.usd, 4), reached: largest.reached },
        };
      }),
    );
    // The same measurement on biased MF (MovieLens 100k u1.base, 3 row orders, 20 epochs of plain SGD) and the
    // simulator's comparison under that table (bench/noise-scale.ts): its noise scale keeps growing through training.
    // And on MovieLens 1M (users 1-2,999, 487,650 ratings), whose noise scale grows ~100x. Each with the
    // parameter server's capacity measured for its own updates (51 floats a row).
    const { mfAdaptiveComparison, measureMfNoiseScale, loadRatings, MOVIELENS_U1_BASE, MOVIELENS_1M_PARTIAL, MF_NOISE_DEFAULTS, ML1M_NOISE_DEFAULTS } = await import('../noise-scale');
    // The factor from the sample-by-sample table to the system's asynchronous MF is fitted to real runs of
    // the same file at 1, 4 and 16 workers (minibatch 1,000, 20 epochs, tested on the training ratings).
    const mfComparison = async (ratingsFile: string, o: typeof MF_NOISE_DEFAULTS) => {
      if (!fs.existsSync(ratingsFile)) return { skipped: `${ratingsFile} is absent` };
      const trajectories = measureMfNoiseScale(ratingsFile, o);
      const asyncRuns = await measureStaleness(ctx.tmp, { workload: 'mf', ratingsFile, workers: [1, 4, 16], minibatch: 1000, epochs: 20, runsPerSize: 2 });
      const fit = fitNoiseFactor(asyncRuns.convOnCurve, asyncRuns.curves, noiseModelFrom(trajectories.map((t) => t.points), 1, 'bSimple'), 1000);
      console.error(`provisioning: ${path.basename(ratingsFile)}: factor to the async runs ${JSON.stringify(fit)}`);
      const env = await awsEnvironmentFor(ratingsShape(loadRatings(ratingsFile), o.factors));
      return {
        psCapacity: env.psCapacity,
        factorToAsyncRuns: { factor: fit.factor, rmse: round(fit.rmse, 4) },
        asyncRuns: asyncRuns.curves.map((c) => ({ workers: c.workers, rmse: round(c.points.at(-1)?.[1] ?? NaN, 4), seconds: round(c.seconds, 1) })),
        ...mfAdaptiveComparison(ratingsFile, [1, 3, fit.factor], trajectories, env),
      };
    };
    const noiseScaleMf = await mfComparison(MOVIELENS_U1_BASE, MF_NOISE_DEFAULTS);
    const noiseScaleMl1m = await mfComparison(MOVIELENS_1M_PARTIAL, ML1M_NOISE_DEFAULTS);
    const poolJobs = [{ id: 'run-1', demand: 4, work: 120 }, { id: 'run-2', demand: 4, work: 80 }, { id: 'run-3', demand: 2, work: 60 }];
    const pool = (['fair', 'fcfs'] as const).map((p) => runPool(4, p, poolJobs, 5)).map((r) => ({ policy: r.policy, jain: round(r.jain, 3), utilisation: round(r.utilisation, 3), makespan: round(r.makespan, 1) }));
    const examples = await shippedExamples(runtime, ctx);
    const estimateErrors = examples.flatMap((e) => e.runs.filter((r) => r.estimateFrom !== 'default figures' && r.estimateFrom !== 'none').flatMap((r) => [Math.abs(r.secondsError), Math.abs(r.usdError)]));
    return {
      examplesMaxEstimateError: estimateErrors.length ? round(Math.max(...estimateErrors), 3) : null,
      examplesEstimatesWithin30Percent: `${estimateErrors.filter((x) => x <= 0.3).length} of ${estimateErrors.length}`,
      examples,
      adaptive: {
        convergence: { source: conv.source, initialLoss: round(conv.initialLoss, 4), floorLoss: round(conv.floorLoss, 4), samplesScale: Math.round(conv.samplesScale) },
        bestTimeSaved: Math.max(...[...adaptiveRuns, ...noiseRuns].map((r) => r.timeSaved).filter((x) => Number.isFinite(x))),
        runs: adaptiveRuns,
        noiseScale: {
          measured: noise.points.map(([loss, b], i) => ({ loss: round(loss, 4), bNoise: Math.round(b), spread: round(noise.spread[i], 2) })),
          factorToAsyncRuns: { factor: noiseFit.factor, rmse: round(noiseFit.rmse, 4) },
          runs: noiseRuns,
        },
        noiseScaleMf,
        noiseScaleMl1m,
        psCapacity: awsEnv.psCapacity,
      },
      staleness: {
        options: staleness.options,
        fits: staleness.fits.map((f) => ({ ...f, rmse: round(f.rmse, 4) })),
        toReach: staleness.toReach,
        finalLoss: staleness.curves.map((c) => ({ workers: c.workers, loss: round(c.points.at(-1)?.[1] ?? NaN, 4), seconds: round(c.seconds, 1), load: round(c.load, 1) })),
      },
      fairShareSimulated: pool,
      maxCalibrationError: round(maxError, 3),
      within30Percent: maxError <= 0.3 ? 1 : 0,
      budgetHeld: budgeted.costUSD <= budgetUSD && /budget/.test(budgeted.reason) ? 1 : 0,
      calibration,
      budget: { budgetUSD, costUSD: round(budgeted.costUSD, 7), reason: budgeted.reason, samples: budgeted.samples },
      simulatedAws: aws.map((r) => ({ workers: r.workers, memoryMB: r.memoryMB, seconds: round(r.seconds, 2), usd: round(r.usd, 6), samplesPerSecond: Math.round(r.samplesPerSecond), notes: r.notes })),
      // The probe-fitted figures: where runtime/provisioning/perf-model.ts's DEFAULT_FIGURES come from.
      model: {
        source: model.source, samplesPerSecondPerCore: Math.round(model.samplesPerSecondPerCore), warmSamplesPerSecondPerCore: Math.round(model.warmSamplesPerSecondPerCore ?? NaN),
        channelSecondsPerUpdate: model.channelSecondsPerUpdate, hostLoad: model.hostLoad,
        ...Object.fromEntries((['setupSeconds', 'workerStartSeconds', 'unbilledSeconds', 'launchStaggerSeconds', 'warmWorkerStartSeconds', 'warmUnbilledSeconds', 'tailSeconds', 'psStartSeconds'] as const).map((k) => [k, round(model[k] ?? NaN, 3)])),
        loadAverage: probeLoad,
      },
      notes:
        'examples: each shipped example (examples/*.cirrus.json, local backend) run three times in a fresh state dir: as shipped (estimated from default figures), ' +
        'with lambda.memoryMB "auto" (right-sized from the first run\'s peak, estimated from it), and as shipped again (estimated from both); error = (estimate - actual) / actual; ' +
        'rightSizing compares the auto run\'s train-stage GB-seconds and seconds with the last as-shipped run. ' +
        `Two probes (2 workers, at most 60,000 samples each) on the Criteo sample x${REPEAT} fits the model; it then predicts real local runs of 2 epochs at ${WORKERS.join(', ')} workers ` +
        '(train-stage seconds and dollars from the run summary); error = (predicted - actual) / actual. A run with budgetUSD 0.0003 must stop on the budget within it. ' +
        'simulatedAws: the same model with AWS limits (1 vCPU per 1,769 MB, 1,000 new environments per 10 s, one parameter server at ~700 updates/s) for 100 epochs. ' +
        'This machine has 2 cores shared with other work: timings move with its load.',
    };
  } finally {
    await runtime.shutdownEmbeddedServices();
  }
}

/** The one definition of an estimate's error: (estimate - actual) / actual, of seconds and of dollars. */
function estimateError(estimate: { seconds: number; usd: number }, actual: Pick<RunSummary, 'seconds' | 'costUSD'>) {
  return {
    estimatedSeconds: round(estimate.seconds, 2),
    actualSeconds: round(actual.seconds, 2),
    secondsError: round((estimate.seconds - actual.seconds) / actual.seconds, 3),
    estimatedUSD: round(estimate.usd, 7),
    actualUSD: round(actual.costUSD, 7),
    usdError: round((estimate.usd - actual.costUSD) / actual.costUSD, 3),
  };
}

/** Each shipped example three times in its own state dir: as shipped, with memory "auto", as shipped again. */
async function shippedExamples(runtime: typeof import('../../runtime'), ctx: BenchContext) {
  // The demo's data is generated, not shipped: on a fresh clone it exists only after `npm run demo`, so
  // generate it as that script does (the generator's defaults are its path and size).
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'generate-demo-data.mjs')], { cwd: ROOT, stdio: 'ignore' });
  const out = [];
  for (const file of fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.cirrus.json')).sort()) {
    let base: RunConfig;
    try {
      base = runtime.loadRunConfigFile(path.join(ROOT, 'examples', file)).config;
    } catch (error) {
      out.push({ example: file, skipped: (error as Error).message.split('\n')[0], runs: [] as never[] });
      continue;
    }
    const stateDir = path.join(ctx.tmp, `provisioning-${file}`);
    fs.rmSync(stateDir, { recursive: true, force: true });
    const runs = [];
    const summaries: RunSummary[] = [];
    for (const [label, config] of [
      ['as shipped', base],
      ['memory auto', { ...base, lambda: { ...base.lambda, memoryMB: 'auto' as const } }],
      ['as shipped again', base],
    ] as const) {
      const summary = await (await runtime.startTraining(config, { stateDir })).done;
      summaries.push(summary);
      const train = summary.stages.find((st) => st.stage === 'train');
      const est = summary.estimate;
      if (!est || summary.status === 'failed') {
        runs.push({ run: label, status: summary.status, reason: summary.reason, estimateFrom: 'none', secondsError: NaN, usdError: NaN });
        console.error(`provisioning: ${file} ${label}: ${summary.status} (${summary.reason})`);
        continue;
      }
      runs.push({
        run: label,
        status: summary.status,
        reason: summary.reason,
        memoryMB: train?.memoryMB,
        peakMemoryMB: train?.peakMemoryMB,
        estimateFrom: /default/.test(est.basis ?? '') ? 'default figures' : est.basis,
        ...estimateError({ seconds: est.expectedSeconds, usd: est.expectedUSD }, summary),
        trainGBSeconds: round(train?.gbSeconds ?? 0, 3),
        loadAverage: (await import('node:os')).loadavg().map((x) => round(x, 1)),
      });
    }
    console.error(`provisioning: ${file}: ${JSON.stringify(runs)}`);
    const gb = (i: number) => summaries[i].stages.find((st) => st.stage === 'train')?.gbSeconds ?? 0;
    out.push({
      example: file,
      runs,
      rightSizing: {
        gbSecondsSaved: round(1 - gb(1) / gb(2), 3),
        extraTime: round(summaries[1].seconds / summaries[2].seconds - 1, 3),
      },
    });
  }
  return out;
}
