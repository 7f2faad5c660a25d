// Sparse logistic regression kernels (labels 0/1), shared by the worker and the driver's evaluation.
//
// Worker loop, per minibatch of sample rows [from, to) of a SamplePartition:
//   const ids = touched.collect(part, from, to);          // sorted unique feature ids
//   const w = await ps.pull(ids);                          // Float32Array aligned with ids
//   const lossSum = logisticGradient(part, from, to, touched, w, grad); // grad aligned with ids
//   await ps.push(ids, grad);
//
// API:
//   TouchedSet (from ./touched): collect(part, from, to) -> sorted unique ids; positionOf[id].
//   logisticGradient(part, from, to, touched, weights, gradOut): number
//     weights[j] is the weight of touched id j; gradOut (same length, overwritten) receives the
//     AVERAGE gradient of the log-loss over the rows; returns the SUMMED log-loss of the rows.
//   evaluateLogistic(part, weights /* the full model, indexed by feature id */)
//     -> { lossSum, correct, rows } (loss clamped as the reference does: p in [1e-15, 1 - 1e-15]).
//   trainAdagradLocal(part, weights, g2, lr, epochs, rows?) -> samples processed
//     single-process per-sample AdaGrad (the native reference kernel's math, float32), in
//     WebAssembly; used for the "worker kernel samples/s vs native" benchmark and as a local baseline.
//     g2 holds the squared-gradient sums (start it at 1e-6 like the reference); both arrays are
//     updated in place. `rows` limits training to the first rows (default: all).
import type { SamplePartition } from '../data/partition';
import { TouchedSet } from './touched';
import { wasmModule } from './wasm/module';

export { TouchedSet };

/** -log(1e-15): the reference clamps probabilities to [1e-15, 1 - 1e-15]. */
export const MAX_LOG_LOSS = 34.538776394910684;

/** Log-loss of one row with margin z and label y (0/1), computed without overflow and clamped. */
export function logLoss(z: number, y: number): number {
  // -log(sigmoid(z)) = log1p(exp(-z)) for y = 1; -log(1 - sigmoid(z)) = log1p(exp(z)) for y = 0.
  const m = y > 0.5 ? -z : z;
  const loss = m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
  return loss < MAX_LOG_LOSS ? loss : MAX_LOG_LOSS;
}

/** sigmoid(z) without overflow for any finite z. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

export function logisticGradient(
  part: SamplePartition,
  from: number,
  to: number,
  touched: TouchedSet,
  weights: Float32Array,
  gradOut: Float32Array,
): number {
  const n = gradOut.length;
  if (weights.length < n) throw new RangeError(`weights (${weights.length}) shorter than gradOut (${n})`);
  if (to <= from) {
    gradOut.fill(0);
    return 0;
  }
  const { labels, rowStart, indices, values } = part;
  const first = rowStart[from];
  const end = rowStart[to];
  const rows = to - from;
  // The entry loops run in wasm over the touched set's memory (touched.ts): the positions of the
  // batch's entries are there from the last collect when it covered these rows, else looked up
  // through positionOf and copied in. The per-row sigmoid and loss stay here (Math.exp, Math.log1p).
  const covered = touched.covers(indices, first, end);
  const count = touched.current.length;
  if (n < count) throw new RangeError(`gradOut (${n}) shorter than the touched set (${count} ids)`);
  const { ex, at } = touched.kernel(Math.max(end - first, n), rows);
  const heap = ex.memory.buffer;
  if (!covered) {
    const local = localPositions(touched, indices, first, end);
    new Int32Array(heap, at.local, local.length).set(local);
    touched.forgetLocal();
  }
  new Float32Array(heap, at.values, end - first).set(values.subarray(first, end));
  new Float32Array(heap, at.weights, n).set(weights.subarray(0, n));
  new Uint32Array(heap, at.rowStart, rows + 1).set(rowStart.subarray(from, to + 1));
  ex.margins(rows, at.rowStart, first, at.local, at.values, at.weights, at.z);
  const z = new Float64Array(heap, at.z, rows);
  const gr = new Float64Array(heap, at.gr, rows);
  let lossSum = 0;
  for (let r = 0; r < rows; r++) {
    const y = labels[from + r];
    // logLoss(z, y) and sigmoid(z) - y with one Math.exp: both take exp(-|z|) (see them above), so
    // the results are theirs bit for bit.
    const zr = z[r];
    const e = Math.exp(zr >= 0 ? -zr : zr);
    const m = y > 0.5 ? -zr : zr;
    const loss = m > 0 ? m + Math.log1p(e) : Math.log1p(e);
    lossSum += loss < MAX_LOG_LOSS ? loss : MAX_LOG_LOSS;
    gr[r] = (zr >= 0 ? 1 / (1 + e) : e / (1 + e)) - y;
  }
  // The AVERAGE gradient (gradOut is float32, each row's contribution added in float32 as it goes:
  // the per-row sums stay small, so this loses nothing that matters next to the scaling).
  ex.scatter(rows, at.rowStart, first, at.local, at.values, at.gr, at.grad, n, 1 / rows);
  gradOut.set(new Float32Array(heap, at.grad, n));
  return lossSum;
}

/** Positions (through positionOf) of source[first .. end); throws for an id not in the touched set. */
export function localPositions(touched: TouchedSet, source: Uint32Array, first: number, end: number): Int32Array {
  const pos = touched.positionOf;
  const out = new Int32Array(end - first);
  for (let k = first; k < end; k++) {
    const p = pos[source[k]];
    if (p < 0) throw new RangeError(`feature ${source[k]} was not collected: call touched.collect on these rows first`);
    out[k - first] = p;
  }
  return out;
}

