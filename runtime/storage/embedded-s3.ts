// The embedded S3-compatible server (the local default): s3rver in its own child process, objects on
// disk under `dataDir`. See s3-server-main.ts for why it is a child process.
import { fork, type ChildProcess } from 'node:child_process';
import type { StorageTarget } from './s3';
import { distFile } from '../util/paths';
import { OWN_PROCESS_GROUP } from '../util/child-group';

export interface EmbeddedS3 {
  endpoint: string; // http://127.0.0.1:PORT
  port: number;
  target: StorageTarget;
  pid: number;
  /** False when the host refused --openssl-legacy-provider: then listings past 1,000 keys fail. */
  legacyProvider: boolean;
  /** Kills the server and resolves once its process has exited. */
  stop(): Promise<void>;
}

/** s3rver accepts any request signed with its default key pair. */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const LEGACY_FLAG = '--openssl-legacy-provider';
const START_TIMEOUT_MS = 20_000;

type ChildMessage = { type: 'ready'; port: number; legacyProvider: boolean } | { type: 'error'; message: string };

interface Started {
  child: ChildProcess;
  port: number;
  legacyProvider: boolean;
}

class StartFailure extends Error {
  constructor(message: string, readonly stderr: string, readonly exited: boolean) {
    super(message);
  }
}

function launch(script: string, dataDir: string, execArgv: string[]): Promise<Started> {
  return new Promise((resolve, reject) => {
    // execPath: in VS Code desktop this is Electron, which fork() runs as Node.
    const child = fork(script, [dataDir], { execPath: process.execPath, execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], detached: OWN_PROCESS_GROUP });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    // Keep only the tail: it is for error messages, and the server may live for hours.
    child.stderr?.on('data', (text: string) => (stderr = (stderr + text).slice(-8000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new StartFailure(`embedded S3 server did not start within ${START_TIMEOUT_MS / 1000} s`, stderr, false));
    }, START_TIMEOUT_MS);
    let done = false;
    const finish = (result: Started | StartFailure) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
      if (result instanceof StartFailure) reject(result);
      else resolve(result);
    };
    const onMessage = (message: ChildMessage) => {
      if (message?.type === 'ready') finish({ child, port: message.port, legacyProvider: message.legacyProvider });
      else if (message?.type === 'error') {
        child.kill('SIGKILL');
        finish(new StartFailure(`embedded S3 server failed: ${message.message}`, stderr, false));
      }
    };
    const onExit = (code: number | null, signal: string | null) =>
      // stderr may still be arriving: give it a moment so the error message is complete.
      setTimeout(() => finish(new StartFailure(`embedded S3 server exited before it was ready (${signal ?? `code ${code}`})`, stderr, true)), 50);
    const onError = (err: Error) => finish(new StartFailure(`cannot start the embedded S3 server: ${err.message}`, stderr, false));
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', onError);
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface EmbeddedS3Options {
  dataDir: string;
  /** Flags tried first (default --openssl-legacy-provider); if the runtime refuses them, it starts without. */
  nodeFlags?: string[];
}

export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  const script = distFile('s3-server.js');
  const flags = opts.nodeFlags ?? [LEGACY_FLAG];
  let started: Started;
  try {
    started = await launch(script, opts.dataDir, flags);
  } catch (err) {
    // Electron (BoringSSL) may refuse the OpenSSL flag and exit at once: run without it then.
    if (!(err instanceof StartFailure) || !err.exited) throw err;
    try {
      started = await launch(script, opts.dataDir, []);
    } catch (second) {
      const detail = second instanceof StartFailure && second.stderr.trim() ? `\n${second.stderr.trim()}` : '';
      const first = err.stderr.trim() ? `\nwith ${flags.join(' ')}: ${err.stderr.trim()}` : '';
      throw new Error(`${(second as Error).message}${detail}${first}`);
    }
  }
  const { child, port, legacyProvider } = started;
  // Once running, the server must not keep the parent alive; when the parent exits, the IPC channel
  // closes and the child leaves on 'disconnect'.
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  const endpoint = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port,
    pid: child.pid ?? -1,
    legacyProvider,
    target: { endpoint, region: 'us-east-1', credentials: { ...EMBEDDED_S3_CREDENTIALS }, forcePathStyle: true },
    stop() {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 3000))) {
          child.kill('SIGKILL');
          await waitForExit(child, 3000);
        }
      })();
      return stopping;
    },
  };
}
