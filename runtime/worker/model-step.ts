// One minibatch step of each model against the parameter server: collect the rows the minibatch
// touches, pull them, compute the gradient with the shared kernel (runtime/models), push it.
// Pushes are pipelined: the next minibatch's pull goes out while the previous push is in flight
// (asynchronous SGD, as in Cirrus), with at most one push outstanding.
// With training.filter set, each update goes through the worker's filter (runtime/aggregation/filters.ts):
// only what it releases is pushed, and flush() pushes what it still holds before the worker returns.
import { corrupt, seededRandom } from '../aggregation/byzantine';
import { createFilter, type UpdateFilter } from '../aggregation/filters';
import { PartitionKind, type Partition } from '../data/partition';
import { DistinctIds, LocalAdagradTrainer } from '../models/local-adagrad';
import { TouchedSet, logisticGradient } from '../models/logistic';
import { mfGradient } from '../models/mf';
import { softmaxGradient } from '../models/softmax';
import type { PsConnection as PsClient } from '../ps/sharded-client';
import type { StepTiming } from '../ps/types';
import type { WorkerEvent } from './protocol';

export interface ModelStep {
  /** Runs one minibatch [from, to) and returns its summed training loss. */
  run(partition: Partition, from: number, to: number, ps: PsClient): Promise<number>;
  /** Pushes what the filter still holds and waits for the pushes in flight. */
  flush(ps: PsClient): Promise<void>;
  /** Rows whose update the filter holds back (0 without a filter). */
  readonly heldRows: number;
  /** Where the time went (see StepTiming), summed since the step was created (the parameter-server steps). */
  readonly timing?: StepTiming;
}

const newTiming = (): StepTiming => ({ computeMs: 0, packMs: 0, pullWaitMs: 0, pushWaitMs: 0 });

/** A pull, timed: building and sending the request (pack), then waiting for the rows (pullWait). */
async function timedPull(ps: PsClient, table: number, ids: Uint32Array, timing: StepTiming): Promise<Float32Array> {
  const t0 = performance.now();
  const pending = ps.pull(table, ids);
  const t1 = performance.now();
  timing.packMs += t1 - t0;
  const rows = await pending;
  timing.pullWaitMs += performance.now() - t1;
  return rows;
}

type StepFilter = WorkerEvent['filter'];
/** Row ids plus floats per flush push: 4 MB frames, far below the parameter server's 64 MB default limit. */
const FLUSH_VALUES_PER_PUSH = 1 << 20;
type Byzantine = NonNullable<WorkerEvent['faults']>['byzantine'];

export const WEIGHTS_TABLE = 0;
export const USERS_TABLE = 0;
export const ITEMS_TABLE = 1;

/** A reusable output buffer that grows to the largest minibatch seen. */
class Scratch {
  private buffer = new Float32Array(1024);
  take(length: number): Float32Array {
    if (this.buffer.length < length) this.buffer = new Float32Array(length * 2);
    return this.buffer.subarray(0, length);
  }
}

/** Pushes one table's updates through the table's filter when there is one, at most one push in
 *  flight. A push the server refuses fails the next push() or flush() with the server's reason; until
 *  then its rejection is held (not left unhandled: that would kill the invocation's process and lose the reason). */
class PushPipeline {
  private inFlight: Promise<void> = Promise.resolve();
  private readonly filter: UpdateFilter | undefined;
  private readonly random: () => number;
  /** Fault injection (faults.byzantineWorkers): every update pushed is corrupted after the filter, as a faulty worker would send it. */
  private readonly byzantine: Byzantine;
  constructor(private readonly table: number, filter: StepFilter, rows: number, width: number, byzantine: Byzantine, private readonly timing: StepTiming) {
    this.filter = filter && createFilter(filter.settings, rows, width, filter.stepScale, filter.stepsBefore);
    this.byzantine = byzantine;
    this.random = seededRandom(1 + table);
  }
  get heldRows(): number {
    return this.filter?.pendingRows ?? 0;
  }
  /** `weights`: the rows' current values (the significance filter compares the change with them). */
  async push(ps: PsClient, rows: Uint32Array, update: Float32Array, weights: Float32Array): Promise<void> {
    const out = this.filter ? this.filter.select(rows, update, weights) : { ids: rows, values: update };
    if (this.byzantine) corrupt(out.values, this.byzantine.kind, this.byzantine.factor, this.random);
    const t0 = performance.now();
    await this.inFlight;
    const t1 = performance.now();
    this.timing.pushWaitMs += t1 - t0;
    if (out.ids.length > 0) {
      this.inFlight = ps.push(this.table, out.ids, out.values); // the frame is built (copied) here
      this.inFlight.catch(() => undefined); // surfaced by the next push() or flush()
      this.timing.packMs += performance.now() - t1;
    }
  }
  async flush(ps: PsClient): Promise<void> {
    await this.inFlight;
    const rest = this.filter?.flush();
    if (!rest || rest.ids.length === 0) return;
    if (this.byzantine) corrupt(rest.values, this.byzantine.kind, this.byzantine.factor, this.random);
    // What is held back can be most of the table: pushed in pieces well under the server's frame limit.
    const width = rest.values.length / rest.ids.length;
    const rowsPerPush = Math.max(1, Math.floor(FLUSH_VALUES_PER_PUSH / (width + 1)));
    for (let from = 0; from < rest.ids.length; from += rowsPerPush) {
      const to = Math.min(rest.ids.length, from + rowsPerPush);
      await ps.push(this.table, rest.ids.subarray(from, to), rest.values.subarray(from * width, to * width));
    }
  }
}

