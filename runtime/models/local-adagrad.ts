// A worker-local AdaGrad trainer for model averaging (LambdaML's design point): the worker trains
// per sample on its own copy of the rows a chunk touches, at the speed of the wasm kernel, and pushes
// only the change of those rows to the parameter server once per chunk. The weights and AdaGrad
// accumulators stay in wasm memory across chunks and partitions (no per-chunk copy of the model).
import type { SamplePartition } from '../data/partition';
import { CHUNK_ROWS, type TrainExports } from './logistic';
import { wasmModule } from './wasm/module';

const PAGE = 65536;
/** AdaGrad's initial accumulator, as in the reference kernel. */
export const ADAGRAD_INITIAL_G2 = 1e-6;

/** The distinct feature ids of a row range, unsorted: one stamp per feature instead of a sort, which
 *  matters for model averaging's large minibatches (tens of thousands of entries). */
export class DistinctIds {
  private readonly stamp: Uint32Array;
  private generation = 0;
  private ids = new Uint32Array(1024);

  constructor(featureCount: number) {
    this.stamp = new Uint32Array(featureCount);
  }

  collect(part: SamplePartition, from: number, to: number): Uint32Array {
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

export class LocalAdagradTrainer {
  private readonly ex: TrainExports;
  private readonly weightsAt = 0;
  private readonly g2At: number;
  private readonly partitionAt: number;
  private partition: SamplePartition | undefined;
  private layout = { labels: 0, rowStart: 0, indices: 0, values: 0 };

  constructor(readonly featureCount: number) {
    this.ex = new WebAssembly.Instance(wasmModule(), {}).exports as unknown as TrainExports;
    this.g2At = 4 * featureCount;
    this.partitionAt = 8 * featureCount;
    this.ensureBytes(this.partitionAt);
    new Float32Array(this.ex.memory.buffer, this.g2At, featureCount).fill(ADAGRAD_INITIAL_G2);
  }

  private ensureBytes(bytes: number): void {
    const have = this.ex.memory.buffer.byteLength;
    if (bytes > have) this.ex.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** Copies a partition's columns into wasm memory (once per partition, not per chunk). */
  private load(part: SamplePartition): void {
    const nnz = part.rowStart[part.rows];
    this.ensureBytes(this.partitionAt + 4 * (2 * part.rows + 1 + 2 * nnz));
    const heap = new Uint8Array(this.ex.memory.buffer);
    let at = this.partitionAt;
    const place = (a: Float32Array | Uint32Array): number => {
      heap.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      const where = at;
      at += a.byteLength;
      return where;
    };
    this.layout = {
      labels: place(part.labels.subarray(0, part.rows)),
      rowStart: place(part.rowStart.subarray(0, part.rows + 1)),
      indices: place(part.indices.subarray(0, nnz)),
      values: place(part.values.subarray(0, nnz)),
    };
    this.partition = part;
  }

  /** Overwrites the local weights of `ids` (e.g. with values just pulled from the parameter server). */
  setRows(ids: Uint32Array, values: Float32Array): void {
    const weights = new Float32Array(this.ex.memory.buffer, this.weightsAt, this.featureCount);
    for (let j = 0; j < ids.length; j++) weights[ids[j]] = values[j];
  }

  /** Reads the local weights of `ids` into `out`. */
  getRows(ids: Uint32Array, out: Float32Array): Float32Array {
    const weights = new Float32Array(this.ex.memory.buffer, this.weightsAt, this.featureCount);
    for (let j = 0; j < ids.length; j++) out[j] = weights[ids[j]];
    return out;
  }

  /** One pass of per-sample AdaGrad over rows [from, to) of `part`. */
  train(part: SamplePartition, from: number, to: number, lr: number): void {
    if (part !== this.partition) this.load(part);
    const { labels, rowStart, indices, values } = this.layout;
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
