// A signed S3 GET and HEAD without the AWS SDK, for the worker's partition reads. Loading the SDK's S3
// client (its middleware stack, credential chain and XML parser) and sending its first request cost a
// cold worker about a third of its start-up (docs/benchmarks.md, coldStart); two object operations need
// only AWS Signature Version 4 over node:http/https, done here by the book:
// docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html. test/storage/s3-signed.test.ts
// checks the signature against the SDK's own signer and reads from the embedded S3, which checks it too.
// Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), as
// Lambda hands them to a function; without them the caller uses the SDK and its default chain.
import { createHash, createHmac } from 'node:crypto';
import type * as http from 'node:http';

export interface SignedS3Target {
  region: string;
  /** e.g. http://127.0.0.1:PORT (the embedded S3); absent for AWS's regional endpoint. */
  endpoint?: string;
  /** The bucket in the path rather than the host name (the embedded S3 and most S3-compatible servers). */
  forcePathStyle?: boolean;
}

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** An S3 error as the SDK reports it (name = S3's error code, $metadata.httpStatusCode), so the same checks
 *  (storage/s3.ts isNotFound) apply to both. */
export class S3RequestError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

/** sha256 of an empty body: a GET or HEAD signs it as its payload hash. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** As the SDK's default retry strategy: 3 attempts for throttling, 5xx and dropped connections. */
const MAX_ATTEMPTS = 3;
const RETRY_BASE_MS = 100;
/** A GET's body is read into a buffer of its Content-Length up to this size (a header naming more is
 *  not trusted with one allocation: the chunks are joined at the end instead). */
const PREALLOCATE_MAX_BYTES = 256 * 2 ** 20;

/** The credentials Lambda gives a function, or undefined when the environment has none. */
export function credentialsFromEnvironment(env: NodeJS.ProcessEnv = process.env): SigningCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/** RFC 3986 percent-encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Where an object is: the request URL (protocol, host and the encoded path, which S3 signs as sent). */
export function objectUrl(target: SignedS3Target, bucket: string, key: string): { protocol: 'http:' | 'https:'; hostname: string; port: string; host: string; path: string } {
  const encodedKey = key.split('/').map(uriEncode).join('/');
  const base = new URL(target.endpoint ?? `https://s3.${target.region}.amazonaws.com`);
  // Virtual-hosted style unless told otherwise, as the SDK does; a bucket with dots would not match the
  // endpoint's wildcard certificate, so it goes in the path.
  const pathStyle = (target.forcePathStyle ?? target.endpoint !== undefined) || bucket.includes('.');
  const hostname = pathStyle ? base.hostname : `${bucket}.${base.hostname}`;
  const prefix = base.pathname.replace(/\/+$/, '');
  const protocol = base.protocol === 'http:' ? 'http:' : 'https:';
  return { protocol, hostname, port: base.port, host: base.port ? `${hostname}:${base.port}` : hostname, path: pathStyle ? `${prefix}/${bucket}/${encodedKey}` : `${prefix}/${encodedKey}` };
}

/** `20261201T012345Z` */
function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** The headers that sign a GET or HEAD of `path` (already encoded, no query) on `host`: SigV4 with an
 *  empty payload's hash, host, x-amz-content-sha256, x-amz-date and the session token signed. */
export function signedHeaders(
  request: { method: 'GET' | 'HEAD'; host: string; path: string },
  credentials: SigningCredentials,
  region: string,
  date = new Date(),
): Record<string, string> {
  const stamp = amzDate(date);
  const day = stamp.slice(0, 8);
  const headers: Record<string, string> = { host: request.host, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': stamp };
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalRequest = [request.method, request.path, '', ...names.map((n) => `${n}:${headers[n].trim()}`), '', names.join(';'), EMPTY_SHA256].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  const { host: _host, ...rest } = headers;
  return { ...rest, authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

/** What a request needs of node:http or node:https (their request options are the same for this). */
type Transport = Pick<typeof http, 'request' | 'Agent'>;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Uint8Array;
}

/** GET and HEAD of objects, signed, over kept-alive connections (one agent per reader). */
export class SignedS3Reader {
  private agent: http.Agent | undefined;

  constructor(private readonly target: SignedS3Target, private readonly credentials: SigningCredentials) {}

  /** The object's bytes and ETag; an S3RequestError (NoSuchKey, AccessDenied, ...) naming the object otherwise. */
  async getObject(bucket: string, key: string): Promise<{ bytes: Uint8Array; etag: string | undefined }> {
    const reply = await this.send('GET', bucket, key);
    if (reply.status !== 200) throw failure('GET', bucket, key, reply);
    return { bytes: reply.body, etag: header(reply.headers.etag) };
  }

  /** The object's ETag, or undefined when it does not exist. */
  async headObject(bucket: string, key: string): Promise<{ etag: string | undefined } | undefined> {
    const reply = await this.send('HEAD', bucket, key);
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw failure('HEAD', bucket, key, reply);
    return { etag: header(reply.headers.etag) };
  }

  /** Closes the kept-alive connections. */
  destroy(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private async send(method: 'GET' | 'HEAD', bucket: string, key: string): Promise<Reply> {
    const where = objectUrl(this.target, bucket, key);
    // node:https (and TLS with it) only when the endpoint needs it: the embedded S3 speaks plain HTTP.
    const transport: Transport = where.protocol === 'https:' ? ((await import('node:https')) as unknown as Transport) : await import('node:http');
    this.agent ??= new transport.Agent({ keepAlive: true });
    for (let attempt = 1; ; attempt++) {
      try {
        const reply = await this.once(transport, this.agent, method, where);
        if ((reply.status < 500 && reply.status !== 429) || attempt >= MAX_ATTEMPTS) return reply;
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS) throw new Error(`s3://${bucket}/${key}: ${method} failed after ${attempt} attempts: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
    }
  }

  private once(transport: Transport, agent: http.Agent, method: 'GET' | 'HEAD', where: ReturnType<typeof objectUrl>): Promise<Reply> {
    const headers = signedHeaders({ method, host: where.host, path: where.path }, this.credentials, this.target.region);
    return new Promise<Reply>((resolve, reject) => {
      const request = transport.request({ method, hostname: where.hostname, port: where.port || undefined, path: where.path, headers: { ...headers, host: where.host }, agent }, (response) => {
        const length = Number(response.headers['content-length']);
        const expected = method === 'GET' && response.statusCode === 200 && Number.isInteger(length) && length >= 0;
        // An object's bytes are copied into one buffer as they arrive: its fresh pages are touched while
        // the rest is still on the way, not in one copy (Buffer.concat) after the last byte, where a
        // cold start waits for it (a partition is a few MB; a page fault costs ~15 µs on a VM).
        const whole = expected && length > 0 && length <= PREALLOCATE_MAX_BYTES ? Buffer.allocUnsafe(length) : undefined;
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          if (whole && received + chunk.length <= length) chunk.copy(whole, received);
          else chunks.push(chunk);
          received += chunk.length;
        });
        response.on('error', reject);
        response.on('end', () => {
          if (expected && received !== length) {
            return reject(new Error(`the connection ended after ${received} of ${length} bytes`));
          }
          const body = whole ?? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) });
        });
      });
      request.on('error', reject);
      request.end();
    });
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** S3's error (its XML Code and Message; a HEAD has no body, so its status names it). */
function failure(method: string, bucket: string, key: string, reply: Reply): S3RequestError {
  const text = Buffer.from(reply.body).toString('utf8');
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? (reply.status === 404 ? 'NotFound' : reply.status === 403 ? 'Forbidden' : `HTTP${reply.status}`);
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  return new S3RequestError(code, `s3://${bucket}/${key}: ${method} failed: ${reply.status} ${code}${message ? `: ${message}` : ''}`, reply.status);
}
