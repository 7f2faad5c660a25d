// The run configuration (`*.cirrus.json`), validated against schemas/run-config.schema.json.
import type { DatasetFormat } from '../data/manifest';

export type OptimizerType = 'sgd' | 'momentum' | 'adagrad' | 'adam';
export type ModelType = 'logistic' | 'mf' | 'softmax';
export type BackendType = 'local' | 'aws';

export interface RunConfig {
  name?: string;
  dataset: {
    path: string; // local file or s3://bucket/prefix of a deployed dataset
    format?: DatasetFormat;
    testFraction?: number;
    testPath?: string;
    labelColumn?: string; // csv
    skipBad?: boolean;
  };
  model: {
    type: ModelType;
    hashBits?: number; // logistic/softmax: feature hashing bits (default 20)
    factors?: number; // mf
    classes?: number; // softmax
  };
  optimizer: {
    type: OptimizerType;
    learningRate: number;
    l2?: number;
    momentum?: number;
  };
  training: {
    workers: number;
    minibatch: number;
    maxSeconds?: number;
    targetLoss?: number;
    epochs?: number;
    evalEverySeconds?: number;
    /** How workers update the model: 'async-sgd' pushes every minibatch's gradient (Cirrus, default);
     *  'model-averaging' trains locally per sample and pushes the change once per minibatch (LambdaML). */
    sync?: 'async-sgd' | 'model-averaging';
  };
  backend?: BackendType;
  lambda?: {
    memoryMB?: number;
    timeoutSeconds?: number;
    functionName?: string;
  };
  /** Fault injection for tests and demos (off by default). */
  faults?: { killWorkerFraction?: number };
  aws?: { region?: string; profile?: string; bucket?: string; roleArn?: string; parameterServerAddress?: string };
}
