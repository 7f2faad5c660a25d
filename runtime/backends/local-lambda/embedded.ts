// Starts the local Lambda service in its own child process (dist/lambda-service.js): it keeps the
// caller's event loop free (the driver runs in VS Code's extension host) and, if the caller dies,
// it notices the closed IPC channel and takes its invocations down with it.
import { fork } from 'node:child_process';
import { distFile } from '../../util/paths';
import type { SerializableServiceOptions, ServiceControlMessage, ServiceStatusMessage } from './protocol';
import { OWN_PROCESS_GROUP } from '../../util/child-group';

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
  /** Kills running invocations and ends the service process; resolves when it has exited. */
  stop(): Promise<void>;
}

export function startLocalLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const { log, startTimeoutMs = 20_000, ...serviceOptions } = options;
  // process.execPath + fork: in VS Code desktop this is Electron running as Node.
  const child = fork(distFile('lambda-service.js'), [], {
    execPath: process.execPath,
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
    detached: OWN_PROCESS_GROUP, // a terminal's Ctrl-C reaches the driver only (its invocations inherit the group)
  });
  const forward = (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim()) (log ?? ((l: string) => process.stderr.write(`[local-lambda] ${l}\n`)))(line);
  };
  child.stdout?.setEncoding('utf8').on('data', forward);
  child.stderr?.setEncoding('utf8').on('data', forward);

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  return new Promise<LocalLambda>((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`local Lambda service did not start: ${message}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${startTimeoutMs} ms`), startTimeoutMs);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    child.on('message', (message: ServiceStatusMessage) => {
      if (message.type === 'error') return fail(message.message);
      if (message.type !== 'listening') return;
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Once running, the service must not keep the caller alive: if the caller exits without
      // stop(), the service sees its IPC channel close and shuts down.
      child.unref();
      child.channel?.unref();
      (child.stdout as { unref?: () => void } | null)?.unref?.();
      (child.stderr as { unref?: () => void } | null)?.unref?.();
      let stopped: Promise<void> | undefined;
      resolve({
        endpoint: `http://127.0.0.1:${message.port}`,
        port: message.port,
        pid: child.pid!,
        stop: () => {
          stopped ??= (async () => {
            if (child.connected) child.send({ type: 'stop' } satisfies ServiceControlMessage);
            else child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
            await exited;
            clearTimeout(killer);
          })();
          return stopped;
        },
      });
    });
    child.send({ type: 'start', options: serviceOptions } satisfies ServiceControlMessage);
  });
}
