// The dashboard's state: every run's series, folded from its events one at a time. Pure (no DOM), so
// replay and live tail go through the same `apply`, and node tests can check it without a browser.
import type { RunEvent, StageName } from '../../runtime/api';
import type { RunStatus } from '../protocol';

export interface Point {
  x: number;
  y: number;
}

/** A growing x-sorted series. `version` changes on every write so charts copy only what changed. */
export class Series {
  readonly points: Point[] = [];
  version = 0;

  /** Adds a point; a point at the same x as the last one replaces it (many workers report in the same second). */
  add(x: number, y: number): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const pts = this.points;
    const last = pts[pts.length - 1];
    if (!last || x > last.x) pts.push({ x, y });
    else if (x === last.x) last.y = y;
    else {
      // Out of order (rare): insert in place, since decimation needs x sorted.
      let i = pts.length - 1;
      while (i > 0 && pts[i - 1].x > x) i--;
      if (pts[i - 1]?.x === x) pts[i - 1].y = y;
      else pts.splice(i, 0, { x, y });
    }
    this.version++;
  }

  get last(): Point | undefined {
    return this.points[this.points.length - 1];
  }
}

/** One worker slot of a run, for the dashboard's worker table. */
export interface WorkerRow {
  worker: number;
  generations: number;
  /** Fault injection: how this worker corrupts its updates, if it does. */
  byzantine?: string;
  /** Sent by finished generations, and by the running one as of its last heartbeat. */
  done: { bytesSent: number; requests: number; pushBytes: number };
  live?: { generation: number; bytesSent: number; requests: number; pushBytes: number };
  heldRows: number;
  /** Pushes the parameter server's screen refused (parameterServer.screen), and accepted. */
  rejected: number;
  accepted: number;
}

export interface StageRow {
  stage: StageName;
  startedAt: number;
  workers: number;
  memoryMB: number;
  /** Highest memory a worker reported during the stage (live), or the stage's recorded peak once finished. */
  peakMemoryMB: number | null;
  seconds: number | null;
  gbSeconds: number | null;
  costUSD: number | null;
  finished: boolean;
}

/** One evaluation as the run reported it: the x values every loss chart can plot it against. */
export interface EvalPoint {
  t: number;
  samples: number;
  costUSD: number;
  testLoss: number;
  trainLoss?: number;
}

/** Consecutive evaluations whose test loss rose before the dashboard warns (overfitting, a too high rate). */
export const RISING_WARN_AFTER = 3;

/** The cost chart's one bar while a run has not reported its breakdown yet. */
export const SPENT_SO_FAR = 'spentSoFar';

export class RunModel {
  status: RunStatus;
  /** The run's configuration from its run-started event (for naming runs by what differs). */
  config: unknown = undefined;

