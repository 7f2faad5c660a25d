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
// No allocation per minibatch: buffers grow to the largest batch seen and are reused.
//
// Why a small hash table rather than marking positionOf directly: positionOf spans the whole feature
// space (4 MB for 2^20 features), so marking and resetting it costs a cache miss per feature; the
// table is sized to the batch (tens of KB, in L2). positionOf is brought up to date lazily, on its
// first read after a collect, and only the entries set by the previous collect are reset. The kernels
// use `local` instead: one position per collected entry, read in order.
import type { SamplePartition } from '../data/partition';

const RADIX_BITS = 10;
const EMPTY = -1;
const HASH_MULTIPLIER = -1640531535; // 0x9e3779b1 (Fibonacci hashing) as an int32

export class TouchedSet {
  /** Made on the first read of positionOf: filling 4 MB (2^20 features) costs 10-40 ms of page faults
   *  on a VM, and the steps' kernels never read it (they use `local`): a cold start need not pay it. */
  private positions: Int32Array | undefined;
  private positionsValid = true;
  private written = new Uint32Array(0); // ids whose positionOf entry is set (to reset later)
  private writtenCount = 0;

  private ids = new Uint32Array(1024); // unique ids; sorted after collect
  private order = new Uint32Array(1024); // slot of each sorted id (carried through the sort)
  private scratchIds = new Uint32Array(1024);
  private scratchOrder = new Uint32Array(1024);
  private slotToPos = new Int32Array(1024);
  private count = 0;

  private keys = new Int32Array(4096).fill(EMPTY); // hash table: id (EMPTY = free) -> slot
  private slots = new Int32Array(4096);
  private tableBits = 12;

  /** Position of each id collected, in collection order: local[k - first] for entry k. */
  local = new Int32Array(1024);
  /** What the last collect covered, so the kernels can check that `local` is theirs. */
  lastSource: Uint32Array | undefined;
  lastFirst = 0;
  lastEnd = 0;

  private readonly passes: number;
  private readonly counts = new Uint32Array(1 << RADIX_BITS);

  constructor(readonly featureCount: number) {
    const bits = Math.max(1, Math.ceil(Math.log2(Math.max(2, featureCount))));
    this.passes = Math.ceil(bits / RADIX_BITS);
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
    return this.ids.subarray(0, this.count);
  }

  /** Sorted unique feature ids of sample rows [from, to). The view is valid until the next collect. */
  collect(part: SamplePartition, from: number, to: number): Uint32Array {
    return this.gather(part.indices, part.rowStart[from], part.rowStart[to]);
  }

  /** Sorted unique values of ids[from .. to) (e.g. the users or items of a ratings minibatch). */
  collectIds(ids: Uint32Array, from: number, to: number): Uint32Array {
    return this.gather(ids, from, to);
  }

  /** True when `local` describes source[first .. end) (the kernels' fast path). */
  covers(source: Uint32Array, first: number, end: number): boolean {
    return this.lastSource === source && this.lastFirst === first && this.lastEnd === end;
  }

