// The performance model: what a run of a dataset and model costs in time and dollars at a given number
// of workers and memory, fitted from measurements (past runs on the same dataset, or a short probe run)
// and stored under the state dir. The estimate, the planner and the simulator all predict through
// `predictRun` here; docs/provisioning.md explains the model and its limits.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ResolvedRunConfig as RunConfig } from '../config/run-config';
import { resolveRunConfig } from '../config/resolve';
import { PRICES } from '../cost/prices';
import type { RunEvent, RunSummary } from '../recording/events';
import { CONFIG_FILE, listRunFolders, readJsonIfExists, readRunEvents, SUMMARY_FILE, writeFileAtomic } from '../recording/run-folder';

/** Lambda gives CPU in proportion to memory: 1,769 MB is one vCPU (AWS docs, configuration-memory). */
export const MB_PER_VCPU = 1769;
/** Past runs used per fit (the most recent ones: the machine and the code change over time). */
const MAX_RUNS_PER_FIT = 5;
/** The file the fitted models are stored in, under the state dir. */
export const PERF_MODELS_FILE = 'perf-models.json';

/** One past run reduced to what the model needs. */
export interface PerfObservation {
  runId: string;
  workers: number;
  memoryMB: number;
  minibatch: number;
  /** Cores of the machine the run was measured on (local backend) or 0 (AWS). */
  cores: number;
  backend: 'local' | 'aws';
  /** Median steady-state samples/s of one worker (heartbeats after each worker's first): of the cold
   *  invocations when there were any, else of the warm ones. */
  samplesPerSecondPerWorker: number;
  /** The same of the warm invocations (a reused environment: its worker code is already JIT-compiled and
   *  trains faster per sample); undefined when none was warm. */
  warmSamplesPerSecondPerWorker?: number;
  /** Train stage start to the first worker launch: test partitions, parameter server, function deploy. */
  setupSeconds: number;
  /** Per cold invocation (a new execution environment): billed time not spent training (start-up, partition fetch, return). */
  workerStartSeconds: number;
  /** Per cold invocation: wall time between launch and return that is not billed (the service starting the runner). */
  unbilledSeconds: number;
  /** First generation: how much later each further cold worker's runner is up than the one before (the
   *  local service starts runners one after another on a loaded machine); 0 with one worker or on AWS. */
  launchStaggerSeconds: number;
  /** Invocations that started a new execution environment, and that reused a warm one (worker-finished
   *  coldStart). The cold figures above come from the cold ones when there are any. */
  coldInvocations?: number;
  warmInvocations?: number;
  /** The same two figures for warm invocations; undefined when none was warm. */
  warmWorkerStartSeconds?: number;
  warmUnbilledSeconds?: number;
  /** Last worker's return to the end of the train stage: final pull, evaluation. */
  tailSeconds: number;
  /** Train-stage seconds before the parameter server's host is billed (the driver reads the test partitions first). */
  psStartSeconds: number;
  /** The load stage (a deploy or a reuse). */
  loadSeconds: number;
  /** S3 PUTs the load stage made (0 when the deployed dataset was reused). */
  loadPuts: number;
  /** S3 request dollars of the train stage (partition and test-set GETs, checkpoint PUTs); a warm
   *  environment has its partitions already decoded and reads none. */
  trainS3USD?: number;
  trainRows: number;
  trainSeconds: number;
  samples: number;
  costUSD: number;
  /** Largest resident memory a worker reported (MB). */
  peakWorkerMemoryMB: number;
  /** Test loss (or RMSE for mf) against samples trained, for predicting when a target loss is reached. */
  lossCurve: Array<[number, number]>;
}

export interface PerfModel {
  key: string;
  source: 'past-runs' | 'probe' | 'default';
  runs: string[];
  backend: 'local' | 'aws';
  /** Samples/s of one worker with a whole core (local) or one vCPU (AWS) to itself, at `minibatch`, in a
   *  new (cold) execution environment. */
  samplesPerSecondPerCore: number;
  /** The same in a warm environment (JIT-compiled worker code); absent until a warm invocation was measured. */
  warmSamplesPerSecondPerCore?: number;
  minibatch: number;
  /** Channel cost of one update (pull + push round trips), seconds; separated from compute when runs with two minibatch sizes exist. */
  channelSecondsPerUpdate: number;
  /** Cores the driver, parameter server and S3 server take on this machine (local contention). */
  hostLoad: number;
  cores: number;
  setupSeconds: number;
  /** Start-up of an invocation in a new (cold) execution environment: billed, and unbilled (the runner starting). */
  workerStartSeconds: number;
  unbilledSeconds: number;
  /** Seconds each further cold worker of the first generation starts after the one before (absent in models stored before it). */
  launchStaggerSeconds?: number;
  /** The same for an invocation that reuses a warm environment (a later generation, or a run soon after
   *  another of the same function); absent when no warm invocation was measured. */
  warmWorkerStartSeconds?: number;
  warmUnbilledSeconds?: number;
  tailSeconds: number;
  psStartSeconds: number;
  loadSeconds: number;
  loadPuts: number;
  /** Train-stage S3 dollars per training row when every worker starts cold (measured on such runs; absent
   *  in models stored before it or fitted from warm runs only). */
  trainS3USDPerRow?: number;
  trainRows: number;
  peakWorkerMemoryMB: number;
  /** Relative spread of the fitted throughput between runs (drives the estimate's range). */
  spread: number;
  lossCurve: Array<[number, number]>;
  fittedAt: string;
}

