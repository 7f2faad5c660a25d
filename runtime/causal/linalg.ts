// Dense Float64 linear algebra for the nuisance learners: column standardisation, per-fold sufficient
// statistics (sums, cross-products) and a Cholesky solve. Small p (tens to a few hundred columns).

/** Column means and scales (population standard deviation; 1 for a column constant on these rows). */
export function columnScaling(x: Float64Array, p: number, rows: Int32Array): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(p);
  const m2 = new Float64Array(p);
  let count = 0;
  for (const r of rows) {
    count++;
    const base = r * p;
    for (let j = 0; j < p; j++) {
      const delta = x[base + j] - mean[j];
      mean[j] += delta / count;
      m2[j] += delta * (x[base + j] - mean[j]);
    }
  }
  const scale = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const sd = Math.sqrt(m2[j] / Math.max(1, count));
    scale[j] = sd > 1e-12 * Math.max(1, Math.abs(mean[j])) ? sd : 1;
  }
  return { mean, scale };
}

/** The standardised rows, row-major (rows.length x p). */
export function standardizedRows(x: Float64Array, p: number, rows: Int32Array, s: { mean: Float64Array; scale: Float64Array }): Float64Array {
  const z = new Float64Array(rows.length * p);
  for (let i = 0; i < rows.length; i++) {
    const base = rows[i] * p;
    for (let j = 0; j < p; j++) z[i * p + j] = (x[base + j] - s.mean[j]) / s.scale[j];
  }
  return z;
}

/** Sums over a set of rows of standardised features z and a target t: enough for a least-squares fit. */
export class LinearSums {
  count = 0;
  sy = 0;
  readonly sx: Float64Array;
  readonly sxy: Float64Array;
  readonly sxx: Float64Array; // p x p, full

  constructor(readonly p: number) {
    this.sx = new Float64Array(p);
    this.sxy = new Float64Array(p);
    this.sxx = new Float64Array(p * p);
  }

  add(z: Float64Array, offset: number, t: number): void {
    const p = this.p;
    this.count++;
    this.sy += t;
    for (let j = 0; j < p; j++) {
      const zj = z[offset + j];
      this.sx[j] += zj;
      this.sxy[j] += zj * t;
      const row = j * p;
      for (let k = j; k < p; k++) this.sxx[row + k] += zj * z[offset + k];
    }
  }

  /** this - other (the sums of the rows in this set but not in `other`, a subset of it). */
  minus(other: LinearSums): LinearSums {
    const out = new LinearSums(this.p);
    out.count = this.count - other.count;
    out.sy = this.sy - other.sy;
    for (let j = 0; j < this.p; j++) {
      out.sx[j] = this.sx[j] - other.sx[j];
      out.sxy[j] = this.sxy[j] - other.sxy[j];
    }
    for (let i = 0; i < this.sxx.length; i++) out.sxx[i] = this.sxx[i] - other.sxx[i];
    return out;
  }

  /** The centred, averaged normal equations: A = cov(z) (p x p, full), b = cov(z, t). */
  centered(): { a: Float64Array; b: Float64Array } {
    const { p, count: m } = this;
    const a = new Float64Array(p * p);
    const b = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      b[j] = (this.sxy[j] - (this.sx[j] * this.sy) / m) / m;
      for (let k = j; k < p; k++) {
        const v = (this.sxx[j * p + k] - (this.sx[j] * this.sx[k]) / m) / m;
        a[j * p + k] = v;
        a[k * p + j] = v;
      }
    }
    return { a, b };
  }

  /** Intercept of the fit with coefficients beta: mean(t) - mean(z) . beta. */
  intercept(beta: Float64Array): number {
    let s = this.sy;
    for (let j = 0; j < this.p; j++) s -= this.sx[j] * beta[j];
    return s / this.count;
  }
}

/** Solves (a + ridge I) x = b for a symmetric positive semi-definite a (n x n), by Cholesky. */
export function choleskySolve(a: Float64Array, n: number, b: Float64Array, ridge = 0): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] + (i === j ? ridge : 0);
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        // A direction without information (a column constant on these rows and no penalty): a tiny jitter.
        l[i * n + i] = Math.sqrt(s > 1e-12 ? s : s + 1e-12 > 0 ? s + 1e-12 : 1e-12);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/** n values from hi down to lo, evenly spaced on a log scale. */
export function logGrid(hi: number, lo: number, n: number): number[] {
  if (n === 1) return [hi];
  return Array.from({ length: n }, (_, i) => hi * Math.pow(lo / hi, i / (n - 1)));
}
