// The sweep configuration (`*.sweep.json`, schemas/sweep-config.schema.json): a base run config, the
// run-config fields to vary, how to pick the trials (grid or random), how many run at once, and the
// early-stopping rule. Expanding it gives the trial run configs, each validated like a run config.
import Ajv from 'ajv';
import * as jsonc from 'jsonc-parser';
import * as fs from 'node:fs';
import * as path from 'node:path';
import schema from '../../schemas/sweep-config.schema.json';
import type { ResolvedRunConfig, RunConfig } from '../config/run-config';
import { checkRunConfig, ConfigError, loadRunConfig, resolvePaths, validateRunConfig, type ConfigProblem } from '../config/validate';

/** A list of values (grid or random), or a range (random only). */
export type ParameterSpace = Array<number | string | boolean> | { min: number; max: number; scale?: 'linear' | 'log'; integer?: boolean };

export interface EarlyStopping {
  /** successive-halving: asynchronous (ASHA-style) — at each rung a trial continues only if it is in
   *  the best 1/eta of the trials that reached that rung; median: stop a trial whose loss at a rung is
   *  worse than the median of the others' there; none: every trial runs to its end. */
  rule: 'successive-halving' | 'median' | 'none';
  eta?: number; // default 3
  /** Fractions of a trial's budget (its epochs, or else its maxSeconds) where trials are compared.
   *  Default for successive halving: 1/eta^2, 1/eta; for median: 0.25, 0.5, 0.75. */
  rungs?: number[];
  /** median: other trials needed at a rung before anyone is stopped there (default 2). */
  minTrials?: number;
}

export interface SweepConfig {
  name?: string;
  /** The run config every trial starts from: a path (relative to the sweep file) or the config itself. */
  base: string | RunConfig;
  /** Dotted run-config field -> values or range, e.g. "optimizer.learningRate": [0.01, 0.02]. */
  parameters: Record<string, ParameterSpace>;
  search?: { method: 'grid' | 'random'; trials?: number; seed?: number };
  /** Trials running at once (default 2), capped by the backend's concurrency limit. */
  parallel?: number;
  earlyStopping?: EarlyStopping;
}

export interface Trial {
  index: number;
  name: string;
  params: Record<string, number | string | boolean>;
  /** Resolved (every default filled in): what the trial's run uses. */
  config: ResolvedRunConfig;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(schema);

export function validateSweepConfig(json: unknown, file?: string): SweepConfig {
  if (!validateSchema(json)) {
    const problems: ConfigProblem[] = (validateSchema.errors ?? []).map((e) => ({
      field: [...e.instancePath.split('/').filter(Boolean), ...(e.keyword === 'additionalProperties' ? [String(e.params.additionalProperty)] : e.keyword === 'required' ? [String(e.params.missingProperty)] : [])].join('.'),
      message: e.keyword === 'additionalProperties' ? 'is not a known setting (check its spelling)' : e.keyword === 'required' ? 'is required' : e.message ?? 'is invalid',
    }));
    throw new ConfigError(file, problems);
  }
  const config = json as unknown as SweepConfig;
  const problems: ConfigProblem[] = [];
  const method = config.search?.method ?? 'grid';
  for (const [field, space] of Object.entries(config.parameters)) {
    if (!Array.isArray(space)) {
      if (method === 'grid') problems.push({ field: `parameters.${field}`, message: 'a grid needs a list of values (ranges are for random search)' });
      if (space.min > space.max) problems.push({ field: `parameters.${field}`, message: 'min is above max' });
      if (space.scale === 'log' && space.min <= 0) problems.push({ field: `parameters.${field}`, message: 'a log scale needs min > 0' });
    }
  }
  if (method === 'random' && config.search?.trials === undefined) problems.push({ field: 'search.trials', message: 'random search needs the number of trials' });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

/** Reads a sweep file; a base given as a path is read (relative to the sweep file) and validated. */
export function loadSweepConfig(file: string): { sweep: SweepConfig; base: RunConfig } {
  const text = fs.readFileSync(file, 'utf8');
  const errors: jsonc.ParseError[] = [];
  const json = jsonc.parse(text, errors, { allowTrailingComma: false });
  if (errors.length > 0) throw new ConfigError(file, [{ field: '', line: text.slice(0, errors[0].offset).split('\n').length, message: `invalid JSON (${jsonc.printParseErrorCode(errors[0].error)})` }]);
  const sweep = validateSweepConfig(json, file);
  const dir = path.dirname(path.resolve(file));
  const base = typeof sweep.base === 'string' ? loadRunConfig(path.resolve(dir, sweep.base)) : resolvePaths(validateRunConfig(sweep.base, `${file} (base)`), dir);
  return { sweep, base };
}

/** Seeded PRNG (mulberry32): a random sweep with a seed picks the same trials every time. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample(space: ParameterSpace, random: () => number): number | string | boolean {
  if (Array.isArray(space)) return space[Math.floor(random() * space.length)];
  const u = random();
  let x = space.scale === 'log' ? Math.exp(Math.log(space.min) + u * (Math.log(space.max) - Math.log(space.min))) : space.min + u * (space.max - space.min);
  if (space.integer) x = Math.min(space.max, Math.round(x));
  return x;
}

/** Every combination of the listed values, first parameter varying slowest. */
function gridPoints(parameters: Record<string, ParameterSpace>): Array<Record<string, number | string | boolean>> {
  let points: Array<Record<string, number | string | boolean>> = [{}];
  for (const [field, space] of Object.entries(parameters)) {
    const values = space as Array<number | string | boolean>;
    points = points.flatMap((p) => values.map((v) => ({ ...p, [field]: v })));
  }
  return points;
}

/** Sets a dotted field on a copy of the config ("lambda.memoryMB" creates `lambda` if absent). */
export function withField(config: RunConfig, field: string, value: unknown): RunConfig {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  const keys = field.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
  return copy as unknown as RunConfig;
}

/** The sweep's trials, each a full run config checked against the run-config schema. */
export function expandTrials(sweep: SweepConfig, base: RunConfig): Trial[] {
  const method = sweep.search?.method ?? 'grid';
  const random = seededRandom(sweep.search?.seed ?? 1);
  const points =
    method === 'grid'
      ? gridPoints(sweep.parameters)
      : Array.from({ length: sweep.search!.trials! }, () => Object.fromEntries(Object.entries(sweep.parameters).map(([f, s]) => [f, sample(s, random)])));
  const name = sweep.name ?? base.name ?? 'sweep';
  return points.map((params, index) => {
    let config = base;
    for (const [field, value] of Object.entries(params)) config = withField(config, field, value);
    config = { ...config, name: `${name}-${index + 1}` };
    try {
      return { index, name: config.name!, params, config: checkRunConfig(config, `trial ${index + 1}`).resolved };
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`sweep trial ${index + 1} (${describeParams(params)})`, error.problems);
      throw error;
    }
  });
}

export function describeParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k.split('.').pop()}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
    .join(' ');
}