/** Where a run executes, for prediction: this machine or AWS (the simulator fills in AWS's limits). */
export interface Environment {
  kind: 'local' | 'aws';
  /** local: cores shared by workers, parameter server, S3 and driver. */
  cores: number;
  /** aws: extra seconds a cold start adds per new execution environment. */
  coldStartSeconds: number;
  /** aws: new execution environments per 10 s (Lambda's scaling rate). */
  environmentsPer10s: number;
  /** aws: the account's concurrency. */
  concurrencyLimit: number;
  /** Round trip of one update's two requests to the parameter server (added to the measured channel cost). */
  extraChannelSecondsPerUpdate: number;
  /** The parameter server's capacity (one Node process), measured per minibatch for one workload's updates:
   *  [minibatch, updates/s], minibatch ascending; an update's size, and so the server's work, grows with the
   *  rows a minibatch touches (`psUpdatesPerSecondAt`). Empty: no limit. */
  psCapacity: Array<[number, number]>;
  /** S3 GETs per second per prefix before 503 SlowDown. */
  s3GetsPerSecond: number;
  /** Per-function network bandwidth from S3, MB/s. */
  networkMBps: number;
}

export function localEnvironment(cores = os.cpus().length): Environment {
  return {
    kind: 'local',
    cores,
    coldStartSeconds: 0,
    environmentsPer10s: Infinity,
    concurrencyLimit: Infinity,
    extraChannelSecondsPerUpdate: 0,
    psCapacity: [], // contention is in hostLoad
    s3GetsPerSecond: Infinity,
    networkMBps: Infinity,
  };
}

