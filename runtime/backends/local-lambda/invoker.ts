// Runs invocations of local functions in execution environments (environments.ts: runner processes,
// dist/lambda-runner.js, kept warm between invocations of the same version), with the function's
// memory limit, time limit and environment; a concurrency cap for the whole service and per
// function; a queue for Event invocations; and AWS-style logs (START / END / REPORT lines) appended
// to `<stateDir>/logs/lambda/<function>.log`.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tooManyRequests } from './errors';
import { DEFAULT_ENVIRONMENT_IDLE_MS, Environment, EnvironmentPool, type ExitInfo, versionKey } from './environments';
import { MEMORY_EXCEEDED_MARKER, type FunctionErrorBody, type InvokeMessage, type RunnerMessage } from './protocol';
import type { FunctionRecord, FunctionStore } from './store';
import { QUIET_SDK_ENV } from '../../util/node-policy';

export type InvocationType = 'RequestResponse' | 'Event';

export interface InvocationOutcome {
  requestId: string;
  /** 'Unhandled' when the function failed (its payload is then `{ errorType, errorMessage }`), as AWS reports. */
  functionError?: 'Unhandled';
  payload: string;
  /** The invocation's whole captured log (bounded), ending with the REPORT line. */
  log: string;
  durationMs: number;
  billedMs: number;
  maxMemoryUsedMB: number;
  /** Whether a new environment was started for it (false: a warm one was reused). */
  cold: boolean;
}

export interface RunningInvocation {
  requestId: string;
  functionName: string;
  pid: number | undefined;
  startedAt: string;
  invocationType: InvocationType;
}

export interface InvokerOptions {
  store: FunctionStore;
  runnerPath: string;
  region: string;
  maxConcurrency: number;
  logDir: string;
  roleCredentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Waits before retrying a failed Event invocation (AWS: about 1 and 2 minutes). */
  eventRetryDelaysMs?: number[];
  /** Each environment gets `<workRoot>/<id>/` as its working directory and `.../tmp` as its temp
   *  folder (Lambda's /tmp: kept while the environment is warm); both are removed when it ends. */
  workRoot: string;
  /** How long an environment stays warm after an invocation (default DEFAULT_ENVIRONMENT_IDLE_MS);
   *  0: every invocation starts a new one. */
  environmentIdleMs?: number;
  /** Event invocations waiting (queued or between retries) and their payload bytes together; past
   *  either, Invoke answers 429 TooManyRequestsException as AWS does when its queue is throttled. */
  maxQueuedEvents?: number;
  maxQueuedEventBytes?: number;
  /** Where environments keep the V8 code cache of functions' code (code-cache.ts); absent: none kept. */
  codeCacheDir?: string;
}

export const DEFAULT_MAX_QUEUED_EVENTS = 1000;
export const DEFAULT_MAX_QUEUED_EVENT_BYTES = 64 * 1024 * 1024;

/** AWS's synchronous response limit. */
export const MAX_SYNC_RESPONSE_BYTES = 6 * 1024 * 1024;
/** How much of each invocation's log is kept in memory for X-Amz-Log-Result (AWS returns 4 KB). */
const LOG_KEEP_CHARS = 16 * 1024;

interface Running extends RunningInvocation {
  environment: Environment;
  /** Resolves when the invocation has ended (its environment released or gone). */
  done: Promise<void>;
}

interface QueuedEvent {
  requestId: string;
  functionName: string;
  payload: string;
  attempt: number; // 0 for the first run
  queuedAt: number; // epoch ms of the Invoke call
}

/** AWS's defaults for asynchronous invocation: two retries, events kept up to six hours. */
export const DEFAULT_EVENT_RETRIES = 2;
export const DEFAULT_EVENT_MAX_AGE_S = 6 * 3600;

/** Go-style wording, as AWS's runtime reports a dead process ("signal: killed", "exit status 1"). */
function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  const names: Partial<Record<NodeJS.Signals, string>> = { SIGKILL: 'killed', SIGABRT: 'aborted', SIGSEGV: 'segmentation fault', SIGTERM: 'terminated' };
  if (signal) return `signal: ${names[signal] ?? signal}`;
  return `exit status ${code}`;
}

export class Invoker {
  private readonly running = new Map<string, Running>();
  private readonly queue: QueuedEvent[] = [];
  private readonly logStreams = new Map<string, fs.WriteStream>();
  private readonly retryTimers = new Map<NodeJS.Timeout, QueuedEvent>();
  private closed = false;
  readonly environments: EnvironmentPool;

