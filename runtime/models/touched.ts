// TouchedSet: the unique feature (or user / item) ids one minibatch touches, sorted, with the reverse
// map id -> position. Workers pull and push exactly these ids, and the gradient kernels write their
// output aligned with them (gradOut[position]).
//
//   const touched = new TouchedSet(featureCount);       // once per worker
//   const ids = touched.collect(part, from, to);        // sample rows [from, to): their feature ids
//   const ids = touched.collectIds(part.users, from, to); // any id column (ratings: users or items)
//   touched.positionOf[id]                              // position in `ids`, or -1
//
// No allocation per minibatch: buffers grow to the largest batch seen and are reused, and only the
// entries of positionOf set by the previous collect are reset (never the whole featureCount array).
import type { SamplePartition } from '../data/partition';

export class TouchedSet {
  /** Global id -> position in the last collected set, -1 for ids not in it. */
  readonly positionOf: Int32Array;
  private ids: Uint32Array;
  private count = 0;

  constructor(readonly featureCount: number) {
    this.positionOf = new Int32Array(featureCount).fill(-1);
    this.ids = new Uint32Array(1024);
  }

  /** Sorted unique ids of the last collect (a view, valid until the next collect). */
  get current(): Uint32Array {
    return this.ids.subarray(0, this.count);
  }

  /** Sorted unique feature ids of sample rows [from, to). The view is valid until the next collect. */
  collect(part: SamplePartition, from: number, to: number): Uint32Array {
    const rowStart = part.rowStart;
    return this.gather(part.indices, rowStart[from], rowStart[to]);
  }

  /** Sorted unique values of ids[from .. to) (e.g. the users or items of a ratings minibatch). */
  collectIds(ids: Uint32Array, from: number, to: number): Uint32Array {
    return this.gather(ids, from, to);
  }

  private gather(source: Uint32Array, from: number, to: number): Uint32Array {
    const pos = this.positionOf;
    let ids = this.ids;
    // Reset only what the previous call marked.
    for (let j = 0; j < this.count; j++) pos[ids[j]] = -1;
    if (ids.length < to - from) ids = this.ids = new Uint32Array(Math.max(to - from, 2 * ids.length));
    const limit = this.featureCount;
    let n = 0;
    for (let k = from; k < to; k++) {
      const id = source[k];
      if (id >= limit) throw new RangeError(`id ${id} is outside the table (${limit} rows)`);
      if (pos[id] < 0) {
        pos[id] = 0; // seen; the real position is set after sorting
        ids[n++] = id;
      }
    }
    const set = ids.subarray(0, n);
    set.sort();
    for (let j = 0; j < n; j++) pos[set[j]] = j;
    this.count = n;
    return set;
  }
}