  /** How the run trains, from its configuration: "async-sgd through the parameter server",
   *  "sync-sgd through S3 (scatter-reduce, mean)" (the design space's channel and sync mode). */
  get trainingMode(): string | undefined {
    const training = (this.config as { training?: { sync?: string; synchronous?: { channel: string; scheme: string; aggregation: { rule: string } } } } | undefined)?.training;
    if (!training?.sync) return undefined;
    const s = training.synchronous;
    if (!s) return `${training.sync} through the parameter server`;
    const through = s.channel === 'ps' ? 'the parameter server' : s.channel === 's3' ? 'S3' : 'Redis';
    return `${training.sync} through ${through} (${s.scheme}, ${s.aggregation.rule})`;
  }
  /** Every evaluation, in order. */
  readonly evals: EvalPoint[] = [];
  /** Index in `evals` of the lowest test loss so far (the model worth keeping), -1 before any. */
  bestEval = -1;
  /** How many evaluations in a row the test loss has risen (0 when the latest was no worse). */
  risingEvals = 0;
  /** The test loss of a constant prediction, when the run reports it (base rate, mean rating). */
  baselineLoss: number | null = null;
  eventCount = 0;
  /** Latest t seen, in seconds since the run started. */
  elapsed = 0;
  readonly testLoss = new Series();
  /** Train loss from evaluations (a pass over training data), when the driver reports it. */
  readonly evalTrainLoss = new Series();
  /** Mean of the live workers' latest minibatch losses: the fallback when evaluations carry no train loss. */
  readonly workerTrainLoss = new Series();
  /** Test loss against dollars spent (x = $). */
  readonly lossByCost = new Series();
  /** The same losses against samples trained on, and the evaluated train loss against samples and $. */
  readonly lossBySamples = new Series();
  readonly evalTrainBySamples = new Series();
  readonly evalTrainByCost = new Series();
  readonly samplesPerSecond = new Series();
  readonly updatesPerSecond = new Series();
  readonly workersRunning = new Series();
  /** training.adaptive: the workers allowed to run at once after each re-plan, and each decision with its reason. */
  readonly workersTarget = new Series();
  readonly resizes: Array<{ t: number; workers: number; memoryMB: number; previousMemoryMB: number; reason: string }> = [];
  readonly stages = new Map<StageName, StageRow>();
  /** Per worker slot: what it sent the parameter server, and what the server's screen refused of it. */
  readonly workers = new Map<number, WorkerRow>();
  costByComponent: Record<string, number> = {};
  costUSD = 0;
  testAccuracy: number | null = null;
  testRMSE: number | null = null;
  samples = 0;
  message = '';
  finishReason = '';

  // Each live worker's latest rate and minibatch loss, keyed by worker slot; the sum of rates is the
  // run's throughput, the mean of losses its train loss (one worker's minibatch loss is too noisy).
  private rates = new Map<number, { generation: number; rate: number; loss?: number }>();
  private running = 0;
  private currentStage: StageName | null = null;
  /** The stage whose progress line `message` shows, if it shows one. */
  private messageStage: StageName | null = null;

  constructor(readonly runId: string, public name: string, status: RunStatus = 'running') {
    this.status = status;
  }

  /** The train-loss series to plot: the evaluated one when there is one, it is the less noisy. */
  get trainLoss(): Series {
    return this.evalTrainLoss.points.length > 0 ? this.evalTrainLoss : this.workerTrainLoss;
  }

  /** The test and train loss series against the chosen x axis (the worker train loss exists against time only). */
  lossSeries(xAxis: 'time' | 'samples' | 'cost'): { test: Series; train: Series } {
    if (xAxis === 'samples') return { test: this.lossBySamples, train: this.evalTrainBySamples };
    if (xAxis === 'cost') return { test: this.lossByCost, train: this.evalTrainByCost };
    return { test: this.testLoss, train: this.trainLoss };
  }

  /** The cost split to chart: the final breakdown, or while running the total so far (the driver splits it at the end). */
  get costBreakdown(): Record<string, number> {
    if (Object.keys(this.costByComponent).length) return this.costByComponent;
    return this.costUSD > 0 ? { [SPENT_SO_FAR]: this.costUSD } : {};
  }

  get latestTestLoss(): number | null {
    return this.testLoss.last?.y ?? null;
  }

