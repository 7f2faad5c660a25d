// Driver-side helpers over @aws-sdk/client-lambda, shared by the `local` backend (the embedded
// Lambda-compatible service) and the `aws` backend: only the endpoint and credentials differ.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  PutFunctionEventInvokeConfigCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type FunctionConfiguration,
  type Runtime,
} from '@aws-sdk/client-lambda';
import { zipSync, type Zippable } from 'fflate';
import { distFile } from '../util/paths';
import { withRetries } from '../util/retry';

export interface LambdaClientOptions {
  /** e.g. the local service's `http://127.0.0.1:PORT`; absent for AWS. */
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** With no explicit credentials: the shared-config profile the SDK's chain reads (~/.aws). */
  profile?: string;
}

/** Longest Lambda run (900 s) plus a margin for start-up and the response. */
const INVOKE_REQUEST_TIMEOUT_MS = 960_000;

export function createLambdaClient(options: LambdaClientOptions): LambdaClient {
  return new LambdaClient({
    region: options.region,
    endpoint: options.endpoint,
    // The local service checks every request's signature: give it its key pair (LocalLambda.credentials).
    credentials: options.credentials,
    profile: options.profile,
    // One attempt: an SDK retry of a timed-out or dropped Invoke would run a long function twice.
    // The control-plane calls in deployFunction retry on their own, where that is safe.
    maxAttempts: 1,
    requestHandler: { requestTimeout: INVOKE_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true, connectionTimeout: 10_000 },
  });
}

export interface FunctionSpec {
  name: string;
  zip: Uint8Array;
  handler: string;
  memoryMB: number;
  timeoutSeconds: number;
  environment?: Record<string, string>;
  /** Default nodejs22.x (Lambda deprecated nodejs20.x with Node 20's end of life; see util/node-policy.ts). */
  runtime?: string;
  /** The execution role's ARN: required by AWS, ignored by the local service. */
  role?: string;
  description?: string;
  /** Retries of a failed Event invocation (0-2; Lambda's default is 2). Set 0 for workers whose
   *  re-run the driver handles itself; left unset, the function's setting is not touched. */
  eventRetries?: number;
  signal?: AbortSignal;
}

export interface DeployOutcome {
  created: boolean;
  codeUpdated: boolean;
  configurationUpdated: boolean;
  codeSha256: string;
}

/** Base64 SHA-256, as Lambda reports CodeSha256. */
export function codeSha256(zip: Uint8Array): string {
  return createHash('sha256').update(zip).digest('base64');
}

function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? '';
}

/** Retries a control-plane call that AWS may throttle or refuse while an update is in progress
 *  (or, right after a role is created, before IAM has propagated it). Safe: these calls are idempotent here. */
function retryControlPlane<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return withRetries(call, { attempts: 6, delayMs: (n) => 1000 * 2 ** (n - 1), retryable: retryableControlPlaneError, signal });
}

function retryableControlPlaneError(error: unknown): boolean {
  const name = errorName(error);
  const message = String((error as Error)?.message ?? '');
  return (
    name === 'TooManyRequestsException' ||
    (name === 'ResourceConflictException' && /in progress/i.test(message)) ||
    (name === 'InvalidParameterValueException' && /cannot be assumed/i.test(message)) ||
    name === 'ServiceException' ||
    // A pooled keep-alive connection the service closed as the request went out (seen on a loaded
    // machine); nothing reached the service, so sending again is safe.
    (error as { code?: string })?.code === 'ECONNRESET' ||
    /socket hang up/i.test(message)
  );
}

function sameEnvironment(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const x = a ?? {};
  const y = b ?? {};
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}

function configurationDiffers(current: FunctionConfiguration, spec: FunctionSpec, runtime: string): boolean {
  return (
    current.Handler !== spec.handler ||
    current.MemorySize !== spec.memoryMB ||
    current.Timeout !== spec.timeoutSeconds ||
    current.Runtime !== runtime ||
    (spec.role !== undefined && current.Role !== spec.role) ||
    (spec.description !== undefined && current.Description !== spec.description) ||
    !sameEnvironment(current.Environment?.Variables, spec.environment)
  );
}

async function setEventRetries(client: LambdaClient, spec: FunctionSpec): Promise<void> {
  if (spec.eventRetries === undefined) return;
  const input = { FunctionName: spec.name, MaximumRetryAttempts: spec.eventRetries };
  await retryControlPlane(() => client.send(new PutFunctionEventInvokeConfigCommand(input), { abortSignal: spec.signal }), spec.signal);
}

/** Creates the function, or brings it up to date: new code only when its CodeSha256 differs,
 *  new configuration only when it differs; waits until Lambda reports it ready to invoke. */
