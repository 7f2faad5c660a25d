// The train stage: start the parameter server (ps-supervisor.ts), deploy the worker function, keep one
// worker running in each slot (worker-slots.ts), and meanwhile monitor: read heartbeats, evaluate the
// model on the test set, checkpoint, and stop on target loss, time, epochs or a stop request.
import { setTimeout as sleep } from 'node:timers/promises';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ResolvedRunConfig } from '../config/run-config';
import type { Partition } from '../data/partition';
import { decodePartition } from '../data/partition';
import { parameterServerPlace, type Backend } from '../backends/backend';
import { deployFunction, workerZip } from '../backends/lambda-client';
import type { CostMeter } from '../cost/cost-model';
import type { TableSpec } from '../ps/types';
import { formatFingerprint, makeRunCertificate } from '../ps/transport';
import { withS3Faults } from '../storage/faults';
import { createS3Client, getObjectBytes } from '../storage/s3';
import { KV_STOP } from '../worker/protocol';
import { withRetries } from '../util/retry';
import type { CheckpointPointer } from './checkpoint';
import type { LoadedDataset } from './load-stage';
import { baseRateLoss, createEvaluator, modelTables, type Evaluation } from './models';
import { ValidationStopping } from './stopping';
import { ec2ServerStarter, serverOnEc2 } from '../backends/aws/driver';
import { instancePricePerHour, runBudgetUSD } from '../backends/aws/plan';
import { BudgetGuard, watchBudget } from '../provisioning/budget';
import { poolForBackend } from '../provisioning/fair-share';
import { startSupervisor } from './sharded-supervisor';
import type { Emit, Log } from '../recording/events';
import type { TrainSettings } from './stage-types';
import { WorkerSlots } from './worker-slots';
import { AdaptiveControl } from './adaptive-control';
import { startSyncRun, type SyncRun } from './sync-run';

