// Seeded fold assignment for repeated cross-fitting: per repetition r, the rows in the order of a
// shuffle seeded by (seed, r) are cut into K contiguous, near-equal folds (sizes differ by at most 1),
// as a shuffled K-fold does. The assignment is recorded (run folder and S3, with its SHA-256), so a
// rerun with the same seed uses, and can be checked to use, the same folds.
import { createHash } from 'node:crypto';
import { Rng } from './rng';

export interface FoldAssignment {
  n: number;
  folds: number;
  repetitions: number;
  seed: number;
  /** fold[r * n + i]: the fold of row i in repetition r. */
  fold: Uint16Array;
}

export function assignFolds(n: number, folds: number, repetitions: number, seed: number): FoldAssignment {
  const fold = new Uint16Array(n * repetitions);
  for (let r = 0; r < repetitions; r++) {
    const order = new Rng(seed, r).shuffle(Int32Array.from({ length: n }, (_, i) => i));
    for (let t = 0; t < n; t++) fold[r * n + order[t]] = Math.floor((t * folds) / n);
  }
  return { n, folds, repetitions, seed, fold };
}

/** Rows of repetition r in fold k (test) or in the other folds (train), ascending. */
export function foldRows(a: FoldAssignment, r: number, k: number, which: 'test' | 'train'): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < a.n; i++) if ((a.fold[r * a.n + i] === k) === (which === 'test')) out.push(i);
  return Int32Array.from(out);
}

export function encodeFolds(a: FoldAssignment): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(a.n, 0);
  head.writeUInt32LE(a.folds, 4);
  head.writeUInt32LE(a.repetitions, 8);
  head.writeUInt32LE(a.seed >>> 0, 12);
  return Buffer.concat([head, Buffer.from(a.fold.buffer, a.fold.byteOffset, a.fold.byteLength)]);
}

export function decodeFolds(bytes: Uint8Array): FoldAssignment {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buffer.readUInt32LE(0);
  const repetitions = buffer.readUInt32LE(8);
  if (buffer.length !== 16 + 2 * n * repetitions) throw new Error(`fold assignment: ${buffer.length} bytes, expected ${16 + 2 * n * repetitions}`);
  const fold = new Uint16Array(n * repetitions);
  new Uint8Array(fold.buffer).set(buffer.subarray(16));
  return { n, folds: buffer.readUInt32LE(4), repetitions, seed: buffer.readUInt32LE(12), fold };
}

export function foldsSha256(a: FoldAssignment): string {
  return createHash('sha256').update(encodeFolds(a)).digest('hex');
}
