// The local Lambda service, end to end: the real service process (dist/lambda-service.js), the
// unmodified @aws-sdk/client-lambda, real runner processes. Run `npm run build` first.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  PutFunctionConcurrencyCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { codeSha256, createLambdaClient, deployFunction, invokeEvent, invokeFunction, makeZip } from '../../runtime/backends/lambda-client';
import { localAdmin, startLocalLambda, type LocalLambda } from '../../runtime/backends/local-lambda/embedded';
import { processAlive } from '../../runtime/util/process-alive';

// One handler file with several behaviours, chosen by the event's `action`.
const HANDLER = `
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
let calls = 0; // module state: survives to the next invocation in a warm environment
exports.handler = async (event, context) => {
  calls++;
  switch (event.action) {
    case 'state': {
      console.log('state of', context.awsRequestId);
      const marker = path.join(os.tmpdir(), 'kept.txt');
      const kept = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : null;
      fs.writeFileSync(marker, context.awsRequestId);
      return { pid: process.pid, calls, kept, custom: process.env.CUSTOM, version: 1 };
    }
    case 'hold': await new Promise((r) => setTimeout(r, event.ms)); return { pid: process.pid, calls };
    case 'echo':
      console.log('echo', JSON.stringify(event.value));
      return { value: event.value, version: 1, fn: context.functionName, memory: context.memoryLimitInMB,
               requestId: context.awsRequestId, remaining: context.getRemainingTimeInMillis(),
               env: { custom: process.env.CUSTOM, name: process.env.AWS_LAMBDA_FUNCTION_NAME, mem: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, region: process.env.AWS_REGION } };
    case 'throw': { const e = new Error('boom'); e.name = 'BoomError'; throw e; }
    case 'sleep': await new Promise((r) => setTimeout(r, event.ms)); return 'slept';
    case 'heap': { const keep = []; for (;;) { keep.push(new Array(1e5).fill(Math.random())); if (keep.length % 10 === 0) await new Promise((r) => setImmediate(r)); } }
    case 'buffers': { const keep = []; for (;;) { keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 5)); } }
    case 'small-buffers': { const keep = []; for (let i = 0; i < 4; i++) keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); return keep.length; }
    case 'write-file': fs.writeFileSync(event.file, context.awsRequestId); return 'written';
    case 'exit': process.exit(3);
    case 'append-throw': fs.appendFileSync(event.file, context.awsRequestId + '\\n'); throw new Error('fails every time');
    default: return null;
  }
};
exports.callbackStyle = (event, context, callback) => { setTimeout(() => callback(null, { cb: event.n * 2 }), 10); };
`;

const zipV1 = makeZip({ 'index.js': HANDLER });
const zipV2 = makeZip({ 'index.js': HANDLER.replaceAll('version: 1', 'version: 2') });

let service: LocalLambda;
let client: LambdaClient;
let stateDir: string;


async function admin(pathname: string, method = 'GET'): Promise<{ status: number; body: any }> {
  const res = await localAdmin(service.endpoint, service.credentials).call(method, pathname);
  return { status: res.status, body: await res.json() };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function create(name: string, extra: { memoryMB?: number; timeoutSeconds?: number; handler?: string } = {}): Promise<void> {
  await deployFunction(client, {
    name,
    zip: zipV1,
    handler: extra.handler ?? 'index.handler',
    memoryMB: extra.memoryMB ?? 256,
    timeoutSeconds: extra.timeoutSeconds ?? 10,
    environment: { CUSTOM: 'yes' },
  });
}

before(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-lambda-'));
  service = await startLocalLambda({ stateDir, maxConcurrency: 4, eventRetryDelaysMs: [200, 400] });
  client = createLambdaClient({ endpoint: service.endpoint, region: 'us-east-1', credentials: service.credentials });
});