export function evaluateLogistic(part: SamplePartition, weights: Float32Array): { lossSum: number; correct: number; rows: number } {
  const { labels, rowStart, indices, values, rows } = part;
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    let z = 0;
    for (let k = rowStart[r], b = rowStart[r + 1]; k < b; k++) z += weights[indices[k]] * values[k];
    const y = labels[r];
    lossSum += logLoss(z, y);
    if (z > 0 === y > 0.5) correct++;
  }
  return { lossSum, correct, rows };
}

// --- trainAdagradLocal: WebAssembly ---

export interface TrainExports {
  memory: WebAssembly.Memory;
  train(from: number, to: number, labels: number, rowStart: number, idx: number, val: number, w: number, g2: number, lr: number, features: number): void;
}

/** Rows per call into wasm: small enough that V8 tiers the function up early (it swaps code only
 *  between calls), large enough that the call cost is nothing. */
export const CHUNK_ROWS = 2048;

/** trainAdagradLocal's instance, kept between calls: its memory (grown to the largest input so far)
 *  is reused, so a call copies its rows in but does not fault in fresh pages. On this project's VM the
 *  first touch of fresh memory is dear: a fresh instance for 200k Criteo rows (60 MB) took 350 ms of
 *  CPU before training (at load 15), 25 ms when reused, against about 200 ms for 3 epochs of training. */
let kept: TrainExports | undefined;

export function trainAdagradLocal(
  part: SamplePartition,
  weights: Float32Array,
  g2: Float32Array,
  lr: number,
  epochs: number,
  rows = part.rows,
): number {
  if (g2.length !== weights.length) throw new RangeError('weights and g2 differ in length');
  rows = Math.min(rows, part.rows);
  const nnz = part.rowStart[rows];
  const ex = (kept ??= new WebAssembly.Instance(wasmModule(), {}).exports as unknown as TrainExports);
  // Lay the arrays out one after the other in wasm memory.
  const sizes = [rows, rows + 1, nnz, nnz, weights.length, weights.length].map((n) => 4 * n);
  const total = sizes.reduce((s, n) => s + n, 0);
  const pages = Math.ceil(total / 65536) + 1;
  const have = ex.memory.buffer.byteLength / 65536;
  if (pages > have) ex.memory.grow(pages - have);
  const heap = new Uint8Array(ex.memory.buffer);
  let at = 0;
  const place = (a: Float32Array | Uint32Array): number => {
    const where = at;
    heap.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), where);
    at += a.byteLength;
    return where;
  };
  const pLabels = place(part.labels.subarray(0, rows));
  const pRowStart = place(part.rowStart.subarray(0, rows + 1));
  const pIdx = place(part.indices.subarray(0, nnz));
  const pVal = place(part.values.subarray(0, nnz));
  const pW = place(weights);
  const pG2 = place(g2);
  // Row offsets must be relative to the copied indices: the partition's start at 0, as decoded.
  if (part.rowStart[0] !== 0) throw new RangeError('rowStart[0] must be 0');
  const features = weights.length;
  for (let e = 0; e < epochs; e++) {
    for (let s = 0; s < rows; s += CHUNK_ROWS) {
      try {
        ex.train(s, Math.min(rows, s + CHUNK_ROWS), pLabels, pRowStart, pIdx, pVal, pW, pG2, lr, features);
      } catch (err) {
        // The kernel traps on a feature id outside the model (before touching any weight of that row).
        if (err instanceof WebAssembly.RuntimeError) throw new RangeError(`a feature id in rows ${s}..${Math.min(rows, s + CHUNK_ROWS)} is outside the model (${features} weights)`);
        throw err;
      }
    }
  }
  weights.set(new Float32Array(ex.memory.buffer, pW, weights.length));
  g2.set(new Float32Array(ex.memory.buffer, pG2, g2.length));
  return rows * epochs;
}
