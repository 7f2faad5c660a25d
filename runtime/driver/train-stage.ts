// The train stage: start the parameter server, deploy the worker function, keep one worker running in
// each slot (a generation that returns near its time limit, or dies, is replaced by the next one,
// Cirrus-style), evaluate the model on the test set as the run goes, and stop on target loss, time,
// epochs or a stop request.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { RunConfig } from '../config/run-config';
import type { Partition } from '../data/partition';
import { decodePartition } from '../data/partition';
import type { Backend } from '../backends/backend';
import { deployFunction, invokeFunction, makeZip } from '../backends/lambda-client';
import { CostMeter } from '../cost/cost-model';
import { startParameterServer } from '../ps/launch';
import { PsClient } from '../ps/client';
import type { TableSpec } from '../ps/types';
import { withS3Faults } from '../storage/faults';
import { createS3Client, getObjectBytes } from '../storage/s3';
import { distFile } from '../util/paths';
import { KV_STOP, heartbeatKey, type WorkerCursor, type WorkerEvent, type WorkerHeartbeat, type WorkerResult } from '../worker/protocol';
import { readCheckpoint, withRetries, writeCheckpoint, type CheckpointPointer } from './checkpoint';
import type { RunEvent } from './events';
import type { LoadedDataset } from './load-stage';
import { createEvaluator, modelTables, workerModel, type Evaluation } from './models';

export interface TrainSettings {
  workers: number;
  minibatch: number;
  maxSeconds: number;
  targetLoss?: number;
  epochs?: number;
  evalEverySeconds: number;
  memoryMB: number;
  timeoutSeconds: number;
  functionName: string;
  killWorkerFraction: number;
  checkpointEverySeconds: number;
  faults: NonNullable<RunConfig['faults']>;
}

export function trainSettings(config: RunConfig, backend: Backend): TrainSettings {
  const t = config.training;
  return {
    workers: t.workers,
    minibatch: t.minibatch,
    maxSeconds: t.maxSeconds ?? 600,
    targetLoss: t.targetLoss,
    epochs: t.epochs,
    evalEverySeconds: t.evalEverySeconds ?? 1,
    memoryMB: config.lambda?.memoryMB ?? 1024,
    timeoutSeconds: config.lambda?.timeoutSeconds ?? backend.defaultTimeoutSeconds,
    functionName: config.lambda?.functionName ?? 'cirrus-worker',
    killWorkerFraction: config.faults?.killWorkerFraction ?? 0,
    checkpointEverySeconds: t.checkpointEverySeconds ?? 10,
    faults: config.faults ?? {},
  };
}

export interface TrainOutcome {
  reason: string;
  stoppedByUser: boolean;
  last: Evaluation | undefined;
  samples: number;
  seconds: number;
  weights: Float32Array[]; // final model tables
  tables: TableSpec[];
  peakMemoryMB: number;
}

type Emit = (event: DistributiveOmit<RunEvent, 't' | 'runId'>) => void;
type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

