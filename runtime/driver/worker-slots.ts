// The workers of a train stage: one slot per worker, each keeping one function invocation running.
// A generation that returns near its time limit is replaced by the next one from its cursor
// (Cirrus-style); one that fails (crash, kill, lost connection) is relaunched from its last heartbeat.
// Five failures in a row on one slot fail the run (not counting failures a parameter-server crash caused).
import { setTimeout as sleep } from 'node:timers/promises';
import { parameterServerPlace, type Backend } from '../backends/backend';
import { invokeFunction } from '../backends/lambda-client';
import type { ResolvedRunConfig } from '../config/run-config';
import { CostMeter } from '../cost/cost-model';
import type { PsConnection as PsClient } from '../ps/sharded-client';
import { addTraffic, emptyTraffic, type PsTraffic } from '../ps/types';
import type { ScreenRecord } from '../aggregation/screen';
import { heartbeatKey, returnKey, type StartupTiming, type WorkerCursor, type WorkerEvent, type WorkerHeartbeat, type WorkerResult } from '../worker/protocol';
import type { ConcurrencyPool } from '../provisioning/fair-share';
import type { CheckpointSlot } from './checkpoint';
import type { LoadedDataset } from './load-stage';
import { workerFilter, workerModel } from './models';
import { withRetries } from '../util/retry';
import type { Supervisor } from './sharded-supervisor';
import type { Emit, Log, WorkerStartup } from '../recording/events';
import type { TrainSettings } from './stage-types';

const MAX_CONSECUTIVE_FAILURES = 5;
const DEFAULT_BYZANTINE_FACTOR = 10;

interface Slot {
  worker: number;
  partitions: WorkerEvent['partitions'];
  cursor: WorkerCursor;
  generation: number;
  completedSamples: number; // by finished generations
  liveSamples: number; // of the running generation, from its last heartbeat
  traffic: PsTraffic; // sent to the parameter server by finished generations (failed ones: up to their last heartbeat)
  liveTraffic?: PsTraffic; // of the running generation, from its last heartbeat
  runningSince?: number; // ms timestamp of the running invocation
  runningMemoryMB: number; // memory the running (or last) generation was launched with
  lastBeatAt: number;
  beatCursor?: WorkerCursor; // the running generation's position at its last heartbeat
  consecutiveFailures: number;
  /** Samples this slot trains in all (epochs x its rows); undefined without an epoch limit. */
  budget?: number;
  done: boolean;
}

/** Round-robin split of the training partitions over the workers (every worker gets at least one). */
function assignPartitions(dataset: LoadedDataset, workers: number): WorkerEvent['partitions'][] {
  const train = dataset.manifest.partitions.train.map((p) => ({ key: p.key, rows: p.rows, crc32: p.crc32 }));
  if (train.length === 0) throw new Error(`dataset s3://${dataset.bucket}/${dataset.prefix} has no training partitions`);
  return Array.from({ length: workers }, (_, w) => {
    const mine = train.filter((_, i) => i % workers === w);
    return mine.length > 0 ? mine : [train[w % train.length]];
  });
}

export class WorkerSlots {
  private readonly slots: Slot[];
  private stopping = false;
  /** Aborted on stop: ends a throttled invocation's retries. */
  private readonly stopSignal = new AbortController();
  /** Set when a slot gives up: the run fails with it. */
  fatal: Error | undefined;
  peakMemoryMB = 0;
  /** Largest resident memory a heartbeat reported (known before any invocation returns). */
  peakHeartbeatMemoryMB = 0;
  private readonly nextFaults: () => WorkerEvent['faults'];
  private readonly returnMarginMs: number;
  /** Pushes of each worker the parameter server's screen refused, as last reported. */
  private readonly rejectedSeen = new Map<number, number>();
  /** training.adaptive: at most this many slots run a generation at once (all, unless re-planned). A slot
   *  waits for a turn at its generation boundary; turns go to the slots that have trained least, so every
   *  slot's share of the data is still trained. */
  private activeLimit: number;
  private running = 0;
  private readonly waiting: Array<{ slot: Slot; resolve: (go: boolean) => void }> = [];
  /** Memory the next generations are launched with (training.adaptive changes it between generations). */
  memoryMB: number;