/** Logistic (width 1) and softmax (width = classes) regression share the same loop over one table. */
function sparseLinearStep(featureCount: number, width: number, filter: StepFilter, byzantine: Byzantine): ModelStep {
  const touched = new TouchedSet(featureCount);
  const timing = newTiming();
  const pushes = new PushPipeline(WEIGHTS_TABLE, filter, featureCount, width, byzantine, timing);
  const grad = new Scratch();
  return {
    timing,
    async run(partition, from, to, ps) {
      if (partition.kind !== PartitionKind.Samples) throw new Error('logistic and softmax regression need a samples dataset, not ratings');
      const t0 = performance.now();
      const ids = touched.collect(partition, from, to);
      timing.computeMs += performance.now() - t0;
      const weights = await timedPull(ps, WEIGHTS_TABLE, ids, timing);
      const t1 = performance.now();
      const g = grad.take(ids.length * width);
      const loss = width === 1 ? logisticGradient(partition, from, to, touched, weights, g) : softmaxGradient(partition, from, to, touched, width, weights, g);
      timing.computeMs += performance.now() - t1;
      await pushes.push(ps, ids, g, weights);
      return loss;
    },
    flush: (ps) => pushes.flush(ps),
    get heldRows() {
      return pushes.heldRows;
    },
  };
}

/** Model averaging: train the minibatch per sample on local copies of the weights it touches (the
 *  wasm kernel), then push the change of those weights. The table's server optimiser is plain SGD with
 *  rate 1, so a push adds the worker's progress to the shared model. The local AdaGrad accumulators
 *  live as long as the invocation. Returns NaN: the kernel does not compute the loss. */
function averagingStep(featureCount: number, localLearningRate: number, filter: StepFilter, byzantine: Byzantine): ModelStep {
  const distinct = new DistinctIds(featureCount);
  const trainer = new LocalAdagradTrainer(featureCount);
  const timing = newTiming();
  const pushes = new PushPipeline(WEIGHTS_TABLE, filter, featureCount, 1, byzantine, timing);
  const after = new Scratch();
  return {
    timing,
    async run(partition, from, to, ps) {
      if (partition.kind !== PartitionKind.Samples) throw new Error('logistic regression needs a samples dataset, not ratings');
      const t0 = performance.now();
      const ids = distinct.collect(partition, from, to);
      timing.computeMs += performance.now() - t0;
      const before = await timedPull(ps, WEIGHTS_TABLE, ids, timing);
      const t1 = performance.now();
      trainer.setRows(ids, before);
      trainer.train(partition, from, to, localLearningRate);
      const change = trainer.getRows(ids, after.take(ids.length));
      for (let j = 0; j < ids.length; j++) change[j] = before[j] - change[j]; // SGD at rate 1: w -= before - after
      timing.computeMs += performance.now() - t1;
      await pushes.push(ps, ids, change, before);
      return NaN;
    },
    flush: (ps) => pushes.flush(ps),
    get heldRows() {
      return pushes.heldRows;
    },
  };
}

/** Matrix factorisation: pull the user and item rows a minibatch of ratings touches; returns the squared error. */
function mfStep(model: Extract<WorkerEvent['model'], { type: 'mf' }>, filter: StepFilter, byzantine: Byzantine): ModelStep {
  const width = model.factors + 1;
  const users = new TouchedSet(model.maxUser + 1);
  const items = new TouchedSet(model.maxItem + 1);
  // Timed in the push pipelines only: the two tables' pulls overlap.
  const timing = newTiming();
  const userPushes = new PushPipeline(USERS_TABLE, filter, model.maxUser + 1, width, byzantine, timing);
  const itemPushes = new PushPipeline(ITEMS_TABLE, filter, model.maxItem + 1, width, byzantine, timing);
  const userGrad = new Scratch();
  const itemGrad = new Scratch();
  return {
    timing,
    async run(partition, from, to, ps) {
      if (partition.kind !== PartitionKind.Ratings) throw new Error('matrix factorisation needs a ratings dataset');
      const u = users.collectIds(partition.users, from, to);
      const i = items.collectIds(partition.items, from, to);
      const [userRows, itemRows] = await Promise.all([ps.pull(USERS_TABLE, u), ps.pull(ITEMS_TABLE, i)]);
      const gu = userGrad.take(u.length * width);
      const gi = itemGrad.take(i.length * width);
      const sse = mfGradient(partition, from, to, users, items, model.factors, model.globalMean, userRows, itemRows, gu, gi, model.reg);
      await Promise.all([userPushes.push(ps, u, gu, userRows), itemPushes.push(ps, i, gi, itemRows)]);
      return sse;
    },
    flush: async (ps) => {
      await Promise.all([userPushes.flush(ps), itemPushes.flush(ps)]);
    },
    get heldRows() {
      return userPushes.heldRows + itemPushes.heldRows;
    },
  };
}

export function createModelStep(model: WorkerEvent['model'], filter?: StepFilter, byzantine?: Byzantine): ModelStep {
  switch (model.type) {
    case 'logistic':
      return model.localLearningRate !== undefined ? averagingStep(model.featureCount, model.localLearningRate, filter, byzantine) : sparseLinearStep(model.featureCount, 1, filter, byzantine);
    case 'softmax':
      return sparseLinearStep(model.featureCount, model.classes, filter, byzantine);
    case 'mf':
      return mfStep(model, filter, byzantine);
  }
}
