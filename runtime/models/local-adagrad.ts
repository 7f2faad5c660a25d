// A worker-local AdaGrad trainer for model averaging (LambdaML's design point): the worker trains
// per sample on its own copy of the rows a chunk touches, at the speed of the wasm kernel, and pushes
// only the change of those rows to the parameter server once per chunk. The weights and AdaGrad
// accumulators stay in wasm memory across chunks and partitions (no per-chunk copy of the model), and
// so do the partitions' rows, up to a byte budget (a worker cycles through its partitions, one
// minibatch or more each: copying a partition in at each switch was a copy per minibatch).
import type { SamplePartition } from '../data/partition';
import { CHUNK_ROWS, type TrainExports } from './logistic';
import { wasmModule } from './wasm/module';

const PAGE = 65536;
/** AdaGrad's initial accumulator, as in the reference kernel. */
export const ADAGRAD_INITIAL_G2 = 1e-6;

/** The id lists collected so far, by partition and first row: a worker's minibatches are the same row
 *  ranges every epoch (and every generation, the environment keeping the decoded partitions), and
 *  collecting one costs a cache miss per entry (the stamp of each of ~40 ids a Criteo row has: as much
 *  as training the rows). `limit`: the model size the ids were checked against. About 5 ids per Criteo
 *  row at model averaging's minibatches, against 40 entries of 8 bytes: a few % of the partition, and
 *  dropped with it. A partition's lists hold at most as many ids as it has entries (other minibatch
 *  sizes or cuts add lists): past that they are dropped and collected again. */
const collected = new WeakMap<SamplePartition, { ids: number; ranges: Map<number, { to: number; limit: number; ids: Uint32Array }> }>();

/** The distinct feature ids of a row range, unsorted (in order of first appearance): one stamp per
 *  feature instead of a sort, which matters for model averaging's large minibatches (tens of thousands
 *  of entries). A range collected before (same partition object) is served from `collected`: the
 *  returned array is shared and must not be modified. */
export class DistinctIds {
  private readonly stamp: Uint32Array;
  private generation = 0;
  private ids = new Uint32Array(1024);

  constructor(featureCount: number) {
    this.stamp = new Uint32Array(featureCount);
  }

  collect(part: SamplePartition, from: number, to: number): Uint32Array {
    let lists = collected.get(part);
    const known = lists?.ranges.get(from);
    if (known && known.to === to && known.limit <= this.stamp.length) return known.ids;
    const ids = this.collectNew(part, from, to).slice();
    if (!lists || lists.ids + ids.length > part.rowStart[part.rows]) collected.set(part, (lists = { ids: 0, ranges: new Map() }));
    const replaced = lists.ranges.get(from);
    lists.ids += ids.length - (replaced?.ids.length ?? 0);
    lists.ranges.set(from, { to, limit: this.stamp.length, ids });
    return ids;
  }

  private collectNew(part: SamplePartition, from: number, to: number): Uint32Array {
    if (++this.generation === 0xffffffff) {
      this.stamp.fill(0);
      this.generation = 1;
    }
    const { indices, rowStart } = part;
    const first = rowStart[from];
    const end = rowStart[to];
    if (this.ids.length < end - first) this.ids = new Uint32Array((end - first) * 2);
    const stamp = this.stamp;
    const generation = this.generation;
    const ids = this.ids;
    let n = 0;
    for (let k = first; k < end; k++) {
      const id = indices[k];
      if (id >= stamp.length) throw new RangeError(`feature id ${id} is outside the model (${stamp.length} weights)`);
      if (stamp[id] !== generation) {
        stamp[id] = generation;
        ids[n++] = id;
      }
    }
    return ids.subarray(0, n);
  }
}

/** Where a partition's columns sit in the trainer's wasm memory (byte offsets), with `positions`: a
 *  column beside `indices` where trainRange() writes the trainer's number of each entry's feature
 *  (`numbered`: the row ranges written, first row to end). */
interface Layout {
  labels: number;
  rowStart: number;
  indices: number;
  values: number;
  positions: number;
  end: number;
  numbered: Map<number, number>;
}

function layoutBytes(part: SamplePartition): number {
  return 4 * (2 * part.rows + 1 + 3 * part.rowStart[part.rows]);
}

