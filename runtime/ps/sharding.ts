// Which shard holds which row (parameterServer.shards; docs/parameter-server-protocol.md, "Shards").
//
// Row r of every table lives on shard r mod N, as that shard's row floor(r / N). The row ids are
// already spread evenly: a logistic or softmax model's rows are hashed features (FNV-1a of the
// column and value, runtime/data/hashing.ts), an MF model's are user and item ids numbered densely from
// 0; so a plain modulus balances the shards, and it needs no lookup table on either side. A shard is
// an ordinary parameter server whose tables hold its rows only.
import type { TableSpec } from './types';

export function shardOf(row: number, shards: number): number {
  return row % shards;
}

export function localRow(row: number, shards: number): number {
  return Math.floor(row / shards);
}

/** Rows of a `rows`-row table that shard `shard` of `shards` holds. */
export function shardRows(rows: number, shard: number, shards: number): number {
  return rows > shard ? Math.floor((rows - shard - 1) / shards) + 1 : 0;
}

/** The tables shard `shard` serves: each table's rows on that shard (at least 1: a table may not be
 *  empty), the same optimiser; a random init gets a seed of its own per shard. */
export function shardTables(tables: TableSpec[], shard: number, shards: number): TableSpec[] {
  if (shards === 1) return tables;
  return tables.map((t) => ({
    ...t,
    rows: Math.max(1, shardRows(t.rows, shard, shards)),
    ...(t.init?.type === 'normal' ? { init: { ...t.init, seed: (t.init.seed ?? 1) + 7919 * shard } } : {}),
  }));
}

/** Splits sorted or unsorted global row ids into each shard's local ids, remembering where each came from. */
export class ShardSplit {
  /** Per shard: the local row ids (in the order met). */
  readonly ids: Uint32Array[];
  /** Per shard: the position of each of its rows in the global list. */
  readonly positions: Uint32Array[];

  constructor(rows: ArrayLike<number>, readonly shards: number) {
    const counts = new Uint32Array(shards);
    for (let j = 0; j < rows.length; j++) counts[rows[j] % shards]++;
    this.ids = Array.from(counts, (n) => new Uint32Array(n));
    this.positions = Array.from(counts, (n) => new Uint32Array(n));
    counts.fill(0);
    for (let j = 0; j < rows.length; j++) {
      const s = rows[j] % shards;
      const k = counts[s]++;
      this.ids[s][k] = Math.floor(rows[j] / shards);
      this.positions[s][k] = j;
    }
  }

  /** Gathers `width` floats per row of shard `s` out of a global row-major array. */
  gather(s: number, global: Float32Array, width: number): Float32Array {
    const pos = this.positions[s];
    const out = new Float32Array(pos.length * width);
    if (width === 1) for (let k = 0; k < pos.length; k++) out[k] = global[pos[k]];
    else for (let k = 0; k < pos.length; k++) out.set(global.subarray(pos[k] * width, pos[k] * width + width), k * width);
    return out;
  }

  /** Scatters shard `s`'s reply (width floats per row) into the global row-major array. */
  scatter(s: number, part: Float32Array, global: Float32Array, width: number): void {
    const pos = this.positions[s];
    if (width === 1) for (let k = 0; k < pos.length; k++) global[pos[k]] = part[k];
    else for (let k = 0; k < pos.length; k++) global.set(part.subarray(k * width, k * width + width), pos[k] * width);
  }
}

/** A whole table from its shards' full tables (row r from shard r mod N, row floor(r / N)). */
export function joinShards(parts: Float32Array[], rows: number, width: number): Float32Array {
  const shards = parts.length;
  if (shards === 1) return parts[0];
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const part = parts[r % shards];
    const local = Math.floor(r / shards);
    if (width === 1) out[r] = part[local];
    else out.set(part.subarray(local * width, local * width + width), r * width);
  }
  return out;
}
