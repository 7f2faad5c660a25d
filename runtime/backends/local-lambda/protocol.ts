// IPC messages between the local Lambda service and its invocation runners, and the options the
// embedded starter hands the service process. Kept in one file so both sides agree.
import type { CodeCacheState } from './code-cache';

/** Service -> runner: run one invocation (a new runner gets it as soon as it is started; a warm runner
 *  gets the next one when the previous has answered). */
export interface InvokeMessage {
  type: 'invoke';
  requestId: string;
  codeDir: string;
  handler: string; // "file.export", e.g. "index.handler"
  payload: string; // the event, JSON text
  functionName: string;
  functionArn: string;
  memoryMB: number;
  /** Epoch ms at which the service kills the runner: the context's getRemainingTimeInMillis counts down to it. */
  deadline: number;
  logGroupName: string;
  logStreamName: string;
  /** RequestResponse: the largest result the service takes (6 MB); a larger one is an error, checked
   *  here so the service never receives it. Absent for Event invocations, whose result nobody reads. */
  maxResponseBytes?: number;
  /** Where the function's environments keep the V8 code cache of its code (code-cache.ts). */
  codeCacheDir?: string;
}

export interface FunctionErrorBody {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** Runner -> service. */
export type RunnerMessage =
  /** Sent every few hundred ms while running, so a runner that is killed still has a memory figure. */
  | { type: 'memory'; maxRssKB: number }
  /** initMs: loading the handler, on the environment's first invocation only (the cold start), with
   *  what the code cache did then (codeCache). */
  | { type: 'result'; ok: true; payload: string; durationMs: number; initMs?: number; codeCache?: CodeCacheState; maxRssKB: number }
  | { type: 'result'; ok: false; error: FunctionErrorBody; durationMs: number; initMs?: number; codeCache?: CodeCacheState; maxRssKB: number };

/** Written by the runner, as a line of its own, to stdout and to stderr after each invocation
 *  (followed by the request id): the service cuts the output there, so an invocation's log holds all
 *  it printed and nothing of the next one. It never reaches a log. */
export const INVOCATION_END_MARKER = '\u001eCIRRUS-INVOCATION-END ';

/** What the embedded starter sends the service process in its start message (runtime/util/child-service.ts). */
export interface SerializableServiceOptions {
  stateDir: string;
  maxConcurrency?: number;
  /** How long an execution environment stays warm after an invocation, ms (default 60 s; 0: every
   *  invocation is a cold start). See environments.ts. */
  environmentIdleMs?: number;
  region?: string;
  /** Credentials handed to every invocation as AWS_ACCESS_KEY_ID etc. (AWS gets them from the execution role). */
  roleCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Delays before the 1st and 2nd retry of a failed Event invocation (default 60 s and 120 s, as AWS). */
  eventRetryDelaysMs?: number[];
  /** The key pair every request must be signed with (default: `<stateDir>/credentials.json`, made on first use). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Port to listen on (default 0: a free one). A restarted service asks for its old port. */
  port?: number;
  /** Limits, for tests; the defaults are in service.ts and invoker.ts (docs/security.md). */
  limits?: Partial<ServiceLimits>;
}

export interface ServiceLimits {
  /** Time to receive a request's headers. */
  headersTimeoutMs: number;
  /** Time to receive a request's whole body once its headers are in. */
  bodyTimeoutMs: number;
  /** Request-body bytes held in memory across all requests at once. */
  maxInflightBodyBytes: number;
  /** Event invocations waiting (queued or between retries), and their payload bytes together. */
  maxQueuedEvents: number;
  maxQueuedEventBytes: number;
}

/** Written to stderr by the runner just before it kills itself for using more than its memory. */
export const MEMORY_EXCEEDED_MARKER = 'Runtime exceeded its memory limit';