/** The part of a config that makes runs comparable: same data file (path and size), model and update scheme. */
export function perfKey(config: RunConfig): string {
  const d = config.dataset;
  let size = '';
  if (!d.path.startsWith('s3://')) {
    try {
      size = String(fs.statSync(d.path).size);
    } catch {
      size = '?';
    }
  }
  const m = config.model;
  const shape = m.type === 'mf' ? `f${m.factors ?? ''}` : `h${m.hashBits ?? ''}${m.classes ? `c${m.classes}` : ''}`;
  return [d.path, size, d.format ?? '', d.testPath ?? d.testFraction ?? '', m.type, shape, config.training.sync ?? 'async-sgd'].join('|');
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

/** Reduces one finished run folder to an observation; undefined when it has too little to fit from. */
export function observeRun(runFolder: string): PerfObservation | undefined {
  let config: RunConfig | undefined;
  try {
    const recorded = readJsonIfExists<RunConfig>(path.join(runFolder, CONFIG_FILE));
    config = recorded && resolveRunConfig(recorded).config;
  } catch {
    return undefined; // a config that no longer resolves: nothing to compare with
  }
  const summary = readJsonIfExists<RunSummary>(path.join(runFolder, SUMMARY_FILE));
  if (!config || !summary || summary.status === 'failed' || summary.samples <= 0) return undefined;
  const events = readRunEvents(runFolder);
  const of = <T extends RunEvent['type']>(type: T) => events.filter((e): e is Ev<T> => e.type === type);
  const trainStart = of('stage-started').find((e) => e.stage === 'train');
  const trainEnd = of('stage-finished').find((e) => e.stage === 'train');
  const load = of('stage-finished').find((e) => e.stage === 'load');
  const launches = of('worker-launched');
  const finishes = of('worker-finished');
  if (!trainStart || !trainEnd || launches.length === 0 || finishes.length === 0) return undefined;

  // Steady-state rate of each invocation: samples between its first and last heartbeat the driver read
  // (the first covers start-up), never below its samples over its whole billed time.
  const beats = new Map<string, Array<{ t: number; samples: number }>>();
  for (const beat of of('worker-heartbeat')) {
    const id = `${beat.worker}/${beat.generation}`;
    beats.set(id, [...(beats.get(id) ?? []), { t: beat.t, samples: beat.samples }]);
  }
  const unbilledOf = (f: Ev<'worker-finished'>) => {
    const launch = launches.find((l) => l.worker === f.worker && l.generation === f.generation);
    return launch ? [Math.max(0, f.t - launch.t - f.billedMs / 1000)] : [];
  };
  // The billed start-up, measured: invoke to the first pushed gradient less the unbilled wait (runs
  // before firstGradientMs was recorded: undefined, derived from the rate below).
  const measuredStartOf = (f: Ev<'worker-finished'>) => {
    const unbilled = unbilledOf(f);
    return f.firstGradientMs !== undefined && unbilled.length > 0 ? Math.min(f.billedMs / 1000, Math.max(0, f.firstGradientMs / 1000 - unbilled[0])) : undefined;
  };
  const rateOf = (f: Ev<'worker-finished'>) => {
    const b = beats.get(`${f.worker}/${f.generation}`) ?? [];
    // Samples over the billed time after the first gradient: a short invocation's start-up (the runner's
    // module load, partition reads) would otherwise be counted as slow training and scale with the samples.
    const overall = f.samples / Math.max(1e-3, f.billedMs / 1000 - (measuredStartOf(f) ?? 0));
    const first = b[0];
    const last = b[b.length - 1];
    const steady = first && last && last.t - first.t >= 1 ? (last.samples - first.samples) / (last.t - first.t) : 0;
    return Math.max(overall, steady);
  };
  // Cold and warm invocations apart: a warm one skips the runner's start and the module's load, and its
  // worker code is already JIT-compiled (it trained 1.2-2x faster per sample on this machine, 2026-11-30).
  // Invocations that do not say (older runs) count as cold.
  const ok = finishes.filter((f) => f.status !== 'failed');
  const cold = ok.filter((f) => f.coldStart !== false);
  const warm = ok.filter((f) => f.coldStart === false);
  const coldOrAll = cold.length > 0 ? cold : ok;
  const rateAmong = (fs: Array<Ev<'worker-finished'>>) => median(fs.filter((f) => f.samples > 0).map(rateOf));
  const rate = rateAmong(coldOrAll);
  if (!(rate > 0)) return undefined;
  const warmRate = warm.length > 0 ? rateAmong(warm) : NaN;
  const lastFinish = Math.max(...finishes.map((f) => f.t));
  const startOf = (f: Ev<'worker-finished'>) => Math.max(0, f.billedMs / 1000 - f.samples / (f.coldStart === false && warmRate > 0 ? warmRate : rate));
  // The first generation's cold runners: the earliest up is the base, each further one later by the stagger.
  const firstGen = Math.min(...finishes.map((x) => x.generation));
  const firstGeneration = coldOrAll.filter((f) => f.generation === firstGen).flatMap(unbilledOf);
  const stagger = firstGeneration.length >= 2 ? (Math.max(...firstGeneration) - Math.min(...firstGeneration)) / (firstGeneration.length - 1) : 0;
  // Heartbeats, and the train stage's peak from the invocations' reports (a short run may end before any heartbeat).
  const heartbeatsMemory = [...of('worker-heartbeat').map((b) => b.memoryMB), of('stage-finished').find((e) => e.stage === 'train')?.peakMemoryMB ?? 0];
  const evals = of('eval');
  const lossOf = (e: Ev<'eval'>) => (e.testRMSE !== undefined && e.testRMSE !== null ? e.testRMSE : e.testLoss);
  return {
    runId: path.basename(runFolder),
    workers: config.training.workers,
    memoryMB: trainStart.memoryMB || config.lambda.memoryMB,
    minibatch: config.training.minibatch,
    cores: (config.backend ?? 'local') === 'local' ? os.cpus().length : 0,
    backend: config.backend ?? 'local',
    samplesPerSecondPerWorker: rate,
    ...(warmRate > 0 ? { warmSamplesPerSecondPerWorker: warmRate } : {}),
    setupSeconds: Math.max(0, Math.min(...launches.map((l) => l.t)) - trainStart.t),
    workerStartSeconds: median(coldOrAll.map(startOf)) || 0,
    unbilledSeconds: (firstGeneration.length >= 2 ? Math.min(...firstGeneration) : median(coldOrAll.flatMap(unbilledOf))) || 0,
    launchStaggerSeconds: (config.backend ?? 'local') === 'local' ? stagger : 0,
    coldInvocations: cold.length,
    warmInvocations: warm.length,
    ...(warm.length > 0 ? { warmWorkerStartSeconds: median(warm.map(startOf)) || 0, warmUnbilledSeconds: median(warm.flatMap(unbilledOf)) || 0 } : {}),
    tailSeconds: Math.max(0, trainEnd.t - lastFinish),
    psStartSeconds: Math.max(0, summary.seconds - ((summary.cost.parameterServer ?? 0) / PRICES.parameterServerPerHour) * 3600),
    loadSeconds: load?.seconds ?? 0,
    // The load stage's cost is its PUTs (the deploy); the rest of the run's S3 dollars are the train stage's.
    loadPuts: Math.max(0, Math.round((load?.costUSD ?? 0) / PRICES.s3PerPut)),
    trainS3USD: Math.max(0, (summary.cost.s3Requests ?? 0) - (load?.costUSD ?? 0)),
    trainRows: trainRowsOf(events, config, summary),
    trainSeconds: summary.seconds,
    samples: summary.samples,
    costUSD: summary.costUSD,
    peakWorkerMemoryMB: Math.max(0, ...heartbeatsMemory),
    lossCurve: evals.filter((e) => e.samples > 0 && Number.isFinite(lossOf(e))).map((e) => [e.samples, lossOf(e)] as [number, number]),
  };
}

/** Training rows: from the load stage's log line ("N train rows"), else samples / epochs. */
function trainRowsOf(events: RunEvent[], config: RunConfig, summary: RunSummary): number {
  for (const e of events) {
    if (e.type !== 'log') continue;
    const m = /: (\d+) train rows/.exec(e.message);
    if (m) return Number(m[1]);
  }
  return config.training.epochs ? summary.samples / config.training.epochs : summary.samples;
}

/** Fraction of a core each of `workers` local workers gets. */
export function localCoreShare(workers: number, cores: number, hostLoad: number): number {
  return Math.min(1, cores / (workers + hostLoad));
}

/** Fraction of one vCPU a Lambda worker of `memoryMB` gets for its single training thread. */
export function lambdaCoreShare(memoryMB: number): number {
  return Math.min(1, memoryMB / MB_PER_VCPU);
}

/** Default host load: the parameter server, the S3 server and the driver's evaluation take about half a core. */
export const DEFAULT_HOST_LOAD = 0.5;
/** Default channel cost per update on loopback, when runs at two minibatch sizes have not separated it:
 *  one worker on the Criteo sample x3 at minibatch 20, 50, 100 and 1,000 (2026-11-30 22:34 UTC, load 7,
 *  pipelined pulls) fits time per sample = c + 0.3 ms / minibatch. */
export const DEFAULT_CHANNEL_SECONDS_PER_UPDATE = 0.0003;
/** With one minibatch size measured, the channel is taken as at most this share of a whole core's measured
 *  time per update: the worker computed for the rest (a larger default would leave no compute, the estimate's
 *  3-8x miss of 2026-11-30 22:28 when the default was 1.5 ms and pipelining had made a9a's whole update
 *  take 0.6 ms). */
const MAX_CHANNEL_SHARE = 0.5;

/** Fits a model from observations (most recent last). */
export function fitPerfModel(key: string, observations: PerfObservation[], source: PerfModel['source'] = 'past-runs'): PerfModel | undefined {
  const obs = observations.slice(-MAX_RUNS_PER_FIT);
  if (obs.length === 0) return undefined;
  const latest = obs[obs.length - 1];
  const cores = latest.cores || os.cpus().length;
  // Channel cost per update: separable when two minibatch sizes were measured (time per sample = c + u / minibatch).
  const byMinibatch = new Map<number, number[]>();
  for (const o of obs) byMinibatch.set(o.minibatch, [...(byMinibatch.get(o.minibatch) ?? []), 1 / o.samplesPerSecondPerWorker]);
  let channel: number | undefined;
  if (byMinibatch.size >= 2) {
    const pts = [...byMinibatch].map(([mb, ts]) => [1 / mb, median(ts)]);
    const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
    const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
    const slope = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / Math.max(1e-12, pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0));
    if (slope > 0) channel = slope;
  }
  // Host load: with runs at two worker counts (local), the one that best explains both; else the default.
  let hostLoad = DEFAULT_HOST_LOAD;
  // Cold throughput only from runs that had cold invocations (a run whose every worker was warm trained at the warm rate).
  const withCold = obs.filter((o) => (o.coldInvocations ?? 1) > 0);
  const coldObs = withCold.length > 0 ? withCold : obs;
  const local = coldObs.filter((o) => o.backend === 'local');
  if (new Set(local.map((o) => o.workers)).size >= 2) {
    let best = Infinity;
    for (let h = 0; h <= 3; h += 0.05) {
      const perCore = local.map((o) => o.samplesPerSecondPerWorker / localCoreShare(o.workers, o.cores || cores, h));
      const m = median(perCore);
      const err = perCore.reduce((a, x) => a + ((x - m) / m) ** 2, 0);
      if (err < best - 1e-9) (best = err), (hostLoad = h);
    }
  }
  const shareOf = (o: PerfObservation) => (o.backend === 'local' ? localCoreShare(o.workers, o.cores || cores, hostLoad) : lambdaCoreShare(o.memoryMB));
  const perCore = coldObs.map((o) => o.samplesPerSecondPerWorker / shareOf(o));
  // Unseparated, the default, but never more than MAX_CHANNEL_SHARE of a whole core's time per update.
  channel ??= Math.min(DEFAULT_CHANNEL_SECONDS_PER_UPDATE, (MAX_CHANNEL_SHARE * latest.minibatch) / median(perCore));
  const spread = perCore.length >= 2 ? (Math.max(...perCore) - Math.min(...perCore)) / median(perCore) / 2 : 0;
  const deployed = obs.filter((o) => o.loadPuts > 0).at(-1);
  const warmObs = obs.filter((o) => o.warmWorkerStartSeconds !== undefined);
  const warmPerCore = median(obs.filter((o) => o.warmSamplesPerSecondPerWorker! > 0).map((o) => o.warmSamplesPerSecondPerWorker! / shareOf(o)));
  const s3PerRow = median(obs.filter((o) => o.trainS3USD !== undefined && o.trainRows > 0 && !o.warmInvocations).map((o) => o.trainS3USD! / o.trainRows));
  return {
    key,
    source,
    runs: obs.map((o) => o.runId),
    backend: latest.backend,
    samplesPerSecondPerCore: median(perCore),
    ...(warmPerCore > 0 ? { warmSamplesPerSecondPerCore: warmPerCore } : {}),
    minibatch: latest.minibatch,
    channelSecondsPerUpdate: channel,
    hostLoad,
    cores,
    // Fixed overheads: the smallest seen. The first run in a state dir creates the function and starts a
    // cold runner, and contention only inflates them; the throughput term carries the machine's load.
    setupSeconds: Math.min(...obs.map((o) => o.setupSeconds)),
    // Cold figures only from runs that had cold invocations (a run whose every worker was warm says nothing of them).
    workerStartSeconds: Math.min(...coldObs.map((o) => o.workerStartSeconds)),
    unbilledSeconds: Math.min(...coldObs.map((o) => o.unbilledSeconds)),
    // The stagger grows with the machine's load rather than shrinking like the cold start: the median.
    launchStaggerSeconds: median(coldObs.map((o) => o.launchStaggerSeconds ?? 0)),
    ...(warmObs.length > 0
      ? { warmWorkerStartSeconds: Math.min(...warmObs.map((o) => o.warmWorkerStartSeconds!)), warmUnbilledSeconds: Math.min(...warmObs.map((o) => o.warmUnbilledSeconds ?? 0)) }
      : {}),
    tailSeconds: Math.min(...obs.map((o) => o.tailSeconds)),
    psStartSeconds: median(obs.map((o) => o.psStartSeconds)),
    loadSeconds: latest.loadSeconds,
    loadPuts: deployed?.loadPuts ?? 0,
    ...(s3PerRow >= 0 ? { trainS3USDPerRow: s3PerRow } : {}),
    trainRows: latest.trainRows,
    peakWorkerMemoryMB: Math.max(...obs.map((o) => o.peakWorkerMemoryMB)),
    spread,
    lossCurve: latest.lossCurve,
    fittedAt: new Date().toISOString(),
  };
}