after(async () => {
  await service?.stop();
  client?.destroy();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('local Lambda service', () => {
  test('create, get, list: the SDK sees an AWS-shaped, Active function', async () => {
    const outcome = await deployFunction(client, { name: 'fn-basic', zip: zipV1, handler: 'index.handler', memoryMB: 256, timeoutSeconds: 10, environment: { CUSTOM: 'yes' } });
    assert.equal(outcome.created, true);
    const got = await client.send(new GetFunctionCommand({ FunctionName: 'fn-basic' }));
    assert.equal(got.Configuration?.FunctionName, 'fn-basic');
    assert.equal(got.Configuration?.MemorySize, 256);
    assert.equal(got.Configuration?.Timeout, 10);
    assert.equal(got.Configuration?.Handler, 'index.handler');
    assert.equal(got.Configuration?.State, 'Active');
    assert.equal(got.Configuration?.CodeSha256, codeSha256(zipV1));
    assert.deepEqual(got.Configuration?.Environment?.Variables, { CUSTOM: 'yes' });
    assert.match(got.Configuration?.FunctionArn ?? '', /^arn:aws:lambda:us-east-1:\d{12}:function:fn-basic$/);
    // The package is served back and is the one uploaded.
    const zip = new Uint8Array(await (await fetch(got.Code!.Location!)).arrayBuffer());
    assert.deepEqual(zip, zipV1);
    // Code is stored unzipped under the state directory.
    const dir = path.join(stateDir, 'functions', 'fn-basic', Buffer.from(codeSha256(zipV1), 'base64').toString('hex'));
    assert.equal(fs.readFileSync(path.join(dir, 'index.js'), 'utf8'), HANDLER);
    const list = await client.send(new ListFunctionsCommand({}));
    assert.ok(list.Functions?.some((f) => f.FunctionName === 'fn-basic'));
    // Defaults as on AWS: 128 MB, 3 s.
    await client.send(new CreateFunctionCommand({ FunctionName: 'fn-defaults', Runtime: 'nodejs20.x', Role: 'arn:aws:iam::000000000000:role/r', Handler: 'index.handler', Code: { ZipFile: zipV1 } }));
    const defaults = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-defaults' }));
    assert.equal(defaults.MemorySize, 128);
    assert.equal(defaults.Timeout, 3);
  });

  test('errors have AWS names: not found, conflict, invalid parameters, reserved variables', async () => {
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'no-such-fn' })), { name: 'ResourceNotFoundException' });
    await assert.rejects(invokeFunction(client, 'no-such-fn', {}), { name: 'ResourceNotFoundException' });
    const base = { Runtime: 'nodejs20.x' as const, Role: 'arn:aws:iam::000000000000:role/r', Handler: 'index.handler', Code: { ZipFile: zipV1 } };
    await assert.rejects(client.send(new CreateFunctionCommand({ ...base, FunctionName: 'fn-basic' })), { name: 'ResourceConflictException' });
    await assert.rejects(client.send(new CreateFunctionCommand({ ...base, FunctionName: 'fn-bad', MemorySize: 64 })), { name: 'InvalidParameterValueException' });
    await assert.rejects(client.send(new CreateFunctionCommand({ ...base, FunctionName: 'fn-bad', Timeout: 901 })), { name: 'InvalidParameterValueException' });
    await assert.rejects(client.send(new CreateFunctionCommand({ ...base, FunctionName: 'fn-bad', Code: { ZipFile: new Uint8Array([1, 2, 3]) } })), {
      name: 'InvalidParameterValueException',
    });
    await assert.rejects(
      client.send(new CreateFunctionCommand({ ...base, FunctionName: 'fn-bad', Environment: { Variables: { AWS_REGION: 'x' } } })),
      (e: Error) => e.name === 'InvalidParameterValueException' && /reserved keys/.test(e.message),
    );
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'fn-bad' })), { name: 'ResourceNotFoundException' });
  });

  test('handlers load like AWS Node runtime: .js (CommonJS or "type": "module"), .mjs, .cjs, in subfolders; a missing one names what was tried', async () => {
    const base = { Runtime: 'nodejs20.x' as const, Role: 'arn:aws:iam::000000000000:role/r' };
    const packages: Record<string, { files: Record<string, string>; handler: string }> = {
      'fn-mjs': { files: { 'index.mjs': 'export const handler = async (event) => ({ kind: "mjs", meta: typeof import.meta.url, echo: event.n });' }, handler: 'index.handler' },
      'fn-cjs': { files: { 'index.cjs': 'exports.handler = async (event) => ({ kind: "cjs", commonjs: typeof require === "function", echo: event.n });' }, handler: 'index.handler' },
      'fn-esm-js': {
        files: { 'package.json': '{"type":"module"}', 'app.js': 'export async function run(event) { return { kind: "esm-js", meta: typeof import.meta.url, echo: event.n }; }' },
        handler: 'app.run',
      },
      'fn-nested-mjs': { files: { 'src/lib/main.mjs': 'export const go = (event, context) => ({ kind: "nested", fn: context.functionName, echo: event.n });' }, handler: 'src/lib/main.go' },
      // index.js wins over index.mjs, as on AWS.
      'fn-js-first': { files: { 'index.js': 'exports.handler = async () => ({ kind: "js" });', 'index.mjs': 'export const handler = async () => ({ kind: "mjs" });' }, handler: 'index.handler' },
    };
    for (const [name, p] of Object.entries(packages)) {
      await client.send(new CreateFunctionCommand({ ...base, FunctionName: name, Handler: p.handler, Code: { ZipFile: makeZip(p.files) } }));
    }
    const run = async (name: string) => {
      const r = await invokeFunction(client, name, { n: 7 });
      assert.equal(r.functionError, undefined, `${name}: ${JSON.stringify(r.payload)}`);
      return r.payload;
    };
    assert.deepEqual(await run('fn-mjs'), { kind: 'mjs', meta: 'string', echo: 7 });
    assert.deepEqual(await run('fn-cjs'), { kind: 'cjs', commonjs: true, echo: 7 });
    assert.deepEqual(await run('fn-esm-js'), { kind: 'esm-js', meta: 'string', echo: 7 });
    assert.deepEqual(await run('fn-nested-mjs'), { kind: 'nested', fn: 'fn-nested-mjs', echo: 7 });
    assert.deepEqual(await run('fn-js-first'), { kind: 'js' });

    await client.send(new CreateFunctionCommand({ ...base, FunctionName: 'fn-missing', Handler: 'main.handler', Code: { ZipFile: makeZip({ 'index.mjs': 'export const handler = () => 1;' }) } }));
    const missing = await invokeFunction(client, 'fn-missing', {});
    assert.equal(missing.functionError, 'Unhandled');
    assert.equal((missing.payload as any).errorType, 'Runtime.ImportModuleError');
    assert.match((missing.payload as any).errorMessage, /^Error: Cannot find module 'main' \(looked for main, main\.js, main\.mjs and main\.cjs/);
    await client.send(new CreateFunctionCommand({ ...base, FunctionName: 'fn-no-export', Handler: 'index.nope', Code: { ZipFile: makeZip({ 'index.mjs': 'export const handler = () => 1;' }) } }));
    const noExport = await invokeFunction(client, 'fn-no-export', {});
    assert.equal((noExport.payload as any).errorType, 'Runtime.HandlerNotFound');
    await client.send(new CreateFunctionCommand({ ...base, FunctionName: 'fn-bad-syntax', Handler: 'index.handler', Code: { ZipFile: makeZip({ 'index.mjs': 'export const handler = ( => 1;' }) } }));
    const badSyntax = await invokeFunction(client, 'fn-bad-syntax', {});
    assert.equal((badSyntax.payload as any).errorType, 'Runtime.ImportModuleError');
    assert.match((badSyntax.payload as any).errorMessage, /SyntaxError/);
    for (const name of [...Object.keys(packages), 'fn-missing', 'fn-no-export', 'fn-bad-syntax']) await client.send(new DeleteFunctionCommand({ FunctionName: name }));
  });

  test('invalid names and qualifiers get the errors AWS gives: ValidationException, ResourceNotFoundException with the qualified ARN', async () => {
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:fn-basic';
    await assert.rejects(invokeFunction(client, 'bad name!', {}), (e: Error) => {
      assert.equal(e.name, 'ValidationException');
      assert.match(e.message, /^1 validation error detected: Value 'bad name!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: \(arn:/);
      return true;
    });
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'bad/name' })), (e: Error) => e.name === 'ValidationException' || e.name === 'UnknownOperationException');
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'x'.repeat(171) })), { name: 'ValidationException' });
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'x'.repeat(65) })), { name: 'ResourceNotFoundException' });
    await assert.rejects(client.send(new CreateFunctionCommand({ FunctionName: 'bad name', Runtime: 'nodejs20.x', Role: 'r', Handler: 'index.handler', Code: { ZipFile: zipV1 } })), { name: 'ValidationException' });
    // Only $LATEST exists: another version or alias, as a parameter or in the name, is not found.
    const qualified = new InvokeCommand({ FunctionName: 'fn-basic', Qualifier: '1', Payload: Buffer.from('{}') });
    await assert.rejects(client.send(qualified), (e: Error) => e.name === 'ResourceNotFoundException' && e.message === `Function not found: ${arn}:1`);
    await assert.rejects(client.send(new InvokeCommand({ FunctionName: 'fn-basic:live', Payload: Buffer.from('{}') })), (e: Error) => e.name === 'ResourceNotFoundException' && e.message === `Function not found: ${arn}:live`);
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: `${arn}:3` })), (e: Error) => e.name === 'ResourceNotFoundException' && e.message === `Function not found: ${arn}:3`);
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'fn-basic', Qualifier: 'no good' })), (e: Error) => e.name === 'ValidationException' && /at 'qualifier'/.test(e.message));
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'fn-basic:1', Qualifier: '2' })), { name: 'InvalidParameterValueException' });
    // $LATEST, by parameter, in the name or the ARN, is the function.
    assert.equal((await client.send(new InvokeCommand({ FunctionName: 'fn-basic', Qualifier: '$LATEST', Payload: Buffer.from('{"action":"echo","value":1}') }))).StatusCode, 200);
    assert.equal((await client.send(new GetFunctionCommand({ FunctionName: `${arn}:$LATEST` }))).Configuration?.FunctionName, 'fn-basic');
    assert.equal((await client.send(new GetFunctionCommand({ FunctionName: '000000000000:function:fn-basic' }))).Configuration?.FunctionName, 'fn-basic');
  });

  test('reserved concurrency may not take the whole pool: a tenth of the cap (at least 1) stays unreserved, as AWS keeps 100 of 1,000', async () => {
    // The service was started with maxConcurrency 4: at least 1 unreserved.
    await assert.rejects(client.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn-basic', ReservedConcurrentExecutions: 4 })), (e: Error) => {
      assert.equal(e.name, 'InvalidParameterValueException');
      assert.equal(e.message, "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [1].");
      return true;
    });
    assert.equal((await client.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn-basic', ReservedConcurrentExecutions: 3 }))).ReservedConcurrentExecutions, 3);
    await assert.rejects(client.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn-defaults', ReservedConcurrentExecutions: 1 })), /below its minimum value of \[1\]/);
    // A function's own reservation is replaced, not added to.
    assert.equal((await client.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn-basic', ReservedConcurrentExecutions: 2 }))).ReservedConcurrentExecutions, 2);
    assert.equal((await client.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn-defaults', ReservedConcurrentExecutions: 1 }))).ReservedConcurrentExecutions, 1);
    await assert.rejects(client.send(new PutFunctionConcurrencyCommand({ FunctionName: 'no-such-fn', ReservedConcurrentExecutions: 1 })), { name: 'ResourceNotFoundException' });
    const { DeleteFunctionConcurrencyCommand, GetAccountSettingsCommand } = await import('@aws-sdk/client-lambda');
    assert.equal((await client.send(new GetAccountSettingsCommand({}))).AccountLimit?.UnreservedConcurrentExecutions, 1);
    await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'fn-basic' }));
    await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'fn-defaults' }));
    assert.equal((await client.send(new GetAccountSettingsCommand({}))).AccountLimit?.UnreservedConcurrentExecutions, 4);
  });

  test('sync invoke returns the payload, context, environment and an AWS REPORT line', async () => {
    const result = await invokeFunction(client, 'fn-basic', { action: 'echo', value: [1, 'two'] });
    assert.equal(result.functionError, undefined);
    const payload = result.payload as any;
    assert.deepEqual(payload.value, [1, 'two']);
    assert.equal(payload.fn, 'fn-basic');
    assert.equal(payload.memory, '256');
    assert.equal(payload.requestId, result.requestId);
    assert.ok(payload.remaining > 8000 && payload.remaining <= 10_000, `remaining ${payload.remaining}`);
    assert.deepEqual(payload.env, { custom: 'yes', name: 'fn-basic', mem: '256', region: 'us-east-1' });
    assert.match(result.logTail ?? '', /echo \[1,"two"\]/);
    assert.match(result.logTail ?? '', /REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB/);
    assert.ok(result.billedMs! >= 1 && result.billedMs! >= Math.ceil(result.durationMs!) && result.billedMs! - result.durationMs! < 1);
    assert.ok(result.maxMemoryUsedMB! > 10 && result.maxMemoryUsedMB! <= 256, `max memory ${result.maxMemoryUsedMB}`);
    // The log also lands in the state directory, as in CloudWatch (written asynchronously).
    const logFile = path.join(stateDir, 'logs', 'lambda', 'fn-basic.log');
    await waitFor('the log file', () => fs.readFileSync(logFile, 'utf8').includes(`END RequestId: ${result.requestId}`));
  });

  test('callback-style handlers work', async () => {
    await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'fn-defaults', Handler: 'index.callbackStyle' }));
    const result = await invokeFunction(client, 'fn-defaults', { n: 21 });
    assert.deepEqual(result.payload, { cb: 42 });
  });

  test('Event returns 202 and runs the function; DryRun returns 204', async () => {
    const file = path.join(stateDir, 'event-ran.txt');
    const out = await invokeEvent(client, 'fn-basic', { action: 'write-file', file });
    assert.equal(out.statusCode, 202);
    const written = await waitFor('the event to run', () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') || undefined : undefined));
    assert.equal(written, out.requestId);
    const dry = await client.send(new InvokeCommand({ FunctionName: 'fn-basic', InvocationType: 'DryRun' }));
    assert.equal(dry.StatusCode, 204);
  });

  test('a failed Event invocation is retried twice with the same request id, or not at all with eventRetries 0', async () => {
    await create('fn-retry');
    const file = path.join(stateDir, 'retries.txt');
    const { requestId } = await invokeEvent(client, 'fn-retry', { action: 'append-throw', file });
    const lines = await waitFor('three attempts', () => {
      const seen = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
      return seen.length >= 3 ? seen : undefined;
    });
    assert.deepEqual(lines, [requestId, requestId, requestId]);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 3, 'no more than two retries');

    await deployFunction(client, { name: 'fn-retry', zip: zipV1, handler: 'index.handler', memoryMB: 256, timeoutSeconds: 10, environment: { CUSTOM: 'yes' }, eventRetries: 0 });
    const config = await client.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'fn-retry' }));
    assert.equal(config.MaximumRetryAttempts, 0);
    const once = path.join(stateDir, 'no-retries.txt');
    await invokeEvent(client, 'fn-retry', { action: 'append-throw', file: once });
    await waitFor('one attempt', () => fs.existsSync(once));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(fs.readFileSync(once, 'utf8').trim().split('\n').length, 1);
  });

  test('a handler that throws gives a function error with errorType and errorMessage', async () => {
    const result = await invokeFunction(client, 'fn-basic', { action: 'throw' });
    assert.equal(result.functionError, 'Unhandled');
    assert.equal((result.payload as any).errorType, 'BoomError');
    assert.equal((result.payload as any).errorMessage, 'boom');
    assert.match(result.logTail ?? '', /REPORT RequestId/);
  });

  test('a function that runs past its timeout is stopped and reported like AWS', async () => {
    await create('fn-timeout', { timeoutSeconds: 1 });
    const started = Date.now();
    const result = await invokeFunction(client, 'fn-timeout', { action: 'sleep', ms: 20_000 });
    const elapsed = Date.now() - started;
    assert.equal(result.functionError, 'Unhandled');
    assert.match((result.payload as any).errorMessage, /Task timed out after 1\.00 seconds/);
    assert.ok(elapsed >= 1000 && elapsed < 4000, `answered after ${elapsed} ms`);
    assert.equal(result.billedMs, 1000);
    assert.match(result.logTail ?? '', /Status: timeout/);
    // A function that finishes within its limit is not stopped.
    assert.equal((await invokeFunction(client, 'fn-timeout', { action: 'sleep', ms: 200 })).payload, 'slept');
  });

  test('memory limit: a handler that fills the JS heap or Buffers past MemorySize fails', async () => {
    await create('fn-memory', { memoryMB: 128, timeoutSeconds: 30 });
    for (const action of ['heap', 'buffers']) {
      const result = await invokeFunction(client, 'fn-memory', { action });
      assert.equal(result.functionError, 'Unhandled', action);
      assert.equal((result.payload as any).errorType, 'Runtime.ExitError', action);
      assert.match((result.payload as any).errorMessage, /out of memory/, action);
      assert.equal(result.maxMemoryUsedMB, 128, action);
    }
    // The same function within its memory works.
    assert.equal((await invokeFunction(client, 'fn-memory', { action: 'small-buffers' })).payload, 4);
  });

  test('a runner killed through the admin endpoint, or exiting, gives Runtime.ExitError', async () => {
    await create('fn-kill', { timeoutSeconds: 30 });
    const pending = invokeFunction(client, 'fn-kill', { action: 'sleep', ms: 20_000 });
    const running = await waitFor('the invocation to show up', async () => {
      const { body } = await admin('/_local/invocations');
      return body.invocations.find((i: any) => i.functionName === 'fn-kill');
    });
    assert.equal(typeof running.pid, 'number');
    assert.ok(processAlive(running.pid));
    const killed = await admin(`/_local/invocations/${running.requestId}/kill`, 'POST');
    assert.equal(killed.status, 200);
    const result = await pending;
    assert.equal(result.functionError, 'Unhandled');
    assert.equal((result.payload as any).errorType, 'Runtime.ExitError');
    assert.match((result.payload as any).errorMessage, /signal: killed/);
    assert.equal(result.requestId, running.requestId);
    assert.equal(processAlive(running.pid), false);
    assert.equal((await admin('/_local/invocations/not-running/kill', 'POST')).status, 404);

    const exited = await invokeFunction(client, 'fn-kill', { action: 'exit' });
    assert.equal((exited.payload as any).errorType, 'Runtime.ExitError');
    assert.match((exited.payload as any).errorMessage, /exit status 3/);
  });

  test('concurrency cap: sync invocations beyond it get TooManyRequestsException, events queue', async () => {
    await create('fn-busy', { timeoutSeconds: 30 });
    // The service was started with maxConcurrency 4.
    await waitFor('earlier invocations to end', async () => (await admin('/_local/invocations')).body.invocations.length === 0);
    const busy = [0, 1, 2, 3].map(() => invokeFunction(client, 'fn-busy', { action: 'sleep', ms: 1500 }));
    await waitFor('four running invocations', async () => (await admin('/_local/invocations')).body.invocations.length === 4);
    await assert.rejects(invokeFunction(client, 'fn-busy', { action: 'echo' }), (e: Error & { Reason?: string }) => {
      assert.equal(e.name, 'TooManyRequestsException');
      assert.equal(e.Reason, 'ConcurrentInvocationLimitExceeded');
      return true;
    });
    const file = path.join(stateDir, 'queued-event.txt');
    assert.equal((await invokeEvent(client, 'fn-busy', { action: 'write-file', file })).statusCode, 202);
    assert.equal((await admin('/_local/invocations')).body.queued, 1);
    for (const r of await Promise.all(busy)) assert.equal(r.payload, 'slept');
    await waitFor('the queued event to run', () => fs.existsSync(file));
    await waitFor('the queued event to end', async () => (await admin('/_local/invocations')).body.invocations.length === 0);

    // Per-function reserved concurrency.
    await client.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn-busy', ReservedConcurrentExecutions: 1 }));
    const one = invokeFunction(client, 'fn-busy', { action: 'sleep', ms: 1000 });
    await waitFor('one running invocation', async () => (await admin('/_local/invocations')).body.invocations.length === 1);
    await assert.rejects(invokeFunction(client, 'fn-busy', { action: 'echo' }), (e: Error & { Reason?: string }) => {
      assert.equal(e.name, 'TooManyRequestsException');
      assert.equal(e.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
      return true;
    });
    assert.equal((await invokeFunction(client, 'fn-basic', { action: 'echo', value: 1 })).functionError, undefined); // other functions still run
    await one;
  });

  test('update code: new CodeSha256, new behaviour; unchanged code is not uploaded again', async () => {
    const again = await deployFunction(client, { name: 'fn-basic', zip: makeZip({ 'index.js': HANDLER }), handler: 'index.handler', memoryMB: 256, timeoutSeconds: 10, environment: { CUSTOM: 'yes' } });
    assert.deepEqual([again.created, again.codeUpdated, again.configurationUpdated], [false, false, false]);
    const updated = await deployFunction(client, { name: 'fn-basic', zip: zipV2, handler: 'index.handler', memoryMB: 512, timeoutSeconds: 10, environment: { CUSTOM: 'no' } });
    assert.deepEqual([updated.created, updated.codeUpdated, updated.configurationUpdated], [false, true, true]);
    const config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-basic' }));
    assert.equal(config.CodeSha256, codeSha256(zipV2));
    assert.notEqual(config.CodeSha256, codeSha256(zipV1));
    assert.equal(config.MemorySize, 512);
    const result = await invokeFunction(client, 'fn-basic', { action: 'echo', value: 'x' });
    assert.equal((result.payload as any).version, 2);
    assert.equal((result.payload as any).env.custom, 'no');
    assert.equal((result.payload as any).memory, '512');
    // The old code folder is pruned.
    const folders = fs.readdirSync(path.join(stateDir, 'functions', 'fn-basic')).filter((f) => !f.includes('.'));
    assert.deepEqual(folders, [Buffer.from(codeSha256(zipV2), 'base64').toString('hex')]);
  });

  test('delete removes the function and its files', async () => {
    await client.send(new DeleteFunctionCommand({ FunctionName: 'fn-defaults' }));
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'fn-defaults' })), { name: 'ResourceNotFoundException' });
    assert.equal(fs.existsSync(path.join(stateDir, 'functions', 'fn-defaults')), false);
    await assert.rejects(client.send(new DeleteFunctionCommand({ FunctionName: 'fn-defaults' })), { name: 'ResourceNotFoundException' });
  });

  test('payloads: not JSON -> InvalidRequestContentException, over 6 MB -> RequestTooLargeException', async () => {
    const send = (payload: Uint8Array) => client.send(new InvokeCommand({ FunctionName: 'fn-basic', Payload: payload }));
    await assert.rejects(send(new TextEncoder().encode('{not json')), { name: 'InvalidRequestContentException' });
    await assert.rejects(send(new TextEncoder().encode(JSON.stringify({ pad: 'x'.repeat(6 * 1024 * 1024) }))), { name: 'RequestTooLargeException' });
    const empty = await client.send(new InvokeCommand({ FunctionName: 'fn-basic' })); // no payload: the event is {}
    assert.equal(new TextDecoder().decode(empty.Payload), 'null');
  });

  test('the service process exits with its invocations when its parent dies without stop()', async () => {
    const script = `
      const { startLocalLambda } = require(${JSON.stringify(path.resolve(__dirname, '../../runtime/backends/local-lambda/embedded.ts'))});
      startLocalLambda({ stateDir: ${JSON.stringify(stateDir)} }).then((s) => { console.log(JSON.stringify(s)); setInterval(() => {}, 1000); });`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d))));
    const started = JSON.parse(line) as { endpoint: string; pid: number; credentials: LocalLambda['credentials'] };
    const orphanClient = createLambdaClient({ endpoint: started.endpoint, region: 'us-east-1', credentials: started.credentials });
    void invokeFunction(orphanClient, 'fn-kill', { action: 'sleep', ms: 60_000 }).catch(() => undefined);
    const runner = await waitFor('a running invocation', async () => (await localAdmin(started.endpoint, started.credentials).invocations()).invocations[0]);
    parent.kill('SIGKILL');
    await waitFor('the service to exit', () => !processAlive(started.pid));
    await waitFor('the runner to exit', () => !processAlive(runner.pid));
    orphanClient.destroy();
  });

  test('stop kills running invocations and leaves no child process; functions persist across restarts', async () => {
    const own = await startLocalLambda({ stateDir });
    const ownClient = createLambdaClient({ endpoint: own.endpoint, region: 'us-east-1', credentials: own.credentials });
    // The function deployed through the first service is there (state on disk).
    const pending = invokeFunction(ownClient, 'fn-kill', { action: 'sleep', ms: 60_000 }).catch((e: Error) => e);
    const runner = await waitFor('a running invocation', async () => {
      return (await localAdmin(own.endpoint, own.credentials).invocations()).invocations[0];
    });
    assert.ok(processAlive(runner.pid) && processAlive(own.pid));
    await own.stop();
    assert.equal(processAlive(own.pid), false, 'service process still alive');
    assert.equal(processAlive(runner.pid), false, 'runner process still alive');
    // The pending invoke is answered (killed: Runtime.ExitError) or its connection fails; it never hangs.
    const outcome = await pending;
    if (!(outcome instanceof Error)) assert.equal((outcome.payload as any).errorType, 'Runtime.ExitError');
    ownClient.destroy();
  });
});