  constructor(
    private readonly o: {
      runId: string;
      config: ResolvedRunConfig;
      dataset: LoadedDataset;
      backend: Backend;
      settings: TrainSettings;
      cost: CostMeter;
      emit: Emit;
      log: Log;
      supervisor: Supervisor;
      token: string;
      saved?: CheckpointSlot[]; // from a checkpoint, when a run resumes
      sync?: WorkerEvent['sync']; // training.sync "sync-sgd" (sync-run.ts)
      /** The concurrency this run shares with others in the process (runtime/provisioning/fair-share.ts). */
      pool?: ConcurrencyPool;
    },
  ) {
    const { settings } = o;
    const shares = assignPartitions(o.dataset, settings.workers);
    // Synchronous steps: every worker takes the same number of samples (the largest share, a smaller
    // one wrapping round), so all reach the last step together instead of one waiting out timeouts.
    const syncRows = o.sync ? Math.max(...shares.map((partitions) => partitions.reduce((sum, p) => sum + p.rows, 0))) : undefined;
    this.slots = shares.map((partitions, worker) => {
      const saved = o.saved?.find((s) => s.worker === worker);
      return {
        worker,
        partitions,
        cursor: saved?.cursor ?? { partition: 0, row: 0 },
        generation: saved ? saved.generation + 1 : 0,
        completedSamples: saved?.samples ?? 0,
        liveSamples: 0,
        traffic: emptyTraffic(),
        lastBeatAt: 0,
        consecutiveFailures: 0,
        // Epochs are counted per slot, by its workers themselves: stopping from the driver's
        // once-a-second check would overshoot by however many passes fit in that second.
        budget: settings.epochs === undefined ? undefined : Math.round(settings.epochs * (syncRows ?? partitions.reduce((sum, p) => sum + p.rows, 0))),
        done: false,
        runningMemoryMB: settings.memoryMB,
      };
    });
    this.activeLimit = this.slots.length;
    this.memoryMB = settings.memoryMB;
    this.returnMarginMs = Math.min(5000, Math.max(1000, settings.timeoutSeconds * 100));
    this.nextFaults = faultPlanner(settings, this.returnMarginMs);
  }

  /** Starts every slot; resolves when all have returned (epochs done, stopped, or given up). */
  start(): Promise<void> {
    const { pool, runId } = this.o;
    pool?.join(runId, this.slots.length);
    return Promise.all(
      this.slots.map((slot) =>
        this.runSlot(slot).catch((error) => {
          this.fatal = error as Error;
          this.stop();
        }),
      ),
    ).then(() => pool?.leave(runId));
  }

  /** No new generations from now on (the driver also tells the running ones to return). */
  stop(): void {
    this.stopping = true;
    this.stopSignal.abort();
    for (const w of this.waiting.splice(0)) w.resolve(false);
  }

  /** Slots in all (training.workers): the most that can run at once. */
  get size(): number {
    return this.slots.length;
  }

  /** How many may run a generation at once now. */
  get active(): number {
    return this.activeLimit;
  }

  /**
   * training.adaptive: from now on at most `workers` slots run at once. Scaling out starts waiting slots at
   * once; scaling in asks the running generations over the limit (those that trained most) to return at
   * their next heartbeat (`returnKey`), keeping their cursors.
   */
  async setActive(workers: number, client: PsClient): Promise<void> {
    this.activeLimit = Math.max(1, Math.min(this.slots.length, Math.round(workers)));
    this.dispatch();
    const running = this.slots.filter((s) => s.runningSince !== undefined);
    const over = running.length - this.activeLimit;
    if (over <= 0) return;
    const trained = (s: Slot) => s.completedSamples + s.liveSamples;
    for (const slot of running.sort((a, b) => trained(b) - trained(a)).slice(0, over)) {
      await client.kvSet(returnKey(slot.worker), Buffer.from(String(slot.generation)));
    }
  }

