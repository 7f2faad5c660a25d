// Starts the parameter server as its own child process (dist/ps-server.js), so its event loop — the
// hot path of training — shares nothing with the extension host or the CLI driver. The handshake,
// stop and exit handling are runtime/util/child-service.ts's, as for the other embedded services.
import { startChildService } from '../util/child-service';
import { distFile } from '../util/paths';
import type { ParameterServerConfig, ParameterServerStats } from './types';

export interface ParameterServerProcess {
  host: string;
  port: number;
  pid: number;
  /** Where the driver dials it when not this machine (a server on EC2); default 127.0.0.1. */
  connectHost?: string;
  /** Ends it at once, as a crash would (its exit follows through onExit). */
  kill(): void;
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

export async function startParameterServer(config: ParameterServerConfig, opts: LaunchOptions = {}): Promise<ParameterServerProcess> {
  const statsListeners = new Set<(s: ParameterServerStats) => void>();
  let lastStats: ParameterServerStats | undefined;
  const service = await startChildService<{ host: string; port: number }>({
    name: 'parameter server',
    script: opts.script ?? distFile('ps-server.js'),
    start: { config }, // the secret token travels over IPC, never argv or the environment
    startTimeoutMs: opts.startTimeoutMs ?? 15_000,
    log: opts.log,
    onMessage: (message) => {
      if (message.type !== 'stats') return;
      lastStats = message.stats as ParameterServerStats;
      for (const cb of statsListeners) cb(lastStats);
    },
  });
  return {
    host: service.ready.host,
    port: service.ready.port,
    pid: service.pid,
    get lastStats() {
      return lastStats;
    },
    stop: (graceMs = 3000) => service.stop(graceMs),
    kill() {
      try {
        process.kill(service.pid, 'SIGKILL');
      } catch {
        // already gone: its exit is on its way
      }
    },
    onExit: (cb) => service.onExit(cb),
    onStats(cb) {
      statsListeners.add(cb);
      return () => statsListeners.delete(cb);
    },
  };
}
