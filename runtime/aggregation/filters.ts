// Update filters: what a worker sends of its sparse updates, and what it keeps for later.
// A worker hands each minibatch's rows (sorted ids, `width` floats per row) to its filter and pushes
// what comes back; the rest is accumulated per row, never dropped, and `flush()` returns all of it
// (the worker pushes that before it returns, so nothing is lost across generations).
//
// - significance (MLLess, Sarroca & Sánchez-Artigas 2021): a row's accumulated change is sent when
//   |accumulated change| / |weight| > min(cap, v / sqrt(t)), t the worker's step count. The cap
//   (maxThreshold) is ours: v / sqrt(t) starts at v (a row must change by 200-300 % of itself to be sent),
//   which held back the early, large steps of well-established rows and slowed the start of training. The worker pushes
//   gradients (the server runs the optimiser), so the change is estimated as stepScale x the
//   accumulated gradient (stepScale = the learning rate); for width > 1 the row norms are compared.
//   A zero weight makes any change significant, so early steps send everything.
// - top-k with error feedback (Stich et al. 2018, Karimireddy et al. 2019): of the rows this minibatch
//   touches, the ceil(fraction x touched) with the largest accumulated gradient (residual + this
//   gradient, by row norm) are sent; the others' accumulation is the residual added to their next gradient.
// Rows are checked when a minibatch touches them (their accumulation only changes then) and at flush.

/** significance: maxThreshold unset = no cap (the MLLess rule alone); a resolved config always sets it. */
export type FilterSettings = { type: 'significance'; threshold: number; maxThreshold?: number } | { type: 'topk'; fraction: number };

export interface SparseUpdate {
  ids: Uint32Array;
  values: Float32Array; // ids.length x width
}

export interface UpdateFilter {
  /** Adds a minibatch's update of rows `ids` (sorted, distinct) whose current weights are `weights`;
   *  returns what to send now. The arrays passed in may be reused by the caller afterwards. */
  select(ids: Uint32Array, update: Float32Array, weights: Float32Array): SparseUpdate;
  /** Everything held back so far (sorted ids); the filter is empty afterwards. */
  flush(): SparseUpdate;
  /** Rows with a held-back update. */
  readonly pendingRows: number;
}

/** Per-row accumulation shared by both filters. */
class Accumulator {
  readonly acc: Float32Array;
  private readonly pending: Uint8Array;
  private pendingIds: number[] = [];
  private count = 0;
  constructor(rows: number, readonly width: number) {
    this.acc = new Float32Array(rows * width);
    this.pending = new Uint8Array(rows);
  }
  get pendingRows(): number {
    return this.count;
  }
  add(ids: Uint32Array, update: Float32Array): void {
    const w = this.width;
    if (update.length < ids.length * w) throw new Error(`update holds ${update.length} values for ${ids.length} rows of width ${w}`);
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r];
      if (id * w >= this.acc.length) throw new Error(`row ${id} is outside the filter's ${this.acc.length / w} rows`);
      for (let c = 0; c < w; c++) this.acc[id * w + c] += update[r * w + c];
      if (this.pending[id] === 0) {
        this.pending[id] = 1;
        this.pendingIds.push(id);
        this.count++;
      }
    }
  }
  rowNorm(id: number): number {
    let s = 0;
    for (let c = 0; c < this.width; c++) s += this.acc[id * this.width + c] ** 2;
    return Math.sqrt(s);
  }
  /** Takes the accumulation of rows `ids` (sorted) out: returns it and clears it. */
  take(ids: ArrayLike<number>): SparseUpdate {
    const w = this.width;
    const out: SparseUpdate = { ids: Uint32Array.from(ids), values: new Float32Array(ids.length * w) };
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r];
      for (let c = 0; c < w; c++) {
        out.values[r * w + c] = this.acc[id * w + c];
        this.acc[id * w + c] = 0;
      }
      if (this.pending[id] === 1) {
        this.pending[id] = 0;
        this.count--;
      }
    }
    // pendingIds may list a row taken and added again: compact it when it grows past the rows pending.
    if (this.pendingIds.length > 2 * this.count + 1024) this.pendingIds = this.pendingIds.filter((id) => this.pending[id] === 1);
    return out;
  }
  flush(): SparseUpdate {
    const ids = [...new Set(this.pendingIds.filter((id) => this.pending[id] === 1))].sort((a, b) => a - b);
    this.pendingIds = [];
    return this.take(ids);
  }
}

