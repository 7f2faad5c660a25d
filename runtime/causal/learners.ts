// Nuisance learners: the pluggable part of double machine learning. Each learner fits a target on the
// rows of one training fold (the covariates standardised on those rows) and predicts any rows.
// Regression learners (ridge, lasso) predict E[target | x]; classification learners (logistic)
// predict P(target = 1 | x). The penalty is chosen by an inner K-fold cross-validation on the
// training rows, split by a seeded generator, so a fit is a pure function of its inputs: a worker
// and a single process compute the same numbers bit for bit. docs/doubleml.md: "How to add a learner".
import { logLoss, sigmoid } from '../models/logistic';
import { LinearSums, choleskySolve, columnScaling, logGrid, standardizedRows } from './linalg';
import { Rng } from './rng';

export interface LearnerSpec {
  type: string;
  /** Inner cross-validation folds for the penalty (default 5). */
  innerFolds?: number;
  /** The penalties to choose from (default: the learner's own grid). */
  penalties?: number[];
}

/** A learner's settings apart from its name. */
export type LearnerOptions = Omit<LearnerSpec, 'type'>;

export interface FitInput {
  /** All rows' covariates, row-major (n x p). */
  x: Float64Array;
  p: number;
  /** The target for every row (only `rows` are read). */
  target: Float64Array;
  /** The training rows. */
  rows: Int32Array;
  /** Seeds the inner cross-validation split. */
  seed: number[];
}

export interface FittedLearner {
  /** Predictions for `rows` (probabilities for a classification learner). */
  predict(x: Float64Array, p: number, rows: Int32Array): Float64Array;
  /** The penalty the inner cross-validation chose. */
  penalty: number;
  /** Non-zero coefficients (lasso's selection). */
  nonZero: number;
}

export interface Learner {
  readonly kind: 'regression' | 'classification';
  fit(input: FitInput): FittedLearner;
}

export const DEFAULT_INNER_FOLDS = 5;

/** The inner fold (0..folds-1) of each training row, by a seeded shuffle. */
function innerFoldOf(count: number, folds: number, seed: number[]): Int32Array {
  const order = new Rng(...seed, 0x1ee7).shuffle(Int32Array.from({ length: count }, (_, i) => i));
  const fold = new Int32Array(count);
  for (let t = 0; t < count; t++) fold[order[t]] = t % folds;
  return fold;
}

/** Linear predictions b0 + z . beta on the original scale. */
function linearModel(scaling: { mean: Float64Array; scale: Float64Array }, beta: Float64Array, intercept: number, penalty: number, link: (z: number) => number = (z) => z): FittedLearner {
  return {
    penalty,
    nonZero: beta.reduce((a, b) => a + (b !== 0 ? 1 : 0), 0),
    predict(x, p, rows) {
      const out = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const base = rows[i] * p;
        let s = intercept;
        for (let j = 0; j < p; j++) s += ((x[base + j] - scaling.mean[j]) / scaling.scale[j]) * beta[j];
        out[i] = link(s);
      }
      return out;
    },
  };
}

type Solver = (a: Float64Array, b: Float64Array, penalty: number, warm: Float64Array | undefined) => Float64Array;

