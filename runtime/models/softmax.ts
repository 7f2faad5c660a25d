// Multiclass softmax regression over sparse features: one table of featureCount rows x `classes`
// columns (row-major: the weight of feature f for class c is table[f * classes + c]). Labels are the
// class ids 0 .. classes-1 stored as floats in the partition.
//
// Worker loop, as for logistic regression:
//   const ids = touched.collect(part, from, to);      // sorted unique feature ids
//   const rows = await ps.pull(ids);                   // ids.length * classes floats, row j = ids[j]
//   const lossSum = softmaxGradient(part, from, to, touched, classes, rows, grad); // grad like rows
//   await ps.push(ids, grad);
//
// API:
//   softmaxGradient(part, from, to, touched, classes, weights, gradOut): number
//     weights / gradOut: touched-set rows of `classes` floats, aligned with the touched ids; gradOut
//     is overwritten with the AVERAGE gradient of the cross-entropy over the rows; returns the
//     SUMMED cross-entropy (each row's clamped at -log(1e-15), as for logistic regression).
//   evaluateSoftmax(part, weights /* the full table */, classes) -> { lossSum, correct, rows }
import type { SamplePartition } from '../data/partition';
import { localPositions, MAX_LOG_LOSS } from './logistic';
import type { TouchedSet } from './touched';

let scores = new Float64Array(16);

/** Scores of one row into `out[0 .. classes)` -> softmax probabilities; returns -log p[label]. */
function softmaxRow(out: Float64Array, classes: number, label: number): number {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) if (out[c] > max) max = out[c];
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const e = Math.exp(out[c] - max); // shifted by the max: no overflow
    out[c] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let c = 0; c < classes; c++) out[c] *= inv;
  const p = out[label];
  return p > 1e-15 ? Math.min(-Math.log(p), MAX_LOG_LOSS) : MAX_LOG_LOSS;
}

function checkLabel(label: number, classes: number, row: number): number {
  const y = label | 0;
  if (y !== label || y < 0 || y >= classes) throw new RangeError(`row ${row}: label ${label} is not a class id 0..${classes - 1}`);
  return y;
}

export function softmaxGradient(
  part: SamplePartition,
  from: number,
  to: number,
  touched: TouchedSet,
  classes: number,
  weights: Float32Array,
  gradOut: Float32Array,
): number {
  if (weights.length < gradOut.length) throw new RangeError(`weights (${weights.length}) shorter than gradOut (${gradOut.length})`);
  gradOut.fill(0);
  if (to <= from) return 0;
  if (scores.length < classes) scores = new Float64Array(classes);
  const p = scores;
  const { labels, rowStart, indices, values } = part;
  const first = rowStart[from];
  const local = touched.covers(indices, first, rowStart[to]) ? touched.local : localPositions(touched, indices, first, rowStart[to]);
  let lossSum = 0;
  for (let r = from; r < to; r++) {
    const a = rowStart[r] - first;
    const b = rowStart[r + 1] - first;
    p.fill(0, 0, classes);
    for (let k = a; k < b; k++) {
      const base = local[k] * classes;
      const v = values[k + first];
      for (let c = 0; c < classes; c++) p[c] += weights[base + c] * v;
    }
    const y = checkLabel(labels[r], classes, r);
    lossSum += softmaxRow(p, classes, y);
    p[y] -= 1; // d loss / d score_c = p_c - [c == y]
    for (let k = a; k < b; k++) {
      const base = local[k] * classes;
      const v = values[k + first];
      for (let c = 0; c < classes; c++) gradOut[base + c] += p[c] * v;
    }
  }
  const scale = 1 / (to - from);
  for (let j = 0; j < gradOut.length; j++) gradOut[j] *= scale;
  return lossSum;
}

export function evaluateSoftmax(part: SamplePartition, weights: Float32Array, classes: number): { lossSum: number; correct: number; rows: number } {
  if (scores.length < classes) scores = new Float64Array(classes);
  const p = scores;
  const { labels, rowStart, indices, values, rows } = part;
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    p.fill(0, 0, classes);
    for (let k = rowStart[r], end = rowStart[r + 1]; k < end; k++) {
      const base = indices[k] * classes;
      const v = values[k];
      for (let c = 0; c < classes; c++) p[c] += weights[base + c] * v;
    }
    let best = 0;
    for (let c = 1; c < classes; c++) if (p[c] > p[best]) best = c;
    const y = checkLabel(labels[r], classes, r);
    if (best === y) correct++;
    lossSum += softmaxRow(p, classes, y);
  }
  return { lossSum, correct, rows };
}
