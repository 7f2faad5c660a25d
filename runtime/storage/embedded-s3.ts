// The embedded S3-compatible server (the local default): s3rver in its own child process behind a
// guard that checks Host, Origin and the Signature V4 of every request (s3-server-main.ts), objects on
// disk under `dataDir`. Started by the shared launcher, runtime/util/child-service.ts.
import * as path from 'node:path';
import type { StorageTarget } from './s3';
import { ChildServiceStartError, startChildService } from '../util/child-service';
import { localCredentials, type LocalCredentials } from '../util/local-credentials';
import { distFile } from '../util/paths';

export interface EmbeddedS3 {
  endpoint: string; // http://127.0.0.1:PORT
  port: number;
  target: StorageTarget;
  pid: number;
  /** The key pair every request must be signed with. */
  credentials: LocalCredentials;
  /** False when the host refused --openssl-legacy-provider: then listings past 1,000 keys fail. */
  legacyProvider: boolean;
  /** Kills the server and resolves once its process has exited. */
  stop(): Promise<void>;
}

const LEGACY_FLAG = '--openssl-legacy-provider';

export interface EmbeddedS3Options {
  dataDir: string;
  /** Default: the pair of `credentials.json` beside `dataDir` (in the state folder), made on first use. */
  credentials?: LocalCredentials;
  /** Flags tried first (default --openssl-legacy-provider); if the runtime refuses them, it starts without. */
  nodeFlags?: string[];
  /** For tests: the guard's header and request timeouts (see s3-server-main.ts). */
  limits?: { headersTimeoutMs?: number; requestTimeoutMs?: number };
}

export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  let credentials: LocalCredentials;
  try {
    credentials = opts.credentials ?? localCredentials(path.dirname(path.resolve(opts.dataDir)));
  } catch (error) {
    throw new Error(`embedded S3 server failed: cannot keep its key pair beside ${opts.dataDir}: ${(error as Error).message}`);
  }
  const launch = (execArgv: string[]) =>
    startChildService<{ port: number; legacyProvider: boolean }>({
      name: 'embedded S3 server',
      script: distFile('s3-server.js'),
      start: { dataDir: opts.dataDir, credentials, limits: opts.limits },
      execArgv,
      // Once running, the server must not keep the parent alive; when the parent exits, the IPC
      // channel closes and the child leaves.
      unref: true,
    });
  const flags = opts.nodeFlags ?? [LEGACY_FLAG];
  let service: Awaited<ReturnType<typeof launch>>;
  try {
    service = await launch(flags);
  } catch (err) {
    // Electron (BoringSSL) may refuse the OpenSSL flag and exit at once: run without it then.
    if (!(err instanceof ChildServiceStartError) || !err.exited) throw err;
    try {
      service = await launch([]);
    } catch (second) {
      const first = err.output.trim() ? `\nwith ${flags.join(' ')}: ${err.output.trim()}` : '';
      throw new Error(`${(second as Error).message}${first}`);
    }
  }
  const { port, legacyProvider } = service.ready;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    pid: service.pid,
    credentials,
    legacyProvider,
    target: { endpoint, region: 'us-east-1', credentials: { ...credentials }, forcePathStyle: true },
    stop: () => service.stop(3000),
  };
}