/** The key of a run folder's recorded config (older folders hold it unresolved); undefined if it no longer resolves. */
function storedKey(config: unknown): string | undefined {
  try {
    return perfKey(resolveRunConfig(config as RunConfig).config);
  } catch {
    return undefined;
  }
}

/** The model for a config: fitted from the past runs in the state dir on the same data and model (and
 *  stored), else the stored one, else undefined. `exclude` leaves out a run (its own folder). */
export function loadPerfModel(stateDir: string, config: RunConfig, opts: { exclude?: string } = {}): PerfModel | undefined {
  const key = perfKey(config);
  const matching = listRunFolders(stateDir).filter((run) => run.runId !== opts.exclude && run.config && run.summary && storedKey(run.config) === key);
  const observations = matching
    .slice(-2 * MAX_RUNS_PER_FIT)
    .map((run) => observeRun(run.runFolder))
    .filter((o): o is PerfObservation => o !== undefined);
  const probeOnly = observations.length > 0 && observations.every((o) => o.runId.includes('-probe-'));
  const fitted = fitPerfModel(key, observations, probeOnly ? 'probe' : 'past-runs');
  const stored = readStoredModels(stateDir);
  if (fitted) {
    stored[key] = fitted;
    try {
      fs.mkdirSync(stateDir, { recursive: true });
      writeFileAtomic(path.join(stateDir, PERF_MODELS_FILE), JSON.stringify(stored, null, 2) + '\n');
    } catch {
      // a read-only state dir: the fit is still used, just not kept
    }
    return fitted;
  }
  return stored[key];
}

