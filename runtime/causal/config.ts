// The double machine learning config (schemas/doubleml-config.schema.json): its type, its defaults
// (one place), and its validation with errors naming the file, line and field.
import Ajv from 'ajv';
import * as path from 'node:path';
import schema from '../../schemas/doubleml-config.schema.json';
import type { RunConfig } from '../config/run-config';
import { ConfigError, attachLines, describe, readConfigJson, type ConfigProblem } from '../config/validate';
import { DEFAULT_CAUSAL_HASH_BITS } from './data';
import { LEARNERS, type LearnerSpec } from './learners';
import { DEFAULT_TRIMMING, type CausalModel } from './models';

export interface DoubleMLConfig {
  name?: string;
  data: { path: string; outcome: string; treatment: string; covariates?: string[]; hashBits?: number };
  model: CausalModel;
  folds?: number;
  repetitions?: number;
  seed?: number;
  learners?: { outcome?: LearnerSpec; treatment?: LearnerSpec };
  trimming?: number;
  workers?: number;
  maxAttempts?: number;
  backend?: RunConfig['backend'];
  lambda?: { memoryMB?: number; timeoutSeconds?: number };
  aws?: RunConfig['aws'];
}

/** The config with every default filled in. */
export type ResolvedDoubleMLConfig = Required<Omit<DoubleMLConfig, 'lambda' | 'aws' | 'backend' | 'learners'>> & {
  data: Required<Omit<DoubleMLConfig['data'], 'covariates'>> & { covariates?: string[] };
  learners: { outcome: LearnerSpec; treatment: LearnerSpec };
  backend: NonNullable<RunConfig['backend']>;
  lambda: { memoryMB: number; timeoutSeconds?: number };
  aws?: RunConfig['aws'];
};

export const DOUBLEML_DEFAULTS = { folds: 5, repetitions: 1, seed: 42, workers: 4, maxAttempts: 3, memoryMB: 1024 };

export function resolveDoubleMLConfig(config: DoubleMLConfig): ResolvedDoubleMLConfig {
  return {
    name: config.name ?? `doubleml-${config.model}-${path.basename(config.data.path).replace(/\.[^.]*$/, '')}`,
    data: { ...config.data, hashBits: config.data.hashBits ?? DEFAULT_CAUSAL_HASH_BITS },
    model: config.model,
    folds: config.folds ?? DOUBLEML_DEFAULTS.folds,
    repetitions: config.repetitions ?? DOUBLEML_DEFAULTS.repetitions,
    seed: config.seed ?? DOUBLEML_DEFAULTS.seed,
    learners: {
      outcome: config.learners?.outcome ?? { type: 'lasso' },
      treatment: config.learners?.treatment ?? { type: config.model === 'irm' ? 'logistic' : 'lasso' },
    },
    trimming: config.trimming ?? DEFAULT_TRIMMING,
    workers: config.workers ?? DOUBLEML_DEFAULTS.workers,
    maxAttempts: config.maxAttempts ?? DOUBLEML_DEFAULTS.maxAttempts,
    backend: config.backend ?? 'local',
    lambda: { memoryMB: config.lambda?.memoryMB ?? DOUBLEML_DEFAULTS.memoryMB, timeoutSeconds: config.lambda?.timeoutSeconds },
    aws: config.aws,
  };
}

const validateSchema = new Ajv({ allErrors: true, strict: false }).compile(schema);

function semanticProblems(config: DoubleMLConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const outcome = config.learners?.outcome;
  if (outcome && LEARNERS[outcome.type]?.kind !== 'regression') problems.push({ field: 'learners.outcome.type', message: `must be a regression learner (${regressionNames()}); "${outcome.type}" is a classifier` });
  const treatment = config.learners?.treatment;
  if (config.model === 'irm' && treatment && LEARNERS[treatment.type]?.kind !== 'classification') {
    problems.push({ field: 'learners.treatment.type', message: `model "irm" estimates a propensity: use a classifier (${classifierNames()}), not "${treatment.type}"` });
  }
  if (config.model === 'plr' && config.trimming !== undefined) problems.push({ field: 'trimming', message: 'applies to model "irm" only' });
  return problems;
}

const regressionNames = () => Object.keys(LEARNERS).filter((k) => LEARNERS[k].kind === 'regression').join(', ');
const classifierNames = () => Object.keys(LEARNERS).filter((k) => LEARNERS[k].kind === 'classification').join(', ');

export function validateDoubleMLConfig(json: unknown, file?: string, text?: string): DoubleMLConfig {
  const problems = validateSchema(json) ? semanticProblems(json as unknown as DoubleMLConfig) : (validateSchema.errors ?? []).map(describe);
  if (problems.length > 0) {
    if (text !== undefined) attachLines(problems, text);
    throw new ConfigError(file, problems);
  }
  return json as unknown as DoubleMLConfig;
}

/** Reads and validates a config file; the data path becomes absolute (relative to the file). */
export function loadDoubleMLConfig(file: string): DoubleMLConfig {
  const { json, text } = readConfigJson(file);
  const config = validateDoubleMLConfig(json, file, text);
  return { ...config, data: { ...config.data, path: path.resolve(path.dirname(path.resolve(file)), config.data.path) } };
}