describe('warm execution environments', () => {
  const initOf = (log: string | undefined) => /Init Duration: [\d.]+ ms/.test(log ?? '');

  test('an environment is reused by the next invocation of the same version, with its module state, /tmp and only its own log', async () => {
    await create('fn-warm');
    const first = await invokeFunction(client, 'fn-warm', { action: 'state' });
    const second = await invokeFunction(client, 'fn-warm', { action: 'state' });
    const failed = await invokeFunction(client, 'fn-warm', { action: 'throw' }); // a handled error keeps it warm, as on AWS
    const third = await invokeFunction(client, 'fn-warm', { action: 'state' });
    const [a, b, c] = [first, second, third].map((r) => r.payload as any);
    assert.equal(b.pid, a.pid, 'the second invocation ran in the same process');
    assert.equal(c.pid, a.pid, 'a function error does not end the environment');
    assert.deepEqual([a.calls, b.calls, c.calls], [1, 2, 4], 'module state survives between invocations');
    assert.equal(a.kept, null);
    assert.equal(b.kept, first.requestId, "the environment's temp folder is kept");
    assert.equal(failed.functionError, 'Unhandled');
    // Init Duration on the cold start only.
    assert.equal(initOf(first.logTail), true, first.logTail);
    assert.equal(initOf(second.logTail), false, second.logTail);
    assert.equal(initOf(third.logTail), false, third.logTail);
    // Each invocation's log has its own console lines, complete, and none of the others'.
    assert.match(second.logTail ?? '', new RegExp(`state of ${second.requestId}`));
    assert.doesNotMatch(second.logTail ?? '', new RegExp(first.requestId!));
    assert.doesNotMatch(second.logTail ?? '', /CIRRUS-INVOCATION-END/);
    assert.match(second.logTail ?? '', /REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\t\n?$/);
    const idle = (await admin('/_local/environments')).body.idle.filter((e: any) => e.functionName === 'fn-warm');
    assert.deepEqual(idle.map((e: any) => [e.pid, e.invocations]), [[a.pid, 4]]);
    // The function log on disk has no end markers either.
    const logFile = path.join(stateDir, 'logs', 'lambda', 'fn-warm.log');
    await waitFor('the log file', () => fs.readFileSync(logFile, 'utf8').includes(`END RequestId: ${third.requestId}`));
    assert.doesNotMatch(fs.readFileSync(logFile, 'utf8'), /CIRRUS-INVOCATION-END/);
  });

  test('a configuration or code update replaces the environment: the old process ends, the new one starts cold', async () => {
    await create('fn-replace');
    const before = (await invokeFunction(client, 'fn-replace', { action: 'state' })).payload as any;
    await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'fn-replace', Environment: { Variables: { CUSTOM: 'changed' } } }));
    await waitFor('the old environment to end', () => !processAlive(before.pid));
    const afterConfig = await invokeFunction(client, 'fn-replace', { action: 'state' });
    const p = afterConfig.payload as any;
    assert.notEqual(p.pid, before.pid);
    assert.deepEqual([p.calls, p.custom, p.kept], [1, 'changed', null]);
    assert.equal(initOf(afterConfig.logTail), true);

    await deployFunction(client, { name: 'fn-replace', zip: zipV2, handler: 'index.handler', memoryMB: 256, timeoutSeconds: 10, environment: { CUSTOM: 'changed' } });
    await waitFor('the environment of the old code to end', () => !processAlive(p.pid));
    const afterCode = (await invokeFunction(client, 'fn-replace', { action: 'state' })).payload as any;
    assert.notEqual(afterCode.pid, p.pid);
    assert.deepEqual([afterCode.version, afterCode.calls], [2, 1]);
  });

  test('a timed-out or over-memory environment is discarded; the next invocation starts cold', async () => {
    await create('fn-warm-timeout', { timeoutSeconds: 1 });
    const warm = (await invokeFunction(client, 'fn-warm-timeout', { action: 'state' })).payload as any;
    const timedOut = await invokeFunction(client, 'fn-warm-timeout', { action: 'sleep', ms: 20_000 });
    assert.match((timedOut.payload as any).errorMessage, /Task timed out after 1\.00 seconds/);
    assert.equal(initOf(timedOut.logTail), false, 'it ran in the warm environment');
    await waitFor('the timed-out environment to end', () => !processAlive(warm.pid));
    const next = await invokeFunction(client, 'fn-warm-timeout', { action: 'state' });
    assert.notEqual((next.payload as any).pid, warm.pid);
    assert.equal((next.payload as any).calls, 1);
    assert.equal(initOf(next.logTail), true);

    await create('fn-warm-memory', { timeoutSeconds: 30, memoryMB: 128 });
    const held = (await invokeFunction(client, 'fn-warm-memory', { action: 'state' })).payload as any;
    const oom = await invokeFunction(client, 'fn-warm-memory', { action: 'buffers' });
    assert.match((oom.payload as any).errorMessage, /out of memory/);
    assert.equal(initOf(oom.logTail), false, 'it ran in the warm environment');
    await waitFor('the over-memory environment to end', () => !processAlive(held.pid));
    const fresh = await invokeFunction(client, 'fn-warm-memory', { action: 'state' });
    assert.deepEqual([(fresh.payload as any).calls, initOf(fresh.logTail)], [1, true]);
  });

  test('concurrent invocations get environments of their own; cold starts only when concurrency grows', async () => {
    await create('fn-concurrent', { timeoutSeconds: 30 });
    const pair = await Promise.all([0, 1].map(() => invokeFunction(client, 'fn-concurrent', { action: 'hold', ms: 800 })));
    const pids = pair.map((r) => (r.payload as any).pid);
    assert.notEqual(pids[0], pids[1], 'two at once: two environments');
    assert.deepEqual(pair.map((r) => initOf(r.logTail)), [true, true]);
    // Two again: both warm, the same two processes.
    const again = await Promise.all([0, 1].map(() => invokeFunction(client, 'fn-concurrent', { action: 'hold', ms: 800 })));
    assert.deepEqual(again.map((r) => (r.payload as any).pid).sort(), [...pids].sort());
    assert.deepEqual(again.map((r) => initOf(r.logTail)), [false, false]);
    // Three: one more cold start.
    const three = await Promise.all([0, 1, 2].map(() => invokeFunction(client, 'fn-concurrent', { action: 'hold', ms: 800 })));
    assert.equal(three.filter((r) => initOf(r.logTail)).length, 1);
    assert.equal(new Set(three.map((r) => (r.payload as any).pid)).size, 3);
  });

  test("the V8 code cache: a version's first cold start writes it, the next cold starts load it; require and module state work as under require()", async () => {
    const code = makeZip({
      'index.js': `const lib = require('./lib'); let calls = 0;
        exports.handler = async () => { calls++; const again = require('./index.js') === module.exports;
          return { pid: process.pid, calls, lib: lib.name, again, file: __filename.endsWith('index.js'), dir: __dirname === require('node:path').dirname(__filename) }; };`,
      'lib.js': `exports.name = 'lib';`,
      // import() in a module loaded from the cache would fail on Node 20: such files load without it.
      'dynamic.js': `exports.handler = async () => { const os = await import('node:os'); return { pid: process.pid, cpus: typeof os.cpus }; };`,
    });
    const deploy = (custom: string, memoryMB = 256, handler = 'index.handler') => deployFunction(client, { name: 'fn-cache', zip: code, handler, memoryMB, timeoutSeconds: 10, environment: { CUSTOM: custom } });
    const cacheState = async (pid: number) => (await admin('/_local/environments')).body.idle.find((e: any) => e.pid === pid)?.codeCache;
    const cacheFiles = () => (fs.existsSync(path.join(stateDir, 'code-cache')) ? fs.readdirSync(path.join(stateDir, 'code-cache')).filter((f) => f.endsWith('.v8cache')) : []);
    const before = cacheFiles().length;

    await deploy('a');
    const first = await invokeFunction(client, 'fn-cache', {});
    const p1 = first.payload as any;
    assert.deepEqual([p1.calls, p1.lib, p1.again, p1.file, p1.dir], [1, 'lib', true, true, true], JSON.stringify(first));
    assert.equal(await cacheState(p1.pid), 'missing', 'nothing cached for this code yet');
    await waitFor('the cache file', () => cacheFiles().length === before + 1);
    assert.equal(((await invokeFunction(client, 'fn-cache', {})).payload as any).calls, 2, 'warm: the module state is kept');

    // A new configuration: a new environment (cold), same code and heap size: the cache is used.
    await deploy('b');
    const second = await invokeFunction(client, 'fn-cache', {});
    const p2 = second.payload as any;
    assert.notEqual(p2.pid, p1.pid);
    assert.deepEqual([p2.calls, p2.lib, p2.again], [1, 'lib', true], JSON.stringify(second));
    assert.equal(initOf(second.logTail), true);
    assert.equal(await cacheState(p2.pid), 'accepted');

    // Another heap size (a V8 flag): a cache of its own.
    await deploy('b', 512);
    const third = (await invokeFunction(client, 'fn-cache', {})).payload as any;
    assert.equal(await cacheState(third.pid), 'missing');
    await waitFor('a second cache file', () => cacheFiles().length === before + 2);

    // A module with import(): loaded by require(), twice cold, import() working both times.
    for (const custom of ['c', 'd']) {
      await deploy(custom, 256, 'dynamic.handler');
      const dynamic = await invokeFunction(client, 'fn-cache', {});
      assert.equal((dynamic.payload as any).cpus, 'function', JSON.stringify(dynamic));
      assert.equal(await cacheState((dynamic.payload as any).pid), 'none');
    }
  });

  test('an environment idle past environmentIdleMs ends; stop ends warm environments; 0 turns reuse off', async () => {
    const own = await startLocalLambda({ stateDir, environmentIdleMs: 400 });
    const ownClient = createLambdaClient({ endpoint: own.endpoint, region: 'us-east-1', credentials: own.credentials });
    try {
      const a = (await invokeFunction(ownClient, 'fn-warm', { action: 'state' })).payload as any;
      const b = (await invokeFunction(ownClient, 'fn-warm', { action: 'state' })).payload as any;
      assert.equal(b.pid, a.pid);
      await waitFor('the idle environment to end', () => !processAlive(a.pid), 5000);
      const c = await invokeFunction(ownClient, 'fn-warm', { action: 'state' });
      assert.notEqual((c.payload as any).pid, a.pid);
      assert.equal(initOf(c.logTail), true);
      await own.stop();
      assert.equal(processAlive((c.payload as any).pid), false, 'a warm environment outlived the service');
    } finally {
      await own.stop();
      ownClient.destroy();
    }
    const off = await startLocalLambda({ stateDir, environmentIdleMs: 0 });
    const offClient = createLambdaClient({ endpoint: off.endpoint, region: 'us-east-1', credentials: off.credentials });
    try {
      const runs = [await invokeFunction(offClient, 'fn-warm', { action: 'state' }), await invokeFunction(offClient, 'fn-warm', { action: 'state' })];
      assert.notEqual((runs[0].payload as any).pid, (runs[1].payload as any).pid);
      assert.deepEqual(runs.map((r) => initOf(r.logTail)), [true, true]);
    } finally {
      await off.stop();
      offClient.destroy();
    }
  });
});
