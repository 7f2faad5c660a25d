// The gradient noise scale (McCandlish et al. 2018, "An Empirical Model of Large-Batch Training"): a
// batch of B samples makes B / (1 + B / B_noise) single-sample steps of progress, so one sample of it
// makes 1 / (1 + B / B_noise) of the progress it makes alone; B_noise = tr(Sigma) / |G|^2 changes as
// the loss falls. Pollux (OSDI 2021) sizes jobs by goodput = throughput x this efficiency. Here it is
// measured, not assumed: `noiseScaleAt` computes it exactly over every row of a partition at given
// weights (bench/noise-scale.ts along a real training trajectory), and `noiseModelFrom` turns those
// measurements into the table the simulator interpolates. Asynchronous SGD is taken as a batch of
// workers x minibatch (each push is computed on weights about workers - 1 pushes old).
import type { RatingPartition, SamplePartition } from '../data/partition';
import { logLoss, sigmoid } from '../models/logistic';

export interface NoiseScaleModel {
  /** Measured [loss, B_noise in samples], by loss: keyed by the loss itself, not by the gap to a fitted
   *  floor, since a convergence model fitted from a short run (the probe) sees only part of the curve the
   *  table was measured along; the table is for one dataset and model. */
  points: Array<[number, number]>;
  /** Effective batch (workers x minibatch) of the run the convergence model's samples scale was fitted from: efficiency is relative to it. */
  referenceBatch: number;
}

export interface NoiseMeasurement {
  /** Mean log-loss over the rows. */
  loss: number;
  /** tr(Sigma) / |G|^2 (plain SGD). */
  bSimple: number;
  /** tr(P Sigma) / (G' P G) with P = 1 / sqrt(AdaGrad's sum of squared gradients): the scale AdaGrad's steps see. */
  bAdagrad: number;
}

/**
 * Loss and noise scales of logistic regression with weights `w` (and AdaGrad state `g2`) over every row
 * of `part`, exactly, from the per-row gradients g_i = (sigmoid(z_i) - y_i) x_i:
 * tr(Sigma) = mean |g_i|^2 - |G|^2 with G = mean g_i (a row's repeated feature ids count as distinct,
 * which the hashing makes rare).
 */
export function noiseScaleAt(part: SamplePartition, w: Float32Array, g2: Float32Array): NoiseMeasurement {
  if (part.rows === 0) throw new Error('the noise scale needs at least one row');
  const G = new Float64Array(w.length);
  const p = (j: number) => 1 / Math.sqrt(g2[j]);
  let loss = 0;
  let perRow = 0;
  let perRowP = 0;
  for (let r = 0; r < part.rows; r++) {
    let z = 0;
    for (let k = part.rowStart[r]; k < part.rowStart[r + 1]; k++) z += w[part.indices[k]] * part.values[k];
    loss += logLoss(z, part.labels[r]);
    const res = sigmoid(z) - part.labels[r];
    let n2 = 0;
    let n2p = 0;
    for (let k = part.rowStart[r]; k < part.rowStart[r + 1]; k++) {
      const j = part.indices[k];
      const v = part.values[k];
      G[j] += res * v;
      n2 += v * v;
      n2p += v * v * p(j);
    }
    perRow += res * res * n2;
    perRowP += res * res * n2p;
  }
  const n = part.rows;
  let gg = 0;
  let ggP = 0;
  for (let j = 0; j < G.length; j++) {
    if (G[j] === 0) continue;
    const g = G[j] / n;
    gg += g * g;
    ggP += g * g * p(j);
  }
  return { loss: loss / n, bSimple: (perRow / n - gg) / gg, bAdagrad: (perRowP / n - ggP) / ggP };
}

/**
 * Training RMSE and plain noise scale of biased matrix factorisation (runtime/models/mf.ts: tables of rows
 * [p (factors), bias]) over every rating of `part`, exactly. A rating's gradient of 0.5 e^2 + 0.5 reg
 * (|p_u|^2 + b_u^2 + |q_i|^2 + b_i^2) touches only its user's and its item's row (e (q_i, 1) + reg (p_u, b_u)
 * and e (p_u, 1) + reg (q_i, b_i)), so |g|^2 is the sum of the two rows' and G is accumulated per row.
 * MF trains by plain SGD (the reference: lr 0.005), so the plain scale is the one its steps see.
 */
