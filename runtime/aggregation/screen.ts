// The asynchronous parameter server's update screen: robust aggregation needs every worker's update of
// a round side by side (runtime/aggregation/robust.ts), which an asynchronous server never has, so it
// judges each push as it comes, against a bound learned from recent pushes.
// - A push's size is its RMS (L2 norm / sqrt(values)): a filtered worker pushes any number of rows, so
//   the norm alone would punish big pushes.
// - Each worker keeps the RMS of its last `window` pushes (refused ones too). The reference is the
//   median over workers of their medians: one worker, however loud, moves it by one rank at most, so
//   it stays an honest worker's scale while the honest workers are the majority (3 workers or more).
// - A push is refused when its RMS exceeds `factor` x the reference, or when its worker's own median
//   does (the per-worker bound: a worker whose typical push is an outlier is refused whole, also its
//   pushes that happen to be small). Nothing of a refused push is applied; it is recorded.
// - Until `quorum` workers have pushed, every push is refused (and counted apart, as `early`): one
//   worker alone, or two, give no majority to learn an honest scale from, and the first worker to
//   start may well be the faulty one. The driver sets the quorum to min(3, training.workers).

export interface ScreenSettings {
  /** Refuse a push whose RMS (or its worker's recent median) exceeds this multiple of the reference (default 4). */
  factor: number;
  /** Recent pushes (accepted or not) kept per worker (default 50). */
  window: number;
  /** Workers that must have pushed before any push is applied (default 3). */
  quorum: number;
}

export const DEFAULT_SCREEN: ScreenSettings = { factor: 4, window: 50, quorum: 3 };

export interface ScreenVerdict {
  accepted: boolean;
  rms: number;
  /** The bound the push was held to (NaN before the quorum). */
  bound: number;
}

/** What the screen refused of one worker so far. */
export interface ScreenRecord {
  worker: number;
  accepted: number;
  rejected: number;
  /** Refused before the quorum of workers had pushed (not counted in `rejected`). */
  early?: number;
  /** The RMS and bound of its latest refused push, and its worker's recent median RMS then (a push
   *  is refused when either exceeds the bound). */
  lastRejectedRms?: number;
  lastBound?: number;
  lastWorkerMedianRms?: number;
}

class Ring {
  private readonly values: Float64Array;
  private next = 0;
  size = 0;
  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }
  add(v: number): void {
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.values.length;
    this.size = Math.min(this.size + 1, this.values.length);
  }
  median(): number {
    return median(Array.from(this.values.subarray(0, this.size)));
  }
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = values.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function screenProblem(s: Partial<ScreenSettings>, where: string): string | undefined {
  if (s.factor !== undefined && !(Number.isFinite(s.factor) && s.factor > 1)) return `${where}.factor must be a number > 1 (got ${s.factor})`;
  if (s.window !== undefined && !(Number.isInteger(s.window) && s.window >= 1 && s.window <= 10_000)) return `${where}.window must be an integer in 1..10000 (got ${s.window})`;
  if (s.quorum !== undefined && !(Number.isInteger(s.quorum) && s.quorum >= 1)) return `${where}.quorum must be an integer >= 1 (got ${s.quorum})`;
  return undefined;
}

/** One screen per table: the tables' updates have unrelated scales (MF's users and items). */
export class UpdateScreen {
  private readonly settings: ScreenSettings;
  private readonly recent = new Map<number, Ring>();
  private readonly records = new Map<number, ScreenRecord>();
  /** Cached bound, recomputed every 8 pushes (medians are not free). */
  private bound = Infinity;
  private sinceBound = 0;

  constructor(settings: Partial<ScreenSettings> = {}) {
    const problem = screenProblem(settings, 'screen');
    if (problem) throw new Error(problem);
    this.settings = { ...DEFAULT_SCREEN, ...settings };
  }

  /** Judges one push of `worker` (its gradient values); records the verdict. */
  judge(worker: number, values: Float32Array): ScreenVerdict {
    let sum = 0;
    for (let j = 0; j < values.length; j++) sum += values[j] * values[j];
    const rms = Math.sqrt(sum / Math.max(1, values.length));
    const record = this.records.get(worker) ?? { worker, accepted: 0, rejected: 0 };
    this.records.set(worker, record);
    let ring = this.recent.get(worker);
    if (!ring) this.recent.set(worker, (ring = new Ring(this.settings.window)));
    ring.add(rms);
    if (this.recent.size < this.settings.quorum) {
      record.early = (record.early ?? 0) + 1;
      return { accepted: false, rms, bound: NaN };
    }
    const bound = this.currentBound();
    const workerMedian = ring.median();
    if (rms > bound || workerMedian > bound) {
      record.rejected++;
      record.lastRejectedRms = rms;
      record.lastBound = bound;
      record.lastWorkerMedianRms = workerMedian;
      return { accepted: false, rms, bound };
    }
    record.accepted++;
    return { accepted: true, rms, bound };
  }

  /** Per-worker counts, workers in id order. */
  workers(): ScreenRecord[] {
    return [...this.records.values()].sort((a, b) => a.worker - b.worker).map((r) => ({ ...r }));
  }

  private currentBound(): number {
    if (this.sinceBound++ % 8 === 0) {
      const medians: number[] = [];
      for (const ring of this.recent.values()) medians.push(ring.median());
      this.bound = this.settings.factor * median(medians);
    }
    return this.bound;
  }
}

/** The workers' records of several tables' screens, summed per worker. */
export function screenRecords(screens: UpdateScreen[]): ScreenRecord[] {
  return mergeScreenRecords(screens.map((screen) => screen.workers()));
}

/** Several lists of records (tables, shards) summed per worker, workers in id order. */
export function mergeScreenRecords(lists: ScreenRecord[][]): ScreenRecord[] {
  const byWorker = new Map<number, ScreenRecord>();
  for (const list of lists) {
    for (const r of list) {
      const into = byWorker.get(r.worker);
      if (!into) byWorker.set(r.worker, { ...r });
      else {
        into.accepted += r.accepted;
        into.rejected += r.rejected;
        if (r.early) into.early = (into.early ?? 0) + r.early;
        if (r.lastRejectedRms !== undefined) {
          into.lastRejectedRms = r.lastRejectedRms;
          into.lastBound = r.lastBound;
          if (r.lastWorkerMedianRms !== undefined) into.lastWorkerMedianRms = r.lastWorkerMedianRms;
        }
      }
    }
  }
  return [...byWorker.values()].sort((a, b) => a.worker - b.worker);
}