export class SignificanceFilter implements UpdateFilter {
  private readonly acc: Accumulator;
  private readonly weights: Float32Array;
  private t = 0;
  constructor(
    rows: number,
    width: number,
    private readonly threshold: number,
    private readonly stepScale: number,
    stepsBefore = 0,
    private readonly maxThreshold = Infinity,
  ) {
    if (!(threshold >= 0)) throw new Error(`significance threshold must be >= 0 (got ${threshold})`);
    if (!(maxThreshold >= 0)) throw new Error(`significance maxThreshold must be >= 0 (got ${maxThreshold})`);
    this.acc = new Accumulator(rows, width);
    this.weights = new Float32Array(rows * width);
    this.t = stepsBefore;
  }
  get pendingRows(): number {
    return this.acc.pendingRows;
  }
  /** The threshold at the current step: min(cap, v / sqrt(t)). */
  get currentThreshold(): number {
    return Math.min(this.maxThreshold, this.threshold / Math.sqrt(Math.max(1, this.t)));
  }
  select(ids: Uint32Array, update: Float32Array, weights: Float32Array): SparseUpdate {
    this.t++;
    this.acc.add(ids, update);
    const w = this.acc.width;
    const bound = this.currentThreshold;
    const send: number[] = [];
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r];
      let weightNorm = 0;
      for (let c = 0; c < w; c++) weightNorm += weights[r * w + c] ** 2;
      weightNorm = Math.sqrt(weightNorm);
      const change = this.stepScale * this.acc.rowNorm(id);
      // Written so that a zero weight (or a NaN) sends: nothing is compared against an unknown scale.
      if (!(change <= bound * weightNorm)) send.push(id);
    }
    return this.acc.take(send);
  }
  flush(): SparseUpdate {
    return this.acc.flush();
  }
}

export class TopKFilter implements UpdateFilter {
  private readonly acc: Accumulator;
  constructor(rows: number, width: number, private readonly fraction: number) {
    if (!(fraction > 0 && fraction <= 1)) throw new Error(`top-k fraction must be in (0, 1] (got ${fraction})`);
    this.acc = new Accumulator(rows, width);
  }
  get pendingRows(): number {
    return this.acc.pendingRows;
  }
  select(ids: Uint32Array, update: Float32Array, _weights?: Float32Array): SparseUpdate {
    this.acc.add(ids, update);
    if (ids.length === 0) return this.acc.take([]);
    const k = Math.min(ids.length, Math.ceil(this.fraction * ids.length));
    const norms = new Float64Array(ids.length);
    for (let r = 0; r < ids.length; r++) {
      const n = this.acc.rowNorm(ids[r]);
      norms[r] = Number.isNaN(n) ? Infinity : n; // a NaN is sent at once (the server refuses it loudly)
    }
    const order = [...norms.keys()].sort((a, b) => norms[b] - norms[a] || a - b).slice(0, k).sort((a, b) => a - b);
    return this.acc.take(order.map((r) => ids[r]));
  }
  flush(): SparseUpdate {
    return this.acc.flush();
  }
}

export function filterProblem(filter: FilterSettings): string | undefined {
  switch (filter.type) {
    case 'significance':
      if (!(Number.isFinite(filter.threshold) && filter.threshold >= 0)) return `training.filter.threshold must be a number >= 0 (got ${filter.threshold})`;
      if (filter.maxThreshold === undefined) return undefined;
      return Number.isFinite(filter.maxThreshold) && filter.maxThreshold >= 0 ? undefined : `training.filter.maxThreshold must be a number >= 0 (got ${filter.maxThreshold})`;
    case 'topk':
      return Number.isFinite(filter.fraction) && filter.fraction > 0 && filter.fraction <= 1 ? undefined : `training.filter.fraction must be in (0, 1] (got ${filter.fraction})`;
    default:
      return `training.filter.type must be "significance" or "topk" (got ${JSON.stringify((filter as { type: unknown }).type)})`;
  }
}

/** stepScale: the learning rate (the significance filter's estimate of a step's size per unit of gradient). */
export function createFilter(settings: FilterSettings, rows: number, width: number, stepScale: number, stepsBefore = 0): UpdateFilter {
  switch (settings.type) {
    case 'significance':
      return new SignificanceFilter(rows, width, settings.threshold, stepScale, stepsBefore, settings.maxThreshold);
    case 'topk':
      return new TopKFilter(rows, width, settings.fraction);
  }
}
