// Per-model facts the driver needs: the parameter-server tables, what workers are told, and how the
// model is evaluated on the test partitions (with the same kernels the workers use).
import type { ResolvedRunConfig } from '../config/run-config';
import type { DatasetManifest } from '../data/manifest';
import { PartitionKind, type Partition, type RatingPartition, type SamplePartition } from '../data/partition';
import { evaluateLogistic } from '../models/logistic';
import { evaluateMf } from '../models/mf';
import { evaluateSoftmax } from '../models/softmax';
import type { OptimizerSettings, TableSpec } from '../ps/types';
import type { WorkerEvent } from '../worker/protocol';

/** Spread of the initial MF factors: small, so early predictions sit near the biases. */
const MF_INIT_STD = 0.1;

export interface Evaluation {
  loss: number; // log-loss (classification) or RMSE (mf): the number stopping rules compare
  accuracy?: number;
  rmse?: number;
  rows: number;
}

export interface Evaluator {
  evaluate(tables: Float32Array[]): Evaluation;
}

function optimizerSettings(config: ResolvedRunConfig, l2: number): OptimizerSettings {
  return { type: config.optimizer.type, learningRate: config.optimizer.learningRate, l2, momentum: config.optimizer.momentum, clipNorm: config.optimizer.clipNorm };
}

/** An mf config resolves with its factors (resolve.ts). */
function factorsOf(config: ResolvedRunConfig): number {
  if (config.model.factors === undefined) throw new Error('model.factors is unset: the config was not resolved');
  return config.model.factors;
}

export function modelAveraging(config: ResolvedRunConfig): boolean {
  // Also synchronous SGD averaging models: the merged change is added to the model the same way.
  return config.training.sync === 'model-averaging' || config.training.synchronous?.average === 'models';
}

export function classCount(config: ResolvedRunConfig, manifest: DatasetManifest): number {
  return config.model.classes ?? manifest.schema.classes;
}

/** The global mean rating of the training set (the MF model predicts around it). */
function globalMean(manifest: DatasetManifest): number {
  const stats = manifest.featureStats.find((s) => s.name === 'rating');
  if (!stats) throw new Error('the ratings dataset has no rating statistics in its manifest (redeploy it with this version)');
  return stats.mean;
}

function requireSchema(config: ResolvedRunConfig, manifest: DatasetManifest): void {
  const wantRatings = config.model.type === 'mf';
  if (wantRatings !== (manifest.schema.kind === 'ratings')) {
    throw new Error(`model.type "${config.model.type}" cannot train on a ${manifest.schema.kind} dataset (${manifest.schema.format})`);
  }
  if (config.model.type === 'softmax' && classCount(config, manifest) < 2) throw new Error('softmax needs at least 2 classes');
  // Labels outside the model's classes would index past its weights: refuse before training.
  const dataClasses = manifest.schema.kind === 'samples' ? manifest.schema.classes : undefined;
  if (config.model.type === 'logistic' && dataClasses !== undefined && dataClasses > 2) {
    throw new Error(`model.type "logistic" needs 2 labels, the dataset has ${dataClasses}: use "softmax" for more`);
  }
  if (config.model.type === 'softmax' && dataClasses !== undefined && classCount(config, manifest) < dataClasses) {
    throw new Error(`model.classes is ${config.model.classes}, but the dataset has ${dataClasses} labels`);
  }
}

export function modelTables(config: ResolvedRunConfig, manifest: DatasetManifest): TableSpec[] {
  requireSchema(config, manifest);
  const l2 = config.optimizer.l2;
  switch (config.model.type) {
    case 'logistic': {
      // Model averaging: workers run the optimiser locally and push weight changes, which the
      // server adds as they come (SGD at rate 1; l2 still decays the touched weights).
      const optimizer: OptimizerSettings = modelAveraging(config) ? { type: 'sgd', learningRate: 1, l2 } : optimizerSettings(config, l2);
      return [{ name: 'weights', rows: manifest.schema.featureCount, width: 1, init: { type: 'zeros' }, optimizer }];
    }
    case 'softmax':
      return [{ name: 'weights', rows: manifest.schema.featureCount, width: classCount(config, manifest), init: { type: 'zeros' }, optimizer: optimizerSettings(config, l2) }];
    case 'mf': {
      // MF's regularisation is applied in the kernel, per rating (not per push on the server).
      const width = factorsOf(config) + 1;
      return [
        { name: 'users', rows: (manifest.schema.maxUser ?? 0) + 1, width, init: { type: 'normal', std: MF_INIT_STD, seed: 1 }, optimizer: optimizerSettings(config, 0) },
        { name: 'items', rows: (manifest.schema.maxItem ?? 0) + 1, width, init: { type: 'normal', std: MF_INIT_STD, seed: 2 }, optimizer: optimizerSettings(config, 0) },
      ];
    }
  }
}