export async function deployFunction(client: LambdaClient, spec: FunctionSpec): Promise<DeployOutcome> {
  const runtime = (spec.runtime ?? 'nodejs22.x') as Runtime;
  const sha = codeSha256(spec.zip);
  const abortSignal = spec.signal;
  const waiter = { client, maxWaitTime: 300, abortSignal };

  // What both CreateFunction and UpdateFunctionConfiguration set.
  const settings = {
    FunctionName: spec.name,
    Runtime: runtime,
    Handler: spec.handler,
    MemorySize: spec.memoryMB,
    Timeout: spec.timeoutSeconds,
    Description: spec.description,
    Environment: { Variables: spec.environment ?? {} },
  };

  let current: FunctionConfiguration | undefined;
  try {
    current = (await retryControlPlane(() => client.send(new GetFunctionCommand({ FunctionName: spec.name }), { abortSignal }), abortSignal)).Configuration;
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
  }

  if (!current) {
    const create = new CreateFunctionCommand({ ...settings, Role: spec.role ?? 'arn:aws:iam::000000000000:role/local-lambda', Code: { ZipFile: spec.zip } });
    await retryControlPlane(() => client.send(create, { abortSignal }), abortSignal);
    await waitUntilFunctionActiveV2(waiter, { FunctionName: spec.name });
    await setEventRetries(client, spec);
    return { created: true, codeUpdated: true, configurationUpdated: true, codeSha256: sha };
  }

  const codeUpdated = current.CodeSha256 !== sha;
  if (codeUpdated) {
    await retryControlPlane(() => client.send(new UpdateFunctionCodeCommand({ FunctionName: spec.name, ZipFile: spec.zip }), { abortSignal }), abortSignal);
    await waitUntilFunctionUpdatedV2(waiter, { FunctionName: spec.name });
  }
  const configurationUpdated = configurationDiffers(current, spec, runtime);
  if (configurationUpdated) {
    const update = new UpdateFunctionConfigurationCommand({ ...settings, Role: spec.role });
    await retryControlPlane(() => client.send(update, { abortSignal }), abortSignal);
    await waitUntilFunctionUpdatedV2(waiter, { FunctionName: spec.name });
  }
  await setEventRetries(client, spec);
  return { created: false, codeUpdated, configurationUpdated, codeSha256: sha };
}

export interface InvokeResult {
  /** The function's JSON result (or, on a function error, its `{ errorType, errorMessage }`). */
  payload: unknown;
  /** 'Unhandled' when the function failed (threw, timed out, ran out of memory, was killed). */
  functionError?: string;
  requestId?: string;
  durationMs?: number;
  billedMs?: number;
  maxMemoryUsedMB?: number;
  /** The last 4 KB of the invocation's log. */
  logTail?: string;
  /** The REPORT line's Init Duration: set when the invocation started a new environment (a cold start). */
  initMs?: number;
}

/** The figures of a Lambda REPORT log line. */
export function parseReportLine(log: string): { durationMs?: number; billedMs?: number; maxMemoryUsedMB?: number; memorySizeMB?: number; initMs?: number } {
  const line = log.split('\n').reverse().find((l) => l.startsWith('REPORT '));
  if (!line) return {};
  const number = (pattern: RegExp) => {
    const m = pattern.exec(line);
    return m ? Number(m[1]) : undefined;
  };
  return {
    durationMs: number(/\tDuration: ([\d.]+) ms/),
    billedMs: number(/Billed Duration: (\d+) ms/),
    memorySizeMB: number(/Memory Size: (\d+) MB/),
    maxMemoryUsedMB: number(/Max Memory Used: (\d+) MB/),
    initMs: number(/Init Duration: ([\d.]+) ms/), // present on cold starts only
  };
}

function encodePayload(payload: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(payload ?? {}));
}

/** A synchronous invocation (one attempt; see createLambdaClient). Function errors are returned, not thrown. */
export async function invokeFunction(client: LambdaClient, name: string, payload: unknown, options: { signal?: AbortSignal } = {}): Promise<InvokeResult> {
  const out = await client.send(
    new InvokeCommand({ FunctionName: name, InvocationType: 'RequestResponse', LogType: 'Tail', Payload: encodePayload(payload) }),
    { abortSignal: options.signal },
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  const logTail = out.LogResult ? Buffer.from(out.LogResult, 'base64').toString('utf8') : undefined;
  const report = logTail ? parseReportLine(logTail) : {};
  return {
    payload: parsed,
    functionError: out.FunctionError,
    requestId: out.$metadata.requestId,
    durationMs: report.durationMs,
    billedMs: report.billedMs,
    maxMemoryUsedMB: report.maxMemoryUsedMB,
    initMs: report.initMs,
    logTail,
  };
}

/** An asynchronous (Event) invocation: Lambda queues it and answers 202 at once. */
export async function invokeEvent(client: LambdaClient, name: string, payload: unknown, options: { signal?: AbortSignal } = {}): Promise<{ requestId?: string; statusCode?: number }> {
  const out = await client.send(new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: encodePayload(payload) }), {
    abortSignal: options.signal,
  });
  return { requestId: out.$metadata.requestId, statusCode: out.StatusCode };
}

/** The files of the worker function (scripts/build.mjs): its handler, and what the handler loads beside it on first use. */
const WORKER_FILES = ['index.js', 'extras.js'];

/** The worker function's deployment package (handler `index.handler`), from dist/worker. */
export function workerZip(): Uint8Array {
  return makeZip(Object.fromEntries(WORKER_FILES.map((name) => [name, fs.readFileSync(distFile(`worker/${name}`))])));
}

/** A deployment package. Deterministic (sorted names, fixed timestamps) so unchanged code keeps
 *  its CodeSha256 and deployFunction skips the upload; files readable by all (0644), which Lambda needs. */
export function makeZip(files: Record<string, Uint8Array | string>): Uint8Array {
  const mtime = new Date(1980, 0, 1, 12, 0, 0); // local time: the DOS date fields come out the same everywhere
  const attrs = (0o100644 << 16) >>> 0; // Unix regular file, rw-r--r--
  const entries: Zippable = {};
  for (const name of Object.keys(files).sort()) {
    const data = files[name];
    entries[name] = [typeof data === 'string' ? new TextEncoder().encode(data) : data, { mtime, os: 3, attrs }];
  }
  return zipSync(entries, { level: 6 });
}
