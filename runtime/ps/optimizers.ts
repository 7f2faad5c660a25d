// Model tables and the optimisers the parameter server applies to pushed gradients.
//
// A table is `rows × width` float32, row-major; each optimiser keeps its state in arrays of the same
// shape (Adam also keeps a per-row step counter, because sparse rows are updated at different rates:
// the bias correction must use how often *this row* was stepped, not a global count). In memory a row's
// weights and its state sit side by side (`data`, below): a step on a row then reads one cache line, not
// one per array, and a pull of the row just before its push has brought that line in already.
//
// With g' = g + l2·w (l2 = 0 unless configured), per element:
//   sgd:      w -= lr·g'
//   momentum: v = μ·v + g';          w -= lr·v
//   adagrad:  G += g'²;              w -= lr·g' / (√G + ε)
//   adam:     t += 1 (per row);  m = β1·m + (1−β1)·g';  v = β2·v + (1−β2)·g'²;
//             w -= lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
// Arithmetic is done in float64 within one step and stored as float32 (state included).
//
// A push is all or nothing: optional clipping (clipNorm: the push's gradients are scaled down to that
// L2 norm), then the step, then a check that every value the step wrote (weights and state) is
// finite. Finite but huge gradients can overflow float32 (NaN rows, AdaGrad/Adam rows frozen by an
// infinite accumulator): then the touched rows are put back as they were and the push is refused.
//
// The rows live in WebAssembly memory (table-memory.ts): the sparse pull's gather (every optimiser)
// and the AdaGrad step run in table.wat, the same arithmetic in half to a third of the time of a
// JavaScript loop over scattered rows; sgd, momentum and adam step in the JavaScript below.
import type { OptimizerType } from '../config/run-config';
import type { OptimizerSettings, TableSpec } from './types';
import { DEFAULTS } from '../config/defaults';
import { describeRange, inRange, limit } from '../config/limits';
import { TableMemory } from './table-memory';

const LEARNING_RATE = limit('optimizer.learningRate');

export const DEFAULT_MOMENTUM: number = DEFAULTS.momentum; // the run config's (runtime/config/defaults.ts)
export const DEFAULT_BETA1 = 0.9;
export const DEFAULT_BETA2 = 0.999;
export const DEFAULT_EPSILON = 1e-8;

/** Largest table we agree to allocate (elements): keeps a typo in a config from asking for terabytes. */
export const MAX_TABLE_ELEMENTS = 2 ** 28; // 1 GiB of float32: a full pull still fits a u32-framed reply

/** What Table.checkPush found: the push may be applied, or the position of its first id ≥ rows
 *  ('row') or of its first NaN or infinite gradient ('gradient'). */
export type PushCheck = { ok: true } | { ok: false; problem: 'row' | 'gradient'; position: number };
const PUSH_OK: PushCheck = { ok: true };

export class Table {
  readonly name: string;
  readonly rows: number;
  readonly width: number;
  readonly optimizer: OptimizerType;
  /** How many float arrays of `rows × width` the table holds: 1 (sgd: the weights), 2 (momentum:
   *  + velocity; adagrad: + sum of squared gradients), 3 (adam: + first and second moments). */
  readonly arrayCount: number;
  readonly stride: number;
  /** adam: per-row step count. Empty otherwise. */
  readonly steps: Uint32Array;

  private readonly lr: number;
  private readonly l2: number;
  private readonly momentum: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly clipNorm: number;
  /** Holds `data` and runs the gather and the AdaGrad step in wasm (table-memory.ts). */
  private readonly memory: TableMemory;
  /** The touched rows as they were before a JavaScript step (weights, state1, state2 side by side), reused. */
  private backup = new Float32Array(0);
  private backupSteps = new Uint32Array(0);
  /** adam: 1 − β^t for t = 0.., precomputed because Math.pow per pushed row was most of Adam's cost. */
  private readonly correction1: Float64Array;
  private readonly correction2: Float64Array;

  constructor(spec: TableSpec) {
    validateSpec(spec);
    this.name = spec.name;
    this.rows = spec.rows;
    this.width = spec.width;
    const o = spec.optimizer;
    this.optimizer = o.type;
    this.lr = o.learningRate;
    this.l2 = o.l2 ?? 0;
    this.momentum = o.momentum ?? DEFAULT_MOMENTUM;
    this.beta1 = o.beta1 ?? DEFAULT_BETA1;
    this.beta2 = o.beta2 ?? DEFAULT_BETA2;
    this.epsilon = o.epsilon ?? DEFAULT_EPSILON;
    this.clipNorm = o.clipNorm ?? 0;
    const isAdam = o.type === 'adam';
    this.arrayCount = o.type === 'sgd' ? 1 : isAdam ? 3 : 2;
    this.stride = spec.width * this.arrayCount;
    this.memory = new TableMemory(spec.rows * this.stride);
    this.steps = new Uint32Array(isAdam ? spec.rows : 0);
    [this.correction1, this.correction2] = isAdam ? biasCorrections(this.beta1, this.beta2) : [new Float64Array(0), new Float64Array(0)];
    const init = spec.init ?? { type: 'zeros' };
    if (init.type === 'normal') {
      const weights = new Float32Array(spec.rows * spec.width);
      fillNormal(weights, init.std, init.seed ?? 1);
      this.setArray(0, weights);
    }
  }