/** Least squares with a penalty chosen by inner CV on squared error: ridge and lasso differ only in the solver. */
function penalizedLeastSquares(spec: LearnerOptions, solve: Solver, defaultGrid: (a: Float64Array, b: Float64Array, p: number) => number[]): Learner {
  const folds = spec.innerFolds ?? DEFAULT_INNER_FOLDS;
  return {
    kind: 'regression',
    fit({ x, p, target, rows, seed }) {
      const scaling = columnScaling(x, p, rows);
      const z = standardizedRows(x, p, rows, scaling);
      const fold = innerFoldOf(rows.length, folds, seed);
      const total = new LinearSums(p);
      const perFold = Array.from({ length: folds }, () => new LinearSums(p));
      for (let i = 0; i < rows.length; i++) {
        const t = target[rows[i]];
        total.add(z, i * p, t);
        perFold[fold[i]].add(z, i * p, t);
      }
      const full = total.centered();
      const grid = [...(spec.penalties ?? defaultGrid(full.a, full.b, p))].sort((u, v) => v - u); // strongest first: warm starts, ties favour the simpler model
      const sse = new Float64Array(grid.length);
      for (let f = 0; f < folds; f++) {
        const train = total.minus(perFold[f]);
        const { a, b } = train.centered();
        let warm: Float64Array | undefined;
        grid.forEach((penalty, g) => {
          const beta = solve(a, b, penalty, warm);
          warm = beta;
          const b0 = train.intercept(beta);
          for (let i = 0; i < rows.length; i++) {
            if (fold[i] !== f) continue;
            let s = b0;
            for (let j = 0; j < p; j++) s += z[i * p + j] * beta[j];
            const e = target[rows[i]] - s;
            sse[g] += e * e;
          }
        });
      }
      let best = 0;
      for (let g = 1; g < grid.length; g++) if (sse[g] < sse[best]) best = g;
      const beta = solve(full.a, full.b, grid[best], undefined);
      return linearModel(scaling, beta, total.intercept(beta), grid[best]);
    },
  };
}

const ridgeSolve: Solver = (a, b, penalty) => choleskySolve(a, b.length, b, penalty);

/** Lasso by cyclic coordinate descent on the covariance form: min 1/2 b'Ab - b'beta + penalty |beta|_1. */
const lassoSolve: Solver = (a, b, penalty, warm) => {
  const p = b.length;
  const beta = warm ? Float64Array.from(warm) : new Float64Array(p);
  // grad_j = b_j - sum_k a_jk beta_k, kept up to date as coefficients change
  const grad = Float64Array.from(b);
  for (let k = 0; k < p; k++) if (beta[k] !== 0) for (let j = 0; j < p; j++) grad[j] -= a[j * p + k] * beta[k];
  for (let sweep = 0; sweep < 10_000; sweep++) {
    let maxChange = 0;
    for (let j = 0; j < p; j++) {
      const ajj = a[j * p + j];
      if (ajj <= 1e-12) continue; // a column constant on these rows stays at 0
      const rho = grad[j] + ajj * beta[j];
      const next = rho > penalty ? (rho - penalty) / ajj : rho < -penalty ? (rho + penalty) / ajj : 0;
      const delta = next - beta[j];
      if (delta === 0) continue;
      beta[j] = next;
      for (let i = 0; i < p; i++) grad[i] -= a[i * p + j] * delta;
      maxChange = Math.max(maxChange, Math.abs(delta) * Math.sqrt(ajj));
    }
    if (maxChange < 1e-11) break;
  }
  return beta;
};

export function ridge(spec: LearnerOptions): Learner {
  return penalizedLeastSquares(spec, ridgeSolve, () => logGrid(1e3, 1e-4, 22));
}

export function lasso(spec: LearnerOptions): Learner {
  // From the smallest penalty that zeroes every coefficient down to 1/1000 of it (glmnet's path).
  return penalizedLeastSquares(spec, lassoSolve, (_a, b) => logGrid(Math.max(1e-12, ...Array.from(b, Math.abs)), Math.max(1e-12, ...Array.from(b, Math.abs)) * 1e-3, 30));
}

/** L2-penalised logistic regression (labels 0/1) by Newton's method, with an unpenalised intercept;
 *  the loss is the project's logistic log-loss (runtime/models/logistic.ts). The penalty is chosen by
 *  inner CV on log-loss. */
export function logistic(spec: LearnerOptions): Learner {
  const folds = spec.innerFolds ?? DEFAULT_INNER_FOLDS;
  const grid = [...(spec.penalties ?? logGrid(1, 1e-6, 7))].sort((u, v) => v - u);
  return {
    kind: 'classification',
    fit({ x, p, target, rows, seed }) {
      const scaling = columnScaling(x, p, rows);
      const z = standardizedRows(x, p, rows, scaling);
      const labels = Float64Array.from(rows, (r) => target[r]);
      const fold = innerFoldOf(rows.length, folds, seed);
      const loss = new Float64Array(grid.length);
      for (let f = 0; f < folds; f++) {
        const train = Int32Array.from(rows.keys()).filter((i) => fold[i] !== f);
        let w: Float64Array | undefined;
        grid.forEach((penalty, g) => {
          w = newtonLogistic(z, p, labels, train, penalty, w);
          for (let i = 0; i < rows.length; i++) if (fold[i] === f) loss[g] += logLoss(margin(z, p, i, w), labels[i]);
        });
      }
      let best = 0;
      for (let g = 1; g < grid.length; g++) if (loss[g] < loss[best]) best = g;
      const w = newtonLogistic(z, p, labels, Int32Array.from(rows.keys()), grid[best], undefined);
      return linearModel(scaling, w.subarray(1), w[0], grid[best], sigmoid);
    },
  };
}

