// Training settings that train well when a config gives only the dataset (and the model type):
// one place for them, measured on every shared dataset in docs/datasets.md. (To be merged with the
// resolved-config defaults table: these are the per-format/per-model values it should hold.)
import type { DatasetFormat } from '../data/manifest';
import type { ModelType, RunConfig } from './run-config';

export interface TrainingDefaults {
  model: Omit<RunConfig['model'], 'type'>;
  optimizer: RunConfig['optimizer'];
  training: RunConfig['training'];
}

/** The model a format trains when none is given: ratings -> mf, anything else -> logistic. */
export function defaultModelType(format: DatasetFormat): ModelType {
  return format === 'ratings' ? 'mf' : 'logistic';
}

/** Default model, optimiser and training settings for a dataset format and model type. Runs stop
 *  early on the validation loss (training.patience) and keep the best model, so `epochs` is a cap. */
export function defaultsFor(format: DatasetFormat, modelType: ModelType): TrainingDefaults {
  const common = { workers: 2, maxSeconds: 300 };
  switch (modelType) {
    case 'mf':
      // Plain SGD on biased MF; a row's summed gradient is capped per minibatch (models/mf.ts), so
      // larger minibatches train too. 100 factors with stronger regularisation beat the reference's 50.
      return {
        model: { factors: 100 },
        optimizer: { type: 'sgd', learningRate: 0.01, l2: 0.1 },
        training: { ...common, minibatch: 100, epochs: 40 },
      };
    case 'softmax':
      return {
        model: {},
        optimizer: { type: 'adagrad', learningRate: 0.05 },
        training: { ...common, minibatch: 20, epochs: 5 },
      };
    case 'logistic':
    default:
      // AdaGrad is insensitive to the scale of the gradient, so one learning rate suits hashed
      // click logs, LIBSVM and scaled CSV columns alike.
      return {
        model: {},
        optimizer: { type: 'adagrad', learningRate: format === 'libsvm' ? 0.1 : 0.02, ...(format === 'libsvm' ? { l2: 0.0001 } : {}) },
        training: { ...common, minibatch: format === 'libsvm' ? 50 : 20, epochs: 5 },
      };
  }
}

/** A complete run config from one that may give only `dataset` (and `model.type`): what is missing
 *  comes from defaultsFor. */
export function withTrainingDefaults(config: Partial<RunConfig> & { dataset: RunConfig['dataset'] }): RunConfig {
  const format = config.dataset.format ?? 'csv';
  const type = config.model?.type ?? defaultModelType(format);
  const d = defaultsFor(format, type);
  return {
    ...config,
    dataset: config.dataset,
    model: { ...d.model, ...config.model, type },
    optimizer: config.optimizer ?? d.optimizer,
    training: { ...d.training, ...config.training },
  } as RunConfig;
}
