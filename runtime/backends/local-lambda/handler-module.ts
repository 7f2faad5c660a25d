// Finds and loads a function's handler module the way AWS's Node runtime does
// (aws-lambda-nodejs-runtime-interface-client, UserFunction.js): for the handler `index.handler` it tries,
// in order, the file `index` as named (require), `index.js` (require, or import() when the nearest
// package.json says "type": "module"), `index.mjs` (import()) and `index.cjs` (require).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadWithCodeCache, type CodeCacheState } from './code-cache';

export type Handler = (event: unknown, context: object, callback?: (err: unknown, result?: unknown) => void) => unknown;

const importError = (message: string, cause?: NodeJS.ErrnoException) => Object.assign(new Error(message), { name: 'Runtime.ImportModuleError', ...(cause?.stack ? { stack: cause.stack } : {}) });

/** How the file at `file` is loaded: AWS's order and module kinds. */
function candidates(wanted: string): Array<{ file: string; esm: boolean }> {
  const jsIsEsm = nearestPackageType(path.dirname(wanted)) === 'module';
  return [
    { file: wanted, esm: false },
    { file: `${wanted}.js`, esm: jsIsEsm },
    { file: `${wanted}.mjs`, esm: true },
    { file: `${wanted}.cjs`, esm: false },
  ];
}

/** The "type" of the nearest package.json at or above `dir` (Node's rule for .js files). */
function nearestPackageType(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const file = path.join(d, 'package.json');
    if (fs.existsSync(file)) {
      try {
        return (JSON.parse(fs.readFileSync(file, 'utf8')) as { type?: string }).type;
      } catch {
        return undefined; // Node itself reports a broken package.json when it loads the module
      }
    }
    if (path.dirname(d) === d) return undefined;
  }
}

export interface LoadedHandler {
  handler: Handler;
  /** What the code cache did (code-cache.ts), and how to write it once the handler has run. */
  codeCache: CodeCacheState;
  saveCodeCache(): void;
}

/** Loads `handlerSpec` ("file.export", file relative to `codeDir`); throws AWS's error types
 *  (Runtime.ImportModuleError, Runtime.HandlerNotFound) with AWS's messages. `codeCacheDir`: where
 *  CommonJS handler files' V8 code cache is kept on a Node without its own compile cache. */
export async function loadHandler(codeDir: string, handlerSpec: string, codeCacheDir?: string): Promise<LoadedHandler> {
  const dot = handlerSpec.lastIndexOf('.');
  const file = handlerSpec.slice(0, dot);
  const exportName = handlerSpec.slice(dot + 1);
  // The service checks handlers when they are set; check again here, after symlinks are resolved.
  const root = fs.realpathSync(codeDir);
  const found = candidates(path.resolve(root, file)).find((c) => fs.existsSync(c.file));
  if (!found) {
    throw importError(`Error: Cannot find module '${file}' (looked for ${file}, ${file}.js, ${file}.mjs and ${file}.cjs in the function's code)`);
  }
  const real = fs.realpathSync(found.file);
  if (real !== root && !real.startsWith(root + path.sep)) throw importError(`Error: handler ${handlerSpec} resolves outside the function's code folder`);
  let mod: Record<string, unknown>;
  let codeCache: CodeCacheState = 'none';
  let saveCodeCache = () => undefined as void;
  try {
    const cached = !found.esm && codeCacheDir !== undefined && /\.c?js$/.test(real) ? loadWithCodeCache(real, codeCacheDir) : undefined;
    if (cached) {
      ({ exports: mod, state: codeCache } = cached);
      saveCodeCache = () => cached.save();
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = found.esm ? await import(pathToFileURL(real).href) : require(real);
    }
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw importError(`${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`, e);
  }
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${handlerSpec} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return { handler: fn as Handler, codeCache, saveCodeCache };
}
