import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RatingPartition } from '../../runtime/data/partition';
import { TouchedSet } from '../../runtime/models/logistic';
import { evaluateMf, mfGradient } from '../../runtime/models/mf';
import { sharedDataset } from '../helpers/shared';
import { assertClose, finiteDifference, randomRatings, randomWeights, rng } from './random-data';

const F = 3;
const W = F + 1;

test('mfGradient equals finite differences of the summed squared error with L2', () => {
  const part = randomRatings(4, 80, 12, 15); // repeated users and items within a batch
  const users = new TouchedSet(12);
  const items = new TouchedSet(15);
  const mean = 3.25;
  const reg = 0.125;
  for (const [from, to] of [[0, 80], [30, 41]]) {
    const u = users.collectIds(part.users, from, to);
    const i = items.collectIds(part.items, from, to);
    const U = randomWeights(from + 1, u.length * W, 0.5);
    const I = randomWeights(from + 2, i.length * W, 0.5);
    const gU = new Float32Array(U.length);
    const gI = new Float32Array(I.length);
    const sse = mfGradient(part, from, to, users, items, F, mean, U, I, gU, gI, reg);
    assert.ok(sse > 0);
    // objective: sum 0.5 e^2 + 0.5 reg (|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2) per rating
    const objective = () => {
      let j = 0;
      for (let k = from; k < to; k++) {
        const pu = users.positionOf[part.users[k]] * W;
        const qi = items.positionOf[part.items[k]] * W;
        let pred = mean + U[pu + F] + I[qi + F];
        let norm = 0;
        for (let f = 0; f <= F; f++) {
          if (f < F) pred += U[pu + f] * I[qi + f];
          norm += U[pu + f] ** 2 + I[qi + f] ** 2;
        }
        j += 0.5 * (pred - part.ratings[k]) ** 2 + 0.5 * reg * norm;
      }
      return j;
    };
    for (let j = 0; j < U.length; j++) assertClose(gU[j], finiteDifference(objective, U, j), 2e-4, `user grad[${j}]`);
    for (let j = 0; j < I.length; j++) assertClose(gI[j], finiteDifference(objective, I, j), 2e-4, `item grad[${j}]`);
  }
});

test('evaluateMf on a hand-checked case, with clipping', () => {
  const part: RatingPartition = { kind: 2, rows: 2, users: Uint32Array.of(0, 1), items: Uint32Array.of(1, 0), ratings: Float32Array.of(4, 1) };
  // F = 1: rows [p, b]
  const users = Float32Array.of(1, 0.5, /* user 1 */ -2, 0);
  const items = Float32Array.of(1, 0, /* item 1 */ 0.5, -0.25);
  // user 0, item 1: 3 + 0.5 - 0.25 + 0.5 = 3.75 (error -0.25); user 1, item 0: 3 + 0 + 0 - 2 = 1 (error 0)
  const r = evaluateMf(part, users, items, 1, 3);
  assertClose(r.sqErrSum, 0.0625, 1e-12, 'sse');
  assertClose(r.rmse, Math.sqrt(0.0625 / 2), 1e-12, 'rmse');
  // clipped to [1.5, 5]: the second prediction becomes 1.5 (error 0.5)
  assertClose(evaluateMf(part, users, items, 1, 3, [1.5, 5]).sqErrSum, 0.0625 + 0.25, 1e-12, 'clipped sse');
  assert.throws(() => evaluateMf({ ...part, users: Uint32Array.of(0, 2) }, users, items, 1, 3), RangeError);
});

function readRatings(file: string): RatingPartition {
  const lines = require('node:fs').readFileSync(file, 'utf8').trim().split('\n') as string[];
  const users = new Uint32Array(lines.length);
  const items = new Uint32Array(lines.length);
  const ratings = new Float32Array(lines.length);
  lines.forEach((line, k) => {
    const [u, i, r] = line.split('\t').map(Number);
    users[k] = u;
    items[k] = i;
    ratings[k] = r;
  });
  return { kind: 2, rows: lines.length, users, items, ratings };
}

test('per-rating SGD through mfGradient reaches the reference RMSE on MovieLens 100k u1 (0.951)', async (t) => {
  const base = sharedDataset(t, 'movielens-100k/u1.base');
  const probe = sharedDataset(t, 'movielens-100k/u1.test');
  if (!base || !probe) return;
  const train = readRatings(base);
  const test = readRatings(probe);
  const factors = 50;
  const width = factors + 1;
  const userCount = 944;
  const itemCount = 1683;
  let mean = 0;
  for (let k = 0; k < train.rows; k++) mean += train.ratings[k];
  mean /= train.rows;
  // factors ~ N(0, 0.1), biases 0 (the reference's setting)
  const rand = rng(42);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) * 0.1;
  const U = new Float32Array(userCount * width).map((_, j) => (j % width === factors ? 0 : normal()));
  const I = new Float32Array(itemCount * width).map((_, j) => (j % width === factors ? 0 : normal()));
  const users = new TouchedSet(userCount);
  const items = new TouchedSet(itemCount);
  const u = new Float32Array(width);
  const i = new Float32Array(width);
  const gU = new Float32Array(width);
  const gI = new Float32Array(width);
  const lr = 0.005;
  const order = Array.from({ length: train.rows }, (_, k) => k);
  for (let epoch = 0; epoch < 20; epoch++) {
    for (let k = order.length - 1; k > 0; k--) {
      const j = Math.floor(rand() * (k + 1));
      [order[k], order[j]] = [order[j], order[k]];
    }
    for (const k of order) {
      // a minibatch of one rating: "pull" its user and item rows, gradient, apply
      const uid = users.collectIds(train.users, k, k + 1)[0];
      const iid = items.collectIds(train.items, k, k + 1)[0];
      u.set(U.subarray(uid * width, uid * width + width));
      i.set(I.subarray(iid * width, iid * width + width));
      mfGradient(train, k, k + 1, users, items, factors, mean, u, i, gU, gI, 0.02);
      for (let f = 0; f < width; f++) {
        U[uid * width + f] -= lr * gU[f];
        I[iid * width + f] -= lr * gI[f];
      }
    }
  }
  const r = evaluateMf(test, U, I, factors, mean, [1, 5]);
  t.diagnostic(`test RMSE ${r.rmse.toFixed(4)} (reference 0.951)`);
  assert.ok(r.rmse < 0.97, `test RMSE ${r.rmse}, reference 0.951`);
});
