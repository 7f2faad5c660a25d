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
 *  column beside `indices` where trainRange() renumbers a range's entries by position in the range's id
 *  list (`renumbered`: the list each range was renumbered for, by first row). */
interface Layout {
  labels: number;
  rowStart: number;
  indices: number;
  values: number;
  positions: number;
  end: number;
  renumbered: Map<number, { to: number; ids: Uint32Array }>;
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
  /** A by-feature scratch table for renumber() (all zeros between uses). */
  private marks: Uint32Array | undefined;

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

  /** Starts the AdaGrad accumulators afresh (a new invocation); the weights are set by setRows before
   *  any training reads them, and the resident partitions are kept. */
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
    return { labels, rowStart, indices, values, positions: at, end: at + 4 * nnz, renumbered: new Map() };
  }

  /** Overwrites the local weights of `ids` (e.g. with values just pulled from the parameter server). */
  setRows(ids: Uint32Array, values: Float32Array): void {
    const weights = new Float32Array(this.ex.memory.buffer, this.weightsAt, this.featureCount);
    for (let j = 0; j < ids.length; j++) weights[ids[j]] = values[j];
  }

  /** out[j] = before[j] - the local weight of ids[j]: what training moved each row by, as a step
   *  of rate 1 would take it (w -= out). */
  changeOf(ids: Uint32Array, before: Float32Array, out: Float32Array): Float32Array {
    const weights = new Float32Array(this.ex.memory.buffer, this.weightsAt, this.featureCount);
    for (let j = 0; j < ids.length; j++) out[j] = before[j] - weights[ids[j]];
    return out;
  }

  /** Reads the local weights of `ids` into `out`. */
  getRows(ids: Uint32Array, out: Float32Array): Float32Array {
    const weights = new Float32Array(this.ex.memory.buffer, this.weightsAt, this.featureCount);
    for (let j = 0; j < ids.length; j++) out[j] = weights[ids[j]];
    return out;
  }

  /** One pass of per-sample AdaGrad over rows [from, to) of `part` from the weights `before` of `ids`
   *  (the range's distinct ids, each once, as DistinctIds lists them), writing what training moved
   *  each by into `change` (change[j] = before[j] - the trained weight: a step of rate 1, w -= change).
   *  The same float operations in the same order as setRows, train and changeOf, but the kernel runs
   *  on a compact block: the range's weights and AdaGrad accumulators by position in `ids`, the range's
   *  entries renumbered by position (once per id list, kept with the partition's columns). So the
   *  weights go in and the change comes out in sequential passes, and the kernel's random reads and
   *  writes stay in 8 bytes per distinct id (~230 KB for a Criteo partition of 5,625 rows) instead of
   *  the 8 MB by-feature tables; only the accumulators are gathered and scattered by feature id.
   *  The by-feature weights (setRows, getRows) are not updated. */
  trainRange(part: SamplePartition, from: number, to: number, ids: Uint32Array, before: Float32Array, lr: number, change: Float32Array): Float32Array {
    const layout = this.layoutOf(part);
    const known = layout.renumbered.get(from);
    if (known?.ids !== ids || known.to !== to) this.renumber(part, layout, from, to, ids);
    const n = ids.length;
    // The block goes past everything in use (the resident partitions, a transient one).
    const wAt = Math.max(this.residentEnd, this.transient?.layout.end ?? 0);
    const g2At = wAt + 4 * n;
    this.ensureBytes(g2At + 4 * n);
    const buffer = this.ex.memory.buffer;
    const g2 = new Float32Array(buffer, this.g2At, this.featureCount);
    const w = new Float32Array(buffer, wAt, n);
    const q = new Float32Array(buffer, g2At, n);
    w.set(before.subarray(0, n));
    for (let j = 0; j < n; j++) q[j] = g2[ids[j]];
    for (let s = from; s < to; s += CHUNK_ROWS) {
      this.ex.train(s, Math.min(to, s + CHUNK_ROWS), layout.labels, layout.rowStart, layout.positions, layout.values, wAt, g2At, lr, n);
    }
    for (let j = 0; j < n; j++) {
      change[j] = before[j] - w[j];
      g2[ids[j]] = q[j];
    }
    return change;
  }

  /** Writes the positions in `ids` of the entries of rows [from, to) into the layout's positions column. */
  private renumber(part: SamplePartition, layout: Layout, from: number, to: number, ids: Uint32Array): void {
    const marks = (this.marks ??= new Uint32Array(this.featureCount));
    for (let j = 0; j < ids.length; j++) marks[ids[j]] = j + 1;
    const first = part.rowStart[from];
    const end = part.rowStart[to];
    const positions = new Uint32Array(this.ex.memory.buffer, layout.positions, part.rowStart[part.rows]);
    const { indices } = part;
    let missing = -1;
    for (let k = first; k < end; k++) {
      const mark = indices[k] < marks.length ? marks[indices[k]] : 0;
      if (mark === 0) missing = k;
      positions[k] = mark - 1;
    }
    for (let j = 0; j < ids.length; j++) marks[ids[j]] = 0;
    if (missing >= 0) {
      layout.renumbered.delete(from);
      const id = indices[missing];
      throw new RangeError(id >= this.featureCount ? `feature id ${id} is outside the model (${this.featureCount} weights)` : `feature id ${id} of rows ${from}..${to} is not in the range's id list`);
    }
    // Ranges of another cut that overlap this one are renumbered again when next trained.
    for (const [at, range] of layout.renumbered) if (at < to && range.to > from) layout.renumbered.delete(at);
    layout.renumbered.set(from, { to, ids });
  }

  /** One pass of per-sample AdaGrad over rows [from, to) of `part`. */
  train(part: SamplePartition, from: number, to: number, lr: number): void {
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