export class LocalAdagradTrainer {
  private readonly ex: TrainExports;
  private readonly weightsAt = 0;
  private readonly g2At: number;
  /** Partitions kept in wasm memory, from `residentAt` up to `residentEnd` (at most `residentBytes`). */
  private readonly residentAt: number;
  private residentEnd: number;
  private resident = new WeakMap<SamplePartition, Layout>();
  /** Set once the resident partitions were dropped to make room (at most once per reset()). */
  private dropped = false;
  /** A partition past the budget, copied in after the resident ones for as long as it is trained. */
  private transient: { part: SamplePartition; layout: Layout } | undefined;
  /** trainRange's numbering of the features (number + 1 by feature id; 0: not seen), `seen` of them,
   *  in order of first appearance: the weights and accumulators of a worker's features sit together. */
  private dense: Uint32Array | undefined;
  private seen = 0;
  /** The numbers of each id list trainRange was given. */
  private readonly slots = new WeakMap<Uint32Array, Uint32Array>();
  /** Set once setRows, getRows or train was used. */
  private usedById = false;

  /** `residentBytes`: how much wasm memory may keep partitions between uses (beyond it, a partition
   *  is copied in each time training switches to it; by default, none is kept). */
  constructor(
    readonly featureCount: number,
    private readonly residentBytes = 0,
  ) {
    this.ex = new WebAssembly.Instance(wasmModule(), {}).exports as unknown as TrainExports;
    this.g2At = 4 * featureCount;
    this.residentAt = this.residentEnd = 8 * featureCount;
    this.ensureBytes(this.residentAt);
    this.reset();
  }

  /** Starts the AdaGrad accumulators afresh (a new invocation); the weights are set by setRows (or
   *  trainRange) before any training reads them, and the resident partitions are kept. */
  reset(): void {
    new Float32Array(this.ex.memory.buffer, this.g2At, this.featureCount).fill(ADAGRAD_INITIAL_G2);
    this.dropped = false;
  }

  private ensureBytes(bytes: number): void {
    const have = this.ex.memory.buffer.byteLength;
    if (bytes > have) this.ex.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** The partition's columns in wasm memory: kept from an earlier use, or copied in now (kept if the
   *  budget allows; when it is full of partitions unused since the last reset(), they are dropped once). */
  private layoutOf(part: SamplePartition): Layout {
    const kept = this.resident.get(part) ?? (this.transient?.part === part ? this.transient.layout : undefined);
    if (kept) return kept;
    const bytes = layoutBytes(part);
    if (this.residentEnd + bytes - this.residentAt > this.residentBytes && !this.dropped) {
      // Likely an earlier run's partitions (the environment serves one function version): start over.
      this.dropped = true;
      this.resident = new WeakMap();
      this.residentEnd = this.residentAt;
    }
    const layout = this.copyIn(part, this.residentEnd);
    this.transient = undefined; // overwritten (at residentEnd) by this copy
    if (this.residentEnd + bytes - this.residentAt <= this.residentBytes) {
      this.resident.set(part, layout);
      this.residentEnd += bytes;
    } else {
      this.transient = { part, layout };
    }
    return layout;
  }

  private copyIn(part: SamplePartition, at: number): Layout {
    const nnz = part.rowStart[part.rows];
    this.ensureBytes(at + layoutBytes(part));
    const heap = new Uint8Array(this.ex.memory.buffer);
    const place = (a: Float32Array | Uint32Array): number => {
      heap.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      const where = at;
      at += a.byteLength;
      return where;
    };
    const labels = place(part.labels.subarray(0, part.rows));
    const rowStart = place(part.rowStart.subarray(0, part.rows + 1));
    const indices = place(part.indices.subarray(0, nnz));
    const values = place(part.values.subarray(0, nnz));
    return { labels, rowStart, indices, values, positions: at, end: at + 4 * nnz, numbered: new Map() };
  }

  /** Overwrites the local weights of `ids` (e.g. with values just pulled from the parameter server). */
  setRows(ids: Uint32Array, values: Float32Array): void {
    this.numbering('byId');
    const weights = new Float32Array(this.ex.memory.buffer, this.weightsAt, this.featureCount);
    for (let j = 0; j < ids.length; j++) weights[ids[j]] = values[j];
  }

  /** Reads the local weights of `ids` into `out`. */
  getRows(ids: Uint32Array, out: Float32Array): Float32Array {
    this.numbering('byId');
    const weights = new Float32Array(this.ex.memory.buffer, this.weightsAt, this.featureCount);
    for (let j = 0; j < ids.length; j++) out[j] = weights[ids[j]];
    return out;
  }

