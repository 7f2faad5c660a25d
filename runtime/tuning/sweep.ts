// A hyperparameter sweep: many trainings of one base config, a few at a time (within the backend's
// concurrency limit), each a normal run (its own run folder) started through startTraining and
// watched through its event stream; the early-stopping rule stops trials that fall behind. The
// sweep itself is recorded as a run folder with one 'tune' stage (GB-seconds and cost of all its
// trials), plus sweep.json (every trial, ranked) and best.cirrus.json (the winner, ready to run).
import { GetAccountSettingsCommand } from '@aws-sdk/client-lambda';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { RunHandle, RuntimeContext } from '../api';
import { openBackend, type Backend } from '../backends/backend';
import { deployFunction, workerZip } from '../backends/lambda-client';
import type { ResolvedRunConfig, RunConfig } from '../config/run-config';
import { resolveRunConfig } from '../config/resolve';
import type { RunEvent, RunSummary } from '../recording/events';
import { datasetKey } from '../data/identity';
import { loadDataset } from '../driver/load-stage';
import { Recording } from '../recording/recorder';
import { SUMMARY_FILE, readJsonIfExists, writeFileAtomic } from '../recording/run-folder';
import { startTraining } from '../driver/run';
import { EarlyStopper } from './early-stopping';
import { describeParams, expandTrials, type SweepConfig, type Trial } from './sweep-config';

export const SWEEP_FILE = 'sweep.json';
export const BEST_CONFIG_FILE = 'best.cirrus.json';
const DEFAULT_PARALLEL = 2;

export interface TrialResult {
  index: number;
  name: string;
  params: Trial['params'];
  runId?: string;
  runFolder?: string;
  /** stopped-early: by the rule; stopped: by the user; not-started: the sweep was stopped first. */
  status: 'completed' | 'stopped-early' | 'stopped' | 'failed' | 'not-started';
  reason: string;
  testLoss: number | null;
  testAccuracy: number | null;
  testRMSE: number | null;
  progress: number; // fraction of its budget done
  gbSeconds: number;
  costUSD: number;
  seconds: number;
}

export interface SweepSummary {
  sweepId: string;
  name: string;
  folder: string;
  status: 'completed' | 'stopped' | 'failed';
  reason: string;
  rule: NonNullable<SweepConfig['earlyStopping']>['rule'];
  parallel: number;
  /** Completed trials by final test loss, then the others by their last loss. */
  ranking: TrialResult[];
  best?: { index: number; name: string; params: Trial['params']; testLoss: number; runId: string; configPath: string };
  gbSeconds: number;
  costUSD: number;
  seconds: number;
}

export interface SweepHandle {
  sweepId: string;
  folder: string;
  trials: Trial[];
  parallel: number;
  /** Each trial's run as it starts (the extension adds it to its registry and the dashboard). */
  onTrialStarted(listener: (trial: Trial, handle: RunHandle) => void): () => void;
  /** The sweep record's own events (progress, best-so-far as eval, stage and finish). */
  onEvent(listener: (event: RunEvent) => void): () => void;
  /** Stops one trial (by run id or trial index); the sweep goes on with the others. */
  stopTrial(which: string | number, reason?: string): Promise<void>;
  /** Stops the running trials and starts no more. */
  stop(reason?: string): Promise<void>;
  done: Promise<SweepSummary>;
}


/** The backend's concurrency limit for functions (Lambda's account setting; the local service's cap). */
async function concurrencyLimit(backend: Backend): Promise<number | undefined> {
  try {
    const settings = await backend.lambda.send(new GetAccountSettingsCommand({}));
    return settings.AccountLimit?.UnreservedConcurrentExecutions ?? settings.AccountLimit?.ConcurrentExecutions;
  } catch {
    return undefined; // not allowed to read it: trust the sweep's `parallel`
  }
}

/** Fraction of a trial's budget done: its epochs if it has some, else its time limit. */
function budgetProgress(config: ResolvedRunConfig, trainRows: number, samples: number, trainSeconds: number): number {
  const parts: number[] = [];
  if (config.training.epochs !== undefined && trainRows > 0) parts.push(samples / (config.training.epochs * trainRows));
  parts.push(trainSeconds / config.training.maxSeconds);
  return parts.length ? Math.min(1, Math.max(...parts)) : 0;
}