function readStoredModels(stateDir: string): Record<string, PerfModel> {
  const stored = readJsonIfExists<Record<string, PerfModel>>(path.join(stateDir, PERF_MODELS_FILE));
  return stored && typeof stored === 'object' ? stored : {};
}

/**
 * The figures a model with no measurement behind it uses (the one place of them), from the bench section
 * `provisioning`'s probe (two 2-worker runs on the Criteo sample x3, logistic, minibatch 100, the first
 * cold and the second warm; docs/provisioning.md "Default figures"). Samples/s per core are the cold rate
 * at minibatch 100 (the probe's measurement; the channel is added for other sizes).
 */
export const DEFAULT_FIGURES = {
  /** Asynchronous logistic/softmax: the probe, 2026-11-30 22:28 UTC, load 2.5. */
  samplesPerSecondPerCore: 60_000,
  /** Matrix factorisation: movielens-100k as shipped (100 factors, minibatch 100), the model fitted from one
   *  run, 2026-12-02, load ~1: 333,407 (it was 90,000, from before issue 10's last speed work: the as-shipped
   *  run was then estimated at 2.7x its time). */
  mfSamplesPerSecondPerCore: 330_000,
  /** Model averaging has no per-minibatch exchange: its end-to-end rate was 1.85x async SGD's (docs/benchmarks.md, issue 10, 2026-11-30). */
  modelAveragingSpeedup: 1.85,
  minibatch: 100,
  setupSeconds: 0.25,
  workerStartSeconds: 0.05,
  unbilledSeconds: 0.25,
  launchStaggerSeconds: 0.1,
  tailSeconds: 0.1,
  psStartSeconds: 0.25,
} as const;

