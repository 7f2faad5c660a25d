// Starts the local Lambda service in its own child process (dist/lambda-service.js) through the
// shared launcher (runtime/util/child-service.ts): it keeps the caller's event loop free (the driver
// runs in VS Code's extension host) and, if the caller dies, it notices the closed IPC channel and
// takes its invocations down with it.
import { startChildService } from '../../util/child-service';
import { localCredentials, type LocalCredentials } from '../../util/local-credentials';
import { distFile } from '../../util/paths';
import { signRequest } from '../../util/sigv4';
import type { SerializableServiceOptions } from './protocol';

export interface LocalLambdaOptions extends SerializableServiceOptions {
  /** Receives the service process's own stderr/stdout lines (default: the caller's stderr). */
  log?: (line: string) => void;
  /** How long to wait for the service to listen (default 20 s). */
  startTimeoutMs?: number;
}

export interface LocalLambda {
  /** e.g. http://127.0.0.1:43125, to give to LambdaClient as `endpoint`. */
  endpoint: string;
  port: number;
  /** The service process's id. */
  pid: number;
  /** The key pair every request must be signed with. */
  credentials: LocalCredentials;
  /** Kills running invocations and ends the service process; resolves when it has exited. */
  stop(): Promise<void>;
  /** Called once if the service process exits without stop() (it crashed or was killed). */
  onUnexpectedExit(cb: (why: string) => void): void;
}

export async function startLocalLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const { log, startTimeoutMs = 20_000, ...serviceOptions } = options;
  const credentials = serviceOptions.credentials ?? localCredentials(serviceOptions.stateDir);
  const service = await startChildService<{ port: number }>({
    name: 'local Lambda service',
    script: distFile('lambda-service.js'),
    start: { options: { ...serviceOptions, credentials } }, // the key pair travels over IPC only
    startTimeoutMs,
    log: log ?? ((line) => process.stderr.write(`[local-lambda] ${line}\n`)),
    // Once running, the service must not keep the caller alive: if the caller exits without stop(),
    // the service sees its IPC channel close and shuts down.
    unref: true,
  });
  let stopping = false;
  const port = service.ready.port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: service.pid,
    credentials,
    stop: () => {
      stopping = true;
      return service.stop(8000);
    },
    onUnexpectedExit(cb) {
      service.onExit((code, signal) => {
        if (!stopping) cb(signal ? `killed by ${signal}` : `exited with code ${code}`);
      });
    },
  };
}

/** The local-only admin surface (list and kill invocations), signed like every request. */
export function localAdmin(endpoint: string, credentials: LocalCredentials) {
  const call = async (method: string, path: string) => {
    const url = `${endpoint}${path}`;
    const headers = await signRequest(credentials, { method, url, service: 'lambda' });
    return fetch(url, { method, headers });
  };
  return {
    call,
    async invocations(): Promise<{ invocations: Array<{ requestId: string; functionName: string; pid: number; startedAt: string; invocationType: string }>; queued: number }> {
      const res = await call('GET', '/_local/invocations');
      if (!res.ok) throw new Error(`local Lambda admin: ${res.status} ${await res.text()}`);
      return (await res.json()) as never;
    },
    /** True when the invocation was running and is now killed. */
    async kill(requestId: string): Promise<boolean> {
      const res = await call('POST', `/_local/invocations/${encodeURIComponent(requestId)}/kill`);
      return res.ok;
    },
  };
}
