// A Lambda-API-compatible HTTP service on 127.0.0.1: the unmodified @aws-sdk/client-lambda talks
// to it (only the endpoint and credentials differ from AWS). Same paths, JSON bodies, status codes
// and error shapes as the AWS Lambda API reference, for the subset Cirrus uses: functions
// (create, get, list, update code and configuration, delete, reserved concurrency), Invoke
// (RequestResponse, Event, DryRun, log tail) and account settings.
// Every request must be signed (AWS Signature V4) with the service's key pair, name a loopback address
// as its Host (any port: the network emulation proxies), carry no Origin header and no body type a web
// form could send: a web page (DNS rebinding included) or another local user cannot use it. See docs/security.md.
// A local-only admin surface, outside the AWS paths, lists and kills running invocations:
//   GET  /_local/invocations                  -> { invocations: [{ requestId, functionName, pid, startedAt, invocationType }], queued }
//   GET  /_local/environments                 -> { idle: [{ id, functionName, pid, invocations, idleSince }] } (warm, between invocations)
//   POST /_local/invocations/<requestId>/kill -> { killed: true } or 404
//   GET  /_local/functions/<name>/code.zip    -> the deployed package (GetFunction's Code.Location)
// (signed like the rest: see signRequest in runtime/util/sigv4.ts and localAdmin in embedded.ts)
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { localCredentials, type LocalCredentials } from '../../util/local-credentials';
import { distFile } from '../../util/paths';
import { isLoopbackHost, precheck, verifySignature, type AuthFailure } from '../../util/sigv4';
import { LambdaApiError, invalidContent, invalidParameter, requestTooLarge, tooManyRequests, unknownOperation } from './errors';
import { DEFAULT_MAX_QUEUED_EVENT_BYTES, DEFAULT_MAX_QUEUED_EVENTS, Invoker } from './invoker';
import type { SerializableServiceOptions, ServiceLimits } from './protocol';
import { FunctionStore, LIMITS } from './store';

export interface LocalLambdaServiceOptions extends SerializableServiceOptions {
  /** Path of the runner bundle (default: dist/lambda-runner.js). */
  runnerPath?: string;
}

export const DEFAULT_MAX_CONCURRENCY = 32;
/** AWS keeps 100 of an account's default 1,000 concurrent executions unreserved (fewer on new accounts
 *  with smaller limits); here the same tenth of the service's cap, at least one: reservations may not
 *  take the whole pool, so functions without one can always run. */
export function minUnreservedConcurrency(cap: number): number {
  return Math.max(1, Math.ceil(cap / 10));
}
const ACCOUNT_ID = '000000000000';
/** AWS's request limits: 6 MB synchronous, 1 MB for Event invocations. */
const MAX_SYNC_REQUEST_BYTES = 6 * 1024 * 1024;
const MAX_EVENT_REQUEST_BYTES = 1024 * 1024;
/** A CreateFunction body carries the zip in base64 (4/3 of its size) plus the configuration. */
const MAX_BODY_BYTES = Math.ceil((LIMITS.zipBytes * 4) / 3) + 1024 * 1024;

/** How much of a too-large body is read (and dropped) so the client sees the 413 answer. */
const DRAIN_BYTES = 16 * 1024 * 1024;
/** Any other request (configuration, concurrency, ...). */
const MAX_SMALL_BODY_BYTES = 1024 * 1024;

export const DEFAULT_LIMITS: ServiceLimits = {
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  maxInflightBodyBytes: 256 * 1024 * 1024,
  maxQueuedEvents: DEFAULT_MAX_QUEUED_EVENTS,
  maxQueuedEventBytes: DEFAULT_MAX_QUEUED_EVENT_BYTES,
};

/** Body types the Lambda API uses (the SDK and the AWS CLI send these, or none). A browser can send
 *  text/plain, form and multipart bodies to any address without asking; those are refused. */
const ACCEPTED_CONTENT_TYPES = new Set(['application/json', 'application/x-amz-json-1.0', 'application/x-amz-json-1.1', 'application/octet-stream', 'binary/octet-stream']);

/** Reading a body failed in a way that ends the connection (the client may still be sending). */
class BodyError extends Error {
  constructor(readonly error: LambdaApiError) {
    super(error.message);
  }
}

function authError(failure: AuthFailure): LambdaApiError {
  switch (failure.kind) {
    case 'missing': return new LambdaApiError(403, 'MissingAuthenticationTokenException', failure.message);
    case 'unknown-key': return new LambdaApiError(403, 'UnrecognizedClientException', failure.message);
    case 'malformed': return new LambdaApiError(400, 'IncompleteSignatureException', failure.message);
    default: return new LambdaApiError(403, 'InvalidSignatureException', failure.message);
  }
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const value = JSON.parse(body.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw invalidContent(`Could not parse request body into json: ${(error as Error).message}`);
  }
}

