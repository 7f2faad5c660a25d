// One minibatch step of each model against the parameter server: collect the rows the minibatch
// touches, pull them, compute the gradient with the shared kernel (runtime/models), push it.
// Pushes are pipelined: the next minibatch's pull goes out while the previous push is in flight
// (asynchronous SGD, as in Cirrus), with at most one push outstanding.
import { PartitionKind, type Partition } from '../data/partition';
import { DistinctIds, LocalAdagradTrainer } from '../models/local-adagrad';
import { TouchedSet, logisticGradient } from '../models/logistic';
import { mfGradient } from '../models/mf';
import { softmaxGradient } from '../models/softmax';
import type { PsClient } from '../ps/client';
import type { WorkerEvent } from './protocol';

export interface ModelStep {
  /** Runs one minibatch [from, to) and returns its summed training loss. */
  run(partition: Partition, from: number, to: number, ps: PsClient): Promise<number>;
  /** Waits for the pushes still in flight. */
  flush(): Promise<void>;
}

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

/** At most one push in flight. A push the server refuses fails the next push() or flush() with the
 *  server's reason; until then its rejection is held (not left unhandled: that would kill the
 *  invocation's process and lose the reason). */
class PushPipeline {
  private inFlight: Promise<void> = Promise.resolve();
  async push(ps: PsClient, table: number, rows: Uint32Array, grads: Float32Array): Promise<void> {
    await this.inFlight;
    this.inFlight = ps.push(table, rows, grads);
    this.inFlight.catch(() => undefined); // surfaced by the next push() or flush()
  }
  flush(): Promise<void> {
    return this.inFlight;
  }
}

/** Logistic (width 1) and softmax (width = classes) regression share the same loop over one table. */
function sparseLinearStep(featureCount: number, width: number): ModelStep {
  const touched = new TouchedSet(featureCount);
  const pushes = new PushPipeline();
  const grad = new Scratch();
  return {
    async run(partition, from, to, ps) {
      if (partition.kind !== PartitionKind.Samples) throw new Error('logistic and softmax regression need a samples dataset, not ratings');
      const ids = touched.collect(partition, from, to);
      const weights = await ps.pull(WEIGHTS_TABLE, ids);
      const g = grad.take(ids.length * width);
      const loss = width === 1 ? logisticGradient(partition, from, to, touched, weights, g) : softmaxGradient(partition, from, to, touched, width, weights, g);
      await pushes.push(ps, WEIGHTS_TABLE, ids, g);
      return loss;
    },
    flush: () => pushes.flush(),
  };
}

/** Model averaging: train the minibatch per sample on local copies of the weights it touches (the
 *  wasm kernel), then push the change of those weights. The table's server optimiser is plain SGD with
 *  rate 1, so a push adds the worker's progress to the shared model. The local AdaGrad accumulators
 *  live as long as the invocation. Returns NaN: the kernel does not compute the loss. */
function averagingStep(featureCount: number, localLearningRate: number): ModelStep {
  const distinct = new DistinctIds(featureCount);
  const trainer = new LocalAdagradTrainer(featureCount);
  const pushes = new PushPipeline();
  const after = new Scratch();
  return {
    async run(partition, from, to, ps) {
      if (partition.kind !== PartitionKind.Samples) throw new Error('logistic regression needs a samples dataset, not ratings');
      const ids = distinct.collect(partition, from, to);
      const before = await ps.pull(WEIGHTS_TABLE, ids);
      trainer.setRows(ids, before);
      trainer.train(partition, from, to, localLearningRate);
      const change = trainer.getRows(ids, after.take(ids.length));
      for (let j = 0; j < ids.length; j++) change[j] = before[j] - change[j]; // SGD at rate 1: w -= before - after
      await pushes.push(ps, WEIGHTS_TABLE, ids, change);
      return NaN;
    },
    flush: () => pushes.flush(),
  };
}

/** Matrix factorisation: pull the user and item rows a minibatch of ratings touches; returns the squared error. */
function mfStep(model: Extract<WorkerEvent['model'], { type: 'mf' }>): ModelStep {
  const width = model.factors + 1;
  const users = new TouchedSet(model.maxUser + 1);
  const items = new TouchedSet(model.maxItem + 1);
  const userPushes = new PushPipeline();
  const itemPushes = new PushPipeline();
  const userGrad = new Scratch();
  const itemGrad = new Scratch();
  return {
    async run(partition, from, to, ps) {
      if (partition.kind !== PartitionKind.Ratings) throw new Error('matrix factorisation needs a ratings dataset');
      const u = users.collectIds(partition.users, from, to);
      const i = items.collectIds(partition.items, from, to);
      const [userRows, itemRows] = await Promise.all([ps.pull(USERS_TABLE, u), ps.pull(ITEMS_TABLE, i)]);
      const gu = userGrad.take(u.length * width);
      const gi = itemGrad.take(i.length * width);
      const sse = mfGradient(partition, from, to, users, items, model.factors, model.globalMean, userRows, itemRows, gu, gi, model.reg);
      await Promise.all([userPushes.push(ps, USERS_TABLE, u, gu), itemPushes.push(ps, ITEMS_TABLE, i, gi)]);
      return sse;
    },
    flush: async () => {
      await Promise.all([userPushes.flush(), itemPushes.flush()]);
    },
  };
}

export function createModelStep(model: WorkerEvent['model']): ModelStep {
  switch (model.type) {
    case 'logistic':
      return model.localLearningRate !== undefined ? averagingStep(model.featureCount, model.localLearningRate) : sparseLinearStep(model.featureCount, 1);
    case 'softmax':
      return sparseLinearStep(model.featureCount, model.classes);
    case 'mf':
      return mfStep(model);
  }
}