interface Slot {
  worker: number;
  partitions: WorkerEvent['partitions'];
  cursor: WorkerCursor;
  generation: number;
  completedSamples: number; // by finished generations
  liveSamples: number; // of the running generation, from its last heartbeat
  runningSince?: number; // ms timestamp of the running invocation
  lastBeatAt: number;
  beatCursor?: WorkerCursor; // the running generation's position at its last heartbeat
  consecutiveFailures: number;
  /** Samples this slot trains in all (epochs x its rows); undefined without an epoch limit. */
  budget?: number;
  done: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Round-robin split of the training partitions over the workers (every worker gets at least one). */
function assignPartitions(dataset: LoadedDataset, workers: number): WorkerEvent['partitions'][] {
  const train = dataset.manifest.partitions.train.map((p) => ({ key: p.key, rows: p.rows, crc32: p.crc32 }));
  if (train.length === 0) throw new Error(`dataset s3://${dataset.bucket}/${dataset.prefix} has no training partitions`);
  return Array.from({ length: workers }, (_, w) => {
    const mine = train.filter((_, i) => i % workers === w);
    return mine.length > 0 ? mine : [train[w % train.length]];
  });
}

export async function runTrainStage(options: {
  config: RunConfig;
  runId: string;
  backend: Backend;
  dataset: LoadedDataset;
  settings: TrainSettings;
  cost: CostMeter;
  emit: Emit;
  stopSignal: AbortSignal;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Continue a run whose driver died: the parameter server starts from this checkpoint. */
  resume?: { pointer: CheckpointPointer; snapshot: Uint8Array };
}): Promise<TrainOutcome> {
  const { config, runId, backend, dataset, settings, cost, emit, stopSignal, log, resume } = options;
  const started = Date.now() - (resume?.pointer.trainSeconds ?? 0) * 1000;
  // The driver's own S3 requests meet the injected S3 faults too (a client of its own: the load stage's is left alone).
  const s3 = withS3Faults(createS3Client(backend.storage), { errorRate: settings.faults.s3ErrorRate, delayMs: settings.faults.s3DelayMs });
  const elapsed = () => (Date.now() - started) / 1000;
  const tables = modelTables(config, dataset.manifest);
  const token = crypto.randomBytes(32).toString('hex');

  // Test partitions stay in the driver for evaluation.
  const testPartitions: Partition[] = [];
  for (const entry of dataset.manifest.partitions.test) {
    const bytes = await withRetries(() => getObjectBytes(s3, dataset.bucket, entry.key));
    cost.s3Gets++;
    testPartitions.push(decodePartition(bytes, `s3://${dataset.bucket}/${entry.key}`, entry.crc32));
  }
  const evaluator = createEvaluator(config, dataset.manifest, testPartitions);

  const psConfig = { token, host: backend.parameterServer.bindHost, port: backend.parameterServer.port, tables };
  let ps = await startParameterServer(psConfig);
  const psStarted = Date.now();
  let driverClient: PsClient | undefined;
  const connectDriver = () => PsClient.connect({ host: '127.0.0.1', port: ps.port, token, workerId: 0xffffffff, generation: 0 });

  // Parameter-server crashes: the driver starts a new one (on the same port when it can), loads the last
  // checkpoint into it, and workers whose connection broke fail and are relaunched against it.
  let finishing = false;
  let psEpoch = 0; // bumped at every crash: failures of that moment are not the workers' fault
  let psReady: Promise<void> = Promise.resolve();
  let lastCheckpoint: { pointer: CheckpointPointer; takenAt: number } | undefined;
  let restartFailure: Error | undefined;
  const watchParameterServer = () =>
    ps.onExit((code, signal) => {
      if (finishing) return;
      psEpoch++;
      const crashedAt = Date.now();
      psReady = restartParameterServer(`exited (code ${code}, signal ${signal})`, crashedAt).catch((error) => {
        restartFailure = new Error(`the parameter server crashed and could not be restarted: ${(error as Error).message}`);
      });
    });
  const restartParameterServer = async (why: string, crashedAt: number) => {
    const from = lastCheckpoint;
    log('warn', `parameter server ${why}; restarting it${from ? ` from checkpoint ${from.pointer.seq}` : ' with fresh tables (no checkpoint yet)'}`);
    driverClient?.abort('the parameter server died');
    try {
      ps = await startParameterServer({ ...psConfig, port: ps.port });
    } catch {
      ps = await startParameterServer(psConfig); // the old port is taken: workers get the new one at relaunch
    }
    watchParameterServer();
    driverClient = await connectDriver();
    if (from) await driverClient.restore(await readCheckpoint(s3, backend.bucket, from.pointer));
    emit({
      type: 'ps-restarted',
      checkpoint: from?.pointer.seq ?? null,
      lostSeconds: (crashedAt - (from?.takenAt ?? started)) / 1000,
      downSeconds: (Date.now() - crashedAt) / 1000,
      reason: why,
    });
  };
  watchParameterServer();
  let killTimer: NodeJS.Timeout | undefined;
  if (settings.faults.killParameterServerAtSeconds !== undefined) {
    // Fault injection: the parameter server dies abruptly, as a crashed host process would.
    const killAt = started + settings.faults.killParameterServerAtSeconds * 1000;
    killTimer = setTimeout(() => {
      log('warn', 'fault injection: killing the parameter server');
      process.kill(ps.pid, 'SIGKILL');
    }, Math.max(0, killAt - Date.now()));
  }

  try {
    driverClient = await connectDriver();
    if (resume) {
      await driverClient.restore(resume.snapshot);
      lastCheckpoint = { pointer: resume.pointer, takenAt: Date.now() };
    }
    const zip = makeZip({ 'index.js': fs.readFileSync(distFile('worker/index.js')) });
    await deployFunction(backend.lambda, {
      name: settings.functionName,
      zip,
      handler: 'index.handler',
      memoryMB: settings.memoryMB,
      timeoutSeconds: settings.timeoutSeconds,
      environment: backend.workerEnvironment,
    });

    const slots: Slot[] = assignPartitions(dataset, settings.workers).map((partitions, worker) => {
      const saved = resume?.pointer.slots.find((s) => s.worker === worker);
      return {
        worker,
        partitions,
        cursor: saved?.cursor ?? { partition: 0, row: 0 },
        generation: saved ? saved.generation + 1 : 0,
        completedSamples: saved?.samples ?? 0,
        liveSamples: 0,
        lastBeatAt: 0,
        consecutiveFailures: 0,
        // Epochs are counted per slot, by its workers themselves: stopping from the driver's
        // once-a-second check would overshoot by however many passes fit in that second.
        budget: settings.epochs === undefined ? undefined : Math.round(settings.epochs * partitions.reduce((sum, p) => sum + p.rows, 0)),
        done: false,
      };
    });
    let stopping = false;
    let fatal: Error | undefined;
    let peakMemoryMB = 0;
    const totalSamples = () => slots.reduce((sum, s) => sum + s.completedSamples + s.liveSamples, 0);
    const returnMarginMs = Math.min(5000, Math.max(1000, settings.timeoutSeconds * 100));

    const nextFaults = faultPlanner(settings, returnMarginMs);
    const runSlot = async (slot: Slot) => {
      let reason: 'start' | 'time-limit' | 'relaunch-after-failure' = 'start';
      while (!stopping) {
        await psReady; // not into a parameter server that is being restarted
        if (stopping) return;
        const sampleBudget = slot.budget === undefined ? undefined : slot.budget - slot.completedSamples;
        if (sampleBudget !== undefined && sampleBudget <= 0) {
          slot.done = true;
          return;
        }
        const epoch = psEpoch;
        const event: WorkerEvent = {
          runId,
          worker: slot.worker,
          generation: slot.generation,
          bucket: dataset.bucket,
          s3Endpoint: backend.workerS3Endpoint,
          region: backend.region,
          partitions: slot.partitions,
          cursor: slot.cursor,
          ps: { host: backend.parameterServer.advertisedHost, port: ps.port, token },
          model: workerModel(config, dataset.manifest),
          minibatch: settings.minibatch,
          sampleBudget,
          returnMarginMs,
          heartbeatMs: 500,
        };
        event.faults = nextFaults();
        emit({ type: 'worker-launched', worker: slot.worker, generation: slot.generation, reason });
        slot.runningSince = Date.now();
        slot.liveSamples = 0;
        slot.beatCursor = undefined;
        let outcome;
        try {
          outcome = await invokeFunction(backend.lambda, settings.functionName, event);
        } catch (error) {
          const err = error as Error;
          slot.runningSince = undefined;
          if (err.name === 'TooManyRequestsException') {
            await sleep(200 + Math.random() * 800); // throttled: back off and retry the same generation
            continue;
          }
          outcome = { functionError: 'InvokeError', payload: { errorMessage: err.message }, billedMs: 0, maxMemoryUsedMB: 0 };
        }
        slot.runningSince = undefined;
        const billedMs = outcome.billedMs ?? 0;
        cost.addInvocation(billedMs, settings.memoryMB);
        peakMemoryMB = Math.max(peakMemoryMB, outcome.maxMemoryUsedMB ?? 0);
        if (outcome.functionError) {
          const payload = outcome.payload as { errorMessage?: string } | undefined;
          const message = payload?.errorMessage ?? outcome.functionError;
          slot.completedSamples += slot.liveSamples; // the heartbeat-reported work did reach the parameter server
          slot.liveSamples = 0;
          // ...so the relaunch goes on from there: redoing it would train the same rows twice.
          if (slot.beatCursor) slot.cursor = slot.beatCursor;
          slot.beatCursor = undefined;
          emit({ type: 'worker-finished', worker: slot.worker, generation: slot.generation, status: 'failed', error: message, billedMs, memoryMB: settings.memoryMB, samples: 0 });
          await sleep(300); // a parameter-server crash shows here before the driver has seen the process exit
          // Failures caused by a parameter-server crash are not the worker's: they don't count towards giving up.
          if (epoch === psEpoch) slot.consecutiveFailures++;
          if (slot.consecutiveFailures >= 5) {
            fatal = new Error(`worker ${slot.worker} failed 5 times in a row; last error: ${message}`);
            stopping = true;
            return;
          }
          log('warn', `worker ${slot.worker} generation ${slot.generation} failed (${message}); relaunching`);
          await sleep(100 * Math.max(1, slot.consecutiveFailures));
          slot.generation++;
          reason = 'relaunch-after-failure';
          continue;
        }
        const result = outcome.payload as WorkerResult;
        slot.consecutiveFailures = 0;
        slot.cursor = result.cursor;
        slot.completedSamples += result.samples;
        slot.liveSamples = 0;
        cost.s3Gets += result.s3Gets;
        emit({
          type: 'worker-finished',
          worker: slot.worker,
          generation: slot.generation,
          status: result.status,
          billedMs,
          memoryMB: settings.memoryMB,
          samples: result.samples,
        });
        slot.generation++;
        if (result.status === 'done') {
          slot.done = true;
          return;
        }
        reason = 'time-limit';
      }
    };

    const slotRuns = slots.map((slot) =>
      runSlot(slot).catch((error) => {
        fatal = error as Error;
        stopping = true;
      }),
    );

    // Monitor: heartbeats, parameter-server stats, evaluation, stopping rules.
    let last: Evaluation | undefined;
    let reason = '';
    let stoppedByUser = false;
    let lastStatsUpdates = 0;
    let lastStatsAt = Date.now();
    let lastCheckpointTry = Date.now();
    let checkpointSeq = resume ? resume.pointer.seq + 1 : 0;
    const psCrashedSince = async (epoch: number) => {
      for (let i = 0; i < 30 && psEpoch === epoch; i++) await sleep(100); // the exit event may lag the broken socket
      return psEpoch !== epoch;
    };
    // Snapshot first, then upload: the checkpoint is the state at `takenAt`, whatever lands meanwhile.
    const checkpoint = async (updates: number) => {
      const takenAt = Date.now();
      const snapshot = await driverClient!.snapshot();
      const state = {
        trainSeconds: elapsed(),
        updates,
        slots: slots.map((slot) => ({ worker: slot.worker, cursor: slot.cursor, generation: slot.generation, samples: slot.completedSamples })),
      };
      try {
        const pointer = await writeCheckpoint(s3, backend.bucket, runId, checkpointSeq, snapshot, state);
        cost.s3Puts += 2;
        lastCheckpoint = { pointer, takenAt };
        emit({ type: 'checkpoint', seq: pointer.seq, key: pointer.key, bytes: pointer.bytes, seconds: (Date.now() - takenAt) / 1000, updates });
        checkpointSeq++;
      } catch (error) {
        log('warn', `checkpoint ${checkpointSeq} could not be written (${(error as Error).message}); the previous one stays`);
      }
    };
    const allSlotsReturned = Promise.all(slotRuns);
    while (!stopping) {
      await Promise.race([sleep(settings.evalEverySeconds * 1000), allSlotsReturned, new Promise((resolve) => stopSignal.addEventListener('abort', resolve, { once: true }))]);
      await psReady; // a crash seen by the watcher: the driver client is being replaced
      if (restartFailure) {
        fatal = restartFailure;
        break;
      }
      const epoch = psEpoch;
      try {
        let trainLossSum = 0;
        let trainLossCount = 0;
        for (const slot of slots) {
          const raw = await driverClient.kvGet(heartbeatKey(slot.worker));
          if (!raw) continue;
          const beat = JSON.parse(raw.toString('utf8')) as WorkerHeartbeat;
          if (beat.at === slot.lastBeatAt || beat.generation !== slot.generation || slot.runningSince === undefined) continue;
          slot.lastBeatAt = beat.at;
          slot.liveSamples = beat.samples;
          slot.beatCursor = beat.cursor;
          // Workers report the mean minibatch loss; for MF that is the mean squared error, shown as RMSE.
          const trainLoss = config.model.type === 'mf' ? Math.sqrt(beat.trainLoss) : beat.trainLoss;
          if (Number.isFinite(trainLoss)) {
            trainLossSum += trainLoss;
            trainLossCount++;
          }
          emit({ type: 'worker-heartbeat', worker: slot.worker, generation: beat.generation, samples: beat.samples, samplesPerSecond: beat.samplesPerSecond, s3MBps: beat.s3MBps, memoryMB: beat.memoryMB, trainLoss: Number.isFinite(trainLoss) ? trainLoss : undefined });
        }
        const stats = await driverClient.stats();
        const now = Date.now();
        const updatesPerSecond = (Math.max(0, stats.updates - lastStatsUpdates) * 1000) / Math.max(1, now - lastStatsAt);
        lastStatsUpdates = stats.updates;
        lastStatsAt = now;
        emit({ type: 'ps-stats', updates: stats.updates, updatesPerSecond, connections: stats.connections });

        const weights = await Promise.all(tables.map((_, i) => driverClient!.pullFull(i)));
        last = evaluator.evaluate(weights);
        cost.parameterServerSeconds = (Date.now() - psStarted) / 1000;
        emit({
          type: 'eval',
          testLoss: last.loss,
          testAccuracy: last.accuracy,
          testRMSE: last.rmse,
          trainLoss: trainLossCount > 0 ? trainLossSum / trainLossCount : undefined,
          samples: totalSamples(),
          costUSD: cost.totalUSD() + inFlightComputeUSD(slots, settings.memoryMB),
        });
        if (settings.checkpointEverySeconds > 0 && Date.now() - lastCheckpointTry >= settings.checkpointEverySeconds * 1000) {
          lastCheckpointTry = Date.now();
          await checkpoint(stats.updates);
        }
      } catch (error) {
        // The parameter server died under us: wait for its restart and go on; anything else is a bug.
        if (!(await psCrashedSince(epoch))) throw error;
        await psReady;
        continue;
      }
      if (fatal) break;
      if (stopSignal.aborted) {
        reason = `stop requested${stopSignal.reason ? `: ${String(stopSignal.reason)}` : ''}`;
        stoppedByUser = true;
      } else if (settings.targetLoss !== undefined && last.loss <= settings.targetLoss) {
        reason = `target loss ${settings.targetLoss} reached`;
      } else if (elapsed() >= settings.maxSeconds) {
        reason = `time limit of ${settings.maxSeconds} s reached`;
      } else if (slots.every((slot) => slot.done)) {
        reason = `${settings.epochs} epochs done`;
      }
      if (reason) stopping = true;
    }

    // Tell the workers to return, wait for them (the function time limit bounds the wait).
    stopping = true;
    await psReady;
    await driverClient!.kvSet(KV_STOP, Buffer.from('1'));
    await Promise.race([Promise.all(slotRuns), sleep((settings.timeoutSeconds + 15) * 1000)]);
    if (fatal) throw fatal;

    const weights = await Promise.all(tables.map((_, i) => driverClient!.pullFull(i)));
    last = evaluator.evaluate(weights);
    cost.parameterServerSeconds = (Date.now() - psStarted) / 1000;
    return { reason, stoppedByUser, last, samples: totalSamples(), seconds: elapsed(), weights, tables, peakMemoryMB };
  } finally {
    finishing = true;
    clearTimeout(killTimer);
    await psReady;
    await driverClient?.close().catch(() => undefined);
    await ps.stop();
    s3.destroy();
  }
}

/**
 * Picks the faults of each worker invocation. Which invocations get a fault is spread evenly (an
 * error-diffusion counter, not a coin per invocation), so a run with few invocations still sees exactly
 * its fraction of them; when the fault strikes within the invocation is random.
 */
function faultPlanner(settings: TrainSettings, returnMarginMs: number): () => WorkerEvent['faults'] {
  const f = settings.faults;
  let killDebt = 0.5;
  let cutDebt = 0.5;
  // A moment within the invocation's working life (it returns `returnMarginMs` before its time limit).
  const moment = () => Math.floor(Math.random() * Math.max(100, settings.timeoutSeconds * 1000 - returnMarginMs) * 0.9);
  return () => {
    const faults: NonNullable<WorkerEvent['faults']> = {};
    killDebt += settings.killWorkerFraction;
    if (killDebt >= 1) {
      killDebt -= 1;
      faults.dieAfterMs = moment();
    }
    cutDebt += f.cutConnectionFraction ?? 0;
    if (cutDebt >= 1) {
      cutDebt -= 1;
      faults.cutConnectionAfterMs = moment();
    }
    if (f.s3ErrorRate) faults.s3ErrorRate = f.s3ErrorRate;
    if (f.s3DelayMs) faults.s3DelayMs = f.s3DelayMs;
    return Object.keys(faults).length > 0 ? faults : undefined;
  };
}

/** Compute already spent by invocations still running (billed once they return). */
function inFlightComputeUSD(slots: Slot[], memoryMB: number): number {
  const meter = new CostMeter();
  for (const slot of slots) if (slot.runningSince !== undefined) meter.addInvocation(Date.now() - slot.runningSince, memoryMB);
  return meter.breakdown().lambdaCompute;
}