/** A model with no measurement behind it: DEFAULT_FIGURES, with a wide range. */
export function defaultPerfModel(config: RunConfig, trainRows: number): PerfModel {
  const f = DEFAULT_FIGURES;
  const perCore = config.model.type === 'mf' ? f.mfSamplesPerSecondPerCore : f.samplesPerSecondPerCore * (config.training.sync === 'model-averaging' ? f.modelAveragingSpeedup : 1);
  return {
    key: perfKey(config),
    source: 'default',
    runs: [],
    backend: config.backend ?? 'local',
    samplesPerSecondPerCore: perCore,
    minibatch: f.minibatch,
    channelSecondsPerUpdate: DEFAULT_CHANNEL_SECONDS_PER_UPDATE,
    hostLoad: DEFAULT_HOST_LOAD,
    cores: os.cpus().length,
    setupSeconds: f.setupSeconds,
    workerStartSeconds: f.workerStartSeconds,
    unbilledSeconds: f.unbilledSeconds,
    launchStaggerSeconds: f.launchStaggerSeconds,
    tailSeconds: f.tailSeconds,
    psStartSeconds: f.psStartSeconds,
    loadSeconds: 2,
    loadPuts: 0,
    trainRows,
    peakWorkerMemoryMB: 0,
    spread: 0.6,
    lossCurve: [],
    fittedAt: new Date().toISOString(),
  };
}

export interface Prediction {
  workers: number;
  memoryMB: number;
  /** Train-stage seconds (what a run's summary reports as `seconds`). */
  seconds: number;
  usd: number;
  breakdown: { lambdaCompute: number; lambdaRequests: number; s3Requests: number; parameterServer: number };
  /** Samples/s of all workers together. */
  samplesPerSecond: number;
  samples: number;
  /** What ends the run: epochs, the target loss, or the time limit. */
  endsBy: 'epochs' | 'target-loss' | 'time-limit';
  /** Relative half-width of the range around seconds and usd. */
  spread: number;
  /** Why a size is capped (AWS concurrency), when it is. */
  notes: string[];
}

