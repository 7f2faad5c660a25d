// What the parameter server holds and how it is configured. The wire protocol is in protocol.ts and
// docs/parameter-server-protocol.md.
import type { OptimizerType } from '../config/run-config';

export interface OptimizerSettings {
  type: OptimizerType;
  learningRate: number;
  l2?: number; // adds l2 * w to each pushed gradient
  momentum?: number; // momentum (default 0.9)
  beta1?: number; // adam (default 0.9)
  beta2?: number; // adam (default 0.999)
  epsilon?: number; // adagrad / adam
}

/** One model table: `rows` rows of `width` float32 each (logistic: width 1; softmax: classes; MF: factors + 1). */
export interface TableSpec {
  name: string;
  rows: number;
  width: number;
  init?: { type: 'zeros' } | { type: 'normal'; std: number; seed?: number };
  optimizer: OptimizerSettings;
}

export interface ParameterServerConfig {
  token: string; // per-run secret; checked at HELLO in constant time
  host?: string; // default 127.0.0.1
  port?: number; // 0 = pick a free port
  tables: TableSpec[];
  maxFrameBytes?: number; // default 64 MiB
}

export interface ParameterServerStats {
  updates: number; // push frames applied since start
  updatesPerSecond: number; // over the last window
  pulls: number;
  connections: number;
  rejectedConnections: number;
  uptimeSeconds: number;
}
