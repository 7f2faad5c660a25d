// Child-process entry of the embedded S3 server (bundled to dist/s3-server.js and started by
// embedded-s3.ts through runtime/util/child-service.ts). It runs s3rver on 127.0.0.1 on a free port
// behind a guard, and reports the port over IPC.
//
// Why a child process: s3rver makes listing continuation tokens with DES, which OpenSSL 3 only
// allows with --openssl-legacy-provider, a flag that must be given to the process at start; a
// separate process also keeps the extension host's event loop free of S3 request handling.
//
// The guard: s3rver accepts any Signature V4 (it checks only V2 signatures) and unsigned requests.
// In front of it, every request must name a loopback address (any port: the network emulation proxies) as its Host,
// carry no Origin header, and be signed (SigV4, header form, x-amz-content-sha256 signed) with the
// state folder's key pair; the signature is verified before s3rver sees the request.
//
// Start message: { type: 'start', dataDir, credentials, limits? } -> { type: 'ready', port, legacyProvider }.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveChildService } from '../util/child-service';
import type { LocalCredentials } from '../util/local-credentials';
import { isLoopbackHost, precheck, verifySignature, type AuthFailure } from '../util/sigv4';
import { makePutsAtomic } from './s3rver-atomic-put';

// s3rver ships no type declarations; this is the little of its API used here.
interface S3rverServer {
  configureBuckets(): Promise<void>;
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverServer;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as {
  DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
};
// PUTs atomic as on S3 (see s3rver-atomic-put.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
makePutsAtomic(require('s3rver/lib/stores/filesystem'));

export interface S3ServerLimits {
  /** Time to receive a request's headers (default 10 s). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included (default 5 min: objects may be large). */
  requestTimeoutMs: number;
}

interface StartMessage {
  dataDir: string;
  credentials: LocalCredentials;
  limits?: Partial<S3ServerLimits>;
}

let server: http.Server | undefined;

function xmlError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(/[<>&]/g, ' ')}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

function authCode(failure: AuthFailure): [number, string] {
  switch (failure.kind) {
    case 'missing': return [403, 'AccessDenied'];
    case 'unknown-key': return [403, 'InvalidAccessKeyId'];
    case 'expired': return [403, 'RequestTimeTooSkewed'];
    case 'malformed': return [400, 'AuthorizationHeaderMalformed'];
    default: return [403, 'SignatureDoesNotMatch'];
  }
}

async function start({ dataDir, credentials, limits }: StartMessage): Promise<{ port: number; legacyProvider: boolean }> {
  if (!credentials?.accessKeyId || !credentials.secretAccessKey) throw new Error('the start message carries no credentials');
  fs.mkdirSync(dataDir, { recursive: true });
  DUMMY_ACCOUNT.revokeAccessKey('S3RVER'); // s3rver's well-known default pair
  DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dataDir, vhostBuckets: false });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();
  let port = 0;
  server = http.createServer(
    { headersTimeout: limits?.headersTimeoutMs ?? 10_000, requestTimeout: limits?.requestTimeoutMs ?? 300_000, connectionsCheckingInterval: 1000 },
    (req, res) => {
      if (!isLoopbackHost(req.headers.host)) return xmlError(res, 403, 'AccessDenied', `Host ${req.headers.host ?? ''} is not a loopback address of this server.`);
      if (req.headers.origin !== undefined) return xmlError(res, 403, 'AccessDenied', 'Requests from web pages (with an Origin header) are refused.');
      const auth = precheck(req.headers, credentials);
      if ('kind' in auth) return xmlError(res, ...authCode(auth), auth.message);
      verifySignature({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, uriEscapePath: false }, auth, credentials).then(
        (failure) => (failure ? xmlError(res, ...authCode(failure), failure.message) : handle(req, res)),
        (error: Error) => xmlError(res, 500, 'InternalError', error.message),
      );
    },
  );
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  // Whether DES (and so listings past 1,000 keys) will work in this process.
  const legacyProvider = process.execArgv.includes('--openssl-legacy-provider') || (process.env.NODE_OPTIONS ?? '').includes('--openssl-legacy-provider');
  return { port, legacyProvider };
}

const served = serveChildService<StartMessage>({
  start,
  async stop() {
    // Do not wait for idle keep-alive connections of SDK clients to time out.
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  },
  exitDeadlineMs: 1000,
});

if (!served) {
  console.error('s3-server: must be started with an IPC channel (see runtime/storage/embedded-s3.ts)');
  process.exit(2);
}
