// One row's sparse features as they are gathered, and the builders that collect rows into a partition.
import { encodeRatings, encodeSamples, ratingBytes, sampleBytes } from './partition';

/** A row's (index, value) pairs. finish() sorts them by index, sums the values of repeated indices
 *  (hash collisions) into one pair, and drops zero values: workers rely on sorted, unique indices. */
export class SparseRow {
  idx: Uint32Array = new Uint32Array(64);
  val: Float64Array = new Float64Array(64);
  n = 0;

  clear(): void {
    this.n = 0;
  }

  /** Makes room for n pairs (dropping the ones held). */
  reserve(n: number): void {
    if (this.idx.length < n) {
      this.idx = new Uint32Array(n);
      this.val = new Float64Array(n);
    }
  }

  push(index: number, value: number): void {
    if (this.n === this.idx.length) {
      const idx = new Uint32Array(this.n * 2);
      idx.set(this.idx);
      this.idx = idx;
      const val = new Float64Array(this.n * 2);
      val.set(this.val);
      this.val = val;
    }
    this.idx[this.n] = index;
    this.val[this.n] = value;
    this.n++;
  }

  finish(): void {
    const { idx, val } = this;
    const n = this.n;
    if (n <= 64) {
      // Insertion sort: rows are short (Criteo: 40 pairs) and often sorted already (libsvm).
      for (let i = 1; i < n; i++) {
        const k = idx[i];
        const v = val[i];
        let j = i - 1;
        while (j >= 0 && idx[j] > k) {
          idx[j + 1] = idx[j];
          val[j + 1] = val[j];
          j--;
        }
        idx[j + 1] = k;
        val[j + 1] = v;
      }
    } else {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => idx[a] - idx[b]);
      const sortedIdx = order.map((i) => idx[i]);
      const sortedVal = order.map((i) => val[i]);
      for (let i = 0; i < n; i++) {
        idx[i] = sortedIdx[i];
        val[i] = sortedVal[i];
      }
    }
    let out = 0;
    for (let i = 0; i < n; ) {
      const k = idx[i];
      let sum = 0;
      while (i < n && idx[i] === k) sum += val[i++];
      if (sum !== 0) {
        idx[out] = k;
        val[out] = sum;
        out++;
      }
    }
    this.n = out;
  }
}

/** Collects sample rows (label + sorted sparse features) into one partition's columns. */
export class SampleBuilder {
  rows = 0;
  nnz = 0;
  private labels: Float32Array = new Float32Array(1024);
  private rowStart: Uint32Array = new Uint32Array(1025);
  /** The features gathered, [0, nnz); readers that write rows in place (beginRow) write after nnz. */
  indices: Uint32Array = new Uint32Array(1 << 16);
  values: Float32Array = new Float32Array(1 << 16);

  /** `partitionRows`: the rows a partition will hold, when known (deploy). The arrays then grow once to
   *  about their final size (projected from the features per row so far) instead of doubling: no run of
   *  ever larger arrays left to the garbage collector, no capacity up to twice what is used. */
  constructor(private readonly partitionRows = 0) {}

  /** The size of the partition take() would encode now. */
  get encodedBytes(): number {
    return sampleBytes(this.rows, this.nnz);
  }

  add(label: number, row: SparseRow): void {
    this.beginRow(row.n);
    this.labels[this.rows] = label;
    const { indices, values, nnz } = this;
    const { idx, val, n } = row;
    for (let i = 0; i < n; i++) {
      indices[nnz + i] = idx[i];
      values[nnz + i] = val[i];
    }
    this.nnz = nnz + n;
    this.rows++;
    this.rowStart[this.rows] = this.nnz;
  }

  /** Makes room for one more row of up to maxNnz pairs, to be written at indices/values[nnz ..]
   *  (SampleReader.toSampleInto) and then counted by endRow. */
  beginRow(maxNnz: number): void {
    if (this.rows + 1 >= this.labels.length) {
      this.labels = growF32(this.labels, Math.max(this.labels.length * 2, this.partitionRows + 1));
      this.rowStart = growU32(this.rowStart, this.labels.length + 1);
    }
    if (this.nnz + maxNnz > this.indices.length) {
      // 5 % over the projection: rows of a later part of the file may hold a few more features. Past a
      // wrong projection the arrays grow by a quarter at least.
      const projected = this.rows > 0 && this.rows < this.partitionRows ? Math.ceil((this.nnz / this.rows) * this.partitionRows * 1.05) : 0;
      const size = Math.max(this.nnz + maxNnz, projected, Math.ceil(this.indices.length * (projected ? 1.25 : 2)));
      this.indices = growU32(this.indices, size);
      this.values = growF32(this.values, size);
    }
  }

  /** Adds the row whose n pairs were written at indices/values[nnz ..] after beginRow. */
  endRow(label: number, n: number): void {
    this.labels[this.rows] = label;
    this.nnz += n;
    this.rows++;
    this.rowStart[this.rows] = this.nnz;
  }

  /** Encodes the rows gathered so far (into the start of `into`, of at least encodedBytes, when given)
   *  and starts an empty partition. */
  take(into?: Buffer): Buffer {
    const buffer = encodeSamples({ rows: this.rows, labels: this.labels, rowStart: this.rowStart, indices: this.indices, values: this.values }, into);
    this.rows = 0;
    this.nnz = 0;
    return buffer;
  }
}

/** Collects (user, item, rating) triples into one partition's columns. */
export class RatingBuilder {
  rows = 0;
  readonly nnz = 0;
  private users: Uint32Array = new Uint32Array(1024);
  private items: Uint32Array = new Uint32Array(1024);
  private ratings: Float32Array = new Float32Array(1024);

  add(user: number, item: number, rating: number): void {
    if (this.rows === this.users.length) {
      this.users = growU32(this.users, this.rows * 2);
      this.items = growU32(this.items, this.rows * 2);
      this.ratings = growF32(this.ratings, this.rows * 2);
    }
    this.users[this.rows] = user;
    this.items[this.rows] = item;
    this.ratings[this.rows] = rating;
    this.rows++;
  }

  /** The size of the partition take() would encode now. */
  get encodedBytes(): number {
    return ratingBytes(this.rows);
  }

  /** As SampleBuilder.take. */
  take(into?: Buffer): Buffer {
    const buffer = encodeRatings({ rows: this.rows, users: this.users, items: this.items, ratings: this.ratings }, into);
    this.rows = 0;
    return buffer;
  }
}

function growF32(array: Float32Array, size: number): Float32Array {
  const bigger = new Float32Array(size);
  bigger.set(array);
  return bigger;
}

function growU32(array: Uint32Array, size: number): Uint32Array {
  const bigger = new Uint32Array(size);
  bigger.set(array);
  return bigger;
}
