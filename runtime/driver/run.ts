// One run's life: load (deploy or reuse the dataset) -> train -> export. Emits the typed event stream,
// appends it to the run folder, and resolves with the summary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DeployProgress, RunHandle, RuntimeContext } from '../api';
import { openBackend, type Backend } from '../backends/backend';
import type { ResolvedRunConfig, RunConfig } from '../config/run-config';
import { resolveRunConfig } from '../config/resolve';
import { CostMeter } from '../cost/cost-model';
import type { RunEvent, RunSummary, StageName } from '../recording/events';
import { Recording } from '../recording/recorder';
import { CONFIG_FILE, DRIVER_PID_FILE, METRICS_FILE, liveDriverPid, SUMMARY_FILE, readJsonIfExists, readRunEvents, writeFileAtomic } from '../recording/run-folder';
import { loadDataset } from './load-stage';
import { saveModel } from './model-file';
import { readCheckpointPointer, readCheckpointSet, type CheckpointPointer } from './checkpoint';
import { runTrainStage, trainSettings } from './train-stage';
import { trainingMode } from './sync-run';
import { fmtCount } from '../util/format';
import { provisionRun } from '../provisioning/provision';

type StageRecord = RunSummary['stages'][number];

export async function startTraining(
  given: RunConfig | ResolvedRunConfig,
  ctx: RuntimeContext,
  opts: { configPath?: string; signal?: AbortSignal; /** continue the run in this folder from its last checkpoint */ resumeFolder?: string } = {},
): Promise<RunHandle> {
  // Everything below reads the resolved config; the run folder records it, so the run's settings are all on file.
  const { config: requested, warnings } = resolveRunConfig(given, opts.configPath);
  const name = requested.name ?? (opts.configPath ? path.basename(opts.configPath).replace(/\.cirrus\.json$|\.json$/, '') : 'run');
  const resuming = opts.resumeFolder !== undefined;
  // Workers and memory for a deadline or budget, and the estimate the summary compares with the actual.
  const provision = provisionRun(requested, ctx.stateDir, { resuming, runId: opts.resumeFolder ? path.basename(opts.resumeFolder) : undefined });
  const config = provision.config;
  const recording = new Recording({ stateDir: ctx.stateDir, name, config, resumeFolder: opts.resumeFolder, hostLog: ctx.log });
  const { runId, emit, log } = recording;
  const stop = new AbortController();
  opts.signal?.addEventListener('abort', () => stop.abort(opts.signal?.reason ?? 'cancelled'), { once: true });

  const done = (async (): Promise<RunSummary> => {
    const cost = new CostMeter();
    const stages: StageRecord[] = [];
    let summary: Omit<RunSummary, 'runId' | 'name' | 'runFolder'>;
    let modelPath: string | undefined;
    let opened: Backend | undefined;
    try {
      if (!resuming) emit({ type: 'run-started', name, config, backend: config.backend });
      for (const w of warnings) log('warn', `${w.field} ${w.message}`);
      for (const note of provision.notes) log(note.level, note.message);
      const backend = (opened = await openBackend(config, ctx.stateDir, ctx.awsCredentials));
      let resume: { pointer: CheckpointPointer; snapshots: Uint8Array[] } | undefined;
      if (resuming) {
        const pointer = await readCheckpointPointer(backend.s3, backend.bucket, runId);
        if (!pointer) throw new NothingToResume('the driver stopped before the first checkpoint: nothing to resume from, the run is marked stopped');
        // A sharded run's pointer lists every shard's snapshot of one round (checkpoint.ts).
        resume = { pointer, snapshots: await readCheckpointSet(backend.s3, backend.bucket, pointer) };
        emit({ type: 'run-resumed', checkpoint: pointer.seq, trainSeconds: pointer.trainSeconds });
        log('info', `resuming from checkpoint ${pointer.seq} (${pointer.trainSeconds.toFixed(1)} s into training, ${pointer.updates} updates)`);
      }

      // load
      const loadStarted = Date.now();
      emit({ type: 'stage-started', stage: 'load', workers: 0, memoryMB: 0 });
      let lastProgress = 0;
      const dataset = await loadDataset(
        config,
        backend,
        (p) => {
          if (Date.now() - lastProgress < 500) return;
          lastProgress = Date.now();
          emit({ type: 'progress', stage: 'load', message: describeDeployProgress(p), fraction: p.totalBytes ? p.bytesRead / p.totalBytes : undefined });
        },
        stop.signal,
      );
      cost.s3Puts += dataset.s3Puts;
      log('info', `${dataset.deployed ? 'deployed' : 'reusing'} dataset s3://${dataset.bucket}/${dataset.prefix}: ${dataset.manifest.counts.trainRows} train rows, ${dataset.manifest.counts.testRows} test rows`);
      stages.push(finishStage('load', loadStarted, { gbSeconds: 0, peakMemoryMB: process.memoryUsage().rss / 2 ** 20, costUSD: cost.totalUSD(), workers: 0, memoryMB: 0 }));
      emit({ type: 'stage-finished', ...stages[stages.length - 1] });

      // train
      const settings = trainSettings(config);
      const trainStarted = Date.now();
      const costBeforeTrain = cost.totalUSD();
      emit({ type: 'stage-started', stage: 'train', workers: settings.workers, memoryMB: settings.memoryMB });
      const outcome = await runTrainStage({ config, runId, backend, dataset, settings, cost, emit, stopSignal: stop.signal, log, resume, stateDir: ctx.stateDir });
      stages.push(
        finishStage('train', trainStarted, {
          gbSeconds: cost.gbSeconds,
          peakMemoryMB: outcome.peakMemoryMB,
          costUSD: cost.totalUSD() - costBeforeTrain,
          workers: settings.workers,
          memoryMB: settings.memoryMB,
        }),
      );
      emit({ type: 'stage-finished', ...stages[stages.length - 1] });

      // export
      modelPath = saveModel(recording.dir, config, dataset.manifest, outcome.tables, outcome.weights);
      emit({ type: 'cost', totalUSD: cost.totalUSD(), byComponent: { ...cost.breakdown() } });
      const samples = outcome.samples;
      summary = {
        status: outcome.stoppedByUser ? 'stopped' : outcome.failed ? 'failed' : 'completed',
        reason: outcome.reason,
        testLoss: outcome.last?.loss ?? null,
        testAccuracy: outcome.last?.accuracy ?? null,
        testRMSE: outcome.last?.rmse ?? null,
        seconds: outcome.seconds,
        samples,
        samplesPerSecond: outcome.seconds > 0 ? samples / outcome.seconds : 0,
        costUSD: cost.totalUSD(),
        cost: { ...cost.breakdown() },
        stages,
        modelPath,
        estimate: provision.estimate,
        traffic: outcome.traffic,
        training: trainingMode(config),
        ...(outcome.rejected.some((n) => n > 0) ? { rejectedUpdates: outcome.rejected } : {}),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const stoppedDuringLoad = stop.signal.aborted || error instanceof NothingToResume;
      log('error', message);
      summary = {
        status: stoppedDuringLoad ? 'stopped' : 'failed',
        reason: message,
        testLoss: null,
        testAccuracy: null,
        seconds: recording.seconds(),
        samples: 0,
        samplesPerSecond: 0,
        costUSD: cost.totalUSD(),
        cost: { ...cost.breakdown() },
        stages,
        training: trainingMode(config),
      };
    }
    opened?.close();
    return recording.finish(summary);
  })();

  return {
    runId,
    runFolder: recording.dir,
    onEvent: (listener) => recording.onEvent(listener),
    async stop(reason = 'stopped by the user') {
      stop.abort(reason);
      await done.catch(() => undefined);
    },
    done,
  };

  function finishStage(stage: StageName, started: number, rest: Omit<StageRecord, 'stage' | 'seconds'>): StageRecord {
    return { stage, seconds: (Date.now() - started) / 1000, ...rest };
  }
}

class NothingToResume extends Error {}

/**
 * Picks up a run whose driver died (VS Code or the CLI was killed): the same run folder, the dataset
 * already deployed, the parameter server from the last checkpoint in S3, each worker slot from its saved
 * cursor. A run that died before its first checkpoint is marked stopped instead. A run that finished,
 * or whose driver is still alive, is refused.
 */
export async function resumeTraining(runFolder: string, ctx: RuntimeContext, opts: { signal?: AbortSignal } = {}): Promise<RunHandle> {
  const dir = path.resolve(runFolder);
  const config = readJsonIfExists<RunConfig>(path.join(dir, CONFIG_FILE));
  if (!config) throw new Error(`${dir}: not a run folder (no readable ${CONFIG_FILE})`);
  const summary = readJsonIfExists<RunSummary>(path.join(dir, SUMMARY_FILE));
  if (summary) throw new Error(`${dir}: the run already ${summary.status} (${summary.reason}); nothing to resume`);
  const pid = liveDriverPid(dir);
  if (pid !== undefined && pid !== process.pid) throw new Error(`${dir}: the run's driver (pid ${pid}) is still running`);
  return startTraining(config, ctx, { resumeFolder: dir, signal: opts.signal });
}

/**
 * Closes a run whose driver died without resuming it: a `stopped` summary built from what its event
 * stream recorded (last evaluation, cost, finished stages), and a final run-finished event, so every
 * view shows it as ended. Nothing keeps running to stop: the driver's children died with it, and
 * workers return once they lose the parameter server.
 */
export function markRunStopped(runFolder: string, reason = 'interrupted: the driver stopped before the run ended'): RunSummary {
  const dir = path.resolve(runFolder);
  const config = readJsonIfExists<RunConfig>(path.join(dir, CONFIG_FILE));
  if (!config) throw new Error(`${dir}: not a run folder (no readable ${CONFIG_FILE})`);
  const existing = readJsonIfExists<RunSummary>(path.join(dir, SUMMARY_FILE));
  if (existing) return existing;
  // Stricter than resume: a live driver, even in this process, writes its own summary.
  const pid = liveDriverPid(dir);
  if (pid !== undefined) throw new Error(`${dir}: the run's driver (pid ${pid}) is still running`);
  const events = readRunEvents(dir);
  const runId = path.basename(dir);
  const lastOf = <T extends RunEvent['type']>(type: T) => events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type).at(-1);
  const started = lastOf('run-started');
  const evaluation = lastOf('eval');
  const cost = lastOf('cost');
  const seconds = events.at(-1)?.t ?? 0;
  const samples = evaluation?.samples ?? 0;
  const summary: RunSummary = {
    runId,
    name: config.name ?? started?.name ?? runId,
    status: 'stopped',
    reason,
    testLoss: evaluation?.testLoss ?? null,
    testAccuracy: evaluation?.testAccuracy ?? null,
    testRMSE: evaluation?.testRMSE ?? null,
    seconds,
    samples,
    samplesPerSecond: seconds > 0 ? samples / seconds : 0,
    costUSD: Math.max(cost?.totalUSD ?? 0, evaluation?.costUSD ?? 0),
    cost: cost?.byComponent ?? {},
    stages: events.filter((e): e is Extract<RunEvent, { type: 'stage-finished' }> => e.type === 'stage-finished').map(({ t: _t, runId: _r, type: _type, ...stage }) => stage),
    runFolder: dir,
  };
  const finished: RunEvent = { type: 'run-finished', t: seconds, runId, status: 'stopped', reason, summary };
  fs.appendFileSync(path.join(dir, METRICS_FILE), JSON.stringify(finished) + '\n');
  writeFileAtomic(path.join(dir, SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
  fs.rmSync(path.join(dir, DRIVER_PID_FILE), { force: true });
  return summary;
}

/** A deploy's progress in words: the first pass checks the rows, the second converts and uploads. */
function describeDeployProgress(p: DeployProgress): string {
  const percent = p.totalBytes ? ` ${Math.round((100 * p.bytesRead) / p.totalBytes)}%` : '';
  const rows = fmtCount(p.rows);
  if (p.phase === 'count') return `checking the rows${percent} (${rows} so far)`;
  if (p.phase === 'manifest') return `writing the manifest (${rows} rows, ${p.partitionsUploaded} partitions)`;
  return `converting and uploading${percent}: ${rows} rows, ${p.partitionsUploaded} partitions uploaded`;
}