  private gather(source: Uint32Array, first: number, end: number): Uint32Array {
    const total = end - first;
    this.reserve(total);
    const keys = this.keys;
    const slots = this.slots;
    const ids = this.ids;
    const local = this.local;
    const shift = 32 - this.tableBits;
    const tableMask = keys.length - 1;
    const limit = this.featureCount;
    let n = 0;
    for (let k = first; k < end; k++) {
      const id = source[k] | 0; // < featureCount <= 2^31: an int32
      if (id >= limit || id < 0) throw new RangeError(`id ${source[k]} is outside the table (${limit} rows)`);
      let h = Math.imul(id, HASH_MULTIPLIER) >>> shift;
      for (;;) {
        const key = keys[h];
        if (key === id) {
          local[k - first] = slots[h];
          break;
        }
        if (key === EMPTY) {
          keys[h] = id;
          slots[h] = n;
          local[k - first] = n;
          ids[n++] = id;
          break;
        }
        h = (h + 1) & tableMask;
      }
    }
    // Free the table cells used (each is found again by its id), rather than clearing it all.
    for (let j = 0; j < n; j++) {
      let h = Math.imul(ids[j], HASH_MULTIPLIER) >>> shift;
      while (keys[h] !== EMPTY) {
        keys[h] = EMPTY;
        h = (h + 1) & tableMask;
      }
    }
    // Sort the ids, carrying their slots, then turn slots into sorted positions.
    const order = this.order;
    for (let j = 0; j < n; j++) order[j] = j;
    this.sort(n);
    const sortedOrder = this.order;
    const slotToPos = this.slotToPos;
    for (let j = 0; j < n; j++) slotToPos[sortedOrder[j]] = j;
    for (let k = 0; k < total; k++) local[k] = slotToPos[local[k]];
    this.count = n;
    this.positionsValid = false;
    this.lastSource = source;
    this.lastFirst = first;
    this.lastEnd = end;
    return this.ids.subarray(0, n);
  }

  private reserve(total: number): void {
    if (this.local.length < total) this.local = new Int32Array(Math.max(total, 2 * this.local.length));
    if (this.ids.length < total) {
      const size = Math.max(total, 2 * this.ids.length);
      this.ids = new Uint32Array(size);
      this.order = new Uint32Array(size);
      this.scratchIds = new Uint32Array(size);
      this.scratchOrder = new Uint32Array(size);
      this.slotToPos = new Int32Array(size);
    }
    // Keep the table at most half full.
    if (this.keys.length < 2 * total) {
      let bits = this.tableBits;
      while (1 << bits < 2 * total) bits++;
      this.tableBits = bits;
      this.keys = new Int32Array(1 << bits).fill(EMPTY);
      this.slots = new Int32Array(1 << bits);
    }
  }

  private syncPositions(): void {
    const pos = this.positions!;
    for (let j = 0; j < this.writtenCount; j++) pos[this.written[j]] = -1;
    if (this.written.length < this.count) this.written = new Uint32Array(Math.max(this.count, this.ids.length));
    for (let j = 0; j < this.count; j++) {
      pos[this.ids[j]] = j;
      this.written[j] = this.ids[j];
    }
    this.writtenCount = this.count;
    this.positionsValid = true;
  }

  /** LSD radix sort of ids[0 .. n) by value, moving order[] along; results end in this.ids/order. */
  private sort(n: number): void {
    if (n <= 32) {
      const a = this.ids;
      const o = this.order;
      for (let i = 1; i < n; i++) {
        const x = a[i];
        const y = o[i];
        let j = i - 1;
        while (j >= 0 && a[j] > x) {
          a[j + 1] = a[j];
          o[j + 1] = o[j];
          j--;
        }
        a[j + 1] = x;
        o[j + 1] = y;
      }
      return;
    }
    const counts = this.counts;
    const mask = (1 << RADIX_BITS) - 1;
    let src = this.ids;
    let srcO = this.order;
    let dst = this.scratchIds;
    let dstO = this.scratchOrder;
    for (let pass = 0, shift = 0; pass < this.passes; pass++, shift += RADIX_BITS) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(src[i] >>> shift) & mask]++;
      let sum = 0;
      for (let d = 0; d <= mask; d++) {
        const c = counts[d];
        counts[d] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const x = src[i];
        const at = counts[(x >>> shift) & mask]++;
        dst[at] = x;
        dstO[at] = srcO[i];
      }
      const t = src;
      src = dst;
      dst = t;
      const tO = srcO;
      srcO = dstO;
      dstO = tO;
    }
    // After an odd number of passes the result sits in the scratch arrays: swap the roles.
    this.ids = src;
    this.order = srcO;
    this.scratchIds = dst;
    this.scratchOrder = dstO;
  }
}
