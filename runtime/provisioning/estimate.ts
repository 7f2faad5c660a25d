// (runtime/cost/estimate.ts re-exports this.) A run's estimate before it starts (workers, memory, expected time and dollars, with a range), shown
// by the CLI's `estimate` and VS Code's confirm dialog. It predicts through the fitted performance
// model (runtime/provisioning/perf-model.ts): from past runs on the same data and model in the state
// dir, or a probe run; with neither, from default figures and a wide range that says so.
import { designSpaceTable, rowsPerSample } from '../channels/step-model';
import * as fs from 'node:fs';
import type { RunEstimate } from '../api';
import type { ResolvedRunConfig as RunConfig, RunConfig as GivenRunConfig } from '../config/run-config';
import { resolveRunConfig } from '../config/resolve';
import { defaultRowsPerPartition } from '../data/deploy';
import * as path from 'node:path';
import { localServicesRunningFor } from '../backends/backend';
import { DEFAULT_ENVIRONMENT_IDLE_MS } from '../backends/local-lambda/environments';
import { listRunFolders, SUMMARY_FILE } from '../recording/run-folder';
import { defaultPerfModel, loadPerfModel, localEnvironment, predictRun, type Environment, type PerfModel } from './perf-model';
import { awsEnvironment } from './simulator';

/** Rows of a local file, from its size and the mean length of its first lines (gzip: unknown). */
export function estimateRows(file: string): number | undefined {
  try {
    const size = fs.statSync(file).size;
    if (file.endsWith('.gz')) return undefined;
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(Math.min(size, 1 << 16));
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    const lines = head.toString('latin1').split('\n').length - 1;
    return lines > 0 ? Math.round(size / (head.length / lines)) : undefined;
  } catch {
    return undefined;
  }
}

/** Training rows when nothing measured them: the file's rows less the test fraction. */
function guessTrainRows(config: RunConfig): number {
  const rows = config.dataset.path.startsWith('s3://') ? undefined : estimateRows(config.dataset.path);
  return Math.max(1, Math.round((rows ?? 100_000) * (1 - (config.dataset.testFraction ?? 0))));
}

export function environmentFor(config: RunConfig): Environment {
  return (config.backend ?? 'local') === 'aws' ? awsEnvironment(config) : localEnvironment();
}

/** The performance model a config's estimate uses: fitted from the state dir's past runs, else defaults. */
export function perfModelFor(given: GivenRunConfig | RunConfig, stateDir: string | undefined, opts: { exclude?: string } = {}): PerfModel {
  const config = resolveRunConfig(given).config;
  return (stateDir !== undefined ? loadPerfModel(stateDir, config, opts) : undefined) ?? defaultPerfModel(config, guessTrainRows(config));
}

/**
 * Execution environments a run of `config` will find warm: the local service this process runs keeps a
 * function's environments for DEFAULT_ENVIRONMENT_IDLE_MS after their last invocation, as long as the
 * function's memory and time limit stay the same (a change retires them all). So: the most workers of
 * the recent runs on the same function, newest first back to the first one at another memory or time
 * limit, that ended within that window (a 1-worker run after a 2-worker one leaves both warm). On AWS,
 * and from a new process (the CLI), every environment is counted cold: how long AWS keeps them is not published.
 */
export function warmEnvironments(config: RunConfig, stateDir: string | undefined, now = Date.now(), serviceRunning = stateDir !== undefined && localServicesRunningFor(stateDir)): number {
  if (stateDir === undefined || (config.backend ?? 'local') !== 'local' || !serviceRunning) return 0;
  const runs: Array<{ endedAt: number; workers: number; same: boolean }> = [];
  for (const run of listRunFolders(stateDir)) {
    if (!run.summary || !run.config) continue;
    let endedAt: number;
    try {
      endedAt = fs.statSync(path.join(run.runFolder, SUMMARY_FILE)).mtimeMs;
    } catch {
      continue;
    }
    const train = run.summary.stages.find((st) => st.stage === 'train');
    let past: RunConfig;
    try {
      past = resolveRunConfig(run.config).config;
    } catch {
      continue; // a recorded config that no longer resolves: not comparable
    }
    // Another function's environments are its own (it can end this one's idle ones only past the service's
    // concurrency, the pool's size, which is not counted).
    if (past.lambda.functionName !== config.lambda.functionName) continue;
    runs.push({ endedAt, workers: train?.workers ?? 0, same: !!train && train.memoryMB === config.lambda.memoryMB && past.lambda.timeoutSeconds === config.lambda.timeoutSeconds });
  }
  let warm = 0;
  for (const run of runs.sort((a, b) => b.endedAt - a.endedAt)) {
    if (!run.same || now - run.endedAt >= DEFAULT_ENVIRONMENT_IDLE_MS) break; // retired by the change, or idle too long (older ones more so)
    warm = Math.max(warm, run.workers);
  }
  return warm;
}

export function estimateRun(given: GivenRunConfig | RunConfig, opts: { stateDir?: string; /** leave this run folder out of the fit */ exclude?: string } = {}): RunEstimate {
  const config = resolveRunConfig(given).config;
  const model = perfModelFor(config, opts.stateDir, opts);
  const workers = config.training.workers;
  const memoryMB = config.lambda.memoryMB;
  // Measured runs in this state dir deployed the dataset already: this run reuses it.
  const deployed = model.source !== 'default';
  const withPuts = deployed ? model : { ...model, loadPuts: Math.ceil(model.trainRows / defaultRowsPerPartition(model.trainRows)) + 3 };
  const warm = warmEnvironments(config, opts.stateDir);
  const p = predictRun(withPuts, config, environmentFor(config), workers, memoryMB, { deployed, warmEnvironments: warm });
  const basis =
    model.source === 'default'
      ? 'default figures (no past run on this data yet: run `cirrus estimate --probe` for a measured estimate)'
      : `fitted from ${model.runs.length} ${model.source === 'probe' ? 'probe' : 'past'} run${model.runs.length === 1 ? '' : 's'} on this data${warm > 0 ? `; ${Math.min(warm, workers)} of ${workers} workers start warm` : ''}`;
  return {
    backend: config.backend,
    workers: p.workers,
    memoryMB,
    expectedSeconds: p.seconds,
    expectedUSD: p.usd,
    breakdown: { ...p.breakdown },
    range: {
      seconds: [p.seconds * (1 - p.spread), p.seconds * (1 + p.spread)],
      usd: [p.usd * (1 - p.spread), p.usd * (1 + p.spread)],
    },
    basis,
    endsBy: p.endsBy,
    notes: p.notes,
    designSpace: designSpaceTable({
      workers: p.workers,
      minibatch: config.training.minibatch,
      width: config.model.type === 'softmax' ? (config.model.classes ?? 2) : 1,
      rowsPerSample: rowsPerSample(config.dataset.format),
      samples: p.samples,
      // Compute per sample: the perf model's pace per worker (it includes the asynchronous push, a small share).
      secondsPerSample: p.workers / Math.max(1e-9, p.samplesPerSecond),
      memoryMB,
      // The dense model's size, for the pywren cell (moves it whole each step); unknown without hashing bits.
      ...(config.model.hashBits !== undefined ? { featureCount: 2 ** config.model.hashBits } : {}),
    }),
  };
}