  /** One pass of per-sample AdaGrad over rows [from, to) of `part` from the weights `before` of `ids`
   *  (the range's distinct ids, each once, as DistinctIds lists them), writing what training moved
   *  each by into `change` (change[j] = before[j] - the trained weight: a step of rate 1, w -= change).
   *  The same float operations in the same order as setRows, train and getRows, but on the trainer's
   *  own numbering of the features (`dense`: in order of first appearance in what it trained), in
   *  which the weights and AdaGrad accumulators live: each entry's number is written once (a column
   *  beside the partition's in wasm memory) and each id list's numbers kept, so the kernel's random reads and writes
   *  stay within 8 bytes per feature the worker has seen (~0.8 MB for endToEnd's worker, against
   *  the 8 MB by-feature tables) and no pass goes by feature id per minibatch.
   *  A trainer used this way is no longer by feature id: setRows, getRows and train refuse. */
  trainRange(part: SamplePartition, from: number, to: number, ids: Uint32Array, before: Float32Array, lr: number, change: Float32Array): Float32Array {
    this.numbering('dense');
    const layout = this.layoutOf(part);
    const slots = this.slotsOf(ids);
    if (layout.numbered.get(from) !== to) this.numberEntries(part, layout, from, to);
    const n = ids.length;
    const w = new Float32Array(this.ex.memory.buffer, this.weightsAt, this.featureCount);
    for (let j = 0; j < n; j++) w[slots[j]] = before[j];
    for (let s = from; s < to; s += CHUNK_ROWS) {
      this.ex.train(s, Math.min(to, s + CHUNK_ROWS), layout.labels, layout.rowStart, layout.positions, layout.values, this.weightsAt, this.g2At, lr, this.featureCount);
    }
    for (let j = 0; j < n; j++) change[j] = before[j] - w[slots[j]];
    return change;
  }

  /** The trainer's numbers of `ids`, numbering the features not seen yet (kept by list: a feature's
   *  number never changes, and DistinctIds' lists are shared and unmodified). */
  private slotsOf(ids: Uint32Array): Uint32Array {
    const known = this.slots.get(ids);
    if (known) return known;
    const dense = (this.dense ??= new Uint32Array(this.featureCount));
    const slots = new Uint32Array(ids.length);
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j];
      if (id >= this.featureCount) throw new RangeError(`feature id ${id} is outside the model (${this.featureCount} weights)`);
      if (dense[id] === 0) dense[id] = ++this.seen;
      slots[j] = dense[id] - 1;
    }
    this.slots.set(ids, slots);
    return slots;
  }

  /** Writes the trainer's number of each entry of rows [from, to) into the layout's positions column
   *  (the same whatever the range: a feature's number never changes, so other cuts agree). */
  private numberEntries(part: SamplePartition, layout: Layout, from: number, to: number): void {
    const dense = this.dense!;
    const positions = new Uint32Array(this.ex.memory.buffer, layout.positions, part.rowStart[part.rows]);
    const { indices } = part;
    for (let k = part.rowStart[from]; k < part.rowStart[to]; k++) {
      const id = indices[k];
      // Numbered by slotsOf when `ids` is the range's list, as it must be: else its weight was never set.
      if (id >= this.featureCount || dense[id] === 0) throw new RangeError(`feature id ${id} of rows ${from}..${to} is not in the range's id list`);
      positions[k] = dense[id] - 1;
    }
    layout.numbered.set(from, to);
  }

  /** Whether the weights and accumulators are by feature id (setRows, getRows, train) or by the
   *  trainer's numbering (trainRange): one or the other for a trainer's life. */
  private numbering(mode: 'byId' | 'dense'): void {
    if (mode === 'byId' ? this.dense !== undefined : this.usedById) {
      throw new Error('a local trainer keeps its weights either by feature id (setRows, getRows, train) or in its own numbering (trainRange), not both');
    }
    if (mode === 'byId') this.usedById = true;
  }

  /** One pass of per-sample AdaGrad over rows [from, to) of `part`. */
  train(part: SamplePartition, from: number, to: number, lr: number): void {
    this.numbering('byId');
    const { labels, rowStart, indices, values } = this.layoutOf(part);
    for (let s = from; s < to; s += CHUNK_ROWS) {
      try {
        this.ex.train(s, Math.min(to, s + CHUNK_ROWS), labels, rowStart, indices, values, this.weightsAt, this.g2At, lr, this.featureCount);
      } catch (error) {
        if (error instanceof WebAssembly.RuntimeError) throw new RangeError(`a feature id in rows ${s}..${Math.min(to, s + CHUNK_ROWS)} is outside the model (${this.featureCount} weights)`);
        throw error;
      }
    }
  }
}