/** A warm invocation's start against a cold one's, until a run measures warm starts for the model: the
 *  coldStart bench's invoke-to-first-gradient, warm 56 ms against cold 589 ms (quiet machine,
 *  2026-11-30, docs/benchmarks.md), rounded to a tenth. A warm start also skips reading and decoding
 *  the partitions, which the cold figure fitted from a run includes. */
export const UNMEASURED_WARM_START_FRACTION = 0.1;

/** An invocation's start on this machine's local service, cold or warm: the unbilled runner start plus the
 *  billed start-up (a warm one unmeasured: no runner start, UNMEASURED_WARM_START_FRACTION of the billed). */
export function localStartSeconds(model: PerfModel, warm: boolean): number {
  return warm ? (model.warmUnbilledSeconds ?? 0) + (model.warmWorkerStartSeconds ?? model.workerStartSeconds * UNMEASURED_WARM_START_FRACTION) : model.unbilledSeconds + model.workerStartSeconds;
}

/** The parameter server's updates/s at `minibatch`: the measured table, log-log interpolated between its
 *  points and extended along the nearest segment beyond them (Infinity for an empty table). */
export function psUpdatesPerSecondAt(env: Environment, minibatch: number): number {
  const table = env.psCapacity;
  if (table.length === 0) return Infinity;
  const measured = table.find(([m]) => m === minibatch);
  if (measured) return measured[1];
  if (table.length === 1) return table[0][1];
  let i = 0;
  while (i < table.length - 2 && minibatch > table[i + 1][0]) i++;
  const [[m0, u0], [m1, u1]] = [table[i], table[i + 1]];
  const t = Math.log(minibatch / m0) / Math.log(m1 / m0);
  return Math.exp(Math.log(u0) + t * Math.log(u1 / u0));
}

/**
 * Predicts a run of `config` at `workers` x `memoryMB` in `env`. `deployed`: the dataset is already in S3.
 * `warmEnvironments`: execution environments of the function left warm by a recent run (`warmEnvironments()`),
 * which that many first-generation workers reuse.
 */
