// Per-model facts the driver needs: the parameter-server tables, what workers are told, and how the
// model is evaluated on the test partitions (with the same kernels the workers use).
import type { RunConfig } from '../config/run-config';
import type { DatasetManifest } from '../data/manifest';
import { PartitionKind, type Partition } from '../data/partition';
import { evaluateLogistic } from '../models/logistic';
import type { TableSpec } from '../ps/types';
import type { WorkerEvent } from '../worker/protocol';

export interface Evaluation {
  loss: number; // log-loss (classification) or RMSE (mf): the number stopping rules compare
  accuracy?: number;
  rmse?: number;
  rows: number;
}

export interface Evaluator {
  evaluate(tables: Float32Array[]): Evaluation;
}

export function modelTables(config: RunConfig, manifest: DatasetManifest): TableSpec[] {
  const optimizer = { type: config.optimizer.type, learningRate: config.optimizer.learningRate, l2: config.optimizer.l2 ?? 0, momentum: config.optimizer.momentum };
  switch (config.model.type) {
    case 'logistic':
      return [{ name: 'weights', rows: manifest.schema.featureCount, width: 1, init: { type: 'zeros' }, optimizer }];
    default:
      throw new Error(`model.type "${config.model.type}" is not supported yet`);
  }
}

export function workerModel(config: RunConfig, manifest: DatasetManifest): WorkerEvent['model'] {
  switch (config.model.type) {
    case 'logistic':
      return { type: 'logistic', featureCount: manifest.schema.featureCount };
    default:
      throw new Error(`model.type "${config.model.type}" is not supported yet`);
  }
}

export function createEvaluator(config: RunConfig, manifest: DatasetManifest, test: Partition[]): Evaluator {
  if (config.model.type === 'logistic') {
    return {
      evaluate([weights]) {
        let lossSum = 0;
        let correct = 0;
        let rows = 0;
        for (const part of test) {
          if (part.kind !== PartitionKind.Samples) continue;
          const r = evaluateLogistic(part, weights);
          lossSum += r.lossSum;
          correct += r.correct;
          rows += r.rows;
        }
        return { loss: rows ? lossSum / rows : NaN, accuracy: rows ? correct / rows : undefined, rows };
      },
    };
  }
  throw new Error(`model.type "${config.model.type}" is not supported yet`);
}