/** Waits for `promise`, or `ms` at most; the timer is cleared either way (a pending one would keep the process alive). */
async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export function trainSettings(config: ResolvedRunConfig): TrainSettings {
  const t = config.training;
  return {
    workers: t.workers,
    minibatch: t.minibatch,
    maxSeconds: t.maxSeconds,
    targetLoss: t.targetLoss,
    epochs: t.epochs,
    patience: t.patience,
    evalEverySeconds: t.evalEverySeconds,
    memoryMB: config.lambda.memoryMB,
    timeoutSeconds: config.lambda.timeoutSeconds,
    functionName: config.lambda.functionName,
    killWorkerFraction: config.faults.killWorkerFraction ?? 0, // faults are off unless set
    checkpointEverySeconds: t.checkpointEverySeconds,
    faults: config.faults,
    budgetUSD: runBudgetUSD(config), // on AWS capped by the aws.maxUSD guardrail
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
  /** A stopping rule found the run going wrong (diverged, no better than the base rate). */
  failed?: boolean;
  traffic: ReturnType<WorkerSlots['traffic']>;
  /** Pushes refused by the parameter server's screen, per worker. */
  rejected: number[];
}

export async function runTrainStage(options: {
  config: ResolvedRunConfig;
  runId: string;
  backend: Backend;
  dataset: LoadedDataset;
  settings: TrainSettings;
  cost: CostMeter;
  emit: Emit;
  stopSignal: AbortSignal;
  log: Log;
  /** Continue a run whose driver died: the parameter server starts from this checkpoint. */
  resume?: { pointer: CheckpointPointer; snapshots: Uint8Array[] };
  /** The run-state folder (the Redis channel's server lives under it). */
  stateDir?: string;
}): Promise<TrainOutcome> {
  const { config, runId, backend, dataset, settings, cost, emit, stopSignal, log, resume } = options;
  const started = Date.now() - (resume?.pointer.trainSeconds ?? 0) * 1000;
  const elapsed = () => (Date.now() - started) / 1000;
  // The driver's own S3 requests meet the injected S3 faults too (a client of its own: the load stage's is left alone).
  const s3 = withS3Faults(createS3Client(backend.storage), { errorRate: settings.faults.s3ErrorRate, delayMs: settings.faults.s3DelayMs });
  const tables = modelTables(config, dataset.manifest);
  const token = crypto.randomBytes(32).toString('hex');
  // TLS (parameterServer.tls): the run's own certificate; workers get its fingerprint to pin with the token.
  const certificate = config.parameterServer.tls ? makeRunCertificate() : undefined;

  // Test partitions stay in the driver for evaluation.
  const testPartitions: Partition[] = [];
  for (const entry of dataset.manifest.partitions.test) {
    const bytes = await withRetries(() => getObjectBytes(s3, dataset.bucket, entry.key));
    cost.s3Gets++;
    testPartitions.push(decodePartition(bytes, `s3://${dataset.bucket}/${entry.key}`, entry.crc32));
  }
  const evaluator = createEvaluator(config, dataset.manifest, testPartitions);
  const baselineLoss = baseRateLoss(config, dataset.manifest, testPartitions);
  const stopping = new ValidationStopping(config, settings.patience, baselineLoss, dataset.manifest.counts.trainRows);
  let failed = false;

  // aws without aws.parameterServerAddress: the server runs on an EC2 instance of the run's own.
  const ec2 = serverOnEc2(backend) ? ec2ServerStarter(backend, config, runId, (line) => log('info', line)) : undefined;
  // The run's own instance is priced as its type (the cost shown and the budget guard).
  if (ec2) cost.parameterServerUSDPerHour = instancePricePerHour(config.aws!.instanceType);
  const place = ec2 ? { bindHost: '0.0.0.0', port: config.aws!.parameterServerPort } : parameterServerPlace(backend);
  const shards = config.parameterServer.shards; // more than one on the local backend only (resolve.ts)
  const supervisor = await startSupervisor(
    {
      token, host: place.bindHost, port: place.port, tables,
      ...(certificate ? { tls: { cert: certificate.cert, key: certificate.key } } : {}),
      ...(config.parameterServer.screen ? { screen: config.parameterServer.screen } : {}),
    },
    { s3, bucket: backend.bucket, runId, emit, log, trainStartedAt: started, ...(ec2 ? { startServer: ec2.start } : {}) },
    shards,
  ).catch((error: Error) => {
    ec2?.close();
    throw error;
  });
  const psSeconds = () => (Date.now() - supervisor.startedAt) / 1000;
  log('info', `parameter server on ${place.bindHost}:${supervisor.port}, ${certificate ? `TLS with the run's certificate (SHA-256 ${formatFingerprint(certificate.fingerprint)}), workers pin it` : 'plain TCP (parameterServer.tls is off)'}`);
  let workers: WorkerSlots | undefined;
  let sync: SyncRun | undefined; // training.sync "sync-sgd": the channel's service (sync-run.ts)
  let budgetWatch: ReturnType<typeof watchBudget> | undefined;
  try {
    if (resume) await supervisor.resumeFrom(resume.pointer, resume.snapshots);
    // "aws" network: workers reach the parameter server through a proxy with a same-AZ round trip.
    await backend.network?.proxy('ps', () => ({ host: '127.0.0.1', port: supervisor.port }));
    for (let shard = 1; shard < shards; shard++) await backend.network?.proxy(`ps-${shard}`, () => ({ host: '127.0.0.1', port: supervisor.ports[shard] }));
    if (settings.faults.killParameterServerAtSeconds !== undefined) supervisor.killAt(started + settings.faults.killParameterServerAtSeconds * 1000);
    sync = await startSyncRun({ config, backend, runId, bucket: dataset.bucket, stateDir: options.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-sync-')), log });
    const zip = workerZip();
    const deploy = (memoryMB: number) =>
      deployFunction(backend.lambda, {
        name: settings.functionName,
        zip,
        handler: 'index.handler',
        memoryMB,
        timeoutSeconds: settings.timeoutSeconds,
        environment: backend.workerEnvironment,
        role: config.aws?.roleArn,
      });
    await deploy(settings.memoryMB);

    // Runs started together share the concurrency fairly; synchronous steps need every worker at once
    // (a barrier), so a sync-sgd run does not lease (it could wait forever for a slot another run holds).
    const pool = sync ? undefined : await poolForBackend(backend);
    workers = new WorkerSlots({ runId, config, dataset, backend, settings, cost, emit, log, supervisor, token, saved: resume?.pointer.slots, sync: sync?.event, pool });
    const slots = workers; // (a const for the closures below)
    // training.adaptive: the first size is set before any worker starts; then re-planned every adaptiveEverySeconds.
    const adaptive = config.training.adaptive
      ? new AdaptiveControl({ config, stateDir: options.stateDir, runId, slots, emit, log, redeploy: async (memoryMB) => void (await deploy(memoryMB)) })
      : undefined;
    await adaptive?.start(supervisor.client, elapsed());
    // A budget already spent (load, setup) launches no worker at all.
    const budget = settings.budgetUSD !== undefined ? BudgetGuard.forRun(settings.budgetUSD, settings.workers, settings.memoryMB, settings.evalEverySeconds, cost.parameterServerUSDPerHour) : undefined;
    cost.parameterServerSeconds = psSeconds();
    let reason = budget?.mustStop(cost.totalUSD()) ? budget.reason(cost.totalUSD()) : '';
    const allReturned = reason ? Promise.resolve() : slots.start();
    // The budget is also watched between ticks: on a loaded machine one evaluation can take seconds.
    budgetWatch = budget && !reason ? watchBudget(budget, () => (cost.parameterServerSeconds = psSeconds(), cost.totalUSD() + slots.inFlightComputeUSD())) : undefined;
    // A stopping run never restarts the parameter server: a crash from then on keeps the last evaluated model.
    const stopRequested = new Promise<void>((resolve) => {
      const onStop = () => (supervisor.stopRestarting(), resolve());
      if (stopSignal.aborted) onStop();
      else stopSignal.addEventListener('abort', onStop, { once: true });
    });

    // Monitor: heartbeats, parameter-server stats, evaluation, checkpoints, stopping rules.
    // `evaluated` is the model the last evaluation measured: the one saved if the server is lost while stopping.
    let last: Evaluation | undefined;
    let evaluated: Float32Array[] | undefined;
    let lastTrainLoss: number | undefined; // the workers' latest, carried to the final evaluation
    let stoppedByUser = false;
    let lastStats = { updates: 0, at: Date.now() };
    let lastCheckpointTry = Date.now();
    let verdict: ReturnType<ValidationStopping['observe']> = { stop: false };
    while (!reason) {
      await Promise.race([sleep(settings.evalEverySeconds * 1000), allReturned, stopRequested, ...(budgetWatch ? [budgetWatch.reached] : [])]);
      if (budgetWatch?.reason) {
        reason = budgetWatch.reason;
        break;
      }
      if (stopSignal.aborted) {
        // At once (the final model is taken below): VS Code gives a closing window little time.
        reason = `stop requested${stopSignal.reason ? `: ${String(stopSignal.reason)}` : ''}`;
        stoppedByUser = true;
        break;
      }
      await supervisor.ready; // a crash seen by the supervisor: the driver's client is being replaced
      if (supervisor.restartFailure) throw supervisor.restartFailure;
      if (sync?.failure) {
        // The channel is gone (Redis died): stop, and keep the model the parameter server holds.
        reason = sync.failure;
        failed = true;
        break;
      }
      if (slots.fatal) break;
      const epoch = supervisor.epoch;
      try {
        const client = supervisor.client;
        const trainLoss = await slots.readHeartbeats(client);
        if (trainLoss !== undefined) lastTrainLoss = trainLoss;
        const stats = await client.stats();
        const now = Date.now();
        const updatesPerSecond = (Math.max(0, stats.updates - lastStats.updates) * 1000) / Math.max(1, now - lastStats.at);
        lastStats = { updates: stats.updates, at: now };
        emit({ type: 'ps-stats', updates: stats.updates, updatesPerSecond, connections: stats.connections, applySeconds: stats.applySeconds, gatherSeconds: stats.gatherSeconds });
        slots.recordScreen(stats.screen);

        const pulled = await Promise.all(tables.map((_, i) => client.pullFull(i)));
        const pulledAt = Date.now();
        // The update count right after the pull: with the one before it, it brackets the model's progress.
        const updatesAfter = (await client.stats()).updates;
        last = evaluator.evaluate(pulled);
        evaluated = pulled;
        verdict = stopping.observe(last, pulled, elapsed(), slots.totalSamples());
        cost.parameterServerSeconds = psSeconds();
        emit({
          type: 'eval',
          testLoss: last.loss,
          testAccuracy: last.accuracy,
          testRMSE: last.rmse,
          trainLoss: lastTrainLoss, // the latest known (a short interval may bring no new heartbeat)
          samples: slots.totalSamples(),
          costUSD: cost.totalUSD() + slots.inFlightComputeUSD(),
          baselineLoss,
          pulled: { updatesBefore: stats.updates, updatesAfter, msBeforeEvent: Date.now() - pulledAt },
        });
        if (adaptive && elapsed() - adaptive.lastAt >= config.training.adaptiveEverySeconds!) await adaptive.tick(supervisor.client, elapsed(), last.loss);
        if (settings.checkpointEverySeconds > 0 && Date.now() - lastCheckpointTry >= settings.checkpointEverySeconds * 1000) {
          lastCheckpointTry = Date.now();
          // Per server a snapshot and its pointer; a sharded run also switches the run's own pointer and
          // lists each shard's snapshots to prune them (a LIST is billed as a PUT; DELETEs are free).
          const puts = supervisor.ports.length > 1 ? 3 * supervisor.ports.length + 1 : 2;
          if (await supervisor.checkpoint({ trainSeconds: elapsed(), updates: stats.updates, slots: slots.checkpointState() })) cost.s3Puts += puts;
        }
      } catch (error) {
        // The parameter server died under us: wait for its restart and go on; anything else is a bug.
        if (!(await supervisor.crashedSince(epoch))) throw error;
        continue;
      }
      if (verdict.stop) {
        reason = verdict.reason;
        failed = verdict.failed;
      } else if (settings.targetLoss !== undefined && last.loss <= settings.targetLoss) {
        reason = `target loss ${settings.targetLoss} reached`;
      } else if (elapsed() >= settings.maxSeconds) {
        reason = `time limit of ${settings.maxSeconds} s reached`;
      } else if (slots.allDone) {
        reason = `${settings.epochs} epochs done`;
      } else if (budgetWatch?.reason || budget?.mustStop(cost.totalUSD() + slots.inFlightComputeUSD())) {
        reason = budgetWatch?.reason || budget!.reason(cost.totalUSD() + slots.inFlightComputeUSD());
      }
    }

    // Tell the workers to return, wait for them (the function time limit bounds the wait), then take the
    // final model from the live server. Nothing is restarted from here on.
    slots.stop();
    supervisor.stopRestarting();
    await supervisor.ready;
    let lost: Error | undefined; // why the final model could not be read from the server
    await supervisor.client.kvSet(KV_STOP, Buffer.from('1')).catch((error: Error) => (lost = error));
    await waitAtMost(allReturned, (settings.timeoutSeconds + 15) * 1000);
    if (slots.fatal && !sync?.failure) throw slots.fatal;
    let weights = lost ? undefined : await Promise.all(tables.map((_, i) => supervisor.client.pullFull(i))).catch((error: Error) => void (lost = error));
    // The workers' last heartbeats carry the final train loss (a short run may end before the monitor read one).
    if (weights) lastTrainLoss = (await slots.lastTrainLoss(supervisor.client).catch(() => undefined)) ?? lastTrainLoss;
    if (!weights) {
      // The server is gone (it died while the run stopped, and was not restarted): keep the model of the last evaluation.
      if (!evaluated) throw lost;
      log('warn', `the final model could not be read from the parameter server (${lost?.message}); keeping the model of the last evaluation`);
      weights = evaluated;
    }
    last = evaluator.evaluate(weights);
    // Keep the best model evaluated when the last one is worse (the test loss rose at the end).
    const better = stopping.better(last);
    if (better) {
      ({ weights } = better.best);
      last = better.best.evaluation;
      reason = `${reason}; ${better.note}`;
    }
    cost.parameterServerSeconds = psSeconds();
    // The final model's figures, so every view ends on the numbers the summary reports.
    emit({ type: 'eval', testLoss: last.loss, testAccuracy: last.accuracy, testRMSE: last.rmse, trainLoss: lastTrainLoss, samples: slots.totalSamples(), costUSD: cost.totalUSD(), baselineLoss });
    // The screen's final counts (refusals since the last monitor tick).
    slots.recordScreen((await supervisor.client.stats().catch(() => undefined))?.screen);
    return { reason, stoppedByUser, last, samples: slots.totalSamples(), seconds: elapsed(), weights, tables, peakMemoryMB: slots.peakMemoryMB, failed, traffic: slots.traffic(), rejected: slots.rejected() };
  } finally {
    budgetWatch?.cancel();
    workers?.stop(); // on any way out, no new generations; running ones end with the parameter server
    await sync?.close();
    await supervisor.stop(); // on EC2: the instance, its group and its objects go (after the final model was read)
    ec2?.close();
    s3.destroy();
  }
}