  constructor(private readonly options: InvokerOptions) {
    fs.mkdirSync(options.logDir, { recursive: true });
    this.environments = new EnvironmentPool({
      runnerPath: options.runnerPath,
      workRoot: options.workRoot,
      idleMs: options.environmentIdleMs ?? DEFAULT_ENVIRONMENT_IDLE_MS,
      // Idle environments never hold back a new one: at the cap, the longest-idle goes first.
      maxEnvironments: options.maxConcurrency,
    });
  }

  list(): RunningInvocation[] {
    return [...this.running.values()].map(({ requestId, functionName, pid, startedAt, invocationType }) => ({ requestId, functionName, pid, startedAt, invocationType }));
  }

  queuedEvents(): number {
    return this.queue.length;
  }

  /** Code folders used by environments, running or warm (not to be pruned). */
  codeInUse(): Set<string> {
    return new Set(this.environments.codeInUse());
  }

  /** Kills a running invocation's environment (it ends with Runtime.ExitError). */
  kill(requestId: string): boolean {
    const running = this.running.get(requestId);
    if (!running) return false;
    running.environment.kill();
    return true;
  }

  /** After UpdateFunctionCode / UpdateFunctionConfiguration: warm environments of older versions end
   *  (running ones finish first, then end instead of staying warm). */
  retire(functionName: string): void {
    const keep = this.options.store.has(functionName) ? versionKey(this.options.store.get(functionName)) : undefined;
    this.environments.retire(functionName, keep);
  }

