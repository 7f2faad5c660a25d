// Synthetic data with a known effect, generated as the DoubleML package's generators do (with this
// project's seeded generator instead of numpy's, so the numbers differ but the distribution is the same):
//
// makePlrCCDDHNR2018 (make_plr_CCDDHNR2018): x ~ N(0, S) with S_kj = 0.7^|j-k|,
//   d = a0 x1 + a1 e^x3 / (1 + e^x3) + s1 v,   y = theta d + b0 e^x1 / (1 + e^x1) + b1 x3 + s2 zeta,
//   v, zeta ~ N(0, 1); a0 = 1, a1 = 0.25, s1 = 1, b0 = 1, b1 = 0.25, s2 = 1 (x1, x3: the 1st and 3rd covariate).
// makeIrmData (make_irm_data): x ~ N(0, S) with S_kj = 0.5^|j-k|, beta_j = 1/j^2,
//   d = 1{ sigmoid(c_d x'beta) > u },  y = theta d + c_y x'beta d + zeta,
//   c_y = sqrt(R2_y / ((1 - R2_y) beta'S beta)),  c_d = sqrt((pi^2/3) R2_d / ((1 - R2_d) beta'S beta)), R2 = 0.5.
import * as fs from 'node:fs';
import type { CausalData } from './data';
import { Rng } from './rng';

/** Rows of N(0, S) with S_kj = rho^|j-k|, by the Cholesky factor of S. */
function correlatedNormals(rng: Rng, n: number, p: number, rho: number): Float64Array {
  const s = new Float64Array(p * p);
  for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) s[j * p + k] = Math.pow(rho, Math.abs(j - k));
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let v = s[i * p + j];
      for (let k = 0; k < j; k++) v -= l[i * p + k] * l[j * p + k];
      l[i * p + j] = i === j ? Math.sqrt(v) : v / l[j * p + j];
    }
  }
  const x = new Float64Array(n * p);
  const e = new Float64Array(p);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < p; j++) e[j] = rng.normal();
    for (let i = 0; i < p; i++) {
      let v = 0;
      for (let k = 0; k <= i; k++) v += l[i * p + k] * e[k];
      x[r * p + i] = v;
    }
  }
  return x;
}

const logistic = (t: number) => Math.exp(t) / (1 + Math.exp(t));
const names = (p: number) => Array.from({ length: p }, (_, j) => `X${j + 1}`);

export function makePlrCCDDHNR2018(options: { n: number; p?: number; theta?: number; seed: number }): CausalData {
  const { n, seed } = options;
  const p = options.p ?? 20;
  const theta = options.theta ?? 0.5;
  const rng = new Rng(seed, 0x0d0b1e);
  const x = correlatedNormals(rng, n, p, 0.7);
  const y = new Float64Array(n);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x1 = x[i * p];
    const x3 = x[i * p + 2];
    d[i] = x1 + 0.25 * logistic(x3) + rng.normal();
    y[i] = theta * d[i] + logistic(x1) + 0.25 * x3 + rng.normal();
  }
  return { n, p, x, y, d, outcome: 'y', treatment: 'd', covariates: names(p) };
}

export function makeIrmData(options: { n: number; p?: number; theta?: number; seed: number }): CausalData {
  const { n, seed } = options;
  const p = options.p ?? 20;
  const theta = options.theta ?? 0.5;
  const rng = new Rng(seed, 0x1e1e);
  const x = correlatedNormals(rng, n, p, 0.5);
  const beta = Array.from({ length: p }, (_, j) => 1 / (j + 1) ** 2);
  let bSb = 0;
  for (let j = 0; j < p; j++) for (let k = 0; k < p; k++) bSb += beta[j] * Math.pow(0.5, Math.abs(j - k)) * beta[k];
  const cy = Math.sqrt(0.5 / (0.5 * bSb));
  const cd = Math.sqrt(((Math.PI ** 2 / 3) * 0.5) / (0.5 * bSb));
  const y = new Float64Array(n);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let xb = 0;
    for (let j = 0; j < p; j++) xb += x[i * p + j] * beta[j];
    d[i] = logistic(cd * xb) > rng.uniform() ? 1 : 0;
    y[i] = theta * d[i] + cy * xb * d[i] + rng.normal();
  }
  return { n, p, x, y, d, outcome: 'y', treatment: 'd', covariates: names(p) };
}

/** Writes the data as a CSV (covariates, then y and d, as DoubleML's data frames), full Float64 precision. */
export function writeCausalCsv(file: string, data: CausalData): void {
  const lines = [[...data.covariates, data.outcome, data.treatment].join(',')];
  for (let i = 0; i < data.n; i++) {
    const row: number[] = [];
    for (let j = 0; j < data.p; j++) row.push(data.x[i * data.p + j]);
    row.push(data.y[i], data.d[i]);
    lines.push(row.join(','));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}