  /** The arrays interleaved by row: row r's weights at r·stride, then its first state at +width, then
   *  its second at +2·width (stride = width × arrayCount). copyArray()/setArray() give them apart.
   *  Wasm memory: take it again after a gather(), checkPush() or apply(), which may replace its buffer. */
  get data(): Float32Array {
    return this.memory.data;
  }

  /** Writes each 4 KiB page of the table's arrays from float `from` on, up to `pages` pages, with the
   *  value it holds, so the kernel maps them now rather than at a first pull (a fresh array's pages
   *  fault on first write, ~20 ms for 8 MB). Values are unchanged. Returns where to continue, or -1. */
  touchPages(from: number, pages: number): number {
    const floatsPerPage = 1024;
    const data = this.data;
    let i = from;
    for (let p = 0; p < pages && i < data.length; p++, i += floatsPerPage) data[i] = data[i];
    return i < data.length ? i : -1;
  }

  /** Array `k` (0: the weights, 1 and 2: the optimiser state, as listed at arrayCount) as its own
   *  row-major `rows × width` array, written into `into` when given. */
  copyArray(k: number, into = new Float32Array(this.rows * this.width)): Float32Array {
    const { width, stride, data } = this;
    if (stride === width) {
      into.set(data);
      return into;
    }
    const n = this.rows;
    if (width === 1) {
      for (let r = 0, at = k; r < n; r++, at += stride) into[r] = data[at];
      return into;
    }
    for (let r = 0; r < n; r++) into.set(data.subarray(r * stride + k * width, r * stride + (k + 1) * width), r * width);
    return into;
  }

  /** Sets array `k` (see copyArray) from a row-major `rows × width` array. */
  setArray(k: number, values: Float32Array): void {
    const { width, stride, data } = this;
    if (stride === width) {
      data.set(values);
      return;
    }
    const n = this.rows;
    if (width === 1) {
      for (let r = 0, at = k; r < n; r++, at += stride) data[at] = values[r];
      return;
    }
    for (let r = 0; r < n; r++) data.set(values.subarray(r * width, (r + 1) * width), r * stride + k * width);
  }

  /** Copies the listed rows into `out` (row-major, `ids.length × width`) and returns -1; or returns the
   *  position of the first id ≥ rows (checked as it goes: no separate pass), with `out` unspecified. */
  gather(ids: Uint32Array, out: Float32Array): number {
    return this.memory.gather(ids, out, this.stride, this.width, this.rows);
  }

  /**
   * Checks a push (row ids[i] gets grads[i*width .. +width]) before anything changes: every id < rows,
   * every gradient finite. It copies the push next to the table and checks it there, in wasm (a fifth
   * of the time of the same checks in JavaScript); applyChecked() then applies that copy.
   */
  checkPush(ids: Uint32Array, grads: Float32Array): PushCheck {
    this.memory.stagePush(ids, grads);
    const badRow = this.memory.firstBadId(this.rows);
    if (badRow >= 0) return { ok: false, problem: 'row', position: badRow };
    const nonFinite = this.memory.firstNonFinite();
    if (nonFinite >= 0) return { ok: false, problem: 'gradient', position: nonFinite };
    return PUSH_OK;
  }

  /** Applies a push whose ids and gradients are known to be in range and finite: checkPush()'s copy
   *  without its checks, then applyChecked(). */
  apply(ids: Uint32Array, grads: Float32Array): number {
    this.memory.stagePush(ids, grads);
    return this.applyChecked();
  }