export class LocalLambdaService {
  readonly store: FunctionStore;
  readonly invoker: Invoker;
  private readonly server: http.Server;
  private readonly region: string;
  private readonly maxConcurrency: number;
  readonly credentials: LocalCredentials;
  private readonly limits: ServiceLimits;
  private inflightBodyBytes = 0;
  private port = 0;

  constructor(options: LocalLambdaServiceOptions) {
    this.region = options.region ?? 'us-east-1';
    this.credentials = options.credentials ?? localCredentials(options.stateDir);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    const workRoot = path.join(options.stateDir, 'invocations');
    fs.rmSync(workRoot, { recursive: true, force: true }); // leftovers of a service that was killed
    this.maxConcurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    this.store = new FunctionStore(options.stateDir, { region: this.region, accountId: ACCOUNT_ID });
    this.invoker = new Invoker({
      store: this.store,
      runnerPath: options.runnerPath ?? distFile('lambda-runner.js'),
      region: this.region,
      maxConcurrency: this.maxConcurrency,
      logDir: path.join(options.stateDir, 'logs', 'lambda'),
      // The embedded S3 server's key pair (the same state folder's), as AWS hands the execution role's.
      roleCredentials: options.roleCredentials ?? this.credentials,
      eventRetryDelaysMs: options.eventRetryDelaysMs,
      workRoot,
      maxQueuedEvents: this.limits.maxQueuedEvents,
      maxQueuedEventBytes: this.limits.maxQueuedEventBytes,
      environmentIdleMs: options.environmentIdleMs,
      // Kept with the state, across restarts: a version's first cold start compiles, later ones load.
      codeCacheDir: path.join(options.stateDir, 'code-cache'),
    });
    // Headers must arrive within headersTimeoutMs (checked every second); bodies within bodyTimeoutMs
    // (readBody). requestTimeout stays 0: Node's would also count a synchronous invocation's run time.
    this.server = http.createServer(
      { requestTimeout: 0, headersTimeout: this.limits.headersTimeoutMs, connectionsCheckingInterval: 1000 },
      (req, res) => void this.handle(req, res),
    );
    // The SDK keeps idle connections and reuses them; Node's default 5 s idle close races with that
    // reuse ("socket hang up"), which the driver's one-attempt Lambda client cannot retry. With warm
    // environments the gaps between a slot's invocations are short, but a run's setup (or a sweep's
    // next trial) leaves the driver's connections idle for seconds.
    this.server.keepAliveTimeout = 10 * 60_000;
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve((this.port = (this.server.address() as AddressInfo).port)));
    });
  }

  /** Stops accepting requests, kills running invocations and waits for them to exit. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.invoker.close();
    this.server.closeAllConnections();
    await closed;
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': headers['x-amzn-RequestId'] ?? randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  private sendError(res: http.ServerResponse, error: LambdaApiError): void {
    this.send(res, error.status, error.body(), { 'x-amzn-ErrorType': error.errorType, ...error.extra.headers });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      this.guard(req);
      if (this.codeUrlValid(req)) return await this.route(req, res, Buffer.alloc(0));
      const auth = precheck(req.headers, this.credentials);
      if ('kind' in auth) throw authError(auth); // before any of the body is read
      const body = await this.readBody(req, this.bodyLimit(req));
      const failure = await verifySignature({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, uriEscapePath: true }, auth, this.credentials);
      if (failure) throw authError(failure);
      await this.route(req, res, body);
    } catch (error) {
      if (res.headersSent) return;
      if (error instanceof BodyError || !req.complete) {
        // The client may still be sending: answer, then end the connection instead of reading on.
        res.setHeader('Connection', 'close');
        res.once('finish', () => req.socket.destroy());
        setTimeout(() => req.socket.destroy(), 1000).unref();
      }
      if (error instanceof BodyError) this.sendError(res, error.error);
      else if (error instanceof LambdaApiError) this.sendError(res, error);
      else this.sendError(res, new LambdaApiError(500, 'ServiceException', `local Lambda service error: ${(error as Error)?.message ?? String(error)}`));
    }
  }

  /** GetFunction's Code.Location, like AWS's presigned URL: usable without signing for 10 minutes,
   *  for that function's package only (an HMAC of name, code hash and expiry under the secret). */
  private codeUrlToken(name: string, codeSha256: string, expires: number): string {
    return createHmac('sha256', this.credentials.secretAccessKey).update(`code.zip\n${name}\n${codeSha256}\n${expires}`).digest('hex');
  }

  private codeUrlValid(req: http.IncomingMessage): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/_local\/functions\/([^/]+)\/code\.zip$/.exec(url.pathname);
    const token = url.searchParams.get('token');
    const expires = Number(url.searchParams.get('expires'));
    if (!m || req.method !== 'GET' || !token || !(expires > Date.now() / 1000)) return false;
    const name = decodeURIComponent(m[1]);
    if (!this.store.has(name)) return false;
    const expected = Buffer.from(this.codeUrlToken(name, this.store.get(name).codeSha256, expires), 'hex');
    const given = Buffer.from(token, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Refuses what a web page could send (DNS rebinding gives it our port under its own host name). */
  private guard(req: http.IncomingMessage): void {
    if (!isLoopbackHost(req.headers.host)) {
      throw new LambdaApiError(403, 'AccessDeniedException', `Host ${JSON.stringify(req.headers.host ?? '')} is not a loopback address (127.0.0.1:${this.port} is this service).`);
    }
    if (req.headers.origin !== undefined) {
      throw new LambdaApiError(403, 'AccessDeniedException', 'Requests from web pages (with an Origin header) are refused.');
    }
    const type = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
    if (type !== undefined && type !== '' && !ACCEPTED_CONTENT_TYPES.has(type)) {
      throw new LambdaApiError(415, 'UnsupportedMediaTypeException', `Content-Type ${type} is not one the Lambda API uses.`);
    }
  }

  private bodyLimit(req: http.IncomingMessage): number {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname.endsWith('/invocations')) return req.headers['x-amz-invocation-type'] === 'Event' ? MAX_EVENT_REQUEST_BYTES : MAX_SYNC_REQUEST_BYTES;
    if ((req.method === 'POST' && /^\/2015-03-31\/functions\/?$/.test(pathname)) || (req.method === 'PUT' && pathname.endsWith('/code'))) return MAX_BODY_BYTES;
    return MAX_SMALL_BODY_BYTES;
  }

  /** The body, bounded in size, in time, and (across all requests) in memory held at once. A body
   *  over the limit is read on without being kept (so the client can read the 413 answer), up to
   *  DRAIN_BYTES more; past that, or past the deadline, the connection is closed. */
  private readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
    const invoke = (req.url ?? '').split('?')[0].endsWith('/invocations');
    const tooLarge = () =>
      requestTooLarge(invoke ? `Request must be smaller than ${limit} bytes for the Invoke operation` : 'Request must be smaller than the size limit for this operation.');
    if (Number(req.headers['content-length'] ?? 0) > limit + DRAIN_BYTES) return Promise.reject(new BodyError(tooLarge()));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let held = 0;
      let done = false;
      const release = () => {
        this.inflightBodyBytes -= held;
        held = 0;
        chunks.length = 0;
      };
      const finish = (error: Error | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (error) {
          release();
          reject(error);
          return;
        }
        const body = Buffer.concat(chunks);
        release();
        if (size > limit) reject(tooLarge());
        else resolve(body);
      };
      const timer = setTimeout(
        () => finish(new BodyError(new LambdaApiError(408, 'RequestTimeoutException', `The request body did not arrive within ${this.limits.bodyTimeoutMs} ms.`))),
        this.limits.bodyTimeoutMs,
      );
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > limit) {
          release(); // drained, not kept
          if (size > limit + DRAIN_BYTES) finish(new BodyError(tooLarge()));
          return;
        }
        held += chunk.length;
        this.inflightBodyBytes += chunk.length;
        if (this.inflightBodyBytes > this.limits.maxInflightBodyBytes) {
          return finish(new BodyError(tooManyRequests('Rate Exceeded. Too many request bodies are being received at once.', 'CallerRateLimitExceeded')));
        }
        chunks.push(chunk);
      });
      req.on('end', () => finish(undefined));
      req.on('error', (error) => finish(error));
      req.on('close', () => finish(new Error('the client closed the connection')));
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean); // e.g. ['2015-03-31', 'functions', 'NAME', 'invocations']
    const [version, collection, rawName, sub] = parts;

    if (version === '_local') return this.routeAdmin(method, parts, res);

    // GetAccountSettings: the planner may read the concurrency cap from here, as from AWS.
    if (version === '2016-08-19' && collection === 'account-settings' && method === 'GET') {
      const functions = this.store.list();
      return this.send(res, 200, {
        AccountLimit: {
          ConcurrentExecutions: this.maxConcurrency,
          UnreservedConcurrentExecutions: this.maxConcurrency - functions.reduce((sum, f) => sum + (f.reservedConcurrency ?? 0), 0),
          CodeSizeZipped: LIMITS.zipBytes,
          CodeSizeUnzipped: LIMITS.unzippedBytes,
        },
        AccountUsage: { FunctionCount: functions.length, TotalCodeSize: functions.reduce((sum, f) => sum + f.codeSize, 0) },
      });
    }

    if (collection !== 'functions' || parts.length > 4) throw unknownOperation(`Unknown operation ${method} ${url.pathname}`);
    // Only $LATEST exists: any other version or alias is not found, as on AWS (store.ts parseFunctionName).
    const qualifier = url.searchParams.get('Qualifier');

    if (version === '2015-03-31') {
      if (rawName === undefined) {
        if (method === 'POST') return this.createFunction(raw, res);
        if (method === 'GET') return this.listFunctions(url, res);
      } else {
        const name = this.store.parseName(rawName, qualifier);
        if (sub === undefined && method === 'GET') return this.getFunction(name, res);
        if (sub === undefined && method === 'DELETE') return this.deleteFunction(name, res);
        if (sub === 'configuration' && method === 'GET') return this.send(res, 200, this.store.configuration(this.store.get(name)));
        if (sub === 'configuration' && method === 'PUT') {
          const body = parseJson(raw);
          const record = this.store.updateConfiguration(name, body);
          this.invoker.retire(name); // warm environments of the old configuration end
          return this.send(res, 200, this.store.configuration(record));
        }
        if (sub === 'code' && method === 'PUT') {
          const body = parseJson(raw);
          const record = this.store.updateCode(name, body);
          this.invoker.retire(name); // warm environments of the old code end
          this.store.pruneCode(name, this.invoker.codeInUse());
          return this.send(res, 200, this.store.configuration(record));
        }
        if (sub === 'invocations' && method === 'POST') return this.invoke(name, req, res, raw);
      }
    }
    // Reserved concurrency: PutFunctionConcurrency / DeleteFunctionConcurrency / GetFunctionConcurrency.
    if (rawName !== undefined && sub === 'concurrency') {
      const name = this.store.parseName(rawName, qualifier);
      if (version === '2017-10-31' && method === 'PUT') {
        const body = parseJson(raw);
        const value = body.ReservedConcurrentExecutions;
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > this.maxConcurrency) {
          throw invalidParameter(`ReservedConcurrentExecutions must be an integer from 0 to ${this.maxConcurrency} (the service's concurrency cap).`);
        }
        this.store.get(name); // a missing function is not found before anything else
        const minimum = minUnreservedConcurrency(this.maxConcurrency);
        const reservedByOthers = this.store.list().reduce((sum, f) => sum + (f.name === name ? 0 : (f.reservedConcurrency ?? 0)), 0);
        if (this.maxConcurrency - reservedByOthers - value < minimum) {
          throw invalidParameter(`Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${minimum}].`);
        }
        this.store.setReservedConcurrency(name, value);
        return this.send(res, 200, { ReservedConcurrentExecutions: value });
      }
      if (version === '2017-10-31' && method === 'DELETE') {
        this.store.setReservedConcurrency(name, undefined);
        return this.send(res, 204, undefined);
      }
      if (version === '2019-09-30' && method === 'GET') {
        const value = this.store.get(name).reservedConcurrency;
        return this.send(res, 200, value === undefined ? {} : { ReservedConcurrentExecutions: value });
      }
    }
    // Asynchronous-invocation settings: Put / Update / Get / DeleteFunctionEventInvokeConfig.
    if (version === '2019-09-25' && rawName !== undefined && sub === 'event-invoke-config') {
      const name = this.store.parseName(rawName, qualifier);
      if (method === 'PUT' || method === 'POST') {
        const body = parseJson(raw);
        const record = this.store.setEventInvokeConfig(name, body, method === 'POST');
        return this.send(res, 200, this.store.eventInvokeConfiguration(record));
      }
      if (method === 'GET') return this.send(res, 200, this.store.eventInvokeConfiguration(this.store.get(name)));
      if (method === 'DELETE') {
        this.store.eventInvokeConfiguration(this.store.get(name)); // 404 when there is none, as AWS
        this.store.setEventInvokeConfig(name, undefined);
        return this.send(res, 204, undefined);
      }
    }
    throw unknownOperation(`Unknown operation ${method} ${url.pathname}`);
  }

  private async createFunction(raw: Buffer, res: http.ServerResponse): Promise<void> {
    const body = parseJson(raw);
    const record = this.store.create(body as Parameters<FunctionStore['create']>[0]);
    this.send(res, 201, this.store.configuration(record));
  }

  private listFunctions(url: URL, res: http.ServerResponse): void {
    const all = this.store.list();
    const marker = url.searchParams.get('Marker');
    const maxItems = Math.min(50, Math.max(1, Number(url.searchParams.get('MaxItems') ?? 50) || 50));
    // Names are sorted, so the marker (the last name of the previous page) says where to go on.
    let start = 0;
    if (marker) {
      const next = all.findIndex((f) => f.name > marker);
      start = next < 0 ? all.length : next;
    }
    const page = all.slice(start, start + maxItems);
    const more = start + maxItems < all.length;
    this.send(res, 200, {
      Functions: page.map((f) => this.store.configuration(f)),
      ...(more ? { NextMarker: page[page.length - 1].name } : {}),
    });
  }

  private getFunction(name: string, res: http.ServerResponse): void {
    const record = this.store.get(name);
    const port = (this.server.address() as AddressInfo).port;
    this.send(res, 200, {
      Configuration: this.store.configuration(record),
      // AWS gives a presigned S3 URL; here the package is served by the admin surface.
      Code: { RepositoryType: 'S3', Location: this.codeUrl(name, record.codeSha256, port) },
      ...(record.reservedConcurrency !== undefined ? { Concurrency: { ReservedConcurrentExecutions: record.reservedConcurrency } } : {}),
    });
  }

  private codeUrl(name: string, codeSha256: string, port: number): string {
    const expires = Math.floor(Date.now() / 1000) + 600;
    return `http://127.0.0.1:${port}/_local/functions/${name}/code.zip?expires=${expires}&token=${this.codeUrlToken(name, codeSha256, expires)}`;
  }

  private deleteFunction(name: string, res: http.ServerResponse): void {
    this.store.delete(name);
    this.invoker.forget(name);
    this.send(res, 204, undefined);
  }

  private async invoke(name: string, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const record = this.store.get(name);
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (!['RequestResponse', 'Event', 'DryRun'].includes(type)) {
      throw invalidParameter(`1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`);
    }
    const payload = body.toString('utf8');
    if (payload.trim() !== '') {
      try {
        JSON.parse(payload);
      } catch (error) {
        throw invalidContent(`Could not parse request body into json: ${(error as Error).message}`);
      }
    }

    if (type === 'DryRun') return this.send(res, 204, undefined);
    if (type === 'Event') {
      const requestId = this.invoker.invokeEvent(record, payload);
      return this.send(res, 202, undefined, { 'x-amzn-RequestId': requestId });
    }

    const outcome = await this.invoker.invokeSync(record, payload);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(outcome.payload)),
      'x-amzn-RequestId': outcome.requestId,
      'X-Amz-Executed-Version': '$LATEST',
    };
    if (outcome.functionError) headers['X-Amz-Function-Error'] = outcome.functionError;
    if (String(req.headers['x-amz-log-type'] ?? 'None') === 'Tail') {
      const bytes = Buffer.from(outcome.log, 'utf8');
      headers['X-Amz-Log-Result'] = bytes.subarray(Math.max(0, bytes.length - 4096)).toString('base64');
    }
    // The client may have given up (AWS, too, runs the function to the end regardless).
    if (res.destroyed) return;
    res.writeHead(200, headers);
    res.end(outcome.payload);
  }

  private routeAdmin(method: string, parts: string[], res: http.ServerResponse): void {
    // parts[0] === '_local'
    if (method === 'GET' && parts[1] === 'invocations' && parts.length === 2) {
      return this.send(res, 200, { invocations: this.invoker.list(), queued: this.invoker.queuedEvents() });
    }
    if (method === 'GET' && parts[1] === 'environments' && parts.length === 2) {
      return this.send(res, 200, { idle: this.invoker.environments.idleEnvironments() });
    }
    if (method === 'POST' && parts[1] === 'invocations' && parts[3] === 'kill' && parts.length === 4) {
      if (!this.invoker.kill(decodeURIComponent(parts[2]))) throw new LambdaApiError(404, 'ResourceNotFoundException', `No running invocation ${parts[2]}`);
      return this.send(res, 200, { killed: true });
    }
    if (method === 'GET' && parts[1] === 'functions' && parts[3] === 'code.zip' && parts.length === 4) {
      const record = this.store.get(this.store.parseName(parts[2]));
      const zip = fs.readFileSync(this.store.zipFile(record));
      res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': zip.length });
      res.end(zip);
      return;
    }
    throw unknownOperation(`Unknown local operation ${method} /${parts.join('/')}`);
  }
}
