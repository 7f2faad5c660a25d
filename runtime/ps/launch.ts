// Starts the parameter server as its own child process (dist/ps-server.js), so its event loop — the
// hot path of training — shares nothing with the extension host or the CLI driver.
//
// `process.execPath` is the runtime we are in: Node from the CLI and tests, Electron-as-Node inside the
// VS Code desktop host (fork() arranges ELECTRON_RUN_AS_NODE there), Node inside code-server.
import { fork, type ChildProcess } from 'node:child_process';
import { distFile } from '../util/paths';
import type { ParameterServerConfig, ParameterServerStats } from './types';
import { OWN_PROCESS_GROUP } from '../util/child-group';

export interface ParameterServerProcess {
  host: string;
  port: number;
  pid: number;
  /** The latest stats the child reported (about every second), if any yet. */
  readonly lastStats: ParameterServerStats | undefined;
  /** Asks the child to close and exit; kills it if it has not within `graceMs`. Resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  onExit(cb: (code: number | null, signal: NodeJS.Signals | null) => void): () => void;
  onStats(cb: (stats: ParameterServerStats) => void): () => void;
}

export interface LaunchOptions {
  /** How long to wait for the child to report its port (default 15 s). */
  startTimeoutMs?: number;
  /** Receives the child's stdout/stderr lines (its warnings: refused connections and the like). */
  log?: (line: string) => void;
  /** Defaults to distFile('ps-server.js'). */
  script?: string;
}

type ChildMessage =
  | { type: 'listening'; host: string; port: number }
  | { type: 'stats'; stats: ParameterServerStats }
  | { type: 'error'; message: string };

export function startParameterServer(config: ParameterServerConfig, opts: LaunchOptions = {}): Promise<ParameterServerProcess> {
  const script = opts.script ?? distFile('ps-server.js');
  const child: ChildProcess = fork(script, [], {
    execPath: process.execPath,
    execArgv: [], // not the parent's (e.g. --import tsx in tests): the child is a plain bundle
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
    detached: OWN_PROCESS_GROUP, // a terminal's Ctrl-C reaches the driver only: it decides when the server stops
  });

  const statsListeners = new Set<(s: ParameterServerStats) => void>();
  const exitListeners = new Set<(code: number | null, signal: NodeJS.Signals | null) => void>();
  let lastStats: ParameterServerStats | undefined;
  let exited = false;
  let exitInfo: [number | null, NodeJS.Signals | null] = [null, null];
  const recentOutput: string[] = [];

  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      recentOutput.push(line);
      if (recentOutput.length > 20) recentOutput.shift();
      opts.log?.(line);
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);

  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitInfo = [code, signal];
      for (const cb of exitListeners) cb(code, signal);
      resolve();
    });
  });

  return new Promise<ParameterServerProcess>((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!exited) child.kill('SIGKILL');
      const tail = recentOutput.length ? `\n${recentOutput.join('\n')}` : '';
      reject(new Error(`parameter server did not start: ${why}${tail}`));
    };
    const timer = setTimeout(() => fail(`no port reported within ${opts.startTimeoutMs ?? 15_000} ms`), opts.startTimeoutMs ?? 15_000);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));

    child.on('message', (message: ChildMessage) => {
      if (message.type === 'stats') {
        lastStats = message.stats;
        for (const cb of statsListeners) cb(message.stats);
      } else if (message.type === 'error') {
        fail(message.message);
      } else if (message.type === 'listening' && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({
          host: message.host,
          port: message.port,
          pid: child.pid!,
          get lastStats() {
            return lastStats;
          },
          async stop(graceMs = 3000) {
            if (exited) return;
            if (child.connected) child.send({ type: 'stop' }, () => {});
            const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            await exitedPromise;
            clearTimeout(killer);
          },
          onExit(cb) {
            if (exited) {
              cb(...exitInfo);
              return () => {};
            }
            exitListeners.add(cb);
            return () => exitListeners.delete(cb);
          },
          onStats(cb) {
            statsListeners.add(cb);
            return () => statsListeners.delete(cb);
          },
        });
      }
    });
    // The config (with its secret token) goes over IPC, never argv or the environment.
    child.send({ type: 'start', config }, (err) => err && fail(`could not send the config: ${err.message}`));
  });
}
