// IPC messages between the local Lambda service and its invocation runners, and between the
// embedded starter and the service process. Kept in one file so both sides agree.

/** Service -> runner: run one invocation (sent once, after the runner says `ready`). */
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
}

export interface FunctionErrorBody {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** Runner -> service. */
export type RunnerMessage =
  | { type: 'ready' }
  /** Sent every few hundred ms while running, so a runner that is killed still has a memory figure. */
  | { type: 'memory'; maxRssKB: number }
  | { type: 'result'; ok: true; payload: string; durationMs: number; initMs: number; maxRssKB: number }
  | { type: 'result'; ok: false; error: FunctionErrorBody; durationMs: number; initMs: number; maxRssKB: number };

/** Embedded starter -> service process. */
export type ServiceControlMessage =
  | { type: 'start'; options: SerializableServiceOptions }
  | { type: 'stop' };

/** Service process -> embedded starter. */
export type ServiceStatusMessage =
  | { type: 'listening'; port: number }
  | { type: 'error'; message: string };

export interface SerializableServiceOptions {
  stateDir: string;
  maxConcurrency?: number;
  region?: string;
  /** Credentials handed to every invocation as AWS_ACCESS_KEY_ID etc. (AWS gets them from the execution role). */
  roleCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Delays before the 1st and 2nd retry of a failed Event invocation (default 60 s and 120 s, as AWS). */
  eventRetryDelaysMs?: number[];
}

/** Written to stderr by the runner just before it kills itself for using more than its memory. */
export const MEMORY_EXCEEDED_MARKER = 'Runtime exceeded its memory limit';
