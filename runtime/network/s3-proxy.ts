// An HTTP proxy in front of the embedded S3 that behaves, on the wire, like S3 seen from a Lambda
// function: every response's first byte comes `s3FirstByteMs` after its request, each connection
// carries `s3BytesPerSecond` each way, and a prefix asked more often than S3 allows gets
// 503 SlowDown with S3's XML error body, which the AWS SDK retries with backoff as it would on AWS.
// Requests are forwarded unchanged (Host header included), so their SigV4 signatures still verify.
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Forwarder, Link } from './link';
import type { NetworkFigures } from './profile';

export type S3ProxyFigures = Pick<NetworkFigures, 's3FirstByteMs' | 's3BytesPerSecond' | 's3GetsPerSecondPerPrefix' | 's3PutsPerSecondPerPrefix'>;

export interface S3ProxyOptions {
  /** The real server, e.g. http://127.0.0.1:PORT. */
  upstream: string;
  figures: S3ProxyFigures;
  port?: number;
}

export interface S3ProxyStats {
  requests: number;
  slowDowns: number;
}

export interface S3Proxy {
  endpoint: string;
  port: number;
  stats(): S3ProxyStats;
  close(): Promise<void>;
}

/** Hop-by-hop headers are the proxy's own business on each side; SigV4 never signs them. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer']);

function forwardedHeaders(raw: string[]): http.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    const seen = out[name];
    out[name] = seen === undefined ? raw[i + 1] : [...(Array.isArray(seen) ? seen : [seen]), raw[i + 1]];
  }
  return out;
}

/** S3 scales request rates per partitioned prefix. Emulated here as: the bucket and the key up to
 *  its last '/', so `run/x/grad/1` and `run/x/grad/2` share a budget, `run/x/model` another. */
export function requestPrefix(url: string): string {
  const pathname = decodeURIComponent(url.split('?')[0]);
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? pathname : pathname.slice(0, slash + 1);
}

/** A token bucket per (prefix, read or write): `rate` per second, a burst of one second's worth. */
export class PrefixRateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly readRate: number, private readonly writeRate: number) {}

  take(prefix: string, write: boolean, now = performance.now()): boolean {
    const rate = write ? this.writeRate : this.readRate;
    const key = `${write ? 'w' : 'r'}${prefix}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size > 10_000) this.buckets.clear(); // full buckets carry no state worth keeping
      bucket = { tokens: rate, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** S3's error body for throttling (docs: ErrorResponses, "SlowDown"). */
export function slowDownBody(requestId: string, hostId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`
  );
}

export async function startS3Proxy(options: S3ProxyOptions): Promise<S3Proxy> {
  const upstream = new URL(options.upstream);
  const { figures } = options;
  const limiter = new PrefixRateLimiter(figures.s3GetsPerSecondPerPrefix, figures.s3PutsPerSecondPerPrefix);
  const agent = new http.Agent({ keepAlive: true });
  // The bandwidth is per client connection and shared by the requests it carries one after another.
  const links = new WeakMap<Socket, { up: Link; down: Link }>();
  const stats: S3ProxyStats = { requests: 0, slowDowns: 0 };

  const server = http.createServer((req, res) => {
    const started = performance.now();
    stats.requests++;
    let link = links.get(req.socket);
    if (!link) {
      link = { up: new Link(figures.s3BytesPerSecond, 0), down: new Link(figures.s3BytesPerSecond, 0) };
      links.set(req.socket, link);
    }
    const firstByteAt = started + figures.s3FirstByteMs;
    const down = new Forwarder(link.down, res);
    res.on('close', () => down.close());

    const method = req.method ?? 'GET';
    const write = !['GET', 'HEAD', 'OPTIONS'].includes(method);
    if (method !== 'OPTIONS' && !limiter.take(requestPrefix(req.url ?? '/'), write)) {
      stats.slowDowns++;
      req.resume(); // S3 answers at once; the body is discarded
      const requestId = randomBytes(8).toString('hex').toUpperCase();
      const body = method === 'HEAD' ? '' : slowDownBody(requestId, randomBytes(24).toString('base64'));
      down.at(firstByteAt, () =>
        res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': requestId }),
      );
      if (body) down.send(Buffer.from(body));
      down.at(0, () => res.end());
      return;
    }

    const upstreamRequest = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method,
      path: req.url,
      headers: forwardedHeaders(req.rawHeaders),
      agent,
    });
    const up = new Forwarder(link.up, upstreamRequest);
    up.pipe(req);
    const fail = (error: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`S3 proxy: upstream ${options.upstream} failed: ${error.message}`);
    };
    upstreamRequest.on('error', fail);
    req.on('error', () => upstreamRequest.destroy());
    upstreamRequest.on('response', (response) => {
      down.at(firstByteAt, () => res.writeHead(response.statusCode ?? 502, response.statusMessage, forwardedHeaders(response.rawHeaders)));
      down.pipe(response);
      response.on('error', (error) => res.destroy(error));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stats: () => ({ ...stats }),
    close() {
      agent.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
