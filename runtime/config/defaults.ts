// Every default of a run configuration, in this one table; runtime/config/resolve.ts applies it and
// nothing else in the runtime falls back to a literal of its own. Ranges live in one place too: the
// JSON schema (schemas/run-config.schema.json, read through ./limits.ts).
//
// The training defaults are settings measured to train well on every shared dataset with only the
// dataset given (docs/datasets.md has the table): runs stop early on the validation loss (patience)
// and keep the best model, so `epochs` is a cap.
// - logistic: AdaGrad at 0.02, minibatches of 20 (Criteo 10k 0.461; a CTR CSV 0.458); LIBSVM files
//   at 0.1 with L2 1e-4 and minibatches of 50 (a9a 0.324, 85.0 %);
// - softmax: AdaGrad at 0.05, minibatches of 20;
// - mf: plain SGD at 0.01, L2 0.1, 100 factors, 40 epochs: RMSE 0.92 on MovieLens-100k u1.
// This module imports nothing: every layer may read it.
import type { DatasetFormat } from '../data/manifest';
import type { BackendType, ModelType, OptimizerType } from './run-config';

interface ModelDefaults {
  optimizer: OptimizerType;
  learningRate: number;
  l2: number;
  minibatch: number;
  epochs: number;
}

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
    logistic: { optimizer: 'adagrad', learningRate: 0.02, l2: 0, minibatch: 20, epochs: 5 },
    softmax: { optimizer: 'adagrad', learningRate: 0.05, l2: 0, minibatch: 20, epochs: 5 },
    mf: { optimizer: 'sgd', learningRate: 0.01, l2: 0.1, minibatch: 100, epochs: 40 },
  } satisfies Record<ModelType, ModelDefaults>,
  /** Where a data format trains better otherwise (logistic models): LIBSVM's dense 0/1 features. */
  byFormat: {
    libsvm: { learningRate: 0.1, l2: 0.0001, minibatch: 50 },
  } satisfies Partial<Record<DatasetFormat, Partial<ModelDefaults>>>,
  /** The epoch cap a generated run configuration (VS Code's New Run Configuration, ./new-config.ts)
   *  writes: high, so that the validation-loss rule (training.patience) is what ends the run and the
   *  best model evaluated is kept (Criteo 10k: stops after 2-4 epochs at 0.459). The rule counts
   *  evaluations (one a second): with warm workers on a quiet machine Criteo 10k ran 100 epochs in 7 s,
   *  before 5 evaluations had risen, so the cap is 300. A file whose loss only levels off (a9a) runs to
   *  the cap (or training.maxSeconds). MF keeps its 40. */
  newConfigEpochs: { logistic: 300, softmax: 300, mf: 40 } satisfies Record<ModelType, number>,
  /** How often a generated configuration evaluates: the pipelined workers train Criteo 10k at ~20 epochs a
   *  second on a quiet machine, so one evaluation a second first came after the best epoch (2-4) had passed
   *  and the kept model was 0.473-0.477; five a second sample the curve finely enough to keep a good one. */
  newConfigEvalEverySeconds: 0.2,
  /** Learning rate by optimiser, when the config names an optimiser other than the model's default and no rate. */
  learningRate: { sgd: 0.01, momentum: 0.01, adagrad: 0.05, adam: 0.001 } satisfies Record<OptimizerType, number>,
  /** The momentum optimiser's coefficient. */
  momentum: 0.9,
  training: {
    workers: 2,
    /** Always a limit, also when epochs or targetLoss is the rule meant to stop the run. */
    maxSeconds: 600,
    evalEverySeconds: 1,
    /** training.adaptive: seconds between re-plans (SIREN re-plans each epoch; a few evaluations' worth of loss progress). */
    adaptiveEverySeconds: 5,
    /** Evaluations in a row with a risen test loss before a run stops (0: off). */
    patience: 5,
    sync: 'async-sgd' as 'async-sgd' | 'model-averaging' | 'sync-sgd',
    /** sync-sgd: the parameter server's store is the channel unless one is named. */
    channel: 'ps' as 'ps' | 's3' | 'redis',
    scheme: 'all-reduce' as 'all-reduce' | 'scatter-reduce' | 'pywren',
    average: 'gradients' as 'gradients' | 'models',
    aggregation: 'mean' as const,
    /** Byzantine workers a robust rule tolerates unless aggregation.f says (Krum then needs n >= 5). */
    byzantineTolerance: 1,
    /** A step waits this long for a missing worker, then goes on without it (a Lambda cold start is well under it). */
    stepTimeoutSeconds: 30,
    checkpointEverySeconds: 10,
    /** training.filter significance: v in the MLLess rule |change / weight| > min(cap, v / sqrt(t)), t the
     *  worker's minibatch count. MLLess uses 0.7 with minibatches of thousands; with this project's minibatches
     *  of 20-100, t grows 100x faster and 0.7 / sqrt(t) soon lets almost every row through (docs/filters.md). */
    significanceThreshold: 3,
    /** The cap: at most a 5 % relative change is held back, so the early steps (where v / sqrt(t) is
     *  above 1) are not delayed; measured to send fewer bytes and lose less than the rule alone (docs/filters.md). */
    significanceMaxThreshold: 0.05,
  },
  backend: 'local' as BackendType,
  parameterServer: {
    /** TLS to the parameter server: optional on the loopback (off by default: nothing else can reach
     *  127.0.0.1, and plain TCP is cheaper), required on AWS, where the server is on the internet. */
    tls: { local: false, aws: true } satisfies Record<BackendType, boolean>,
    /** One server process holds the whole model. */
    shards: 1,
  },
  lambda: {
    memoryMB: 1024,
    /** A worker returns before its time limit and the driver launches the next generation. */
    timeoutSeconds: { local: 60, aws: 300 } satisfies Record<BackendType, number>,
    functionName: 'cirrus-worker',
  },
  /** The aws backend's parameter-server instance and guardrails (docs/aws.md). Safe by default: a run
   *  of the default length costs cents; a bigger one must raise these on purpose. */
  aws: {
    /** 2 vCPU, 4 GiB: the parameter server's host the cost model prices (PRICES.ec2PerHour). */
    instanceType: 'c6i.large',
    parameterServerPort: 7070,
    maxConcurrency: 100,
    maxUSD: 10,
    maxInstanceMinutes: 180,
    /** The instance outlives the run's time limit by this much (start-up, the final checkpoint, the stop). */
    instanceMarginSeconds: 900,
  },
} as const;