export function predictRun(model: PerfModel, config: RunConfig, env: Environment, workers: number, memoryMB: number, opts: { deployed?: boolean; warmEnvironments?: number } = {}): Prediction {
  const notes: string[] = [];
  const t = config.training;
  const running = Math.min(workers, env.concurrencyLimit);
  if (running < workers) notes.push(`only ${env.concurrencyLimit} run at once (account concurrency)`);
  const minibatch = t.minibatch;
  const warmFirst = Math.min(running, Math.max(0, Math.floor(opts.warmEnvironments ?? 0)));
  const coldFirst = running - warmFirst;
  const share = env.kind === 'local' ? localCoreShare(running, env.cores, model.hostLoad) : lambdaCoreShare(memoryMB);
  const channel = model.channelSecondsPerUpdate + env.extraChannelSecondsPerUpdate;
  // Time per sample = compute / core share + channel per update / minibatch. Workers in warm environments
  // compute at the warm rate once measured (JIT-compiled code); the channel is the same. Each worker trains
  // its own share, so with any cold one in the first generation the cold rate decides the end. (A long
  // run's later generations reuse warm environments; counting them at the cold rate errs long.)
  const perCore = coldFirst === 0 && model.warmSamplesPerSecondPerCore ? model.warmSamplesPerSecondPerCore : model.samplesPerSecondPerCore;
  const computePerSample = Math.max(0.1 / perCore, 1 / perCore - model.channelSecondsPerUpdate / model.minibatch);
  // Locally the channel's work (parameter server, loopback) shares the same cores; on AWS it is latency.
  let perWorker = env.kind === 'local' ? share / (computePerSample + channel / minibatch) : 1 / (computePerSample / share + channel / minibatch);
  // One parameter server serves every update: past its capacity, workers wait.
  const psUpdates = psUpdatesPerSecondAt(env, minibatch);
  const aggregateCap = psUpdates * minibatch;
  if (perWorker * running > aggregateCap) {
    perWorker = aggregateCap / running;
    notes.push(`the parameter server caps updates at ${Math.round(psUpdates)}/s`);
  }
  const aggregate = perWorker * running;

  // Samples to train: epochs, else samples to the target loss on the last run's curve, else the time limit.
  const maxSeconds = t.maxSeconds ?? 600;
  let samples = Infinity;
  let endsBy: Prediction['endsBy'] = 'time-limit';
  if (t.epochs !== undefined) (samples = t.epochs * model.trainRows), (endsBy = 'epochs');
  if (t.targetLoss !== undefined) {
    const reached = model.lossCurve.find(([, loss]) => loss <= t.targetLoss!);
    if (reached && reached[0] < samples) (samples = reached[0]), (endsBy = 'target-loss');
  }
  // Launch: AWS starts at most environmentsPer10s new environments per 10 s.
  const launchSeconds = env.environmentsPer10s === Infinity ? 0 : Math.floor((running - 1) / env.environmentsPer10s) * 10;
  // Partition reads: each worker reads its share of the data at the network's rate, and all GETs share the prefix's rate.
  const fetchSeconds = env.kind === 'aws' ? (model.trainRows * 40) / 2 ** 20 / running / env.networkMBps + running / env.s3GetsPerSecond : 0;
  // Start-up of a cold invocation (a new execution environment) and of a warm one (no runner to start, no
  // module to load, the partitions already decoded; unmeasured, its billed start is taken as
  // UNMEASURED_WARM_START_FRACTION of the cold one's and its unbilled wait as none).
  const start = model.workerStartSeconds + env.coldStartSeconds + fetchSeconds;
  const warmStart = (model.warmWorkerStartSeconds ?? model.workerStartSeconds * UNMEASURED_WARM_START_FRACTION) + fetchSeconds;
  let trainSeconds = samples / aggregate;
  // The local service's unbilled runner start has no AWS counterpart: there the cold start is billed (in `start`).
  const unbilled = env.kind === 'aws' ? 0 : model.unbilledSeconds;
  const warmUnbilled = env.kind === 'aws' ? 0 : (model.warmUnbilledSeconds ?? 0);
  // Locally the cold runners of the first generation come up one after another: each worker trains its own
  // share of the data, so the last one up finishes last.
  const stagger = env.kind === 'aws' || coldFirst === 0 ? 0 : (model.launchStaggerSeconds ?? 0) * (coldFirst - 1);
  const firstUp = coldFirst > 0 ? unbilled + stagger + start : warmUnbilled + warmStart;
  const before = model.setupSeconds + launchSeconds + firstUp;
  if (before + trainSeconds > maxSeconds) {
    trainSeconds = Math.max(0, maxSeconds - before);
    endsBy = 'time-limit';
  }
  samples = Math.min(samples, trainSeconds * aggregate);
  // Generations: a worker returns before its function time limit and the next one starts from its cursor.
  const timeout = config.lambda?.timeoutSeconds ?? (env.kind === 'aws' ? 300 : 60);
  const generations = Math.max(1, Math.ceil((start + trainSeconds) / Math.max(1, timeout - 2)));
  // Later generations reuse the environment the one before returned, when warm starts were measured.
  const laterStart = model.warmWorkerStartSeconds !== undefined ? warmStart : start;
  const laterUnbilled = model.warmWorkerStartSeconds !== undefined ? warmUnbilled : unbilled;
  const later = (generations - 1) * (laterUnbilled + laterStart);
  const seconds = before + trainSeconds + later + model.tailSeconds;
  // Billed: each worker's own start, then training and the later generations' starts.
  const billedStarts = coldFirst * start + warmFirst * warmStart + running * (generations - 1) * laterStart;
  const invocations = running * generations;
  const puts = opts.deployed === false ? model.loadPuts : 0;
  const breakdown = {
    lambdaCompute: invocations > 0 ? (billedStarts + running * trainSeconds) * (memoryMB / 1024) * PRICES.lambdaPerGBSecond : 0,
    lambdaRequests: invocations * PRICES.lambdaPerRequest,
    // The train stage's S3 dollars as measured per training row (partitions, test set, checkpoints) for the
    // cold workers' share (a warm one reads no partitions), else about two GETs per invocation.
    s3Requests:
      (model.trainS3USDPerRow !== undefined ? (model.trainS3USDPerRow * model.trainRows * coldFirst) / Math.max(1, running) + warmFirst * 2 * PRICES.s3PerGet : (invocations * 2 + 2) * PRICES.s3PerGet) +
      puts * PRICES.s3PerPut,
    parameterServer: (Math.max(0, seconds - (model.psStartSeconds ?? 0)) / 3600) * PRICES.parameterServerPerHour,
  };
  return {
    workers: running,
    memoryMB,
    seconds,
    usd: Object.values(breakdown).reduce((a, b) => a + b, 0),
    breakdown,
    samplesPerSecond: aggregate,
    samples,
    endsBy,
    spread: Math.max(0.15, model.spread),
    notes,
  };
}