export function mfNoiseScaleAt(part: RatingPartition, users: Float32Array, items: Float32Array, factors: number, mean: number, reg: number): { loss: number; bSimple: number } {
  if (part.rows === 0) throw new Error('the noise scale needs at least one rating');
  const width = factors + 1;
  const GU = new Float64Array(users.length);
  const GI = new Float64Array(items.length);
  let sse = 0;
  let perRow = 0;
  for (let r = 0; r < part.rows; r++) {
    const u = part.users[r] * width;
    const i = part.items[r] * width;
    if (u + width > users.length || i + width > items.length) throw new RangeError(`rating ${r}: user ${part.users[r]} or item ${part.items[r]} is outside the model`);
    let dot = 0;
    for (let f = 0; f < factors; f++) dot += users[u + f] * items[i + f];
    const e = mean + users[u + factors] + items[i + factors] + dot - part.ratings[r];
    sse += e * e;
    let n2 = 0;
    for (let f = 0; f < width; f++) {
      // The bias column's "other factor" is 1.
      const gu = e * (f < factors ? items[i + f] : 1) + reg * users[u + f];
      const gi = e * (f < factors ? users[u + f] : 1) + reg * items[i + f];
      GU[u + f] += gu;
      GI[i + f] += gi;
      n2 += gu * gu + gi * gi;
    }
    perRow += n2;
  }
  const n = part.rows;
  let gg = 0;
  for (const G of [GU, GI]) for (let j = 0; j < G.length; j++) gg += (G[j] / n) ** 2;
  return { loss: Math.sqrt(sse / n), bSimple: (perRow / n - gg) / gg };
}

/**
 * The table from measurements along trajectories (one per row order, at the same sample counts): each
 * checkpoint's mean loss and the geometric mean of its B_noise over the orders; `spread` is each
 * checkpoint's largest / smallest B over the orders (the measurement's error). The untrained model
 * (samples 0) is left out: a convergence model starts at its first evaluation after some training.
 */
export function noiseModelFrom(
  trajectories: Array<Array<{ samples: number; loss: number; bAdagrad?: number; bSimple?: number }>>,
  referenceBatch: number,
  /** The scale the model's steps see: AdaGrad's preconditioned one, or the plain one for plain SGD (MF). */
  which: 'bAdagrad' | 'bSimple' = 'bAdagrad',
): NoiseScaleModel & { spread: number[] } {
  if (trajectories.length === 0) throw new Error('a noise-scale model needs at least one trajectory');
  const n = trajectories[0].length;
  if (trajectories.some((t) => t.length !== n)) throw new Error('every trajectory must have the same checkpoints');
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows: Array<{ loss: number; b: number; spread: number }> = [];
  for (let i = 0; i < n; i++) {
    if (trajectories[0][i].samples === 0) continue;
    const bs = trajectories.map((t) => t[i][which] ?? NaN).filter((b) => b > 0 && Number.isFinite(b));
    if (bs.length === 0) continue;
    rows.push({ loss: mean(trajectories.map((t) => t[i].loss)), b: Math.exp(mean(bs.map(Math.log))), spread: Math.max(...bs) / Math.min(...bs) });
  }
  if (rows.length < 2) throw new Error('a noise-scale model needs at least two checkpoints after some training');
  rows.sort((x, y) => x.loss - y.loss);
  return { points: rows.map((r) => [r.loss, r.b]), referenceBatch, spread: rows.map((r) => r.spread) };
}

/** B_noise at a loss: interpolated in log B between the measured losses, held at the ends. */
export function noiseScaleAtLoss(n: NoiseScaleModel, loss: number): number {
  const p = n.points;
  if (loss <= p[0][0]) return p[0][1];
  if (loss >= p[p.length - 1][0]) return p[p.length - 1][1];
  let i = 1;
  while (p[i][0] < loss) i++;
  const [l0, b0] = p[i - 1];
  const [l1, b1] = p[i];
  const f = l1 > l0 ? (loss - l0) / (l1 - l0) : 0;
  return Math.exp(Math.log(b0) + f * (Math.log(b1) - Math.log(b0)));
}

/** Progress of one sample in an effective batch of `batch` samples at `loss`, relative to one in the reference batch. */
export function noiseEfficiency(n: NoiseScaleModel, batch: number, loss: number): number {
  const b = noiseScaleAtLoss(n, loss);
  return (1 + n.referenceBatch / b) / (1 + batch / b);
}
