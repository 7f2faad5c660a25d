// PyWren-style synchronous SGD (training.scheme "pywren", channel "s3"): the model itself travels
// through the channel, as in the baseline the Cirrus paper measured. Each step t:
//   1. every worker reads the whole model object `model/t` (dense: featureCount x width float32;
//      4 MB for 2^20 weights) and computes its minibatch gradient from it;
//   2. workers 1..N-1 put their (sparse) gradient `g/t/r`;
//   3. worker 0, the reducer, waits for them, merges them (training.aggregation), applies the result
//      with the run's optimiser and puts the new model `model/t+1`, which is also the step's barrier.
// The optimiser: the reducer pushes the merged gradient to the parameter server, whose optimiser
// (AdaGrad, ...) applies it exactly as in every other cell, and reads the changed rows back into its
// dense copy. The parameter server is thus the reducer's optimiser state and the driver's window on
// the model (evaluation, checkpoints, the saved model); no worker pulls from it. On AWS a PyWren
// reducer would keep the optimiser state in S3 too; that costs it one more object per step, which
// this variant does not pay (docs/design-space.md).
//
// Failures, as in sync-collective.ts: the reducer waits at most the step timeout for a gradient (a
// "left" marker ends the wait at once), then merges those that arrived; a worker waits twice that for
// the next model, then rejoins at the last step reduced (a relaunched reducer starts from the
// parameter server's model).
import type { PsConnection } from '../ps/sharded-client';
import type { Channel } from './channel';
import { encodeUpdate, gatherAndMerge, pollFrom, type SparseUpdate, type StepReport, type SyncCollectiveOptions } from './sync-collective';

const WEIGHTS_TABLE = 0;

export type PywrenOptions = Omit<SyncCollectiveOptions, 'scheme'>;

export class PywrenStep {
  private model: Float32Array | undefined; // the reducer's dense copy (the model before its next step)
  private deleting: Promise<void> = Promise.resolve();

  constructor(private readonly o: PywrenOptions, private readonly ps: PsConnection) {
    if (!(o.workers >= 1 && o.rank >= 0 && o.rank < o.workers)) throw new Error(`rank ${o.rank} of ${o.workers} workers`);
  }

  private modelKey(step: number): string {
    return `${this.o.prefix}/model/${step}`;
  }
  private gradientKey(step: number, rank: number): string {
    return `${this.o.prefix}/g/${step}/${rank}`;
  }
  private leftKey(rank: number): string {
    return `${this.o.prefix}/left/${rank}`;
  }
  private get stepKey(): string {
    return `${this.o.prefix}/step`;
  }

  /** Joins the run and returns the step to start at. The reducer (re)publishes the model it starts from. */
  async join(): Promise<number> {
    const { channel, rank } = this.o;
    await channel.delete([this.leftKey(rank)]);
    const last = await channel.tryGet(this.stepKey);
    const step = last && last.length === 4 ? new DataView(new Uint8Array(last).buffer).getUint32(0, true) + 1 : 0;
    if (rank === 0) {
      this.model = await this.ps.pullFull(WEIGHTS_TABLE);
      const expected = this.o.rows * this.o.width;
      if (this.model.length !== expected) throw new Error(`pywren: the parameter server's model has ${this.model.length} values, not ${expected}`);
      await channel.put(this.modelKey(step), bytesOf(this.model));
    }
    return step;
  }

  async leave(): Promise<void> {
    await this.o.channel.put(this.leftKey(this.o.rank), new Uint8Array([1]));
  }

  /** The model before step `step` (dense), read from the channel; the reducer has it in memory.
   *  Undefined when it did not come within `timeoutMs` or the reducer has left (its generation ended). */
  async weights(step: number, timeoutMs = 2 * this.o.stepTimeoutMs): Promise<Float32Array | undefined> {
    if (this.model) return this.model;
    const bytes = await pollFrom(this.o.channel, this.modelKey(step), this.leftKey(0), Date.now() + timeoutMs);
    if (!bytes) return undefined;
    const expected = this.o.rows * this.o.width;
    if (bytes.length !== 4 * expected) throw new Error(`pywren: step ${step}'s model object has ${bytes.length} bytes, not ${4 * expected}`);
    return new Float32Array(new Uint8Array(bytes).buffer); // a copy: aligned
  }

  /** Contributes this worker's gradient for `step`; the reducer merges, applies and publishes the next model. */
  async step(step: number, gradient: SparseUpdate): Promise<StepReport> {
    const { channel, rank, workers, width } = this.o;
    const report: StepReport = { step, contributors: 0, missing: [], unapplied: [] };
    const previous = this.deleting;
    if (rank !== 0) {
      await channel.put(this.gradientKey(step, rank), encodeUpdate(gradient));
      await previous;
      return report;
    }
    const reduceStarted = performance.now();
    const deadline = Date.now() + this.o.stepTimeoutMs;
    const others = Array.from({ length: workers - 1 }, (_, k) => k + 1);
    const keys = { of: (r: number) => this.gradientKey(step, r), leftOf: (r: number) => this.leftKey(r) };
    const { merged, consumed } = await gatherAndMerge(this.o, step, { rank: 0, piece: gradient }, others, keys, deadline, report, 'gradient');
    const model = this.model!;
    if (merged.ids.length > 0) {
      // The run's optimiser applies the merged gradient (the parameter server's), then the changed rows come back.
      const t = performance.now();
      await this.ps.push(WEIGHTS_TABLE, merged.ids, merged.values);
      const rows = await this.ps.pull(WEIGHTS_TABLE, merged.ids);
      report.psTrips = 2;
      report.psTripMs = performance.now() - t;
      for (let k = 0; k < merged.ids.length; k++) for (let c = 0; c < width; c++) model[merged.ids[k] * width + c] = rows[k * width + c];
    }
    const s = new Uint8Array(4);
    new DataView(s.buffer).setUint32(0, step, true);
    await Promise.all([channel.put(this.modelKey(step + 1), bytesOf(model)), channel.put(this.stepKey, s)]);
    // A worker reads model/t before it puts g/t, so every contributor is done with model/step; a worker
    // left out of this step may still need it, so models go one step later.
    if (step > 0) consumed.push(this.modelKey(step - 1));
    report.reduceMs = performance.now() - reduceStarted; // the others' barrier is their next model read
    this.deleting = channel.delete(consumed);
    this.deleting.catch(() => undefined);
    await previous;
    return report;
  }
}

function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
