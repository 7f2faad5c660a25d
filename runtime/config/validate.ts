// Run-config validation against schemas/run-config.schema.json, with errors that name the file,
// the line and the field, plus the cross-field rules a JSON schema cannot say well.
import Ajv, { type ErrorObject } from 'ajv';
import * as jsonc from 'jsonc-parser';
import * as fs from 'node:fs';
import * as path from 'node:path';
import schema from '../../schemas/run-config.schema.json';
import type { RunConfig } from './run-config';
import { resolveNetwork } from '../network/profile';

export interface ConfigProblem {
  field: string; // dotted path, e.g. "optimizer.learningRate"
  message: string;
  line?: number; // 1-based, when the source text is known
}

export class ConfigError extends Error {
  constructor(readonly file: string | undefined, readonly problems: ConfigProblem[]) {
    super(problems.map((p) => `${file ?? 'run config'}${p.line ? `:${p.line}` : ''}: ${p.field || '(top level)'}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(schema);

/** One schema error as a problem naming the dotted field (shared with other config kinds' validators). */
export function describe(error: ErrorObject): ConfigProblem {
  const segments = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'additionalProperties') segments.push(String(error.params.additionalProperty));
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  const field = segments.join('.');
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties') message = 'is not a known setting (check its spelling)';
  if (error.keyword === 'required') message = 'is required';
  if (error.keyword === 'enum') message = `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return { field, message };
}

/** The cross-field rules. */
function semanticProblems(config: RunConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { dataset, model } = config;
  const isS3 = dataset.path.startsWith('s3://');
  if (!isS3 && !dataset.format) problems.push({ field: 'dataset.format', message: 'is required for a local file (criteo, libsvm, csv or ratings)' });
  if (!isS3 && dataset.testFraction === undefined && dataset.testPath === undefined) {
    problems.push({ field: 'dataset.testFraction', message: 'give testFraction or testPath so the run can be evaluated' });
  }
  if (dataset.testFraction !== undefined && dataset.testPath !== undefined) {
    problems.push({ field: 'dataset.testPath', message: 'give either testFraction or testPath, not both' });
  }
  if (model.type === 'mf' && dataset.format && dataset.format !== 'ratings') problems.push({ field: 'model.type', message: '"mf" needs dataset.format "ratings"' });
  if (model.type !== 'mf' && dataset.format === 'ratings') problems.push({ field: 'model.type', message: 'ratings data trains an "mf" model' });
  const t = config.training;
  if (t.sync === 'model-averaging' && (model.type !== 'logistic' || config.optimizer.type !== 'adagrad')) {
    problems.push({ field: 'training.sync', message: '"model-averaging" is implemented for model.type "logistic" with optimizer.type "adagrad"' });
  }
  try {
    resolveNetwork(config.network);
  } catch (error) {
    problems.push({ field: 'network', message: (error as Error).message.replace(/^network(\.\w+)?: /, '') });
  }
  if (t.maxSeconds === undefined && t.targetLoss === undefined && t.epochs === undefined) {
    problems.push({ field: 'training', message: 'set at least one stopping rule: maxSeconds, targetLoss or epochs' });
  }
  return problems;
}

/** Validates parsed JSON. `text` (the file's source) lets errors carry line numbers. */
export function validateRunConfig(json: unknown, file?: string, text?: string): RunConfig {
  let problems: ConfigProblem[] = [];
  if (!validateSchema(json)) {
    problems = (validateSchema.errors ?? []).map(describe);
  } else {
    problems = semanticProblems(json as unknown as RunConfig);
  }
  if (problems.length > 0) {
    if (text !== undefined) attachLines(problems, text);
    throw new ConfigError(file, problems);
  }
  return json as unknown as RunConfig;
}

/** Sets each problem's line from the config's source text. */
export function attachLines(problems: ConfigProblem[], text: string): void {
  const tree = jsonc.parseTree(text);
  if (!tree) return;
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  for (const problem of problems) {
    // Walk up to the deepest existing node (a missing field is reported at its parent object).
    const segments: Array<string | number> = problem.field ? problem.field.split('.') : [];
    for (let n = segments.length; n >= 0; n--) {
      const node = jsonc.findNodeAtLocation(tree, segments.slice(0, n));
      if (node) {
        problem.line = lineOf(node.parent?.type === 'property' ? node.parent.offset : node.offset);
        break;
      }
    }
  }
}

/** Reads, parses and validates a run-config file; relative dataset paths become absolute (relative to the file). */
export function loadRunConfig(file: string): RunConfig {
  const { json, text } = readConfigJson(file);
  const config = validateRunConfig(json, file, text);
  return resolvePaths(config, path.dirname(path.resolve(file)));
}

/** Reads and parses a JSON config file; a missing file or bad JSON is a ConfigError naming the file and line. */
export function readConfigJson(file: string): { json: unknown; text: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ field: '', message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? error})` }]);
  }
  const parseErrors: jsonc.ParseError[] = [];
  const json = jsonc.parse(text, parseErrors, { allowTrailingComma: false, disallowComments: true });
  if (parseErrors.length > 0) {
    const first = parseErrors[0];
    const line = text.slice(0, first.offset).split('\n').length;
    throw new ConfigError(file, [{ field: '', line, message: `invalid JSON (${jsonc.printParseErrorCode(first.error)})` }]);
  }
  return { json, text };
}

export function resolvePaths(config: RunConfig, baseDir: string): RunConfig {
  const resolve = (p: string | undefined) => (p === undefined || p.startsWith('s3://') ? p : path.resolve(baseDir, p));
  return { ...config, dataset: { ...config.dataset, path: resolve(config.dataset.path)!, testPath: resolve(config.dataset.testPath) } };
}
