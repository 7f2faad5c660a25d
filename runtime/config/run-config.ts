// The run configuration (`*.cirrus.json`), validated against schemas/run-config.schema.json.
import type { DatasetFormat } from '../data/manifest';
import type { NetworkSetting } from '../network/profile';

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
    /** Parameter-server checkpoints to S3 (model + optimiser state), default every 10 s. */
    checkpointEverySeconds?: number;
  };
  backend?: BackendType;
  /** Local backend only: the network workers see ("loopback" default, or "aws" with figures overridable; docs/network.md). */
  network?: NetworkSetting;
  lambda?: {
    memoryMB?: number;
    timeoutSeconds?: number;
    functionName?: string;
  };
  /** Fault injection for tests and demos (off by default). */
  faults?: RunFaults;
  aws?: { region?: string; profile?: string; bucket?: string; roleArn?: string; parameterServerAddress?: string };
}

export interface RunFaults {
  /** Kill this fraction of worker invocations at a random moment. */
  killWorkerFraction?: number;
  /** Cut the parameter-server connection of this fraction of worker invocations at a random moment. */
  cutConnectionFraction?: number;
  /** Fail this fraction of S3 requests (workers and driver) with a retryable 503. */
  s3ErrorRate?: number;
  /** Delay every S3 request by this many milliseconds. */
  s3DelayMs?: number;
  /** Kill the parameter server this many seconds into the train stage (the driver restarts it from the last checkpoint). */
  killParameterServerAtSeconds?: number;
}
