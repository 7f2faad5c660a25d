// TEMPORARY local Criteo TSV parser + hasher for the model tests and the kernel benchmark, used only
// until the data engineer's reader lands in runtime/data/ (that one is authoritative). It hashes
// exactly as /work/shared/reference/refkernel.c does:
//   FNV-1a 32-bit with the seed xor'd into the offset basis, bucket = hash & (2^bits - 1);
//   feature 0 = bias (value 1); integer column c (0..12) -> fnv("I", seed c), value log1p(max(x, 0));
//   categorical column c (13..38) -> fnv(its bytes, seed c), value 1. Missing columns are left out
//   (the reference stores them as (0, 0), which adds nothing to a dot product and is skipped in updates).
import { PartitionKind, type SamplePartition } from '../runtime/data/partition';

const FNV_BASIS = 2166136261;
const FNV_PRIME = 16777619;
const TAB = 9;
const NL = 10;
const CR = 13;

function fnvByte(h: number, b: number): number {
  return Math.imul(h ^ b, FNV_PRIME) >>> 0;
}

export function parseCriteoLocal(buf: Uint8Array, bits = 20): SamplePartition {
  const mask = (2 ** bits - 1) >>> 0;
  // fnv("I", seed c) for the 13 integer columns: one fixed bucket each.
  const intBucket = new Uint32Array(13);
  for (let c = 0; c < 13; c++) intBucket[c] = (fnvByte((FNV_BASIS ^ c) >>> 0, 73) & mask) >>> 0;
  let cap = 1 << 16;
  let labels = new Float32Array(cap);
  let rowStart = new Uint32Array(cap + 1);
  let indices = new Uint32Array(cap * 40);
  let values = new Float32Array(cap * 40);
  let rows = 0;
  let nnz = 0;
  const n = buf.length;
  let p = 0;
  while (p < n) {
    // label
    let e = p;
    while (e < n && buf[e] !== TAB && buf[e] !== NL) e++;
    if (e >= n || buf[e] !== TAB) {
      p = e + 1; // no tab: skip the line, as the reference does
      continue;
    }
    if (rows === cap) {
      cap *= 2;
      labels = grow(labels, cap);
      rowStart = grow(rowStart, cap + 1);
      indices = grow(indices, cap * 40);
      values = grow(values, cap * 40);
    }
    labels[rows] = buf[p] === 49 ? 1 : 0;
    indices[nnz] = 0;
    values[nnz++] = 1;
    p = e + 1;
    for (let c = 0; c < 39; c++) {
      if (c < 13) {
        let x = 0;
        let neg = false;
        let len = 0;
        let frac = 0;
        let scale = 1;
        while (p < n) {
          const b = buf[p];
          if (b === TAB || b === NL || b === CR) break;
          if (b === 45) neg = true;
          else if (b === 46) frac = 1;
          else if (frac) {
            scale *= 10;
            x = x * 10 + (b - 48);
          } else x = x * 10 + (b - 48);
          p++;
          len++;
        }
        if (len) {
          x = neg ? -x / scale : x / scale;
          indices[nnz] = intBucket[c];
          values[nnz++] = Math.log1p(x < 0 ? 0 : x);
        }
      } else {
        let h = (FNV_BASIS ^ c) >>> 0;
        let len = 0;
        while (p < n) {
          const b = buf[p];
          if (b === TAB || b === NL || b === CR) break;
          h = Math.imul(h ^ b, FNV_PRIME);
          p++;
          len++;
        }
        if (len) {
          indices[nnz] = (h & mask) >>> 0;
          values[nnz++] = 1;
        }
      }
      if (p < n && buf[p] === TAB) p++;
      else break; // short row: the remaining columns are missing
    }
    while (p < n && buf[p] !== NL) p++;
    p++;
    rows++;
    rowStart[rows] = nnz;
  }
  return {
    kind: PartitionKind.Samples,
    rows,
    labels: labels.subarray(0, rows),
    rowStart: rowStart.subarray(0, rows + 1),
    indices: indices.subarray(0, nnz),
    values: values.subarray(0, nnz),
  };
}

function grow<T extends Float32Array | Uint32Array>(a: T, size: number): T {
  const b = new (a.constructor as { new (n: number): T })(size);
  b.set(a);
  return b;
}

/** Rows [from, to) of a partition as a partition of their own (views, no copy of features). */
export function sliceRows(part: SamplePartition, from: number, to: number): SamplePartition {
  const base = part.rowStart[from];
  const rowStart = new Uint32Array(to - from + 1);
  for (let r = from; r <= to; r++) rowStart[r - from] = part.rowStart[r] - base;
  return {
    kind: PartitionKind.Samples,
    rows: to - from,
    labels: part.labels.subarray(from, to),
    rowStart,
    indices: part.indices.subarray(base, part.rowStart[to]),
    values: part.values.subarray(base, part.rowStart[to]),
  };
}
