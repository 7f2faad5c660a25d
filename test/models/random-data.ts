// Small random partitions for the model tests, built through the real partition format.
import { decodePartition, encodeRatings, encodeSamples, type RatingPartition, type SamplePartition } from '../../runtime/data/partition';

/** Deterministic xorshift32 in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** rows x up to perRow features in [0, featureCount), sorted unique per row; labels from labelOf. */
export function randomSamples(seed: number, rows: number, featureCount: number, perRow: number, labelOf: (r: number, rand: () => number) => number): SamplePartition {
  const rand = rng(seed);
  const rowStart = new Uint32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  const labels = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const ids = new Set<number>();
    const n = 1 + Math.floor(rand() * perRow);
    while (ids.size < Math.min(n, featureCount)) ids.add(Math.floor(rand() * featureCount));
    for (const id of [...ids].sort((a, b) => a - b)) {
      indices.push(id);
      values.push(Math.round((rand() * 2 - 0.5) * 64) / 64); // exact in float32
    }
    rowStart[r + 1] = indices.length;
    labels[r] = labelOf(r, rand);
  }
  const buf = encodeSamples({ rows, labels, rowStart, indices: Uint32Array.from(indices), values: Float32Array.from(values) });
  return decodePartition(buf) as SamplePartition;
}

export function randomRatings(seed: number, rows: number, userCount: number, itemCount: number): RatingPartition {
  const rand = rng(seed);
  const users = new Uint32Array(rows).map(() => Math.floor(rand() * userCount));
  const items = new Uint32Array(rows).map(() => Math.floor(rand() * itemCount));
  const ratings = new Float32Array(rows).map(() => 1 + Math.floor(rand() * 5));
  return decodePartition(encodeRatings({ rows, users, items, ratings })) as RatingPartition;
}

/** Random weights that are multiples of 1/256 in [-1, 1]: w +- 2^-10 is exact in float32. */
export function randomWeights(seed: number, n: number, scale = 1): Float32Array {
  const rand = rng(seed);
  return new Float32Array(n).map(() => (Math.round((rand() * 2 - 1) * 256) / 256) * scale);
}

/** Central finite difference of f at w[j] (w restored afterwards). */
export function finiteDifference(f: () => number, w: Float32Array, j: number, eps = 2 ** -10): number {
  const w0 = w[j];
  w[j] = w0 + eps;
  const up = f();
  w[j] = w0 - eps;
  const down = f();
  w[j] = w0;
  return (up - down) / (2 * eps);
}

export function assertClose(actual: number, expected: number, tol: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tol * (1 + Math.abs(expected)))) {
    throw new Error(`${what}: ${actual} differs from ${expected} by more than ${tol}`);
  }
}
