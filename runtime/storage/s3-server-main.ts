// Child-process entry of the embedded S3 server (bundled to dist/s3-server.js and forked by
// embedded-s3.ts). It runs s3rver on 127.0.0.1 on a free port and reports that port over IPC.
//
// Why a child process: s3rver makes listing continuation tokens with DES, which OpenSSL 3 only
// allows with --openssl-legacy-provider, a flag that must be given to the process at start; a
// separate process also keeps the extension host's event loop free of S3 request handling.
//
// Protocol (parent <- child): { type: 'ready', port, legacyProvider } or { type: 'error', message }.
// The data directory comes as argv[2], or from the parent as { type: 'start', dataDir } when absent.
import * as fs from 'node:fs';
import { makePutsAtomic } from './s3rver-atomic-put';

// s3rver ships no type declarations; this is the little of its API used here.
interface S3rverServer {
  run(): Promise<{ port: number } | string | null>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections?: () => void };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverServer;
// PUTs atomic as on S3 (see s3rver-atomic-put.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
makePutsAtomic(require('s3rver/lib/stores/filesystem'));

type StartMessage = { type: 'start'; dataDir: string };

let server: S3rverServer | undefined;

function send(message: object): void {
  if (process.send) process.send(message);
  else console.log(JSON.stringify(message)); // run by hand: print instead
}

async function start(dataDir: string): Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dataDir, vhostBuckets: false });
  const address = await server.run();
  const port = typeof address === 'object' && address ? address.port : Number(address);
  // Whether DES (and so listings past 1,000 keys) will work in this process.
  const legacyProvider = process.execArgv.includes('--openssl-legacy-provider') || (process.env.NODE_OPTIONS ?? '').includes('--openssl-legacy-provider');
  send({ type: 'ready', port, legacyProvider });
}

function fail(err: unknown): void {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
}

async function shutdown(): Promise<void> {
  // Do not wait for idle keep-alive connections of SDK clients to time out.
  setTimeout(() => process.exit(0), 1000).unref();
  try {
    server?.httpServer?.closeAllConnections?.();
    await server?.close();
  } catch { /* not running */ }
  process.exit(0);
}

// The parent died or closed the channel: nothing can reach us any more, so leave.
process.on('disconnect', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());

const dirArg = process.argv[2];
if (dirArg) {
  start(dirArg).catch(fail);
} else if (process.send) {
  process.once('message', (message: StartMessage) => {
    if (message?.type === 'start' && typeof message.dataDir === 'string') start(message.dataDir).catch(fail);
    else fail(new Error('expected { type: "start", dataDir } as the first message'));
  });
} else {
  console.error('usage: node s3-server.js DATA_DIR');
  process.exit(2);
}