  apply(e: RunEvent): void {
    this.eventCount++;
    if (e.t > this.elapsed) this.elapsed = e.t;
    switch (e.type) {
      case 'run-started':
        this.config = e.config;
        break;
      case 'stage-started':
        this.currentStage = e.stage;
        this.stages.set(e.stage, {
          stage: e.stage, startedAt: e.t, workers: e.workers, memoryMB: e.memoryMB,
          peakMemoryMB: null, seconds: null, gbSeconds: null, costUSD: null, finished: false,
        });
        break;
      case 'stage-finished': {
        const started = this.stages.get(e.stage);
        this.stages.set(e.stage, {
          stage: e.stage, startedAt: started?.startedAt ?? e.t - e.seconds, workers: e.workers, memoryMB: e.memoryMB,
          peakMemoryMB: e.peakMemoryMB, seconds: e.seconds, gbSeconds: e.gbSeconds, costUSD: e.costUSD, finished: true,
        });
        if (this.currentStage === e.stage) this.currentStage = null;
        // A finished stage's last progress line ("convert: 3,600 rows") is stale news during the next.
        if (this.messageStage === e.stage) {
          this.message = '';
          this.messageStage = null;
        }
        break;
      }
      case 'progress':
        this.message = e.message;
        this.messageStage = e.stage;
        break;
      case 'resize':
        this.workersTarget.add(e.t, e.workers);
        this.resizes.push({ t: e.t, workers: e.workers, memoryMB: e.memoryMB, previousMemoryMB: e.previousMemoryMB, reason: e.reason });
        break;
      case 'worker-launched':
        this.workerRow(e.worker).generations++;
        if (e.byzantine) this.workerRow(e.worker).byzantine = `${e.byzantine.kind} x${e.byzantine.factor}`;
        this.running++;
        this.workersRunning.add(e.t, this.running);
        break;
      case 'worker-heartbeat': {
        const prev = this.rates.get(e.worker);
        const loss = e.trainLoss ?? (prev?.generation === e.generation ? prev.loss : undefined);
        this.rates.set(e.worker, { generation: e.generation, rate: e.samplesPerSecond, loss });
        if (e.bytesSent !== undefined) this.workerRow(e.worker).live = { generation: e.generation, bytesSent: e.bytesSent, requests: e.requests ?? 0, pushBytes: e.pushBytes ?? 0 };
        this.workerRow(e.worker).heldRows = e.heldRows ?? 0;
        this.samplesPerSecond.add(e.t, this.sumRates());
        if (e.trainLoss !== undefined) this.workerTrainLoss.add(e.t, this.meanLoss());
        this.notePeakMemory(e.memoryMB);
        break;
      }
      case 'worker-finished': {
        const w = this.workerRow(e.worker);
        if (e.traffic) {
          w.done.bytesSent += e.traffic.bytesSent;
          w.done.requests += e.traffic.requests;
          w.done.pushBytes += e.traffic.pushBytes;
        }
        if (w.live?.generation === e.generation) w.live = undefined;
        w.heldRows = 0; // a generation pushes what it held back before it returns
        this.running = Math.max(0, this.running - 1);
        this.workersRunning.add(e.t, this.running);
        // Only forget the slot's rate if a newer generation has not already taken it over.
        if (this.rates.get(e.worker)?.generation === e.generation) {
          this.rates.delete(e.worker);
          this.samplesPerSecond.add(e.t, this.sumRates());
        }
        break;
      }
      case 'eval':
        this.noteEval(e);
        if (e.baselineLoss !== undefined && Number.isFinite(e.baselineLoss)) this.baselineLoss = e.baselineLoss;
        this.testLoss.add(e.t, e.testLoss);
        if (e.trainLoss !== undefined) {
          this.evalTrainLoss.add(e.t, e.trainLoss);
          this.evalTrainBySamples.add(e.samples, e.trainLoss);
          this.evalTrainByCost.add(e.costUSD, e.trainLoss);
        }
        this.lossByCost.add(e.costUSD, e.testLoss);
        this.lossBySamples.add(e.samples, e.testLoss);
        if (e.testAccuracy !== undefined) this.testAccuracy = e.testAccuracy;
        if (e.testRMSE !== undefined) this.testRMSE = e.testRMSE;
        this.samples = Math.max(this.samples, e.samples);
        this.costUSD = Math.max(this.costUSD, e.costUSD);
        break;
      case 'updates-rejected': {
        const w = this.workerRow(e.worker);
        w.rejected = Math.max(w.rejected, e.total);
        w.accepted = e.accepted;
        break;
      }
      case 'ps-stats':
        this.updatesPerSecond.add(e.t, e.updatesPerSecond);
        break;
      case 'cost':
        this.costByComponent = { ...e.byComponent };
        this.costUSD = e.totalUSD;
        break;
      case 'log':
        if (e.level !== 'info') {
          this.message = e.message;
          this.messageStage = null;
        }
        break;
      case 'run-finished':
        this.status = e.status;
        this.finishReason = e.reason;
        this.message = e.reason;
        this.messageStage = null;
        this.costUSD = e.summary.costUSD;
        this.samples = Math.max(this.samples, e.summary.samples);
        if (e.summary.testAccuracy !== null) this.testAccuracy = e.summary.testAccuracy;
        if (e.summary.testRMSE != null) this.testRMSE = e.summary.testRMSE;
        if (Object.keys(e.summary.cost).length) this.costByComponent = { ...e.summary.cost };
        // Workers still counted as running when the run ends have stopped with it.
        if (this.running > 0) {
          this.running = 0;
          this.workersRunning.add(e.t, 0);
        }
        break;
    }
  }