export async function startSweep(sweep: SweepConfig, base: RunConfig, ctx: RuntimeContext, opts: { sweepPath?: string; signal?: AbortSignal } = {}): Promise<SweepHandle> {
  const name = sweep.name ?? (opts.sweepPath ? path.basename(opts.sweepPath).replace(/\.sweep\.json$|\.json$/, '') : `${base.name ?? 'run'}-sweep`);
  let trials = expandTrials({ ...sweep, name }, base);
  const resolvedBase = resolveRunConfig(base).config;
  // The sweep's own backend only loads data and deploys (no workers): each trial opens its network.
  const backend = await openBackend({ ...resolvedBase, network: undefined }, ctx.stateDir, ctx.awsCredentials);
  const limit = await concurrencyLimit(backend);
  const maxWorkers = Math.max(...trials.map((t) => t.config.training.workers));
  const parallel = Math.max(1, Math.min(sweep.parallel ?? DEFAULT_PARALLEL, trials.length, limit !== undefined ? Math.floor(limit / maxWorkers) : Infinity));
  trials = separateFunctions(trials);

  const recording = new Recording({ stateDir: ctx.stateDir, name, idName: `${name}-sweep`, config: { ...base, name }, hostLog: ctx.log });
  const { runId: sweepId, folder, emit, log } = recording;
  const trialStarted = new EventEmitter();

  const rule = sweep.earlyStopping ?? { rule: 'successive-halving' as const };
  const stopper = new EarlyStopper(rule);
  const results: TrialResult[] = trials.map((t) => ({
    index: t.index, name: t.name, params: t.params, status: 'not-started', reason: '', testLoss: null, testAccuracy: null, testRMSE: null, progress: 0, gbSeconds: 0, costUSD: 0, seconds: 0,
  }));
  const running = new Map<number, RunHandle>();
  const userStopped = new Set<number>();
  const stopAll = new AbortController();
  opts.signal?.addEventListener('abort', () => stopAll.abort(opts.signal?.reason ?? 'cancelled'), { once: true });

  const writeRecord = (summary?: Record<string, unknown>) =>
    writeFileAtomic(folder.file(SWEEP_FILE), JSON.stringify({ name, sweepId, config: sweep, parallel, rule, trials: results, rungs: stopper.snapshot(), ...summary }, null, 2) + '\n');

  const done = (async (): Promise<SweepSummary> => {
    let status: SweepSummary['status'] = 'completed';
    let reason = '';
    let bestLoss = Infinity;
    try {
      emit({ type: 'run-started', name, config: { sweep, trials: trials.map((t) => ({ name: t.name, params: t.params })) }, backend: resolvedBase.backend });
      emit({ type: 'stage-started', stage: 'tune', workers: parallel * maxWorkers, memoryMB: resolvedBase.lambda.memoryMB });
      log('info', `${trials.length} trials (${sweep.search?.method ?? 'grid'}), ${parallel} at a time${limit !== undefined ? ` (concurrency limit ${limit})` : ''}, early stopping: ${rule.rule}${stopper.rungs.length ? ` at ${stopper.rungs.map((r) => `${(100 * r).toFixed(0)} %`).join(', ')} of the budget` : ''}`);
      writeRecord();
      const trainRows = await prepare(trials, backend, stopAll.signal, (m) => emit({ type: 'progress', stage: 'tune', message: m }));

      let next = 0;
      const runTrial = async (trial: Trial): Promise<void> => {
        const result = results[trial.index];
        // One controller per trial, linked to the sweep's: the sweep's signal would collect a listener per trial.
        const trialStop = new AbortController();
        const forward = () => trialStop.abort(stopAll.signal.reason);
        stopAll.signal.addEventListener('abort', forward, { once: true });
        const handle = await startTraining(trial.config, ctx, { signal: trialStop.signal });
        void handle.done.finally(() => stopAll.signal.removeEventListener('abort', forward));
        running.set(trial.index, handle);
        Object.assign(result, { runId: handle.runId, runFolder: handle.runFolder, status: 'completed' });
        trialStarted.emit('trial', trial, handle);
        emit({ type: 'progress', stage: 'tune', message: `trial ${trial.index + 1}/${trials.length} started (${describeParams(trial.params)}): run ${handle.runId}` });
        let trainStartedAt: number | undefined;
        let stoppedEarly: string | undefined;
        const rows = trainRows.get(datasetKey(trial.config)) ?? 0;
        handle.onEvent((event) => {
          if (event.type === 'stage-started' && event.stage === 'train') trainStartedAt = event.t;
          if (event.type !== 'eval' || stoppedEarly) return;
          // Should the train stage's start have been missed, time counts from the run's start (a little early, never late).
          result.progress = budgetProgress(trial.config, rows, event.samples, event.t - (trainStartedAt ?? 0));
          result.testLoss = event.testLoss;
          const verdict = stopper.report(trial.index, result.progress, event.testLoss);
          if (verdict && !userStopped.has(trial.index)) {
            stoppedEarly = verdict;
            emit({ type: 'progress', stage: 'tune', message: `trial ${trial.index + 1} stopped early: ${verdict}` });
            void handle.stop(`early stopping: ${verdict}`);
          }
        });
        const summary = await handle.done;
        running.delete(trial.index);
        Object.assign(result, summaryFigures(summary));
        // A stop that is not the rule's (the sweep's stopTrial, the whole sweep, or the run's own Stop Run) is the user's.
        if (userStopped.has(trial.index) || (summary.status === 'stopped' && !stoppedEarly)) result.status = 'stopped';
        else if (stoppedEarly) Object.assign(result, { status: 'stopped-early', reason: stoppedEarly });
        else result.status = summary.status === 'failed' ? 'failed' : 'completed';
        emit({ type: 'progress', stage: 'tune', message: `trial ${trial.index + 1} ${result.status}: loss ${result.testLoss?.toFixed(4) ?? '-'}, ${result.gbSeconds.toFixed(2)} GB-s` });
        if (result.status === 'completed' && result.testLoss !== null && result.testLoss < bestLoss) {
          bestLoss = result.testLoss;
          emit({ type: 'eval', testLoss: bestLoss, testAccuracy: result.testAccuracy ?? undefined, testRMSE: result.testRMSE ?? undefined, samples: 0, costUSD: totalCost() });
        }
        writeRecord();
      };
      const lane = async () => {
        while (!stopAll.signal.aborted && next < trials.length) {
          const trial = trials[next++];
          if (userStopped.has(trial.index)) continue;
          await runTrial(trial).catch((error: unknown) => {
            const r = results[trial.index];
            Object.assign(r, { status: 'failed', reason: error instanceof Error ? error.message : String(error) });
            log('error', `trial ${trial.index + 1} failed to start: ${r.reason}`);
          });
        }
      };
      await Promise.all(Array.from({ length: parallel }, lane));
      if (stopAll.signal.aborted) {
        status = 'stopped';
        reason = `stopped: ${String(stopAll.signal.reason ?? 'by the user')}`;
      } else {
        reason = `${results.filter((r) => r.status === 'completed').length} of ${trials.length} trials completed, ${results.filter((r) => r.status === 'stopped-early').length} stopped early`;
      }
    } catch (error) {
      status = stopAll.signal.aborted ? 'stopped' : 'failed';
      reason = error instanceof Error ? error.message : String(error);
      log('error', reason);
    }
    backend.close();
    return finish(status, reason);
  })();

  function totalCost(): number {
    return results.reduce((sum, r) => sum + r.costUSD, 0);
  }

  function finish(status: SweepSummary['status'], reason: string): SweepSummary {
    const order = (r: TrialResult) => (r.status === 'completed' ? 0 : r.testLoss !== null ? 1 : 2);
    const ranking = [...results].sort((a, b) => order(a) - order(b) || (a.testLoss ?? Infinity) - (b.testLoss ?? Infinity));
    const winner = ranking[0]?.status === 'completed' && ranking[0].testLoss !== null ? ranking[0] : undefined;
    let best: SweepSummary['best'];
    if (winner) {
      const configPath = folder.file(BEST_CONFIG_FILE);
      // The per-shape function name was the sweep's business: the best config keeps the base's.
      const trial = trials[winner.index].config;
      const bestConfig: ResolvedRunConfig = { ...trial, name: `${name}-best`, lambda: { ...trial.lambda, functionName: resolvedBase.lambda.functionName } };
      writeFileAtomic(configPath, JSON.stringify(bestConfig, null, 2) + '\n');
      best = { index: winner.index, name: winner.name, params: winner.params, testLoss: winner.testLoss!, runId: winner.runId!, configPath };
    }
    const gbSeconds = results.reduce((sum, r) => sum + r.gbSeconds, 0);
    const costUSD = totalCost();
    const seconds = recording.seconds();
    const summary: SweepSummary = { sweepId, name, folder: folder.dir, status, reason, rule: rule.rule, parallel, ranking, best, gbSeconds, costUSD, seconds };
    writeRecord({ status, reason, best, gbSeconds, costUSD, seconds, ranking: ranking.map((r) => r.index) });
    const stage = { stage: 'tune' as const, seconds, gbSeconds, peakMemoryMB: 0, costUSD, workers: parallel * Math.max(...trials.map((t) => t.config.training.workers)), memoryMB: resolvedBase.lambda.memoryMB };
    emit({ type: 'stage-finished', ...stage });
    emit({ type: 'cost', totalUSD: costUSD, byComponent: sumComponents() });
    recording.finish({
      status,
      reason: best ? `${reason}; best ${best.name} (${describeParams(best.params)}): loss ${best.testLoss.toFixed(4)}` : reason,
      testLoss: best?.testLoss ?? null,
      testAccuracy: winner?.testAccuracy ?? null,
      testRMSE: winner?.testRMSE ?? null,
      seconds,
      samples: 0,
      samplesPerSecond: 0,
      costUSD,
      cost: sumComponents(),
      stages: [stage],
    });
    return summary;
  }

  function sumComponents(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const r of results) {
      if (!r.runFolder) continue;
      // a trial without a summary (killed process) adds nothing
      const s = readJsonIfExists<RunSummary>(path.join(r.runFolder, SUMMARY_FILE));
      for (const [k, v] of Object.entries(s?.cost ?? {})) total[k] = (total[k] ?? 0) + v;
    }
    return total;
  }

  const indexOf = (which: string | number) => (typeof which === 'number' ? which : results.find((r) => r.runId === which)?.index);
  return {
    sweepId,
    folder: folder.dir,
    trials,
    parallel,
    onTrialStarted(listener) {
      trialStarted.on('trial', listener);
      return () => trialStarted.off('trial', listener);
    },
    onEvent: (listener) => recording.onEvent(listener),
    async stopTrial(which, reason = 'stopped by the user') {
      const index = indexOf(which);
      if (index === undefined || !results[index]) throw new Error(`no trial ${which} in sweep ${sweepId}`);
      userStopped.add(index);
      await running.get(index)?.stop(reason);
    },
    async stop(reason = 'stopped by the user') {
      stopAll.abort(reason);
      await done.catch(() => undefined);
    },
    done,
  };
}

