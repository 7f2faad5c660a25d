// The preprocessing operations on sample partitions (statistics, normalisation, hashing, re-splitting),
// shared by the worker's map tasks, the preprocess stage that merges their results, and the tests'
// single-process reference (so "workers in parallel, merged" can be checked against "one pass").
//
// Statistics are per feature index over the STORED (non-zero) values: count (rows where the feature
// is present), missing (rows where it is absent), min, max, mean and population variance of the
// present values. Per partition: Welford; merged across partitions with Chan et al.'s pairwise
// formula, which gives the one-pass result up to rounding.
// Normalisation rescales stored values only (sparse data stays sparse: an absent feature stays 0);
// feature 0, the bias, is never touched. Feature hashing maps feature indices to
// fnv1a(decimal index, seed 0) & (2^bits - 1), as the LIBSVM reader does at deploy time.
import { fnv1a, hashMask } from './hashing';
import type { SamplePartition } from './partition';
import { SampleBuilder, SparseRow } from './rows';
import { addToMoments, type Moments } from './stats';

/** feature index -> moments, for the features present at least once. */
export type StatsTable = Map<number, Moments>;

export function partitionStats(part: SamplePartition, into: StatsTable = new Map()): StatsTable {
  const { rows, rowStart, indices, values } = part;
  for (let k = 0; k < rowStart[rows]; k++) {
    const f = indices[k];
    const x = values[k];
    let s = into.get(f);
    if (!s) into.set(f, (s = { count: 0, min: Infinity, max: -Infinity, mean: 0, m2: 0 }));
    addToMoments(s, x);
  }
  return into;
}

/** Merges b into a (Chan et al.: exact for count/min/max, the same mean and variance up to rounding). */
export function mergeStats(a: StatsTable, b: StatsTable): StatsTable {
  for (const [f, s] of b) {
    const t = a.get(f);
    if (!t) {
      a.set(f, { ...s });
      continue;
    }
    const n = t.count + s.count;
    const delta = s.mean - t.mean;
    t.mean += (delta * s.count) / n;
    t.m2 += s.m2 + (delta * delta * t.count * s.count) / n;
    t.count = n;
    if (s.min < t.min) t.min = s.min;
    if (s.max > t.max) t.max = s.max;
  }
  return a;
}

/** Stats as arrays (for S3 objects and JSON): only present features, ascending index. */
export interface EncodedStats {
  index: number[];
  count: number[];
  min: number[];
  max: number[];
  mean: number[];
  m2: number[];
}

export function encodeStats(table: StatsTable): EncodedStats {
  const out: EncodedStats = { index: [], count: [], min: [], max: [], mean: [], m2: [] };
  for (const f of [...table.keys()].sort((x, y) => x - y)) {
    const s = table.get(f)!;
    out.index.push(f);
    out.count.push(s.count);
    out.min.push(s.min);
    out.max.push(s.max);
    out.mean.push(s.mean);
    out.m2.push(s.m2);
  }
  return out;
}

export function decodeStats(e: EncodedStats): StatsTable {
  return new Map(e.index.map((f, i) => [f, { count: e.count[i], min: e.min[i], max: e.max[i], mean: e.mean[i], m2: e.m2[i] }]));
}

export interface PreprocessSteps {
  /** minmax: (x - min) / (max - min); standard: (x - mean) / std. Constant features are left as they are. */
  normalize?: 'minmax' | 'standard';
  /** Hash feature indices into 2^bits buckets; `features` limits it to those indices (default: all but the bias). */
  hash?: { bits: number; features?: number[] };
  /** Re-split train and test: a row goes to test with this probability (deterministic per row). */
  testFraction?: number;
}

/** Per-feature affine maps x -> (x - offset) * scale, from the merged stats. */
export interface Scaling {
  index: number[];
  offset: number[];
  scale: number[];
}

export function scalingFromStats(table: StatsTable, method: 'minmax' | 'standard'): Scaling {
  const out: Scaling = { index: [], offset: [], scale: [] };
  for (const f of [...table.keys()].sort((x, y) => x - y)) {
    if (f === 0) continue; // the bias stays 1
    const s = table.get(f)!;
    const spread = method === 'minmax' ? s.max - s.min : Math.sqrt(s.m2 / s.count);
    if (!(spread > 0)) continue; // constant: nothing to rescale
    out.index.push(f);
    out.offset.push(method === 'minmax' ? s.min : s.mean);
    out.scale.push(1 / spread);
  }
  return out;
}

/** Deterministic per-row coin for the re-split: FNV of "partition:row" in [0, 1). */
export function rowGoesToTest(partitionId: string, row: number, fraction: number): boolean {
  return fnv1a(`${partitionId}:${row}`, 0x5eed) / 4294967296 < fraction;
}

/** Applies the steps to one partition; returns the train and test halves (test empty without a re-split). */
export function transformPartition(part: SamplePartition, partitionId: string, steps: PreprocessSteps, scaling?: Scaling): { train: SampleBuilder; test: SampleBuilder } {
  const scaleOf = new Map<number, number>();
  const offsetOf = new Map<number, number>();
  if (scaling) scaling.index.forEach((f, i) => (scaleOf.set(f, scaling.scale[i]), offsetOf.set(f, scaling.offset[i])));
  const mask = steps.hash ? hashMask(steps.hash.bits) : 0;
  const hashOnly = steps.hash?.features ? new Set(steps.hash.features) : undefined;
  const train = new SampleBuilder();
  const test = new SampleBuilder();
  const row = new SparseRow();
  for (let r = 0; r < part.rows; r++) {
    row.clear();
    for (let k = part.rowStart[r]; k < part.rowStart[r + 1]; k++) {
      let f = part.indices[k];
      let x = part.values[k];
      const scale = scaleOf.get(f);
      if (scale !== undefined) x = (x - offsetOf.get(f)!) * scale;
      if (steps.hash && f !== 0 && (!hashOnly || hashOnly.has(f))) f = (fnv1a(String(f), 0) & mask) >>> 0;
      row.push(f, x);
    }
    row.finish(); // sorted, collisions summed, zeros dropped
    const toTest = steps.testFraction !== undefined && rowGoesToTest(partitionId, r, steps.testFraction);
    (toTest ? test : train).add(part.labels[r], row);
  }
  return { train, test };
}