/** w[0] + z_i . w[1..]. */
function margin(z: Float64Array, p: number, i: number, w: Float64Array): number {
  let s = w[0];
  for (let j = 0; j < p; j++) s += z[i * p + j] * w[j + 1];
  return s;
}

/** Minimises mean log-loss + penalty/2 |w[1..]|^2 over the rows `use` of z; w[0] is the intercept. */
function newtonLogistic(z: Float64Array, p: number, labels: Float64Array, use: Int32Array, penalty: number, start: Float64Array | undefined): Float64Array {
  const q = p + 1;
  let w = start ? Float64Array.from(start) : new Float64Array(q);
  const m = use.length;
  const objective = (v: Float64Array) => {
    let s = 0;
    for (const i of use) s += logLoss(margin(z, p, i, v), labels[i]);
    let r = 0;
    for (let j = 1; j < q; j++) r += v[j] * v[j];
    return s / m + (penalty / 2) * r;
  };
  let current = objective(w);
  for (let iter = 0; iter < 100; iter++) {
    const grad = new Float64Array(q);
    const hess = new Float64Array(q * q);
    for (const i of use) {
      const prob = sigmoid(margin(z, p, i, w));
      const e = prob - labels[i];
      const h = prob * (1 - prob);
      const base = i * p;
      grad[0] += e;
      hess[0] += h;
      for (let j = 0; j < p; j++) {
        const zj = z[base + j];
        grad[j + 1] += e * zj;
        hess[j + 1] += h * zj;
        const row = (j + 1) * q;
        for (let k = j; k < p; k++) hess[row + k + 1] += h * zj * z[base + k];
      }
    }
    for (let j = 0; j < q; j++) {
      grad[j] /= m;
      for (let k = j; k < q; k++) {
        const v = hess[j * q + k] / m + (j === k && j > 0 ? penalty : 0);
        hess[j * q + k] = v;
        hess[k * q + j] = v;
      }
      if (j > 0) grad[j] += penalty * w[j];
    }
    const step = choleskySolve(hess, q, grad, 1e-10);
    // Damped Newton: halve the step until the objective does not increase.
    let t = 1;
    let next = w;
    let value = current;
    for (let half = 0; half < 30; half++) {
      next = Float64Array.from(w, (v, j) => v - t * step[j]);
      value = objective(next);
      if (value <= current) break;
      t /= 2;
    }
    if (!(value <= current)) break;
    const change = Math.max(...Array.from(step, (s) => Math.abs(s * t)));
    w = next;
    current = value;
    if (change < 1e-10) break;
  }
  return w;
}

/** The learners a config may name. Add one here (docs/doubleml.md, "How to add a learner"). */
export const LEARNERS: Record<string, { kind: Learner['kind']; create(spec: LearnerOptions): Learner; description: string }> = {
  ridge: { kind: 'regression', create: ridge, description: 'ridge regression, penalty by inner CV' },
  lasso: { kind: 'regression', create: lasso, description: 'lasso (coordinate descent), penalty by inner CV' },
  logistic: { kind: 'classification', create: logistic, description: 'L2-penalised logistic regression (Newton), penalty by inner CV' },
};

export function createLearner(spec: LearnerSpec): Learner {
  const entry = LEARNERS[spec.type];
  if (!entry) throw new Error(`unknown learner "${spec.type}" (known: ${Object.keys(LEARNERS).join(', ')})`);
  return entry.create(spec);
}
