// One minibatch step of each model against the parameter server: collect the rows the minibatch
// touches, pull them, compute the gradient with the shared kernel (runtime/models), push it.
// Pushes are pipelined: the next minibatch's pull goes out while the previous push is in flight
// (asynchronous SGD, as in Cirrus), with at most one push outstanding.
import { PartitionKind, type Partition } from '../data/partition';
import { TouchedSet, logisticGradient } from '../models/logistic';
import type { PsClient } from '../ps/client';
import type { WorkerEvent } from './protocol';

export interface ModelStep {
  /** Runs one minibatch [from, to) and returns its summed training loss. */
  run(partition: Partition, from: number, to: number, ps: PsClient): Promise<number>;
  /** Waits for the pushes still in flight. */
  flush(): Promise<void>;
}

export const WEIGHTS_TABLE = 0;

class PushPipeline {
  private inFlight: Promise<void> = Promise.resolve();
  async push(ps: PsClient, table: number, rows: Uint32Array, grads: Float32Array): Promise<void> {
    await this.inFlight;
    this.inFlight = ps.push(table, rows, grads);
  }
  flush(): Promise<void> {
    return this.inFlight;
  }
}

function logisticStep(featureCount: number): ModelStep {
  const touched = new TouchedSet(featureCount);
  const pushes = new PushPipeline();
  let grad = new Float32Array(1024);
  return {
    async run(partition, from, to, ps) {
      if (partition.kind !== PartitionKind.Samples) throw new Error('logistic regression needs a samples dataset, not ratings');
      const ids = touched.collect(partition, from, to);
      const weights = await ps.pull(WEIGHTS_TABLE, ids);
      if (grad.length < ids.length) grad = new Float32Array(ids.length * 2);
      const g = grad.subarray(0, ids.length);
      const loss = logisticGradient(partition, from, to, touched, weights, g);
      await pushes.push(ps, WEIGHTS_TABLE, ids, g);
      return loss;
    },
    flush: () => pushes.flush(),
  };
}

export function createModelStep(model: WorkerEvent['model']): ModelStep {
  switch (model.type) {
    case 'logistic':
      return logisticStep(model.featureCount);
    default:
      throw new Error(`model type "${model.type}" is not supported by this worker build`);
  }
}
