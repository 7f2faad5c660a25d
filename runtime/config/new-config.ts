// A first run configuration for a dataset, as New Run Configuration writes it: the model follows the
// data (ratings -> MF, more than two classes -> softmax), every other setting is the resolved default,
// written out so the user sees what there is to tune, with an epoch cap high enough that the
// validation-loss rule ends the run (DEFAULTS.newConfigEpochs). Settings a host fills in itself
// (backend, worker memory) and fault injection are left out.
import { DEFAULTS } from './defaults';
import { resolveRunConfig } from './resolve';
import type { DatasetFormat } from '../data/manifest';
import type { ModelType, RunConfig } from './run-config';

export interface NewConfigRequest {
  name: string;
  /** A local file (with its format) or the s3:// URL of a deployed dataset. */
  path: string;
  format?: DatasetFormat;
  /** A local file's separate test file (else the last fraction of its rows). */
  testPath?: string;
  /** What a deployed dataset's manifest says: ratings or samples, and its classes. */
  kind?: 'ratings' | 'samples';
  classes?: number;
  workers?: number;
}

export function newRunConfig(request: NewConfigRequest): RunConfig {
  const ratings = request.format === 'ratings' || request.kind === 'ratings';
  const classes = request.classes ?? 2;
  const type: ModelType = ratings ? 'mf' : classes > 2 ? 'softmax' : 'logistic';
  const { config } = resolveRunConfig({
    name: request.name,
    dataset: { path: request.path, ...(request.format ? { format: request.format } : {}), ...(request.testPath ? { testPath: request.testPath } : {}) },
    model: { type, ...(type === 'softmax' ? { classes } : {}) },
    training: { ...(request.workers !== undefined ? { workers: request.workers } : {}), epochs: DEFAULTS.newConfigEpochs[type], evalEverySeconds: DEFAULTS.newConfigEvalEverySeconds },
  });
  const { faults: _faults, backend: _backend, lambda: _lambda, ...written } = config;
  return written;
}