  /** Drops queued events and warm environments of a deleted function (running ones finish, as on AWS). */
  forget(functionName: string): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].functionName === functionName) this.queue.splice(i, 1);
    this.environments.retire(functionName);
  }

  private countFor(functionName: string): number {
    let n = 0;
    for (const r of this.running.values()) if (r.functionName === functionName) n++;
    return n;
  }

  /** Why an invocation of `record` cannot start now, or undefined if it can. */
  private throttleReason(record: FunctionRecord): string | undefined {
    if (record.reservedConcurrency !== undefined && this.countFor(record.name) >= record.reservedConcurrency) {
      return 'ReservedFunctionConcurrentInvocationLimitExceeded';
    }
    if (this.running.size >= this.options.maxConcurrency) return 'ConcurrentInvocationLimitExceeded';
    return undefined;
  }

  /** RequestResponse: runs now or is throttled (429), like AWS. */
  invokeSync(record: FunctionRecord, payload: string): Promise<InvocationOutcome> {
    const reason = this.throttleReason(record);
    if (reason) throw tooManyRequests('Rate Exceeded.', reason);
    return this.execute(record, payload, randomUUID(), 'RequestResponse');
  }

  /** Event invocations waiting and their payload bytes (queued, or between retries). */
  private pendingEvents(): { count: number; bytes: number } {
    let bytes = 0;
    for (const item of this.queue) bytes += item.payload.length;
    for (const item of this.retryTimers.values()) bytes += item.payload.length;
    return { count: this.queue.length + this.retryTimers.size, bytes };
  }

  /** Event: queued, run when there is room; refused (429) when the queue is full, so its memory stays bounded. */
  invokeEvent(record: FunctionRecord, payload: string): string {
    const pending = this.pendingEvents();
    const maxCount = this.options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
    const maxBytes = this.options.maxQueuedEventBytes ?? DEFAULT_MAX_QUEUED_EVENT_BYTES;
    if (pending.count >= maxCount || pending.bytes + payload.length > maxBytes) {
      throw tooManyRequests(
        `Rate Exceeded. The local service's Event queue is full (${pending.count} events, ${pending.bytes} bytes; limits ${maxCount} and ${maxBytes}).`,
        'CallerRateLimitExceeded',
      );
    }
    const requestId = randomUUID();
    this.queue.push({ requestId, functionName: record.name, payload, attempt: 0, queuedAt: Date.now() });
    this.dispatch();
    return requestId;
  }

  /** Like AWS, a failed Event invocation is retried (same request id) after a delay, up to the
   *  function's MaximumRetryAttempts (PutFunctionEventInvokeConfig), within MaximumEventAgeInSeconds. */
  private afterEvent(item: QueuedEvent, outcome: InvocationOutcome): void {
    if (!outcome.functionError || this.closed || !this.options.store.has(item.functionName)) return;
    const config = this.options.store.get(item.functionName).eventInvokeConfig;
    const retries = config?.maximumRetryAttempts ?? DEFAULT_EVENT_RETRIES;
    if (item.attempt >= retries) return;
    const delays = this.options.eventRetryDelaysMs ?? [60_000, 120_000];
    const delay = delays[Math.min(item.attempt, delays.length - 1)];
    const maxAgeMs = (config?.maximumEventAgeSeconds ?? DEFAULT_EVENT_MAX_AGE_S) * 1000;
    if (Date.now() + delay - item.queuedAt > maxAgeMs) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.queue.push({ ...item, attempt: item.attempt + 1 });
      this.dispatch();
    }, delay);
    this.retryTimers.set(timer, item);
  }

  private dispatch(): void {
    for (let i = 0; i < this.queue.length && !this.closed; ) {
      const item = this.queue[i];
      if (!this.options.store.has(item.functionName)) {
        this.queue.splice(i, 1);
        continue;
      }
      const record = this.options.store.get(item.functionName);
      if (this.throttleReason(record)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      void this.execute(record, item.payload, item.requestId, 'Event').then((outcome) => this.afterEvent(item, outcome));
    }
  }

  private logStream(functionName: string): fs.WriteStream {
    let stream = this.logStreams.get(functionName);
    if (!stream) {
      stream = fs.createWriteStream(path.join(this.options.logDir, `${functionName}.log`), { flags: 'a' });
      stream.on('error', () => { /* logs are best effort */ });
      this.logStreams.set(functionName, stream);
    }
    return stream;
  }

  private environment(record: FunctionRecord, codeDir: string, tmpDir: string): NodeJS.ProcessEnv {
    const { region, roleCredentials } = this.options;
    // A local function runs on this host's Node, not on its requested Lambda runtime: the SDK's notice
    // about the host's Node version is not the function's to log (util/node-policy.ts).
    const env: NodeJS.ProcessEnv = { ...QUIET_SDK_ENV, ...record.environment };
    // What a process needs to start at all on this host (Electron-as-Node needs ELECTRON_RUN_AS_NODE).
    for (const key of ['PATH', 'Path', 'SystemRoot', 'SYSTEMROOT', 'ELECTRON_RUN_AS_NODE']) {
      if (process.env[key] !== undefined) env[key] = process.env[key];
    }
    // A temp folder of its own (Lambda's /tmp), removed when the invocation ends.
    env.TMPDIR = env.TMP = env.TEMP = tmpDir;
    Object.assign(env, {
      AWS_LAMBDA_FUNCTION_NAME: record.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(record.memorySize),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${record.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: 'local',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_${record.runtime}`,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: roleCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: roleCredentials.secretAccessKey,
      LAMBDA_TASK_ROOT: codeDir,
      _HANDLER: record.handler,
      TZ: 'UTC',
      LANG: 'en_US.UTF-8',
    });
    if (roleCredentials.sessionToken) env.AWS_SESSION_TOKEN = roleCredentials.sessionToken;
    return env;
  }

  private execute(record: FunctionRecord, payload: string, requestId: string, invocationType: InvocationType): Promise<InvocationOutcome> {
    const store = this.options.store;
    const codeDir = store.codeDir(record);
    const logFile = this.logStream(record.name);
    let log = '';
    const appendLog = (text: string) => {
      logFile.write(text);
      log = (log + text).slice(-LOG_KEEP_CHARS);
    };
    appendLog(`START RequestId: ${requestId} Version: $LATEST\n`);

    // A warm environment of this version if one is idle, else a new process (a cold start).
    const { environment, cold } = this.environments.acquire(record, () =>
      new Environment(record, {
        runnerPath: this.options.runnerPath,
        workRoot: this.options.workRoot,
        codeDir,
        env: (tmpDir) => this.environment(record, codeDir, tmpDir),
        idleOutput: (text) => logFile.write(text), // between invocations: the function's log only
      }),
    );
    const acquiredAt = performance.now();
    let invokedAt: number | undefined;
    let maxRssKB = 0;
    let result: Extract<RunnerMessage, { type: 'result' }> | undefined;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let answered: () => void = () => undefined;
    const resultIn = new Promise<void>((resolve) => (answered = resolve));

    environment.attach(appendLog, (message) => {
      if (message.type === 'memory') {
        maxRssKB = Math.max(maxRssKB, message.maxRssKB);
      } else if (message.type === 'result') {
        result = message;
        maxRssKB = Math.max(maxRssKB, message.maxRssKB);
        if (message.codeCache) environment.codeCache = message.codeCache;
        answered();
      }
    });
    const invoke = (): void => {
      invokedAt = performance.now();
      const message: InvokeMessage = {
        type: 'invoke',
        requestId,
        codeDir,
        handler: record.handler,
        payload,
        functionName: record.name,
        functionArn: store.arn(record.name),
        memoryMB: record.memorySize,
        deadline: Date.now() + record.timeout * 1000,
        logGroupName: `/aws/lambda/${record.name}`,
        logStreamName: 'local',
        maxResponseBytes: invocationType === 'RequestResponse' ? MAX_SYNC_RESPONSE_BYTES : undefined,
        codeCacheDir: this.options.codeCacheDir,
      };
      // A new runner gets it at once, not after saying it is up (a round trip off every cold start):
      // it reads its IPC channel only once its script has run and is listening. If it dies first,
      // `exited` below answers the invocation.
      environment.child.send(message, (error) => void error);
      timer = setTimeout(() => {
        timedOut = true;
        environment.kill();
      }, record.timeout * 1000);
    };

    const running: Running = {
      requestId,
      functionName: record.name,
      pid: environment.pid,
      startedAt: new Date().toISOString(),
      invocationType,
      environment,
      done: Promise.resolve(),
    };
    const finished = (async () => {
      invoke();
      await Promise.race([resultIn, environment.exited]);
      clearTimeout(timer);
      // Kept warm only after a normal answer; a timed-out, killed or dying environment is discarded.
      const reusable = result !== undefined && !timedOut && !environment.dead;
      if (reusable) await environment.outputEnded(requestId);
      environment.attach(undefined, undefined);
      if (reusable && !environment.dead) {
        environment.invocations++;
        this.environments.release(environment, store.has(record.name) ? versionKey(store.get(record.name)) : undefined);
        return { code: null, signal: null } as ExitInfo;
      }
      this.environments.discard(environment);
      return environment.exited;
    })();
    running.done = finished.then(() => undefined);
    this.running.set(requestId, running);

    return finished.then(({ code, signal, spawnError }) => {
      this.running.delete(requestId);
      const timeoutMs = record.timeout * 1000;
      const elapsed = performance.now() - (invokedAt ?? acquiredAt);
      let durationMs = result && !timedOut ? result.durationMs : Math.min(elapsed, timeoutMs);
      let error: FunctionErrorBody | undefined;
      let responsePayload = '';
      let status = '';

      if (timedOut) {
        durationMs = timeoutMs;
        const message = `Task timed out after ${record.timeout.toFixed(2)} seconds`;
        appendLog(`${new Date().toISOString()} ${requestId} ${message}\n`);
        error = { errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: ${message}` };
        status = 'timeout';
      } else if (result?.ok) {
        responsePayload = result.payload;
        if (invocationType === 'RequestResponse' && Buffer.byteLength(responsePayload) > MAX_SYNC_RESPONSE_BYTES) {
          error = { errorType: 'Function.ResponseSizeTooLarge', errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_SYNC_RESPONSE_BYTES} bytes).` };
        }
      } else if (result) {
        error = result.error;
      } else {
        const outOfMemory = log.includes(MEMORY_EXCEEDED_MARKER) || log.includes('heap out of memory');
        if (outOfMemory) maxRssKB = record.memorySize * 1024;
        const why = spawnError ? `could not start: ${spawnError.message}` : describeExit(code, signal);
        error = {
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${why}${outOfMemory ? ` (out of memory: more than ${record.memorySize} MB used)` : ''}`,
        };
        status = 'error';
        appendLog(`${error.errorMessage}\n`);
      }
      if (error) responsePayload = JSON.stringify(error);

      const billedMs = Math.max(1, Math.ceil(durationMs));
      const maxMemoryUsedMB = Math.min(record.memorySize, Math.ceil(maxRssKB / 1024));
      // Init Duration when the handler was loaded (a cold start), as AWS reports it.
      const init = result?.initMs !== undefined ? `Init Duration: ${result.initMs.toFixed(2)} ms\t` : '';
      appendLog(`END RequestId: ${requestId}\n`);
      appendLog(
        `REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${billedMs} ms\t` +
          `Memory Size: ${record.memorySize} MB\tMax Memory Used: ${maxMemoryUsedMB} MB\t${init}${status ? `Status: ${status}\t` : ''}\n`,
      );

      this.options.store.pruneCode(record.name, this.codeInUse());
      this.dispatch(); // a slot is free: start queued events
      return { requestId, functionError: error ? 'Unhandled' : undefined, payload: responsePayload, log, durationMs, billedMs, maxMemoryUsedMB, cold };
    });
  }

  /** Kills every running invocation and waits until they are gone; queued events are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    for (const timer of this.retryTimers.keys()) clearTimeout(timer);
    this.retryTimers.clear();
    const all = [...this.running.values()];
    for (const r of all) r.environment.kill();
    await Promise.all(all.map((r) => r.done));
    await this.environments.close();
    await Promise.all([...this.logStreams.values()].map((s) => new Promise((resolve) => s.end(resolve))));
    this.logStreams.clear();
  }
}
