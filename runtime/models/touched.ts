// TouchedSet: the unique feature (or user / item) ids one minibatch touches, sorted, with the reverse
// map id -> position. Workers pull and push exactly these ids, and the gradient kernels write their
// output aligned with them (gradOut[position]).
//
//   const touched = new TouchedSet(featureCount);         // once per worker
//   const ids = touched.collect(part, from, to);          // sample rows [from, to): their feature ids
//   const ids = touched.collectIds(part.users, from, to); // any id column (ratings: users or items)
//   touched.positionOf[id]                                // position in `ids`, or -1
//   touched.local                                         // position of each entry collected, in order
//
// No allocation per minibatch: buffers grow to the largest batch seen and are reused. They live in
// the set's own WebAssembly memory and collect runs in wasm (logistic.wat `collect`: in JS, a hash
// table and a sort of the unique ids, it was half of an asynchronous-SGD worker's CPU per sample);
// logisticGradient runs its loops over the same memory (`kernel`). `ids` and `local` are views into
// that memory: valid until the next collect (or a gradient over more rows than the last collect).
//
// How: a radix sort of the batch's entries by id (carrying each entry's index), then one scan that
// numbers the distinct ids: all of it sequential or batch-sized memory (tens of KB) and no
// data-dependent branch; the hash table it replaced (found / new / collision) mispredicted about one
// entry in four and was 15-20 % slower (A/B in one process, load 15). Not marking positionOf
// directly: it spans the whole feature space (4 MB for 2^20 features), so marking and resetting it
// costs a cache miss per feature. positionOf is brought up to date lazily, on its first read after a
// collect, and only the entries set by the previous collect are reset. The kernels use `local`
// instead: one position per collected entry, read in order.
import type { SamplePartition } from '../data/partition';
import { wasmModule } from './wasm/module';

const RADIX_BITS = 10;
const PAGE = 65536;

/** The wasm functions (logistic.wat) over a set's memory; pointers are byte offsets into it. */
export interface MinibatchExports {
  memory: WebAssembly.Memory;
  collect(src: number, n: number, limit: number, ids: number, local: number, aId: number, aK: number, bId: number, bK: number, counts: number, passes: number): number;
  margins(rows: number, rowStart: number, first: number, local: number, values: number, weights: number, z: number): void;
  scatter(rows: number, rowStart: number, first: number, local: number, values: number, gr: number, grad: number, n: number, scale: number): void;
}

/** Where each array sits in the set's wasm memory (byte offsets), for `entries` entries and `rows` rows. */
export interface MinibatchLayout {
  entries: number;
  rows: number;
  counts: number;
  local: number;
  ids: number;
  /** The collected source entries (u32), and the sort's other arrays (ids and entry indexes). */
  source: number;
  sortK: number;
  sortId2: number;
  sortK2: number;
  /** The gradient's inputs and output: in the collect's scratch, dead once it returns, so a set
   *  needs no more memory than the JS version's arrays did. */
  values: number;
  weights: number;
  grad: number;
  rowStart: number;
  z: number;
  gr: number;
  end: number;
}

function layoutFor(entries: number, rows: number): MinibatchLayout {
  let at = 0;
  const take = (bytes: number): number => {
    const where = at;
    at += Math.ceil(bytes / 16) * 16;
    return where;
  };
  const words = 4 * Math.max(1, entries);
  const counts = take(4 << RADIX_BITS);
  const local = take(words);
  const ids = take(words);
  const source = take(words);
  const sortK = take(words);
  const sortId2 = take(words);
  const sortK2 = take(words);
  return {
    entries,
    rows,
    counts,
    local,
    ids,
    source,
    sortK,
    sortId2,
    sortK2,
    values: sortK,
    weights: sortK2,
    grad: sortId2,
    rowStart: take(4 * (rows + 1)),
    z: take(8 * Math.max(1, rows)),
    gr: take(8 * Math.max(1, rows)),
    end: at,
  };
}

export class TouchedSet {
  /** Made on the first read of positionOf: filling 4 MB (2^20 features) costs 10-40 ms of page faults
   *  on a VM, and the steps' kernels never read it (they use `local`): a cold start need not pay it. */
  private positions: Int32Array | undefined;
  private positionsValid = true;
  private written = new Uint32Array(0); // ids whose positionOf entry is set (to reset later)
  private writtenCount = 0;

  private readonly ex: MinibatchExports;
  private at: MinibatchLayout;
  private count = 0;

  /** What the last collect covered, so the kernels can check that `local` is theirs. */
  lastSource: Uint32Array | undefined;
  lastFirst = 0;
  lastEnd = 0;

