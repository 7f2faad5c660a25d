// Warm execution environments, as Lambda keeps them: an environment is one runner process
// (dist/lambda-runner.js) with one function version's code loaded. It serves invocations of that
// version one at a time; after one it stays warm (idle) for `idleMs` and the next invocation of the
// same version reuses it, with whatever the handler left in module state. An invocation finding no
// idle environment starts a new one (a cold start): so cold starts happen only when concurrency
// grows. An environment is discarded when it times out, dies (crash, out of memory, killed), stays
// idle too long, or its function's code or configuration changed (the next invocation starts a new
// one with the new version). The invoker (invoker.ts) owns invocations; this module owns processes.
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CodeCacheState } from './code-cache';
import { INVOCATION_END_MARKER, type RunnerMessage } from './protocol';
import type { FunctionRecord } from './store';

/** How long an environment stays warm after an invocation, unless the service is told otherwise.
 *  AWS keeps idle environments for minutes; locally each holds a process and its memory. */
export const DEFAULT_ENVIRONMENT_IDLE_MS = 60_000;

/** What makes two invocations able to share an environment: the same function version (code and
 *  every configuration the process was started with). */
export function versionKey(record: FunctionRecord): string {
  const { name, codeSha256, handler, runtime, memorySize, timeout, environment } = record;
  return createHash('sha256').update(JSON.stringify([name, codeSha256, handler, runtime, memorySize, timeout, environment])).digest('hex');
}

/** Ends a runner and every process it started: runners lead their own process group. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  if (process.platform !== 'win32') {
    try {
      process.kill(-child.pid, 'SIGKILL');
      return;
    } catch { /* the group is gone already */ }
  }
  child.kill('SIGKILL');
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
}

/** One stream's output, cut at the runner's end-of-invocation marker (see INVOCATION_END_MARKER). */
class MarkedStream {
  private pending = '';
  constructor(private readonly out: (text: string) => void, private readonly onMarker: (requestId: string) => void) {}

  push(text: string): void {
    this.pending += text;
    for (;;) {
      const at = this.pending.indexOf(INVOCATION_END_MARKER);
      if (at < 0) break;
      const end = this.pending.indexOf('\n', at);
      if (end < 0) break; // the marker's line is not complete yet
      if (at > 0) this.out(this.pending.slice(0, at));
      const requestId = this.pending.slice(at + INVOCATION_END_MARKER.length, end);
      this.pending = this.pending.slice(end + 1);
      this.onMarker(requestId);
    }
    // Hand on everything but a marker that may still be arriving (its start, or its line unfinished).
    const at = this.pending.lastIndexOf(INVOCATION_END_MARKER[0]);
    const tail = at < 0 ? '' : this.pending.slice(at);
    const partial = tail !== '' && (INVOCATION_END_MARKER.startsWith(tail) || tail.startsWith(INVOCATION_END_MARKER));
    const cut = partial ? at : this.pending.length;
    if (cut > 0) {
      this.out(this.pending.slice(0, cut));
      this.pending = this.pending.slice(cut);
    }
  }

  flush(): void {
    if (this.pending) this.out(this.pending);
    this.pending = '';
  }
}

export class Environment {
  readonly id = randomUUID();
  readonly child: ChildProcess;
  readonly key: string;
  readonly functionName: string;
  readonly codeDir: string;
  /** The environment's working directory with `tmp/` in it (Lambda's /tmp: kept while it is warm). */
  readonly workDir: string;
  /** Invocations served so far (0 until the first ends: that one is the cold start). */
  invocations = 0;
  /** What the code cache did when the handler was loaded (code-cache.ts). */
  codeCache: CodeCacheState | undefined;
  /** Resolves when the process has exited and its output pipes are closed. */
  readonly exited: Promise<ExitInfo>;
  dead = false;
  idleTimer: NodeJS.Timeout | undefined;
  idleSince = 0;
  /** Where the current invocation's output and messages go; between invocations output goes to `idleOutput`. */
  private output: ((text: string) => void) | undefined;
  private messages: ((message: RunnerMessage) => void) | undefined;
  private markers = new Map<string, number>();
  private markerWaiter: (() => void) | undefined;
  private readonly streams: MarkedStream[] = [];

