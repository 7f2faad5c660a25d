// V8's code cache for a function's handler module, shared by the function's execution environments:
// the first environment to load a version of the code writes the compiled code after its first
// invocation, and the next cold starts load it instead of compiling the module again (for the 1 MB
// worker bundle, most of that is the AWS SDK: about 100-150 ms of a cold start on a quiet VM). A cache
// made by another Node version, other V8 flags or other code is rejected by V8 and written anew.
//   - Node 22.1+: Node's own compile cache (module.enableCompileCache), for CommonJS and ES modules.
//   - Node 20: CommonJS handler files are compiled here with vm.Script's cachedData and run as
//     require() runs them; ES modules load without a cache, and so do CommonJS files with a dynamic
//     import() in them (Node 20 loses a script's import() callback when its code comes from the cache:
//     the worker bundle is built without import() for this, scripts/build.mjs).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** none: no cache used (a cache folder was not given, or the module is not one this path caches);
 *  node: Node's compile cache is on; accepted / rejected / missing: what V8 did with the cache file. */
export type CodeCacheState = 'none' | 'node' | 'accepted' | 'rejected' | 'missing';

/** Cache files kept in the folder (each a version of some function's code, at most a few MB). */
const KEEP_FILES = 16;

interface NodeCompileCache {
  enableCompileCache?: (dir: string) => unknown;
  flushCompileCache?: () => void;
  _nodeModulePaths(dir: string): string[];
  _cache: Record<string, unknown>;
  wrap(source: string): string;
}
const moduleApi = Module as unknown as NodeCompileCache;

/** Node 22.1+: turns on Node's compile cache in `dir` for every module loaded after; false before 22.1. */
export function enableNodeCompileCache(dir: string): boolean {
  if (typeof moduleApi.enableCompileCache !== 'function') return false;
  moduleApi.enableCompileCache(dir);
  return true;
}

/** A CommonJS module loaded with the code cache (Node 20), and how to write the cache once it has run. */
export interface CachedModule {
  exports: Record<string, unknown>;
  state: CodeCacheState;
  /** Writes the cache if V8 had none it could use: after the module has run, so it holds the
   *  functions compiled since (the handler's first invocation), not only the top level. */
  save(): void;
}

/** Loads the CommonJS file `file` as require() would, compiled with the cache in `dir`. Undefined
 *  when the file may call import() (any `import(` or `import/*` in its text: a false alarm only costs
 *  the cache) or starts with a hashbang: the caller then require()s it. */
export function loadWithCodeCache(file: string, dir: string): CachedModule | undefined {
  const cached = moduleApi._cache[file] as { exports: Record<string, unknown> } | undefined;
  if (cached) return { exports: cached.exports, state: 'none', save: () => undefined };
  let source = fs.readFileSync(file, 'utf8');
  if (source.charCodeAt(0) === 0xfeff) source = source.slice(1); // as require() strips a BOM
  if (source.startsWith('#!') || /\bimport\s*[(/]/.test(source)) return undefined;
  // V8 checks the source and its flags itself; the name keeps versions and heap sizes apart.
  const key = createHash('sha256').update(`${process.version}\0${process.arch}\0${process.execArgv.join(' ')}\0`).update(source).digest('hex').slice(0, 32);
  const cacheFile = path.join(dir, `${key}.v8cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(moduleApi.wrap(source), { filename: file, cachedData });
  const state: CodeCacheState = cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  const mod = new Module(file) as Module & { filename: string; paths: string[]; loaded: boolean };
  mod.filename = file;
  mod.paths = moduleApi._nodeModulePaths(path.dirname(file));
  moduleApi._cache[file] = mod; // a require() of the file from inside gets this module, as with require()
  try {
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  } catch (error) {
    delete moduleApi._cache[file];
    throw error;
  }
  mod.loaded = true;
  let saved = state === 'accepted';
  return {
    get exports() {
      return mod.exports as Record<string, unknown>;
    },
    state,
    save() {
      if (saved) return;
      saved = true;
      writeCache(dir, cacheFile, script.createCachedData());
    },
  };
}

/** Writes Node's compile cache out now (Node 22.10+; before, Node writes it when the process exits). */
export function flushNodeCompileCache(): void {
  moduleApi.flushCompileCache?.();
}

/** Best effort: a cache that cannot be written only costs the next cold start its compile. */
function writeCache(dir: string, file: string, data: Buffer): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    // Written aside and renamed: another environment may be reading or writing the same file.
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, file);
    const files = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.v8cache'))
      .map((name) => ({ name, at: fs.statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    for (const old of files.slice(KEEP_FILES)) fs.rmSync(path.join(dir, old.name), { force: true });
  } catch {
    /* the folder went away or is full: run without a cache */
  }
}