  private readonly passes: number;

  /** `ranges`: where collect() saves what it found by partition and row range, and finds it again
   *  (shared by the sets of one worker, kept by its environment). Without it, every collect sorts. */
  constructor(readonly featureCount: number, private readonly ranges?: CollectedRanges) {
    const bits = Math.max(1, Math.ceil(Math.log2(Math.max(2, featureCount))));
    this.passes = Math.ceil(bits / RADIX_BITS);
    this.ex = new WebAssembly.Instance(wasmModule(), {}).exports as unknown as MinibatchExports;
    this.at = this.relayout(1024, 256);
  }

  /** Global id -> position in the last collected set, -1 for ids not in it. */
  get positionOf(): Int32Array {
    if (!this.positions) {
      this.positions = new Int32Array(this.featureCount).fill(-1);
      this.writtenCount = 0;
      this.positionsValid = false;
    }
    if (!this.positionsValid) this.syncPositions();
    return this.positions;
  }

  /** Sorted unique ids of the last collect (a view, valid until the next collect). */
  get current(): Uint32Array {
    return new Uint32Array(this.ex.memory.buffer, this.at.ids, this.count);
  }

  /** Position of each id collected, in collection order: local[k - first] for entry k. */
  get local(): Int32Array {
    return new Int32Array(this.ex.memory.buffer, this.at.local, this.lastEnd - this.lastFirst);
  }

  /** Sorted unique feature ids of sample rows [from, to). The view is valid until the next collect. */
  collect(part: SamplePartition, from: number, to: number): Uint32Array {
    const first = part.rowStart[from];
    const end = part.rowStart[to];
    const saved = this.ranges?.find(part.indices, first, end, this.featureCount);
    if (saved) return this.restore(part.indices, first, end, to - from, saved);
    const ids = this.gather(part.indices, first, end, to - from);
    this.ranges?.save(part.indices, first, end, this.featureCount, ids, this.local);
    return ids;
  }

  /** Sorted unique values of ids[from .. to) (e.g. the users or items of a ratings minibatch). */
  collectIds(ids: Uint32Array, from: number, to: number): Uint32Array {
    return this.gather(ids, from, to, 0);
  }

  /** True when `local` describes source[first .. end) (the kernels' fast path). */
  covers(source: Uint32Array, first: number, end: number): boolean {
    return this.lastSource === source && this.lastFirst === first && this.lastEnd === end;
  }

  /** The wasm functions and a layout with room for `entries` entries and `rows` rows (for the
   *  gradient kernels: ../logistic.ts). The ids of the last collect are kept. */
  kernel(entries: number, rows: number): { ex: MinibatchExports; at: MinibatchLayout } {
    if (entries > this.at.entries || rows > this.at.rows) this.at = this.relayout(entries, rows);
    return { ex: this.ex, at: this.at };
  }

  /** Marks `local` as no longer the last collect's (a kernel wrote other positions into it). */
  forgetLocal(): void {
    this.lastSource = undefined;
  }

  private gather(source: Uint32Array, first: number, end: number, rows: number): Uint32Array {
    const total = end - first;
    const at = this.kernel(total, rows).at;
    const limit = this.featureCount;
    new Uint32Array(this.ex.memory.buffer, at.source, total).set(source.subarray(first, end));
    const n = this.ex.collect(at.source, total, limit, at.ids, at.local, at.source, at.sortK, at.sortId2, at.sortK2, at.counts, this.passes);
    if (n < 0) {
      this.count = 0;
      this.lastSource = undefined;
      this.positionsValid = false;
      throw new RangeError(`id ${source[first - 1 - n]} is outside the table (${limit} rows)`);
    }
    this.count = n;
    this.positionsValid = false;
    this.lastSource = source;
    this.lastFirst = first;
    this.lastEnd = end;
    return new Uint32Array(this.ex.memory.buffer, at.ids, n);
  }

  /** Makes a saved collect of source[first .. end) the last collect. */
  private restore(source: Uint32Array, first: number, end: number, rows: number, saved: SavedRange): Uint32Array {
    const at = this.kernel(end - first, rows).at;
    const heap = this.ex.memory.buffer;
    new Int32Array(heap, at.local, saved.local.length).set(saved.local);
    new Uint32Array(heap, at.ids, saved.ids.length).set(saved.ids);
    this.count = saved.ids.length;
    this.positionsValid = false;
    this.lastSource = source;
    this.lastFirst = first;
    this.lastEnd = end;
    return new Uint32Array(heap, at.ids, this.count);
  }

