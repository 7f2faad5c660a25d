// Robust aggregation of n worker updates (equal-length Float32Arrays) into one. Pure functions over
// typed arrays: the synchronous modes call them on the updates of one round. Each rule checks the
// condition it needs on n and f (the number of Byzantine workers it must tolerate) and says which.

export type AggregationRule = 'mean' | 'krum' | 'multi-krum' | 'median' | 'trimmed-mean';
export const AGGREGATION_RULES: readonly AggregationRule[] = ['mean', 'krum', 'multi-krum', 'median', 'trimmed-mean'];

export interface AggregationOptions {
  /** Byzantine workers to tolerate (krum, multi-krum, trimmed-mean). */
  f: number;
  /** multi-krum: how many of the best-scored updates to average (default n - f). */
  m?: number;
}

/** The condition `rule` needs with n workers and f Byzantine ones, or undefined when it holds.
 *  Krum (Blanchard et al., NeurIPS 2017) needs n >= 2f + 3; trimmed-mean drops f from each end, so n > 2f. */
export function aggregationProblem(rule: AggregationRule, n: number, f: number, m?: number): string | undefined {
  if (!Number.isInteger(n) || n < 1) return `${rule} needs at least one update (got ${n})`;
  if (!Number.isInteger(f) || f < 0) return `${rule}: the number of Byzantine workers f must be a non-negative integer (got ${f})`;
  switch (rule) {
    case 'mean':
    case 'median':
      return undefined;
    case 'krum':
    case 'multi-krum':
      if (n < 2 * f + 3) return `${rule} needs n >= 2f + 3 workers: with f = ${f} that is ${2 * f + 3}, got n = ${n}`;
      if (rule === 'multi-krum' && m !== undefined && (!Number.isInteger(m) || m < 1 || m > n - f)) return `multi-krum: m must be an integer in [1, n - f] = [1, ${n - f}] (got ${m})`;
      return undefined;
    case 'trimmed-mean':
      if (n <= 2 * f) return `trimmed-mean drops f updates from each end, so it needs n > 2f: with f = ${f} that is n >= ${2 * f + 1}, got n = ${n}`;
      return undefined;
  }
}

function check(rule: AggregationRule, updates: readonly Float32Array[], f: number, m?: number): number {
  const problem = aggregationProblem(rule, updates.length, f, m);
  if (problem) throw new Error(problem);
  const d = updates[0].length;
  for (const u of updates) if (u.length !== d) throw new Error(`${rule}: updates differ in length (${d} and ${u.length})`);
  return d;
}

export function mean(updates: readonly Float32Array[], out = new Float32Array(updates[0]?.length ?? 0)): Float32Array {
  const d = check('mean', updates, 0);
  out.fill(0);
  for (const u of updates) for (let j = 0; j < d; j++) out[j] += u[j];
  for (let j = 0; j < d; j++) out[j] /= updates.length;
  return out;
}

/** Krum scores: for each update, the sum of squared distances to its n - f - 2 nearest others. */
export function krumScores(updates: readonly Float32Array[], f: number): Float64Array {
  const n = updates.length;
  const dist = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let s = 0;
      const ua = updates[a];
      const ub = updates[b];
      for (let j = 0; j < ua.length; j++) {
        const x = ua[j] - ub[j];
        s += x * x;
      }
      dist[a * n + b] = dist[b * n + a] = Number.isNaN(s) ? Infinity : s; // a NaN update is infinitely far
    }
  }
  const neighbours = n - f - 2;
  const scores = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    const others: number[] = [];
    for (let b = 0; b < n; b++) if (b !== a) others.push(dist[a * n + b]);
    others.sort((x, y) => x - y);
    let s = 0;
    for (let k = 0; k < neighbours; k++) s += others[k];
    scores[a] = Number.isNaN(s) ? Infinity : s;
  }
  return scores;
}

/** The indices of the m best-scored updates (ties: the lower index first). */
export function krumSelect(updates: readonly Float32Array[], f: number, m = 1): number[] {
  const scores = krumScores(updates, f);
  return [...scores.keys()].sort((a, b) => scores[a] - scores[b] || a - b).slice(0, m);
}

/** Krum: the single update closest to its n - f - 2 neighbours. */
export function krum(updates: readonly Float32Array[], f: number): Float32Array {
  check('krum', updates, f);
  return Float32Array.from(updates[krumSelect(updates, f, 1)[0]]);
}

/** Multi-Krum: the mean of the m best-scored updates (default m = n - f). */
export function multiKrum(updates: readonly Float32Array[], f: number, m = updates.length - f): Float32Array {
  check('multi-krum', updates, f, m);
  return mean(krumSelect(updates, f, m).map((i) => updates[i]));
}

/** Coordinate-wise median (the mean of the two middle values for even n). */
export function median(updates: readonly Float32Array[]): Float32Array {
  const d = check('median', updates, 0);
  const n = updates.length;
  const out = new Float32Array(d);
  const column = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) column[i] = updates[i][j];
    column.sort(); // typed-array sort is numeric; NaN sorts last
    out[j] = n % 2 === 1 ? column[(n - 1) / 2] : (column[n / 2 - 1] + column[n / 2]) / 2;
  }
  return out;
}

/** Coordinate-wise trimmed mean: drop the f largest and f smallest values of each coordinate, average the rest. */
export function trimmedMean(updates: readonly Float32Array[], f: number): Float32Array {
  const d = check('trimmed-mean', updates, f);
  const n = updates.length;
  const out = new Float32Array(d);
  const column = new Float64Array(n);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < n; i++) column[i] = updates[i][j];
    column.sort();
    let s = 0;
    for (let i = f; i < n - f; i++) s += column[i];
    out[j] = s / (n - 2 * f);
  }
  return out;
}

export function aggregate(rule: AggregationRule, updates: readonly Float32Array[], options: AggregationOptions): Float32Array {
  switch (rule) {
    case 'mean':
      return mean(updates);
    case 'krum':
      return krum(updates, options.f);
    case 'multi-krum':
      return multiKrum(updates, options.f, options.m);
    case 'median':
      return median(updates);
    case 'trimmed-mean':
      return trimmedMean(updates, options.f);
  }
}