function summaryFigures(summary: RunSummary): Partial<TrialResult> {
  return {
    reason: summary.reason,
    testLoss: summary.testLoss,
    testAccuracy: summary.testAccuracy,
    testRMSE: summary.testRMSE ?? null,
    gbSeconds: summary.stages.reduce((sum, s) => sum + s.gbSeconds, 0),
    costUSD: summary.costUSD,
    seconds: summary.seconds,
  };
}

/** Trials that differ in function memory or time limit get their own function: one function shared by
 *  concurrent runs would be reconfigured under the other runs' feet. */
function separateFunctions(trials: Trial[]): Trial[] {
  const shape = (t: Trial) => `${t.config.lambda.memoryMB}mb-${t.config.lambda.timeoutSeconds}s`;
  const shapes = new Set(trials.map(shape));
  if (shapes.size <= 1) return trials;
  return trials.map((t) => {
    const base = t.config.lambda.functionName;
    return { ...t, config: { ...t.config, lambda: { ...t.config.lambda, functionName: `${base}-${shape(t)}`.slice(0, 64) } } };
  });
}

/** Before any trial starts: deploy each distinct dataset once and create each distinct worker function
 *  (trials starting together would otherwise race to convert the same file and create the same
 *  function). Returns the training rows of each dataset, to turn samples into epochs. */
async function prepare(trials: Trial[], backend: Backend, signal: AbortSignal, progress: (message: string) => void): Promise<Map<string, number>> {
  const rows = new Map<string, number>();
  for (const trial of trials) {
    const key = datasetKey(trial.config);
    if (rows.has(key)) continue;
    progress(`loading the dataset for ${trial.name}`);
    const loaded = await loadDataset(trial.config, backend, () => undefined, signal);
    rows.set(key, loaded.manifest.counts.trainRows);
  }
  const zip = workerZip();
  const functions = new Map<string, Trial>();
  for (const t of trials) functions.set(t.config.lambda.functionName, t);
  for (const [name, t] of functions) {
    progress(`deploying worker function ${name}`);
    await deployFunction(backend.lambda, {
      name,
      zip,
      handler: 'index.handler',
      memoryMB: t.config.lambda.memoryMB,
      timeoutSeconds: t.config.lambda.timeoutSeconds,
      environment: backend.workerEnvironment,
    });
  }
  return rows;
}