/** The worker's update filter (training.filter): stepsBefore carries the significance schedule across generations. */
export function workerFilter(config: ResolvedRunConfig, samplesBefore: number): WorkerEvent['filter'] {
  const settings = config.training.filter;
  if (!settings) return undefined;
  // Model averaging pushes weight changes (a step of 1 per unit); asynchronous SGD pushes gradients the server scales by the rate.
  const stepScale = modelAveraging(config) ? 1 : config.optimizer.learningRate;
  return { settings, stepScale, stepsBefore: Math.floor(samplesBefore / config.training.minibatch) };
}

export function workerModel(config: ResolvedRunConfig, manifest: DatasetManifest): WorkerEvent['model'] {
  switch (config.model.type) {
    case 'logistic':
      return modelAveraging(config)
        ? { type: 'logistic', featureCount: manifest.schema.featureCount, localLearningRate: config.optimizer.learningRate }
        : { type: 'logistic', featureCount: manifest.schema.featureCount };
    case 'softmax':
      return { type: 'softmax', featureCount: manifest.schema.featureCount, classes: classCount(config, manifest) };
    case 'mf':
      return {
        type: 'mf',
        factors: factorsOf(config),
        globalMean: globalMean(manifest),
        reg: config.optimizer.l2,
        maxUser: manifest.schema.maxUser ?? 0,
        maxItem: manifest.schema.maxItem ?? 0,
      };
  }
}

export function createEvaluator(config: ResolvedRunConfig, manifest: DatasetManifest, test: Partition[]): Evaluator {
  const samples = test.filter((p): p is SamplePartition => p.kind === PartitionKind.Samples);
  const ratings = test.filter((p): p is RatingPartition => p.kind === PartitionKind.Ratings);
  switch (config.model.type) {
    case 'logistic':
    case 'softmax': {
      const classes = config.model.type === 'softmax' ? classCount(config, manifest) : 2;
      return {
        evaluate([weights]) {
          let lossSum = 0;
          let correct = 0;
          let rows = 0;
          for (const part of samples) {
            const r = classes === 2 && config.model.type === 'logistic' ? evaluateLogistic(part, weights) : evaluateSoftmax(part, weights, classes);
            lossSum += r.lossSum;
            correct += r.correct;
            rows += r.rows;
          }
          return { loss: rows ? lossSum / rows : NaN, accuracy: rows ? correct / rows : undefined, rows };
        },
      };
    }
    case 'mf': {
      const factors = factorsOf(config);
      const mean = globalMean(manifest);
      const { ratingMin, ratingMax } = manifest.schema;
      const clip: [number, number] | undefined = ratingMin !== undefined && ratingMax !== undefined ? [ratingMin, ratingMax] : undefined;
      return {
        evaluate([users, items]) {
          let sqErrSum = 0;
          let rows = 0;
          for (const part of ratings) {
            const r = evaluateMf(part, users, items, factors, mean, clip);
            sqErrSum += r.sqErrSum;
            rows += r.rows;
          }
          const rmse = rows ? Math.sqrt(sqErrSum / rows) : NaN;
          return { loss: rmse, rmse, rows };
        },
      };
    }
  }
}

/** The test loss of the best constant prediction: the label frequencies (log-loss) or the training
 *  set's mean rating (RMSE). A model that does not beat it after an epoch has learnt nothing useful. */
export function baseRateLoss(config: ResolvedRunConfig, manifest: DatasetManifest, test: Partition[]): number | undefined {
  if (config.model.type === 'mf') {
    const mean = globalMean(manifest);
    let sq = 0;
    let rows = 0;
    for (const part of test) {
      if (part.kind !== PartitionKind.Ratings) continue;
      for (let k = 0; k < part.rows; k++) sq += (part.ratings[k] - mean) ** 2;
      rows += part.rows;
    }
    return rows ? Math.sqrt(sq / rows) : undefined;
  }
  const counts = new Map<number, number>();
  let rows = 0;
  for (const part of test) {
    if (part.kind !== PartitionKind.Samples) continue;
    for (let k = 0; k < part.rows; k++) counts.set(part.labels[k], (counts.get(part.labels[k]) ?? 0) + 1);
    rows += part.rows;
  }
  if (!rows) return undefined;
  let entropy = 0;
  for (const n of counts.values()) entropy -= (n / rows) * Math.log(n / rows);
  return entropy;
}