  constructor(record: FunctionRecord, options: { runnerPath: string; workRoot: string; codeDir: string; env: (tmpDir: string) => NodeJS.ProcessEnv; idleOutput: (text: string) => void }) {
    this.key = versionKey(record);
    this.functionName = record.name;
    this.codeDir = options.codeDir;
    this.workDir = path.join(options.workRoot, this.id);
    const tmpDir = path.join(this.workDir, 'tmp');
    fs.mkdirSync(tmpDir, { recursive: true });
    // Electron-as-Node in VS Code: fork() with process.execPath is the way to get a Node there.
    // detached: the runner leads its own process group, so everything it starts can be killed with it.
    this.child = fork(options.runnerPath, [], {
      execPath: process.execPath,
      execArgv: [`--max-old-space-size=${record.memorySize}`],
      env: options.env(tmpDir),
      cwd: this.workDir,
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const write = (text: string) => (this.output ?? options.idleOutput)(text);
    const marked = (requestId: string) => {
      this.markers.set(requestId, (this.markers.get(requestId) ?? 0) + 1);
      this.markerWaiter?.();
    };
    for (const stream of [this.child.stdout, this.child.stderr]) {
      const cut = new MarkedStream(write, marked);
      this.streams.push(cut);
      stream?.setEncoding('utf8').on('data', (text: string) => cut.push(text));
    }
    this.child.on('message', (message: RunnerMessage) => this.messages?.(message));

    let spawnError: Error | undefined;
    // 'close' waits for the output pipes too; a grandchild holding them open must not hold the answer.
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo) => {
        this.dead = true;
        for (const s of this.streams) s.flush();
        this.markerWaiter?.();
        fs.rm(this.workDir, { recursive: true, force: true }, () => {});
        resolve(info);
      };
      this.child.once('exit', (code, signal) => {
        this.dead = true;
        // Whatever the function started goes with it (AWS ends the whole sandbox).
        killGroup(this.child);
        const fallback = setTimeout(() => done({ code, signal, spawnError }), 300);
        this.child.once('close', () => {
          clearTimeout(fallback);
          done({ code, signal, spawnError });
        });
      });
      this.child.once('error', (error) => {
        spawnError = error;
        if (this.child.exitCode === null && this.child.pid === undefined) done({ code: null, signal: null, spawnError: error });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Routes the runner's output and messages to one invocation (undefined: none running). */
  attach(output: ((text: string) => void) | undefined, messages: ((message: RunnerMessage) => void) | undefined): void {
    this.output = output;
    this.messages = messages;
  }

  /** Waits until the runner's stdout and stderr have both passed the end marker of `requestId`, so
   *  everything the invocation printed is in its log before its END line (the pipes and the IPC
   *  channel are read independently). Gives up after `timeoutMs` or when the process dies. */
  async outputEnded(requestId: string, timeoutMs = 2000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while ((this.markers.get(requestId) ?? 0) < 2 && !this.dead && Date.now() < until) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, until - Date.now()));
        this.markerWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.markerWaiter = undefined;
    }
    const ended = (this.markers.get(requestId) ?? 0) >= 2;
    this.markers.delete(requestId);
    return ended;
  }

  kill(): void {
    this.dead = true;
    clearTimeout(this.idleTimer);
    killGroup(this.child);
  }
}

export interface EnvironmentPoolOptions {
  runnerPath: string;
  workRoot: string;
  /** How long an idle environment is kept; 0: never reused (every invocation a cold start). */
  idleMs: number;
  /** Most environments (busy and idle) at once: past it, the longest-idle one is ended first. */
  maxEnvironments: number;
}

export class EnvironmentPool {
  private readonly idle: Environment[] = [];
  private readonly busy = new Set<Environment>();

  constructor(private readonly options: EnvironmentPoolOptions) {}

  /** An environment for `record`, marked busy: a warm one of the same version if one is idle
   *  (`cold` false), else a new process. Idle environments of older versions of the function go. */
  acquire(record: FunctionRecord, start: () => Environment): { environment: Environment; cold: boolean } {
    const key = versionKey(record);
    this.retire(record.name, key);
    // The most recently used first: the others may then reach their idle time and go.
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const environment = this.idle[i];
      if (environment.key !== key || environment.dead) continue;
      this.idle.splice(i, 1);
      clearTimeout(environment.idleTimer);
      this.busy.add(environment);
      return { environment, cold: false };
    }
    while (this.idle.length > 0 && this.idle.length + this.busy.size >= this.options.maxEnvironments) this.discard(this.idle[0]);
    const environment = start();
    this.busy.add(environment);
    void environment.exited.then(() => this.remove(environment));
    return { environment, cold: true };
  }

  /** After an invocation that ended normally: kept warm if it may serve the same version again. */
  release(environment: Environment, currentKey: string | undefined): void {
    this.busy.delete(environment);
    if (environment.dead || this.options.idleMs <= 0 || environment.key !== currentKey) {
      environment.kill();
      return;
    }
    environment.attach(undefined, undefined);
    environment.idleSince = Date.now();
    environment.idleTimer = setTimeout(() => this.discard(environment), this.options.idleMs);
    environment.idleTimer.unref();
    this.idle.push(environment);
  }

  /** Ends an environment (timed out, killed, or no longer wanted). */
  discard(environment: Environment): void {
    this.remove(environment);
    environment.kill();
  }

  /** Ends the idle environments of `functionName` whose version is not `keepKey` (all of them without one). */
  retire(functionName: string, keepKey?: string): void {
    for (const environment of [...this.idle]) {
      if (environment.functionName === functionName && environment.key !== keepKey) this.discard(environment);
    }
  }

  /** Environments kept warm now (for the admin surface and the tests). */
  idleEnvironments(): Array<{ id: string; functionName: string; pid: number | undefined; invocations: number; idleSince: string; codeCache?: CodeCacheState }> {
    return this.idle.map((e) => ({ id: e.id, functionName: e.functionName, pid: e.pid, invocations: e.invocations, idleSince: new Date(e.idleSince).toISOString(), ...(e.codeCache ? { codeCache: e.codeCache } : {}) }));
  }

  /** Code folders the environments have loaded (not to be pruned while they live). */
  codeInUse(): string[] {
    return [...this.idle, ...this.busy].map((e) => e.codeDir);
  }

  /** Ends every environment and waits until they are gone. */
  async close(): Promise<void> {
    const all = [...this.idle, ...this.busy];
    for (const environment of all) environment.kill();
    this.idle.length = 0;
    this.busy.clear();
    await Promise.all(all.map((e) => e.exited));
  }

  private remove(environment: Environment): void {
    clearTimeout(environment.idleTimer);
    this.busy.delete(environment);
    const at = this.idle.indexOf(environment);
    if (at >= 0) this.idle.splice(at, 1);
  }
}
