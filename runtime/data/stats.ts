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
