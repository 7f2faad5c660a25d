// AWS Signature Version 4, checked on the embedded services' side: the signature a request carries
// is recomputed with the service's secret (by @smithy/signature-v4, the SDK's own signer) over the
// headers the client says it signed, and compared in constant time. Only the header form
// (`Authorization: AWS4-HMAC-SHA256 ...`) is accepted; presigned URLs are not.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { LocalCredentials } from './local-credentials';

/** AWS refuses requests whose x-amz-date is more than 15 minutes off. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface ParsedAuthorization {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export type AuthFailure =
  | { kind: 'missing'; message: string }
  | { kind: 'unknown-key'; message: string }
  | { kind: 'expired'; message: string }
  | { kind: 'bad-signature'; message: string }
  | { kind: 'malformed'; message: string };

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A hash constructor in the shape @smithy/signature-v4 wants (HMAC when given a secret). */
export class NodeSha256 {
  private readonly hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

const AUTH_PATTERN = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

export function parseAuthorization(value: string | undefined): ParsedAuthorization | undefined {
  const m = value === undefined ? null : AUTH_PATTERN.exec(value.trim());
  if (!m) return undefined;
  return { accessKeyId: m[1], scopeDate: m[2], region: m[3], service: m[4], signedHeaders: m[5].split(';'), signature: m[6] };
}

function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** What can be checked before the body arrives: a well-formed signature header from our key,
 *  signing host and x-amz-date, with a date within 15 minutes. Cheap, so a request that fails it is
 *  refused before any of its body is read. */
export function precheck(headers: IncomingHttpHeaders, credentials: LocalCredentials, now = Date.now()): ParsedAuthorization | AuthFailure {
  const raw = header(headers, 'authorization');
  if (raw === undefined) return { kind: 'missing', message: 'Missing Authentication Token' };
  const auth = parseAuthorization(raw);
  if (!auth) return { kind: 'malformed', message: 'Authorization header requires a well-formed AWS4-HMAC-SHA256 Credential, SignedHeaders and Signature.' };
  const idA = Buffer.from(auth.accessKeyId);
  const idB = Buffer.from(credentials.accessKeyId);
  if (idA.length !== idB.length || !timingSafeEqual(idA, idB)) return { kind: 'unknown-key', message: 'The security token included in the request is invalid.' };
  if (!auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-amz-date')) {
    return { kind: 'malformed', message: "'Host' and 'X-Amz-Date' must be among the signed headers." };
  }
  const date = parseAmzDate(header(headers, 'x-amz-date'));
  if (!date || !header(headers, 'x-amz-date')!.startsWith(auth.scopeDate)) return { kind: 'malformed', message: 'X-Amz-Date is missing, malformed or not the credential scope date.' };
  if (Math.abs(now - date.getTime()) > MAX_CLOCK_SKEW_MS) {
    return { kind: 'expired', message: `Signature expired: ${header(headers, 'x-amz-date')} is more than 15 minutes from the service's time.` };
  }
  return auth;
}

export interface VerifyInput {
  method: string;
  /** The request target as received (path and query, still percent-encoded). */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body; undefined when the signature covers it through a signed x-amz-content-sha256. */
  body?: Uint8Array;
  /** S3 signs the path as sent; the other services escape it once more (the SDK's uriEscapePath). */
  uriEscapePath: boolean;
}

/** Recomputes the signature; undefined when it matches. */
export async function verifySignature(input: VerifyInput, auth: ParsedAuthorization, credentials: LocalCredentials): Promise<AuthFailure | undefined> {
  const q = input.url.indexOf('?');
  const pathname = q < 0 ? input.url : input.url.slice(0, q);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(q < 0 ? '' : input.url.slice(q + 1))) {
    const prev = query[key];
    query[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  const signed: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = header(input.headers, name);
    if (value === undefined) return { kind: 'bad-signature', message: `Signed header ${name} is missing from the request.` };
    signed[name] = value;
  }
  const contentHash = header(input.headers, 'x-amz-content-sha256');
  if (input.body === undefined && signed['x-amz-content-sha256'] === undefined) {
    return { kind: 'malformed', message: 'x-amz-content-sha256 must be signed.' };
  }
  // With the body in hand, a declared hash must be the body's (else a signed header would cover any body).
  if (input.body !== undefined && contentHash !== undefined && contentHash !== createHash('sha256').update(input.body).digest('hex')) {
    return { kind: 'bad-signature', message: 'The provided x-amz-content-sha256 header does not match what was computed.' };
  }
  const signer = new SignatureV4({
    credentials,
    region: auth.region,
    service: auth.service,
    sha256: NodeSha256,
    uriEscapePath: input.uriEscapePath,
    applyChecksum: false,
  });
  const result = await signer.sign(
    { method: input.method, protocol: 'http:', hostname: signed.host ?? '', path: pathname, query, headers: signed, body: input.body },
    { signingDate: parseAmzDate(signed['x-amz-date']), signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = parseAuthorization(String(result.headers.authorization ?? result.headers.Authorization));
  const a = Buffer.from(expected?.signature ?? '', 'hex');
  const b = Buffer.from(auth.signature, 'hex');
  if (a.length !== 32 || a.length !== b.length || !timingSafeEqual(a, b)) {
    return {
      kind: 'bad-signature',
      message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return undefined;
}

/** Whether a Host header names a loopback address (what DNS rebinding cannot fake: the browser sends
 *  the attacker's host name). Any port: the network emulation's proxy (runtime/network/s3-proxy.ts)
 *  forwards requests unchanged, so they name the proxy's port, which the client signed. */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  return /^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/.test((hostHeader ?? '').toLowerCase());
}

/** Signs a request to an embedded service (the admin surface, tests): the headers to send. */
export async function signRequest(
  credentials: LocalCredentials,
  opts: { method: string; url: string; body?: string | Uint8Array; service: string; region?: string; headers?: Record<string, string> },
): Promise<Record<string, string>> {
  const url = new URL(opts.url);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({ credentials, region: opts.region ?? 'us-east-1', service: opts.service, sha256: NodeSha256, uriEscapePath: opts.service !== 's3', applyChecksum: opts.service === 's3' });
  const signed = await signer.sign({
    method: opts.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query,
    headers: { host: url.host, ...(opts.headers ?? {}) },
    body: opts.body,
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = String(v);
  return out;
}