  private workerRow(worker: number): WorkerRow {
    let row = this.workers.get(worker);
    if (!row) this.workers.set(worker, (row = { worker, generations: 0, done: { bytesSent: 0, requests: 0, pushBytes: 0 }, heldRows: 0, rejected: 0, accepted: 0 }));
    return row;
  }

  get best(): EvalPoint | null {
    return this.bestEval >= 0 ? this.evals[this.bestEval] : null;
  }

  private noteEval(e: Extract<RunEvent, { type: 'eval' }>): void {
    if (!Number.isFinite(e.testLoss)) return;
    const prev = this.evals[this.evals.length - 1];
    this.evals.push({ t: e.t, samples: e.samples, costUSD: e.costUSD, testLoss: e.testLoss, ...(e.trainLoss !== undefined ? { trainLoss: e.trainLoss } : {}) });
    this.risingEvals = prev && e.testLoss > prev.testLoss ? this.risingEvals + 1 : 0;
    if (this.bestEval < 0 || e.testLoss < this.evals[this.bestEval].testLoss) this.bestEval = this.evals.length - 1;
  }

  private sumRates(): number {
    let sum = 0;
    for (const r of this.rates.values()) sum += r.rate;
    return sum;
  }

  private meanLoss(): number {
    let sum = 0;
    let n = 0;
    for (const r of this.rates.values()) {
      if (r.loss === undefined) continue;
      sum += r.loss;
      n++;
    }
    return n ? sum / n : NaN;
  }

  private notePeakMemory(memoryMB: number): void {
    const row = this.currentStage ? this.stages.get(this.currentStage) : undefined;
    if (row && !row.finished && (row.peakMemoryMB === null || memoryMB > row.peakMemoryMB)) row.peakMemoryMB = memoryMB;
  }
}

/** Every run the panel shows, in the order the host listed them. */
export class DashboardModel {
  readonly runs = new Map<string, RunModel>();

  reset(runs: Array<{ runId: string; name: string; status: RunStatus }>): void {
    this.runs.clear();
    for (const r of runs) this.runs.set(r.runId, new RunModel(r.runId, r.name, r.status));
  }

  /** The run, created on first sight if the host did not list it (named by its run-started event if any). */
  run(runId: string, events: RunEvent[] = []): RunModel {
    let run = this.runs.get(runId);
    if (!run) {
      const started = events.find((e) => e.type === 'run-started');
      run = new RunModel(runId, started && started.type === 'run-started' ? started.name : runId);
      this.runs.set(runId, run);
    }
    return run;
  }

  applyBatch(runId: string, events: RunEvent[]): RunModel {
    const run = this.run(runId, events);
    for (const e of events) run.apply(e);
    return run;
  }

  get eventCount(): number {
    let n = 0;
    for (const r of this.runs.values()) n += r.eventCount;
    return n;
  }
}
