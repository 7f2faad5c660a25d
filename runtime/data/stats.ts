// Per-feature statistics for the manifest (Welford's running mean and variance: one pass, constant memory).
import type { FeatureStats } from './manifest';

/** Count, range, mean and m2 (the sum of squared deviations from the mean) of the values seen. */
export interface Moments {
  count: number;
  min: number;
  max: number;
  mean: number;
  m2: number;
}

/** Adds one value to running moments (Welford). */
export function addToMoments(s: Moments, x: number): void {
  s.count++;
  const delta = x - s.mean;
  s.mean += delta / s.count;
  s.m2 += delta * (x - s.mean);
  if (x < s.min) s.min = x;
  if (x > s.max) s.max = x;
}

export class RunningStats implements Moments {
  count = 0;
  missing = 0;
  min = Infinity;
  max = -Infinity;
  mean = 0;
  m2 = 0;

  add(x: number): void {
    addToMoments(this, x);
  }

  toStats(name: string, kind: 'numeric' | 'categorical' = 'numeric'): FeatureStats {
    const empty = this.count === 0 || kind === 'categorical';
    return {
      name,
      kind,
      count: this.count,
      missing: this.missing,
      min: empty ? 0 : this.min,
      max: empty ? 0 : this.max,
      mean: empty ? 0 : this.mean,
      variance: empty ? 0 : this.m2 / this.count,
    };
  }
}

/** RunningStats for a fixed set of columns, in typed arrays (no object per column): the same arithmetic,
 *  so the same figures to the last bit, for readers that update many columns on every row. */
export class ColumnStats {
  readonly count: Float64Array;
  readonly missing: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(columns: number) {
    this.count = new Float64Array(columns);
    this.missing = new Float64Array(columns);
    this.min = new Float64Array(columns).fill(Infinity);
    this.max = new Float64Array(columns).fill(-Infinity);
    this.mean = new Float64Array(columns);
    this.m2 = new Float64Array(columns);
  }

  add(c: number, x: number): void {
    const count = ++this.count[c];
    const mean = this.mean[c];
    const delta = x - mean;
    const next = mean + delta / count;
    this.mean[c] = next;
    this.m2[c] += delta * (x - next);
    if (x < this.min[c]) this.min[c] = x;
    if (x > this.max[c]) this.max[c] = x;
  }

  toStats(c: number, name: string, kind: 'numeric' | 'categorical' = 'numeric'): FeatureStats {
    const count = this.count[c];
    const empty = count === 0 || kind === 'categorical';
    return {
      name,
      kind,
      count,
      missing: this.missing[c],
      min: empty ? 0 : this.min[c],
      max: empty ? 0 : this.max[c],
      mean: empty ? 0 : this.mean[c],
      variance: empty ? 0 : this.m2[c] / count,
    };
  }
}

/** Running mean, variance, min and max of columns over the first rows of a file, for a split not
 *  yet known: snapshots of the running figures are kept every `every` rows (at most MAX_SNAPSHOTS;
 *  when full, every other one is dropped and the interval doubles: constant memory). at(rows) gives
 *  the figures of the first rows up to `rows` (the latest snapshot not past it), so statistics
 *  learnt in the counting pass can describe the training rows only, before the test tail is known. */
export class PrefixStats {
  private static readonly MAX_SNAPSHOTS = 64;
  private readonly live: Float64Array; // per column: count, mean, m2, min, max
  private snapshots: Array<{ rows: number; data: Float64Array }> = [];
  private every = 1;
  rows = 0;

  constructor(private readonly columns: number) {
    this.live = new Float64Array(columns * 5);
    for (let c = 0; c < columns; c++) {
      this.live[c * 5 + 3] = Infinity;
      this.live[c * 5 + 4] = -Infinity;
    }
  }

  add(c: number, x: number): void {
    const s = this.live;
    const o = c * 5;
    const count = ++s[o];
    const delta = x - s[o + 1];
    s[o + 1] += delta / count;
    s[o + 2] += delta * (x - s[o + 1]);
    if (x < s[o + 3]) s[o + 3] = x;
    if (x > s[o + 4]) s[o + 4] = x;
  }

  /** Call after each row's add() calls. */
  endRow(): void {
    this.rows++;
    if (this.rows % this.every !== 0) return;
    if (this.snapshots.length === PrefixStats.MAX_SNAPSHOTS) {
      this.snapshots = this.snapshots.filter((_, i) => i % 2 === 1);
      this.every *= 2;
    }
    this.snapshots.push({ rows: this.rows, data: this.live.slice() });
  }

  /** Figures of column c over the first `rows` rows at most (all rows when undefined). */
  at(c: number, rows?: number): { count: number; mean: number; std: number; min: number; max: number } {
    let data = this.live;
    if (rows !== undefined && rows < this.rows) {
      data = new Float64Array(this.columns * 5);
      for (const s of this.snapshots) if (s.rows <= rows) data = s.data;
    }
    const o = c * 5;
    const count = data[o];
    return { count, mean: count ? data[o + 1] : 0, std: count ? Math.sqrt(data[o + 2] / count) : 0, min: data[o + 3], max: data[o + 4] };
  }
}
