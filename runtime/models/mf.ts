// Biased matrix factorisation over ratings (user, item, rating):
//   prediction = mean + b_u + b_i + p_u . q_i
// Two tables of rows of width factors + 1: a user row is [p_u (factors floats), b_u], an item row is
// [q_i, b_i] (the last float is the bias). `mean` is the global mean rating of the training set.
//
// Worker loop, per minibatch of ratings [from, to) of a RatingPartition:
//   const u = users.collectIds(part.users, from, to);   // sorted unique user ids
//   const i = items.collectIds(part.items, from, to);   // sorted unique item ids
//   const U = await ps.pull(USERS, u), I = await ps.pull(ITEMS, i);  // rows aligned with u / i
//   const sse = mfGradient(part, from, to, users, items, factors, mean, U, I, gU, gI, reg);
//   await ps.push(USERS, u, gU); await ps.push(ITEMS, i, gI);
//
// API:
//   mfGradient(part, from, to, users, items, factors, mean, userRows, itemRows, userGradOut,
//              itemGradOut, reg = 0): number
//     Gradients (overwritten, aligned like the pulled rows) of
//       sum over the ratings of 0.5 e^2 + 0.5 reg (|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2),  e = pred - r,
//     SUMMED over the minibatch, not averaged: a user appears in few ratings of a batch, and a sum
//     keeps the learning rate's meaning of plain per-rating SGD (the reference: lr 0.005, reg 0.02).
//     A row met more than MAX_ROW_MULTIPLICITY times in the batch has its sum scaled down to that
//     many ratings' worth: files sorted by user (MovieLens) put one user in a whole minibatch, and a
//     step of 256 ratings at once diverged (-Infinity) where 256 sequential steps would not.
//     Returns the sum of squared errors e^2 of the minibatch (before the update).
//   evaluateMf(part, userTable, itemTable, factors, mean, clip?) -> { sqErrSum, rows, rmse }
//     full tables indexed by id; `clip` = [min, max] clamps predictions to the rating scale.
import type { RatingPartition } from '../data/partition';
import { localPositions } from './logistic';
import type { TouchedSet } from './touched';

/** A row's summed gradient counts at most this many ratings of one minibatch (see above). */
export const MAX_ROW_MULTIPLICITY = 64;
let userCounts = new Uint32Array(1024);
let itemCounts = new Uint32Array(1024);

/** Scales each row whose count passed MAX_ROW_MULTIPLICITY down to that many ratings' worth. */
function capRows(grad: Float32Array, counts: Uint32Array, rows: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    if (counts[r] <= MAX_ROW_MULTIPLICITY) continue;
    const scale = MAX_ROW_MULTIPLICITY / counts[r];
    for (let f = r * width; f < (r + 1) * width; f++) grad[f] *= scale;
  }
}

export function mfPredict(userTable: Float32Array, itemTable: Float32Array, user: number, item: number, factors: number, mean: number): number {
  const width = factors + 1;
  const u = user * width;
  const i = item * width;
  let dot = 0;
  for (let f = 0; f < factors; f++) dot += userTable[u + f] * itemTable[i + f];
  return mean + userTable[u + factors] + itemTable[i + factors] + dot;
}

export function mfGradient(
  part: RatingPartition,
  from: number,
  to: number,
  users: TouchedSet,
  items: TouchedSet,
  factors: number,
  mean: number,
  userRows: Float32Array,
  itemRows: Float32Array,
  userGradOut: Float32Array,
  itemGradOut: Float32Array,
  reg = 0,
): number {
  const width = factors + 1;
  if (userRows.length < userGradOut.length || itemRows.length < itemGradOut.length) throw new RangeError('pulled rows shorter than the gradient outputs');
  userGradOut.fill(0);
  itemGradOut.fill(0);
  const uLocal = users.covers(part.users, from, to) ? users.local : localPositions(users, part.users, from, to);
  const iLocal = items.covers(part.items, from, to) ? items.local : localPositions(items, part.items, from, to);
  const ratings = part.ratings;
  const userRowCount = userGradOut.length / width;
  const itemRowCount = itemGradOut.length / width;
  if (userCounts.length < userRowCount) userCounts = new Uint32Array(userRowCount * 2);
  if (itemCounts.length < itemRowCount) itemCounts = new Uint32Array(itemRowCount * 2);
  userCounts.fill(0, 0, userRowCount);
  itemCounts.fill(0, 0, itemRowCount);
  let sse = 0;
  for (let k = 0; k < to - from; k++) {
    const u = uLocal[k] * width;
    const i = iLocal[k] * width;
    let dot = 0;
    for (let f = 0; f < factors; f++) dot += userRows[u + f] * itemRows[i + f];
    const bu = userRows[u + factors];
    const bi = itemRows[i + factors];
    const e = mean + bu + bi + dot - ratings[from + k];
    sse += e * e;
    for (let f = 0; f < factors; f++) {
      const p = userRows[u + f];
      const q = itemRows[i + f];
      userGradOut[u + f] += e * q + reg * p;
      itemGradOut[i + f] += e * p + reg * q;
    }
    userGradOut[u + factors] += e + reg * bu;
    itemGradOut[i + factors] += e + reg * bi;
    userCounts[uLocal[k]]++;
    itemCounts[iLocal[k]]++;
  }
  capRows(userGradOut, userCounts, userRowCount, width);
  capRows(itemGradOut, itemCounts, itemRowCount, width);
  return sse;
}

export function evaluateMf(
  part: RatingPartition,
  userTable: Float32Array,
  itemTable: Float32Array,
  factors: number,
  mean: number,
  clip?: [number, number],
): { sqErrSum: number; rows: number; rmse: number } {
  const { users, items, ratings, rows } = part;
  const width = factors + 1;
  let sqErrSum = 0;
  for (let k = 0; k < rows; k++) {
    if ((users[k] + 1) * width > userTable.length || (items[k] + 1) * width > itemTable.length) {
      throw new RangeError(`rating ${k}: user ${users[k]} or item ${items[k]} is outside the model`);
    }
    let pred = mfPredict(userTable, itemTable, users[k], items[k], factors, mean);
    if (clip) pred = pred < clip[0] ? clip[0] : pred > clip[1] ? clip[1] : pred;
    const e = pred - ratings[k];
    sqErrSum += e * e;
  }
  return { sqErrSum, rows, rmse: rows ? Math.sqrt(sqErrSum / rows) : NaN };
}
