// Run-config validation against schemas/run-config.schema.json, with errors that name the file, the
// line and the field, show the offending value and suggest the nearest valid name; then the
// resolution (./resolve.ts: defaults, cross-field rules, warnings for ignored settings).
import Ajv, { type ErrorObject } from 'ajv';
import * as jsonc from 'jsonc-parser';
import * as fs from 'node:fs';
import * as path from 'node:path';
import schema from '../../schemas/run-config.schema.json';
import { ConfigError, nearest, type ConfigProblem } from './problems';
import { resolveRunConfig } from './resolve';
import type { ResolvedRunConfig, RunConfig } from './run-config';

export { ConfigError, formatProblem, type ConfigProblem } from './problems';

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validateSchema = ajv.compile(schema);

const shown = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value));

/** One schema error as a problem naming the dotted field, with the value found (when the validator is
 *  `verbose`) and the nearest valid name (shared with other config kinds' validators). */
export function describe(error: ErrorObject): ConfigProblem {
  const segments = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'additionalProperties') segments.push(String(error.params.additionalProperty));
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  const field = segments.join('.');
  const got = 'data' in error ? ` (got ${shown(error.data)})` : '';
  let message = `${error.message ?? 'is invalid'}${got}`;
  if (error.keyword === 'additionalProperties') {
    const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {}).filter((k) => k !== '$schema');
    const guess = nearest(String(error.params.additionalProperty), known);
    message = `is not a known setting${guess ? `: did you mean "${guess}"?` : ` (known here: ${known.join(', ')})`}`;
  }
  if (error.keyword === 'required') message = 'is required';
  if (error.keyword === 'enum') {
    const allowed = (error.params.allowedValues as unknown[]).map(String);
    const guess = typeof error.data === 'string' ? nearest(error.data, allowed) : undefined;
    message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}${got}${guess ? `: did you mean "${guess}"?` : ''}`;
  }
  return { field, message };
}

/** Validates parsed JSON and checks it resolves (defaults, cross-field rules). `text` (the file's
 *  source) lets errors carry line numbers. Returns the config as written. */
export function validateRunConfig(json: unknown, file?: string, text?: string): RunConfig {
  return checkRunConfig(json, file, text).config;
}

/** The config as written, its resolution and its warnings (each with its line when `text` is given). */
export function checkRunConfig(json: unknown, file?: string, text?: string): { config: RunConfig; resolved: ResolvedRunConfig; warnings: ConfigProblem[] } {
  const withLines = (problems: ConfigProblem[]) => (text !== undefined ? attachLines(problems, text) : problems);
  if (!validateSchema(json)) throw new ConfigError(file, withLines((validateSchema.errors ?? []).map(describe)));
  const config = json as unknown as RunConfig;
  try {
    const { config: resolved, warnings } = resolveRunConfig(config, file);
    return { config, resolved, warnings: withLines(warnings) };
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(file, withLines(error.problems));
    throw error;
  }
}

/** Sets each problem's line from the config's source text; returns the problems. */
export function attachLines(problems: ConfigProblem[], text: string): ConfigProblem[] {
  const tree = jsonc.parseTree(text);
  if (!tree) return problems;
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
  return problems;
}

export interface LoadedRunConfig {
  /** As written, with relative data paths made absolute (relative to the file). */
  config: RunConfig;
  resolved: ResolvedRunConfig;
  warnings: ConfigProblem[];
}

/** Reads, parses, validates and resolves a run-config file; relative dataset paths become absolute
 *  (relative to the file). With `checkFiles` (the default) local data files must exist: a missing one
 *  is an error here, with the config's line, before any run starts. */
export function loadRunConfigFile(file: string, { checkFiles = true } = {}): LoadedRunConfig {
  const { json, text } = readConfigJson(file);
  const checked = checkRunConfig(json, file, text);
  const baseDir = path.dirname(path.resolve(file));
  const missing = checkFiles ? missingDataFiles(checked.config, baseDir) : [];
  if (missing.length > 0) throw new ConfigError(file, attachLines(missing, text));
  return { config: resolvePaths(checked.config, baseDir), resolved: resolvePaths(checked.resolved, baseDir), warnings: checked.warnings };
}

/** A run-config file as written (paths made absolute), its data files not looked at (a sweep's base,
 *  an example whose data is generated later). */
export function loadRunConfig(file: string): RunConfig {
  return loadRunConfigFile(file, { checkFiles: false }).config;
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

/** Local data files of a config that do not exist (paths relative to `baseDir`). */
export function missingDataFiles(config: RunConfig, baseDir: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of ['path', 'testPath'] as const) {
    const p = config.dataset[key];
    if (p === undefined || p.startsWith('s3://')) continue;
    const full = path.resolve(baseDir, p);
    if (!fs.existsSync(full)) problems.push({ field: `dataset.${key}`, message: `${full} does not exist (got ${JSON.stringify(p)}, relative to the config file)` });
  }
  return problems;
}

export function resolvePaths<C extends RunConfig | ResolvedRunConfig>(config: C, baseDir: string): C {
  const resolve = (p: string | undefined) => (p === undefined || p.startsWith('s3://') ? p : path.resolve(baseDir, p));
  const testPath = resolve(config.dataset.testPath);
  return { ...config, dataset: { ...config.dataset, path: resolve(config.dataset.path)!, ...(testPath !== undefined ? { testPath } : {}) } };
}