  /** A layout with room for at least twice what outgrew the old one (no regrowth per slightly larger
   *  batch); grows the memory and keeps the last collect's ids. */
  private relayout(entries: number, rows: number): MinibatchLayout {
    const old = this.at as MinibatchLayout | undefined;
    const grown = (need: number, had = 0) => (need > had ? Math.max(need, 2 * had) : had);
    const at = layoutFor(grown(entries, old?.entries), grown(rows, old?.rows));
    const kept = old ? new Uint32Array(this.ex.memory.buffer, old.ids, this.count).slice() : new Uint32Array(0);
    const have = this.ex.memory.buffer.byteLength;
    if (at.end > have) this.ex.memory.grow(Math.ceil((at.end - have) / PAGE));
    new Uint32Array(this.ex.memory.buffer, at.ids, kept.length).set(kept);
    this.lastSource = undefined; // local was not kept
    return at;
  }

  private syncPositions(): void {
    const pos = this.positions!;
    const ids = this.current;
    for (let j = 0; j < this.writtenCount; j++) pos[this.written[j]] = -1;
    if (this.written.length < this.count) this.written = new Uint32Array(Math.max(this.count, 2 * this.written.length));
    for (let j = 0; j < this.count; j++) {
      pos[ids[j]] = j;
      this.written[j] = ids[j];
    }
    this.writtenCount = this.count;
    this.positionsValid = true;
  }
}

/** One saved collect: the sorted unique ids of an entry range, each entry's position among them, and
 *  the table size the ids were checked against. */
interface SavedRange {
  end: number;
  limit: number;
  ids: Uint32Array;
  local: Int32Array;
}

/** The ranges saved for one source array (a partition's indices), by first entry. */
interface SourceRanges {
  ranges: Map<number, SavedRange>;
  /** Entries (local) saved: at most 2x the source's, then the source's ranges start afresh (other
   *  minibatch cuts, a budget's short last minibatch: ranges no epoch repeats). */
  entries: number;
  bytes: number;
}

/** The collects of a worker's minibatches (TouchedSet's `ranges`), by source array and entry range,
 *  for as long as the source array lives (a WeakMap: dropped with the partition), within `budgetBytes`
 *  in all (past it, ranges not saved yet are sorted each time: what is saved stays, so a worker cycling
 *  through more partitions than fit keeps the speed-up on those that do). Sources must not change
 *  once collected: decoded partitions never do. About 5.3 bytes per Criteo entry (a position, and ids
 *  for a third of the entries at minibatch 200), against the partition's 8. */
export class CollectedRanges {
  private readonly bySource = new WeakMap<Uint32Array, SourceRanges>();
  /** Bytes saved for sources still alive (a collected source's bytes come off when it is collected). */
  private saved = 0;
  private readonly freed = new FinalizationRegistry<SourceRanges>((held) => (this.saved -= held.bytes));
  /** Collects served from a saved range, and collects sorted (for the bench and tests). */
  hits = 0;
  misses = 0;

  constructor(readonly budgetBytes: number) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.saved;
  }

  find(source: Uint32Array, first: number, end: number, limit: number): SavedRange | undefined {
    const range = this.bySource.get(source)?.ranges.get(first);
    // Ids checked against a larger table may be outside this one: sorted (and refused) again.
    if (range && range.end === end && range.limit <= limit) {
      this.hits++;
      return range;
    }
    this.misses++;
    return undefined;
  }

  save(source: Uint32Array, first: number, end: number, limit: number, ids: Uint32Array, local: Int32Array): void {
    const bytes = 4 * (ids.length + local.length);
    let held = this.bySource.get(source);
    if (held && held.entries + local.length > 2 * source.length) {
      this.saved -= held.bytes;
      held.ranges.clear();
      held.entries = held.bytes = 0;
    }
    if (this.saved + bytes > this.budgetBytes) return;
    if (!held) {
      held = { ranges: new Map(), entries: 0, bytes: 0 };
      this.bySource.set(source, held);
      this.freed.register(source, held);
    }
    const replaced = held.ranges.get(first);
    if (replaced) {
      held.entries -= replaced.local.length;
      held.bytes -= 4 * (replaced.ids.length + replaced.local.length);
      this.saved -= 4 * (replaced.ids.length + replaced.local.length);
    }
    held.ranges.set(first, { end, limit, ids: ids.slice(), local: local.slice() });
    held.entries += local.length;
    held.bytes += bytes;
    this.saved += bytes;
  }
}
