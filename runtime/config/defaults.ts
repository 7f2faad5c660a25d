// Every default of a run configuration, in this one table; runtime/config/resolve.ts applies it and
// nothing else in the runtime falls back to a literal of its own. Ranges live in one place too: the
// JSON schema (schemas/run-config.schema.json, read through ./limits.ts).
//
// The training defaults are settings measured to train well on this project's datasets:
// - logistic / softmax: AdaGrad at 0.05 with minibatches of 50 (examples/demo and criteo-10k reach
//   test log-loss ~0.47 on the demo data and ~0.50 on Criteo in 3-5 epochs);
// - mf: plain SGD at 0.01, L2 0.1, 100 factors, 40 epochs: RMSE 0.92 on MovieLens-100k u1
//   (examples/movielens-100k.cirrus.json).
// This module imports nothing: every layer may read it.
import type { BackendType, ModelType, OptimizerType } from './run-config';

export const DEFAULTS = {
  dataset: {
    /** The last fraction of the rows held out for testing, when neither testFraction nor testPath is given. */
    testFraction: 0.1,
    skipBad: false,
  },
  model: {
    /** logistic and softmax only (criteo, csv: always hashed; libsvm keeps its indices unless set). */
    hashBits: 20,
    /** mf only. */
    factors: 100,
  },
  /** What each model trains with when the config names no optimizer / minibatch / stopping rule. */
  byModel: {
    logistic: { optimizer: 'adagrad', l2: 0, minibatch: 50, epochs: 5 },
    softmax: { optimizer: 'adagrad', l2: 0, minibatch: 50, epochs: 5 },
    mf: { optimizer: 'sgd', l2: 0.1, minibatch: 100, epochs: 40 },
  } satisfies Record<ModelType, { optimizer: OptimizerType; l2: number; minibatch: number; epochs: number }>,
  /** Learning rate by optimiser, when the config gives none. */
  learningRate: { sgd: 0.01, momentum: 0.01, adagrad: 0.05, adam: 0.001 } satisfies Record<OptimizerType, number>,
  /** The momentum optimiser's coefficient. */
  momentum: 0.9,
  training: {
    workers: 2,
    /** Always a limit, also when epochs or targetLoss is the rule meant to stop the run. */
    maxSeconds: 600,
    evalEverySeconds: 1,
    sync: 'async-sgd' as 'async-sgd' | 'model-averaging',
    checkpointEverySeconds: 10,
  },
  backend: 'local' as BackendType,
  lambda: {
    memoryMB: 1024,
    /** A worker returns before its time limit and the driver launches the next generation. */
    timeoutSeconds: { local: 60, aws: 300 } satisfies Record<BackendType, number>,
    functionName: 'cirrus-worker',
  },
} as const;
