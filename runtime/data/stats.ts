// Per-feature statistics for the manifest (Welford's running mean and variance: one pass, constant memory).
import type { FeatureStats } from './manifest';

export class RunningStats {
  count = 0;
  missing = 0;
  min = Infinity;
  max = -Infinity;
  mean = 0;
  private m2 = 0;

  add(x: number): void {
    this.count++;
    const delta = x - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
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
