// LambdaML's two synchronous aggregation schemes over a Channel. Each step every worker contributes a
// vector (a gradient, or its model for model averaging) and gets back the mean of all of them.
//
// - AllReduce: every worker puts its vector; worker 0 waits for all, reduces, puts the mean; all read it.
//   2 objects moved per worker, but worker 0 reads N of them: it is the bottleneck as N grows.
// - ScatterReduce: the vector is cut into N slices; worker j reduces slice j. Each worker puts N-1
//   slices, reads N-1, puts its reduced slice, reads the N-1 others. Same bytes per worker whatever N.
//
// Both give bit-identical results: each element is the float64 sum of the workers' values in rank
// order, divided by N, rounded once to float32 (meanOf). Objects a step no longer needs are deleted
// by the worker that consumed them, one step later at the latest; the last step's merged objects
// stay (close() of the run's prefix is the driver's job: see docs/network.md).
import { StepTimeoutError, waitFor, type Channel } from './channel';

export type SyncScheme = 'all-reduce' | 'scatter-reduce';
/** training.scheme: LambdaML's two, or PyWren's (the whole model through the channel each step: pywren-step.ts). */
export type TrainingScheme = SyncScheme | 'pywren';

export interface CollectiveOptions {
  channel: Channel;
  /** Key prefix of this run's synchronous objects, e.g. runs/ID/sync. */
  prefix: string;
  rank: number;
  workers: number;
  scheme: SyncScheme;
  /** How long a step waits for another worker's object before failing (ms). */
  stepTimeoutMs: number;
}

/** The element-wise mean, float64 sums in rank order then one rounding: the one reduction rule. */
export function meanOf(vectors: Float32Array[]): Float32Array {
  const length = vectors[0].length;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    let sum = 0;
    for (const v of vectors) sum += v[i];
    out[i] = sum / vectors.length;
  }
  return out;
}

/** Slice j of a vector of `length` cut into `parts`: [start, end). */
export function sliceBounds(length: number, parts: number, j: number): [number, number] {
  return [Math.floor((j * length) / parts), Math.floor(((j + 1) * length) / parts)];
}

function encode(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function decode(bytes: Uint8Array, expected: number, what: string): Float32Array {
  if (bytes.length !== expected * 4) throw new Error(`${what}: ${bytes.length} bytes, expected ${expected * 4} (${expected} float32 values)`);
  const copy = new Uint8Array(bytes); // aligned, and owned
  return new Float32Array(copy.buffer);
}

export class Collective {
  private step = 0;

  constructor(private readonly o: CollectiveOptions) {
    if (!(o.workers >= 1 && o.rank >= 0 && o.rank < o.workers)) throw new Error(`rank ${o.rank} of ${o.workers} workers`);
  }

  private key(step: number, kind: 'tmp' | 'merged', slice: number, rank?: number): string {
    return `${this.o.prefix}/${step}/${kind}/${slice}${rank === undefined ? '' : `/${rank}`}`;
  }

  /** One synchronous step: contributes `vector`, returns the mean of every worker's. */
  async reduce(vector: Float32Array): Promise<Float32Array> {
    const step = this.step++;
    return this.o.scheme === 'all-reduce' ? this.allReduce(step, vector) : this.scatterReduce(step, vector);
  }

  private wait(step: number, key: string, what: string): Promise<Uint8Array> {
    const deadline = Date.now() + this.o.stepTimeoutMs;
    return waitFor(this.o.channel, key, deadline, () => new StepTimeoutError(step, what, this.o.stepTimeoutMs));
  }

  private async allReduce(step: number, vector: Float32Array): Promise<Float32Array> {
    const { channel, rank, workers } = this.o;
    if (rank !== 0) {
      await channel.put(this.key(step, 'tmp', 0, rank), encode(vector));
      return decode(await this.wait(step, this.key(step, 'merged', 0), 'the merged update from worker 0'), vector.length, `step ${step} merged`);
    }
    const others = await Promise.all(
      Array.from({ length: workers - 1 }, (_, i) => i + 1).map(async (r) =>
        decode(await this.wait(step, this.key(step, 'tmp', 0, r), `worker ${r}'s update`), vector.length, `step ${step} worker ${r}`),
      ),
    );
    const mean = meanOf([vector, ...others]);
    await channel.put(this.key(step, 'merged', 0), encode(mean));
    // Consumed now; and every worker has read step-1's merged object, since it wrote this step's.
    const done = others.map((_, i) => this.key(step, 'tmp', 0, i + 1));
    if (step > 0) done.push(this.key(step - 1, 'merged', 0));
    await channel.delete(done);
    return mean;
  }

  private async scatterReduce(step: number, vector: Float32Array): Promise<Float32Array> {
    const { channel, rank, workers } = this.o;
    const slice = (j: number) => vector.subarray(...sliceBounds(vector.length, workers, j));
    const others = Array.from({ length: workers }, (_, j) => j).filter((j) => j !== rank);
    await Promise.all(others.map((j) => channel.put(this.key(step, 'tmp', j, rank), encode(slice(j)))));
    // Reduce my slice: the others' pieces in rank order, mine in its place.
    const [start, end] = sliceBounds(vector.length, workers, rank);
    const pieces = await Promise.all(
      Array.from({ length: workers }, (_, r) => r).map(async (r) =>
        r === rank ? slice(rank) : decode(await this.wait(step, this.key(step, 'tmp', rank, r), `worker ${r}'s slice ${rank}`), end - start, `step ${step} slice ${rank} from worker ${r}`),
      ),
    );
    const mine = meanOf(pieces);
    await channel.put(this.key(step, 'merged', rank), encode(mine));
    const done = others.map((r) => this.key(step, 'tmp', rank, r));
    if (step > 0) done.push(this.key(step - 1, 'merged', rank));
    const deleting = channel.delete(done);
    const out = new Float32Array(vector.length);
    out.set(mine, start);
    await Promise.all(
      others.map(async (j) => {
        const [s, e] = sliceBounds(vector.length, workers, j);
        out.set(decode(await this.wait(step, this.key(step, 'merged', j), `worker ${j}'s reduced slice`), e - s, `step ${step} merged slice ${j}`), s);
      }),
    );
    await deleting;
    return out;
  }
}