  /**
   * Applies the push that checkPush() accepted last (the table is not to be used in between). A row
   * listed twice is stepped twice, in order. Returns -1, or the position of the first row whose step
   * gave a non-finite value: then nothing is changed (the touched rows are restored). The caller's
   * arrays are not changed (clipNorm scales the table's copy).
   */
  applyChecked(): number {
    const ids = this.memory.stagedIds();
    const grads = this.memory.stagedGrads();
    if (this.clipNorm > 0) clip(grads, this.clipNorm);
    const need = ids.length * this.width * this.arrayCount;
    if (this.optimizer === 'adagrad') {
      // In wasm (table.wat), which saves the old rows and checks what it writes as the loops below do.
      const bad = this.memory.adagrad(this.width, this.lr, this.l2, this.epsilon);
      if (bad >= 0) this.restore(ids, bad, this.memory.lastBackup(need));
      return bad;
    }
    if (this.backup.length < need) this.backup = new Float32Array(Math.max(need, this.backup.length * 2));
    if (this.optimizer === 'adam' && this.backupSteps.length < ids.length) this.backupSteps = new Uint32Array(Math.max(ids.length, this.backupSteps.length * 2));
    // One pass per push: each step saves the values it overwrites and checks what it writes, so a row
    // is read from memory once (the table is far larger than the cache; the rows of a push are scattered).
    let bad = -1;
    switch (this.optimizer) {
      case 'sgd': bad = this.applySgd(ids, grads); break;
      case 'momentum': bad = this.applyMomentum(ids, grads); break;
      case 'adam': bad = this.applyAdam(ids, grads); break;
    }
    if (bad >= 0) this.restore(ids, bad, this.backup);
    return bad;
  }

  /** Puts back the rows stepped before the step of position `last` stopped (that one included: it may
   *  have written part of its row); in reverse, so a row listed twice ends as it was before the first.
   *  `backup` holds one block per array (weights, then the states), row i of a block at i·width. */
  private restore(ids: Uint32Array, last: number, backup: Float32Array): void {
    const { width: w, stride, data } = this;
    const n = ids.length;
    for (let k = 0; k < this.arrayCount; k++) {
      const start = k * n * w;
      for (let i = last; i >= 0; i--) data.set(backup.subarray(start + i * w, start + (i + 1) * w), ids[i] * stride + k * w);
    }
    if (this.optimizer === 'adam') for (let i = last; i >= 0; i--) this.steps[ids[i]] = this.backupSteps[i];
  }

  // One loop per optimiser, so the inner loops carry no branches on the optimiser type. Each saves the
  // old values in `backup` (block k of array k, row i at i·width), writes the step, and returns the
  // position of the first row that got a non-finite value (x − x is NaN for ±Infinity and NaN), or -1.

  private applySgd(ids: Uint32Array, grads: Float32Array): number {
    const { width, stride, data: W, lr, l2, backup: B } = this;
    for (let i = 0; i < ids.length; i++) {
      const base = ids[i] * stride;
      const gBase = i * width;
      let check = 0;
      for (let j = 0; j < width; j++) {
        const k = base + j;
        const w = W[k];
        B[gBase + j] = w;
        W[k] = w - lr * (grads[gBase + j] + l2 * w);
        check += W[k] - W[k]; // as stored: float32 overflows to Infinity where float64 did not
      }
      if (check !== 0) return i;
    }
    return -1;
  }

  private applyMomentum(ids: Uint32Array, grads: Float32Array): number {
    const { width, stride, data: D, lr, l2, momentum, backup: B } = this;
    const vBlock = ids.length * width;
    for (let i = 0; i < ids.length; i++) {
      const base = ids[i] * stride; // weights at base + j, velocity at base + width + j
      const gBase = i * width;
      let check = 0;
      for (let j = 0; j < width; j++) {
        const k = base + j;
        const kv = k + width;
        const w = D[k];
        B[gBase + j] = w;
        B[vBlock + gBase + j] = D[kv];
        const v = momentum * D[kv] + grads[gBase + j] + l2 * w;
        D[kv] = v;
        D[k] = w - lr * v;
        check += D[k] - D[k] + (D[kv] - D[kv]);
      }
      if (check !== 0) return i;
    }
    return -1;
  }

  private applyAdam(ids: Uint32Array, grads: Float32Array): number {
    const { width, stride, data: D, steps, lr, l2, beta1, beta2, epsilon, correction1, correction2, backup: B, backupSteps } = this;
    const known = correction1.length;
    const block = ids.length * width;
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i];
      backupSteps[i] = steps[row];
      const t = steps[row] === 0xffffffff ? 0xffffffff : ++steps[row];
      const c1 = t < known ? correction1[t] : 1 - Math.pow(beta1, t);
      const c2 = t < known ? correction2[t] : 1 - Math.pow(beta2, t);
      const base = row * stride; // weights at base + j, first moment at base + width + j, second at base + 2·width + j
      const gBase = i * width;
      let check = 0;
      for (let j = 0; j < width; j++) {
        const k = base + j;
        const km = k + width;
        const kv = km + width;
        const w = D[k];
        B[gBase + j] = w;
        B[block + gBase + j] = D[km];
        B[2 * block + gBase + j] = D[kv];
        const g = grads[gBase + j] + l2 * w;
        const m = beta1 * D[km] + (1 - beta1) * g;
        const v = beta2 * D[kv] + (1 - beta2) * g * g;
        D[km] = m;
        D[kv] = v;
        D[k] = w - (lr * (m / c1)) / (Math.sqrt(v / c2) + epsilon);
        check += D[k] - D[k] + (D[km] - D[km]) + (D[kv] - D[kv]);
      }
      if (check !== 0) return i;
    }
    return -1;
  }
}

