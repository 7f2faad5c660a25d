// A local Lambda function's execution environment, in its own process (bundled to
// dist/lambda-runner.js and forked by the service with `--max-old-space-size=<MemorySize>`). It loads
// the handler from the unzipped code on its first invocation (the cold start), then calls it once per
// invocation message with an AWS-like context and sends the result back over IPC. Between
// invocations it stays up with the handler's module state (a warm environment: environments.ts).
// The service owns the time limit (it kills this process at the deadline).
import * as fs from 'node:fs';
import * as util from 'node:util';
import { enableNodeCompileCache, flushNodeCompileCache, type CodeCacheState } from './code-cache';
import { loadHandler, type Handler } from './handler-module';
import { INVOCATION_END_MARKER, MEMORY_EXCEEDED_MARKER, type FunctionErrorBody, type InvokeMessage, type RunnerMessage } from './protocol';

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function maxRssKB(): number {
  return process.resourceUsage().maxRSS;
}

/** Lambda's Node runtime prefixes every console line with time, request id and level; so do we. */
function patchConsole(requestId: string): void {
  const write = (level: string) => (...args: unknown[]) => {
    const text = util.format(...args).replace(/\n/g, '\r'); // one log event per call, as in CloudWatch
    process.stdout.write(`${new Date().toISOString()}\t${requestId}\t${level}\t${text}\n`);
  };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
}

/** Watches resident memory: --max-old-space-size bounds only the JS heap, but typed arrays and
 *  Buffers live outside it, and AWS kills a function on its total memory. */
function watchMemory(limitMB: number): void {
  let lastReported = 0;
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > limitMB * 1024 * 1024) {
      // writeSync: the message must be out before the process dies.
      fs.writeSync(2, `${MEMORY_EXCEEDED_MARKER}: ${Math.round(rss / 1048576)} MB used, ${limitMB} MB allowed\n`);
      process.kill(process.pid, 'SIGKILL');
    }
    const peak = maxRssKB();
    if (peak - lastReported > 1024) {
      lastReported = peak;
      void send({ type: 'memory', maxRssKB: peak });
    }
  }, 100);
  timer.unref();
}

function toErrorBody(error: unknown): FunctionErrorBody {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  // AWS reports a thrown non-Error by its type, with its text as the message.
  return { errorType: typeof error, errorMessage: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error) };
}

/** Calls an async handler or a callback-style one (three parameters), whichever it is. */
function callHandler(handler: Handler, event: unknown, context: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err: unknown, result?: unknown) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err);
      else resolve(result);
    };
    try {
      const returned = handler(event, context, callback);
      const isThenable = returned && typeof (returned as Promise<unknown>).then === 'function';
      if (isThenable) {
        (returned as Promise<unknown>).then((r) => callback(null, r), (e) => callback(e ?? new Error('handler rejected')));
      } else if (handler.length < 3) {
        callback(null, returned); // a plain synchronous handler
      }
    } catch (error) {
      callback(error);
    }
  });
}

/** The handler, loaded by the first invocation: an environment serves one function version only. */
let loaded: Handler | undefined;
let watching = false;
/** Writes the code cache after the first invocation (then nothing). */
let saveCodeCache: (() => void) | undefined;

/** Marks the end of an invocation's output on both streams (INVOCATION_END_MARKER), then answers. */
async function answer(requestId: string, message: RunnerMessage): Promise<void> {
  // Writes to pipes are synchronous on Linux and macOS, so the marker follows everything printed.
  process.stdout.write(`${INVOCATION_END_MARKER}${requestId}\n`);
  process.stderr.write(`${INVOCATION_END_MARKER}${requestId}\n`);
  await send(message);
  // After the first invocation has answered (not in its duration): the code it compiled is cached
  // for the function's next cold starts.
  saveCodeCache?.();
  saveCodeCache = undefined;
}

async function run(message: InvokeMessage): Promise<void> {
  patchConsole(message.requestId);
  let initMs: number | undefined;
  let codeCache: CodeCacheState | undefined;
  if (!loaded) {
    if (!watching) watchMemory(message.memoryMB);
    watching = true;
    const initStart = performance.now();
    try {
      const dir = message.codeCacheDir;
      const nodeCache = dir !== undefined && enableNodeCompileCache(dir);
      const handler = await loadHandler(message.codeDir, message.handler, nodeCache ? undefined : dir);
      loaded = handler.handler;
      codeCache = nodeCache ? 'node' : handler.codeCache;
      saveCodeCache = nodeCache ? flushNodeCompileCache : handler.saveCodeCache;
    } catch (error) {
      const body = toErrorBody(error);
      console.error(`${body.errorType}: ${body.errorMessage}`);
      await answer(message.requestId, { type: 'result', ok: false, error: body, durationMs: 0, initMs: performance.now() - initStart, maxRssKB: maxRssKB() });
      return; // the next invocation tries the import again (and reports its Init Duration)
    }
    initMs = performance.now() - initStart;
  }
  const handler = loaded;

  const context = {
    functionName: message.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: String(message.memoryMB), // a string in AWS's Node runtime too
    awsRequestId: message.requestId,
    logGroupName: message.logGroupName,
    logStreamName: message.logStreamName,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
  };

  let event: unknown;
  try {
    event = message.payload === '' ? {} : JSON.parse(message.payload);
  } catch {
    event = {}; // the service has already rejected payloads that are not JSON
  }

  const start = performance.now();
  try {
    const result = await callHandler(handler, event, context);
    const durationMs = performance.now() - start;
    // AWS returns "null" for a handler that returns nothing. An Event's result is read by nobody.
    const payload = message.maxResponseBytes === undefined ? 'null' : JSON.stringify(result === undefined ? null : result);
    if (message.maxResponseBytes !== undefined && Buffer.byteLength(payload) > message.maxResponseBytes) {
      const error = {
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size (${Buffer.byteLength(payload)} bytes) exceeded maximum allowed payload size (${message.maxResponseBytes} bytes).`,
      };
      console.error(`Invoke Error \t${JSON.stringify(error)}`);
      await answer(message.requestId, { type: 'result', ok: false, error, durationMs, initMs, codeCache, maxRssKB: maxRssKB() });
      return;
    }
    await answer(message.requestId, { type: 'result', ok: true, payload, durationMs, initMs, codeCache, maxRssKB: maxRssKB() });
  } catch (error) {
    const durationMs = performance.now() - start;
    const body = toErrorBody(error);
    console.error(`Invoke Error \t${JSON.stringify(body)}`);
    await answer(message.requestId, { type: 'result', ok: false, error: body, durationMs, initMs, codeCache, maxRssKB: maxRssKB() });
  }
  // The process stays up for the next invocation (a warm start); what the handler left running
  // (timers, sockets) keeps running, as in a thawed Lambda environment.
}

// A handler's stray rejection or exception after it answered must not hang the invocation:
// AWS ends the runtime with an error; so do we (the service reports Runtime.ExitError).
process.on('uncaughtException', (error) => {
  fs.writeSync(2, `Uncaught exception: ${error?.stack ?? String(error)}\n`);
  process.exit(129);
});
process.on('unhandledRejection', (reason) => {
  fs.writeSync(2, `Unhandled promise rejection: ${(reason as Error)?.stack ?? String(reason)}\n`);
  process.exit(128);
});

// The service went away: nobody will read the result, so stop.
process.on('disconnect', () => process.exit(0));

// One invocation at a time: the service sends the next only after this one's result.
process.on('message', (message: InvokeMessage) => {
  if (message?.type === 'invoke') void run(message);
});

