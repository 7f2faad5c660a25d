import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RatingPartition } from '../../runtime/data/partition';
import { TouchedSet } from '../../runtime/models/logistic';
import { evaluateMf, mfGradient } from '../../runtime/models/mf';
import { assertClose, finiteDifference, randomRatings, randomWeights } from './random-data';

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