  /** Waits for a turn to run a generation (at once unless adaptive sizing holds slots back); false once stopping. */
  private takeTurn(slot: Slot): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.waiting.push({ slot, resolve });
      this.dispatch();
    });
  }

  private endTurn(): void {
    this.running--;
    this.dispatch();
  }

  /** Hands free turns to the waiting slots that have trained least. */
  private dispatch(): void {
    this.waiting.sort((a, b) => a.slot.completedSamples - b.slot.completedSamples);
    while (this.running < this.activeLimit && this.waiting.length > 0) {
      this.running++;
      this.waiting.shift()!.resolve(true);
    }
  }

  get allDone(): boolean {
    return this.slots.every((slot) => slot.done);
  }

  totalSamples(): number {
    return this.slots.reduce((sum, s) => sum + s.completedSamples + s.liveSamples, 0);
  }

  /** What each worker has sent the parameter server so far (index = worker), and the sum. */
  traffic(): { total: PsTraffic; perWorker: PsTraffic[] } {
    const perWorker = this.slots.map((slot) => addTraffic(addTraffic(emptyTraffic(), slot.traffic), slot.liveTraffic ?? emptyTraffic()));
    return { total: perWorker.reduce(addTraffic, emptyTraffic()), perWorker };
  }

  checkpointState(): CheckpointSlot[] {
    return this.slots.map((slot) => ({ worker: slot.worker, cursor: slot.cursor, generation: slot.generation, samples: slot.completedSamples }));
  }

  /** Compute already spent by invocations still running (billed once they return). */
  inFlightComputeUSD(): number {
    const meter = new CostMeter();
    for (const slot of this.slots) if (slot.runningSince !== undefined) meter.addInvocation(Date.now() - slot.runningSince, slot.runningMemoryMB);
    return meter.breakdown().lambdaCompute;
  }

  /** Workers report the mean minibatch loss since their previous heartbeat; for MF that is the mean
   *  squared error, shown as RMSE. */
  private trainLossOf(beat: WorkerHeartbeat): number | undefined {
    const loss = this.o.config.model.type === 'mf' ? Math.sqrt(beat.trainLoss) : beat.trainLoss;
    return Number.isFinite(loss) ? loss : undefined;
  }

  /** The mean training loss of the workers' last heartbeats, finished workers included (a short run can
   *  end before the monitor read any). Emits nothing. */
  async lastTrainLoss(client: PsClient): Promise<number | undefined> {
    const losses: number[] = [];
    for (const slot of this.slots) {
      const raw = await client.kvGet(heartbeatKey(slot.worker));
      const loss = raw ? this.trainLossOf(JSON.parse(raw.toString('utf8')) as WorkerHeartbeat) : undefined;
      if (loss !== undefined) losses.push(loss);
    }
    return losses.length > 0 ? losses.reduce((a, b) => a + b, 0) / losses.length : undefined;
  }

  /** Reads the workers' heartbeats from the parameter server, emits the new ones, and returns the
   *  mean of their training losses (undefined when none reported one). */
  async readHeartbeats(client: PsClient): Promise<number | undefined> {
    let sum = 0;
    let count = 0;
    for (const slot of this.slots) {
      const raw = await client.kvGet(heartbeatKey(slot.worker));
      if (!raw) continue;
      const beat = JSON.parse(raw.toString('utf8')) as WorkerHeartbeat;
      if (beat.at === slot.lastBeatAt || beat.generation !== slot.generation || slot.runningSince === undefined) continue;
      slot.lastBeatAt = beat.at;
      slot.liveSamples = beat.samples;
      slot.beatCursor = beat.cursor;
      slot.liveTraffic = beat.traffic;
      this.peakHeartbeatMemoryMB = Math.max(this.peakHeartbeatMemoryMB, beat.memoryMB || 0);
      const trainLoss = this.trainLossOf(beat);
      if (trainLoss !== undefined) {
        sum += trainLoss;
        count++;
      }
      this.o.emit({
        type: 'worker-heartbeat',
        worker: slot.worker,
        generation: beat.generation,
        samples: beat.samples,
        samplesPerSecond: beat.samplesPerSecond,
        s3MBps: beat.s3MBps,
        memoryMB: beat.memoryMB,
        trainLoss,
        ...(beat.traffic ? { bytesSent: beat.traffic.bytesSent, requests: beat.traffic.requests, pushBytes: beat.traffic.pushBytes } : {}),
        ...(beat.heldRows ? { heldRows: beat.heldRows } : {}),
      });
    }
    return count > 0 ? sum / count : undefined;
  }

  /** Where workers reach parameter-server shard `shard` (through the "aws" network's proxy when there is one). */
  private psAddress(shard: number): { host: string; port: number } {
    const { backend, supervisor } = this.o;
    return backend.network?.address(shard === 0 ? 'ps' : `ps-${shard}`) ?? { host: supervisor.host ?? parameterServerPlace(backend).advertisedHost, port: supervisor.ports[shard] };
  }

  /** Refused pushes per worker (parameterServer.screen), from the server's stats: emits what is new. */
  recordScreen(records: ScreenRecord[] | undefined): void {
    for (const r of records ?? []) {
      const seen = this.rejectedSeen.get(r.worker) ?? 0;
      if (r.rejected <= seen) continue;
      this.rejectedSeen.set(r.worker, r.rejected);
      this.o.emit({ type: 'updates-rejected', worker: r.worker, count: r.rejected - seen, total: r.rejected, accepted: r.accepted, lastRms: r.lastRejectedRms, workerMedianRms: r.lastWorkerMedianRms, bound: r.lastBound });
    }
  }

  /** Refused pushes per worker so far (index = worker). */
  rejected(): number[] {
    return this.slots.map((slot) => this.rejectedSeen.get(slot.worker) ?? 0);
  }

  /** The planned faults of the next invocation, plus the slot's Byzantine corruption (faults.byzantineWorkers: workers 0 .. count-1). */
  private faultsOf(slot: Slot): WorkerEvent['faults'] {
    const planned = this.nextFaults();
    const b = this.o.settings.faults.byzantineWorkers;
    if (!b || slot.worker >= b.count) return planned;
    return { ...planned, byzantine: { kind: b.kind, factor: b.factor ?? DEFAULT_BYZANTINE_FACTOR } };
  }

  private workerEvent(slot: Slot, sampleBudget: number | undefined): WorkerEvent {
    const { runId, config, dataset, backend, settings, supervisor, token } = this.o;
    return {
      runId,
      worker: slot.worker,
      generation: slot.generation,
      bucket: dataset.bucket,
      s3Endpoint: backend.workerS3Endpoint,
      region: backend.region,
      partitions: slot.partitions,
      cursor: slot.cursor,
      ps: { ...this.psAddress(0), token, ...supervisor.pin, ...(supervisor.ports.length > 1 ? { shards: supervisor.ports.map((_, s) => this.psAddress(s)) } : {}) },
      model: workerModel(config, dataset.manifest),
      minibatch: settings.minibatch,
      filter: workerFilter(config, slot.completedSamples),
      sampleBudget,
      returnMarginMs: this.returnMarginMs,
      heartbeatMs: 500,
      faults: this.faultsOf(slot),
      ...(this.o.sync ? { sync: this.o.sync } : {}),
    };
  }

  private async runSlot(slot: Slot): Promise<void> {
    const { backend, settings, cost, emit, log, supervisor } = this.o;
    let reason: 'start' | 'time-limit' | 'relaunch-after-failure' = 'start';
    while (!this.stopping) {
      await supervisor.ready; // not into a parameter server that is being restarted
      if (this.stopping) return;
      const sampleBudget = slot.budget === undefined ? undefined : slot.budget - slot.completedSamples;
      if (sampleBudget !== undefined && sampleBudget <= 0) {
        slot.done = true;
        return;
      }
      // A turn within the run (adaptive sizing), then a slot of the shared pool, per generation: another
      // slot's or run's turn comes at generation boundaries.
      if (!(await this.takeTurn(slot))) return;
      // The turn ends after the generation's worker-finished event (so the event stream never shows more running than allowed).
      try {
        if (this.o.pool && !(await this.o.pool.acquire(this.o.runId, () => this.stopping))) return;
        const leasedAt = Date.now();
        const memoryMB = (slot.runningMemoryMB = this.memoryMB);
        const epoch = supervisor.epoch;
        const event = this.workerEvent(slot, sampleBudget);
        const byzantine = event.faults?.byzantine;
        emit({ type: 'worker-launched', worker: slot.worker, generation: slot.generation, reason, ...(byzantine ? { byzantine } : {}) });
        slot.runningSince = Date.now();
        slot.liveSamples = 0;
        slot.liveTraffic = undefined;
        slot.beatCursor = undefined;
        let outcome;
        const invokedAt = Date.now();
        try {
          // Throttled (no concurrency left): back off and retry the same generation until the run stops.
          outcome = await withRetries(() => invokeFunction(backend.lambda, settings.functionName, event), {
            attempts: Infinity,
            delayMs: () => 200 + Math.random() * 800,
            retryable: (error) => (error as Error).name === 'TooManyRequestsException',
            signal: this.stopSignal.signal,
          });
        } catch (error) {
          const err = error as Error;
          slot.runningSince = undefined;
          if (err.name === 'TooManyRequestsException') return; // still throttled when the run stopped
          outcome = { functionError: 'InvokeError', payload: { errorMessage: err.message }, billedMs: 0, maxMemoryUsedMB: 0 };
        } finally {
          this.o.pool?.release(this.o.runId, (Date.now() - leasedAt) / 1000);
        }
        slot.runningSince = undefined;
        const billedMs = outcome.billedMs ?? 0;
        cost.addInvocation(billedMs, memoryMB);
        this.peakMemoryMB = Math.max(this.peakMemoryMB, outcome.maxMemoryUsedMB ?? 0);
        if (outcome.functionError) {
          const payload = outcome.payload as { errorMessage?: string } | undefined;
          const message = payload?.errorMessage ?? outcome.functionError;
          slot.completedSamples += slot.liveSamples; // the heartbeat-reported work did reach the parameter server
          slot.liveSamples = 0;
          if (slot.liveTraffic) addTraffic(slot.traffic, slot.liveTraffic);
          slot.liveTraffic = undefined;
          // ...so the relaunch goes on from there: redoing it would train the same rows twice.
          if (slot.beatCursor) slot.cursor = slot.beatCursor;
          slot.beatCursor = undefined;
          emit({ type: 'worker-finished', worker: slot.worker, generation: slot.generation, status: 'failed', error: message, billedMs, memoryMB, samples: 0 });
          // Failures caused by a parameter-server crash are not the worker's: they don't count towards giving up.
          if (!(await supervisor.crashedSince(epoch))) slot.consecutiveFailures++;
          if (this.stopping) return;
          if (slot.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
            throw new Error(`worker ${slot.worker} failed ${MAX_CONSECUTIVE_FAILURES} times in a row; last error: ${message}`);
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
        slot.liveTraffic = undefined;
        if (result.traffic) addTraffic(slot.traffic, result.traffic);
        cost.s3Gets += result.s3Gets;
        if (result.channelRequests) cost.addChannelRequests(result.channelRequests);
        // Invoke to first gradient, as the cold-start figure (same clock locally; on AWS within clock skew).
        const firstGradientMs = result.firstGradientAt !== undefined && result.firstGradientAt >= 0 ? result.firstGradientAt - invokedAt : undefined;
        emit({
          type: 'worker-finished',
          worker: slot.worker,
          generation: slot.generation,
          status: result.status,
          billedMs,
          memoryMB,
          samples: result.samples,
          ...(result.traffic ? { traffic: result.traffic } : {}),
          coldStart: 'initMs' in outcome ? outcome.initMs !== undefined : undefined,
          ...(firstGradientMs !== undefined ? { firstGradientMs } : {}),
          ...(result.timing ? { timing: result.timing } : {}),
          ...(result.startup ? { startup: startupOf(result.startup, invokedAt, 'initMs' in outcome ? outcome.initMs : undefined) } : {}),
        });
        slot.generation++;
        if (result.status === 'done') {
          slot.done = true;
          return;
        }
        reason = 'time-limit';
      } finally {
        this.endTurn();
      }
    }
  }
}

/** A worker's start-up steps, with the platform's part (invoke to handler entry) measured against the
 *  driver's invoke time (same clock locally; on AWS within clock skew). */
function startupOf(s: StartupTiming, invokedAt: number, initMs: number | undefined): WorkerStartup {
  const { handlerAt, ...steps } = s;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    invokeToHandlerMs: handlerAt - invokedAt,
    ...(Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, round(v)])) as Omit<WorkerStartup, 'invokeToHandlerMs' | 'initMs'>),
    ...(initMs !== undefined ? { initMs: round(initMs) } : {}),
  };
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