/** Tables of 1 − β^t, up to the t where both have reached 1 in float64 (about 37,000 steps for
 *  β2 = 0.999), at most 65,536 entries; beyond them apply() falls back to Math.pow. */
function biasCorrections(beta1: number, beta2: number): [Float64Array, Float64Array] {
  let n = 1;
  while (n < 65536 && !(Math.pow(beta1, n) < 1e-17 && Math.pow(beta2, n) < 1e-17)) n *= 2;
  const c1 = new Float64Array(n);
  const c2 = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    c1[t] = 1 - Math.pow(beta1, t);
    c2[t] = 1 - Math.pow(beta2, t);
  }
  return [c1, c2];
}

/** Scales `grads` in place down to L2 norm `maxNorm` when it is above it. */
function clip(grads: Float32Array, maxNorm: number): void {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) sum += grads[i] * grads[i];
  const norm = Math.sqrt(sum);
  if (norm <= maxNorm || !Number.isFinite(norm)) {
    if (Number.isFinite(norm)) return;
    // Overflowed in float64 (only with absurd gradients): scale by the largest element first.
    let max = 0;
    for (let i = 0; i < grads.length; i++) max = Math.max(max, Math.abs(grads[i]));
    for (let i = 0; i < grads.length; i++) grads[i] /= max;
    return clip(grads, maxNorm);
  }
  const scale = maxNorm / norm;
  for (let i = 0; i < grads.length; i++) grads[i] *= scale;
}

/** Index of the first NaN or ±Infinity, or -1. (x − x is 0 for every finite x and NaN otherwise.) */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x - x !== 0) return i;
  }
  return -1;
}

export function validateSpec(spec: TableSpec): void {
  const where = `table ${JSON.stringify(spec.name)}`;
  if (!Number.isInteger(spec.rows) || spec.rows < 1 || spec.rows > 0xffffffff) throw new Error(`${where}: rows must be a positive integer below 2^32`);
  if (!Number.isInteger(spec.width) || spec.width < 1 || spec.width > 65536) throw new Error(`${where}: width must be an integer in 1..65536`);
  if (spec.rows * spec.width > MAX_TABLE_ELEMENTS) throw new Error(`${where}: rows × width exceeds ${MAX_TABLE_ELEMENTS} elements`);
  const o: OptimizerSettings = spec.optimizer;
  if (!o || !['sgd', 'momentum', 'adagrad', 'adam'].includes(o.type)) throw new Error(`${where}: unknown optimizer ${JSON.stringify(o?.type)}`);
  const finite = (x: number | undefined, name: string, min = -Infinity, max = Infinity) => {
    if (x !== undefined && (!Number.isFinite(x) || x < min || x > max)) throw new Error(`${where}: optimizer.${name} out of range: ${x}`);
  };
  // The run config's range (the schema's), so a table the config would reject is rejected here too.
  if (!inRange(o.learningRate, LEARNING_RATE)) throw new Error(`${where}: optimizer.learningRate must be ${describeRange(LEARNING_RATE)} (got ${o.learningRate})`);
  finite(o.l2, 'l2', 0);
  finite(o.momentum, 'momentum', 0, 1);
  finite(o.beta1, 'beta1', 0, 0.999999999);
  finite(o.beta2, 'beta2', 0, 0.999999999);
  finite(o.epsilon, 'epsilon', 0);
  if (o.clipNorm !== undefined && !(Number.isFinite(o.clipNorm) && o.clipNorm > 0)) throw new Error(`${where}: optimizer.clipNorm must be a finite number > 0`);
  if (spec.init?.type === 'normal') finite(spec.init.std, 'init.std', 0);
}

/**
 * Fills `out` with normal(0, std) draws from a seeded generator (the same seed gives the same table
 * on every machine): a 32-bit xorshift-multiply generator feeding the Box–Muller transform.
 */
export function fillNormal(out: Float32Array, std: number, seed: number): void {
  let s = (seed >>> 0) || 0x9e3779b9;
  const next = () => {
    // mulberry32-style mixing: good enough statistics for initial weights, deterministic, tiny.
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (((z ^ (z >>> 14)) >>> 0) + 0.5) / 4294967296; // in (0, 1): log() below never sees 0
  };
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next())) * std;
    const theta = 2 * Math.PI * next();
    out[i] = r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta);
  }
}
