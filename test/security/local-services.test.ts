// Issue 17's attacks on the local Lambda service and the embedded S3 server, repeated against the
// real services (their own processes, real HTTP): each asserts refused, bounded or recovered.
// Limits and figures: docs/security.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { CreateFunctionCommand, DeleteFunctionCommand, InvokeCommand, LambdaClient, ListFunctionsCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { createLambdaClient, deployFunction, invokeFunction, makeZip } from '../../runtime/backends/lambda-client';
import { localAdmin, startLocalLambda, type LocalLambda } from '../../runtime/backends/local-lambda/embedded';
import { localBackend, localLambdaProcess, setLocalServiceLog, stopLocalServices } from '../../runtime/backends/backend';
import { startEmbeddedS3, type EmbeddedS3 } from '../../runtime/storage/embedded-s3';
import { createS3Client, ensureBucket, getObjectBytes, putObjectBytes } from '../../runtime/storage/s3';
import { localCredentials } from '../../runtime/util/local-credentials';
import { signRequest } from '../../runtime/util/sigv4';
import { crc32 } from '../../runtime/util/crc32';
import { processAlive } from '../../runtime/util/process-alive';

const MB = 1024 * 1024;
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(what: string, check: () => T | Promise<T>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A raw HTTP request with whatever headers an attacker likes; resolves with status and body. */
function raw(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers, setHost: !opts.headers?.host && !opts.headers?.Host }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const HANDLER = `
const fs = require('node:fs');
const os = require('node:os');
const { spawn } = require('node:child_process');
exports.handler = async (event) => {
  switch (event.action) {
    case 'sleep': await new Promise((r) => setTimeout(r, event.ms)); return 'slept';
    case 'where': return { cwd: process.cwd(), tmp: os.tmpdir(), root: process.env.LAMBDA_TASK_ROOT };
    case 'leave-child': { const c = spawn('sleep', ['60'], { stdio: 'ignore' }); c.unref(); return { pid: c.pid }; }
    case 'big': return 'x'.repeat(event.bytes);
    default: return 'ok';
  }
};`;

describe('local Lambda service under attack', () => {
  let stateDir: string;
  let service: LocalLambda;
  let client: LambdaClient;
  const marker = path.join(os.tmpdir(), `cirrus-pwned-${process.pid}`);

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-sec-lambda-'));
    service = await startLocalLambda({ stateDir, maxConcurrency: 4, limits: { bodyTimeoutMs: 1000, headersTimeoutMs: 1000 }, log: () => {} });
    client = createLambdaClient({ endpoint: service.endpoint, region: 'us-east-1', credentials: service.credentials });
    await deployFunction(client, { name: 'fn', zip: makeZip({ 'index.js': HANDLER }), handler: 'index.handler', memoryMB: 256, timeoutSeconds: 30 });
  });
  after(async () => {
    await service?.stop();
    client?.destroy();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(marker, { force: true });
  });

  test('the key pair is random per state folder and readable by the user only', () => {
    const file = path.join(stateDir, 'credentials.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-sec-creds-'));
    try {
      assert.notEqual(localCredentials(other).secretAccessKey, service.credentials.secretAccessKey);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('the browser-shaped attack (text/plain, foreign Origin and Host, no signature) creates and runs nothing', async () => {
    const evil = makeZip({ 'index.js': `exports.handler = async () => require('fs').writeFileSync(${JSON.stringify(marker)}, 'pwned');` });
    const body = JSON.stringify({ FunctionName: 'evil', Runtime: 'nodejs20.x', Role: 'r', Handler: 'index.handler', Code: { ZipFile: Buffer.from(evil).toString('base64') } });
    const res = await raw(service.port, { path: '/2015-03-31/functions', headers: { host: 'attacker.example:80', origin: 'http://attacker.example', 'content-type': 'text/plain' }, body });
    assert.equal(res.status, 403);
    // Each guard on its own, with everything else right, refuses too.
    const url = `${service.endpoint}/2015-03-31/functions`;
    const signed = await signRequest(service.credentials, { method: 'POST', url, body, service: 'lambda', headers: { 'content-type': 'application/json' } });
    assert.equal((await raw(service.port, { path: '/2015-03-31/functions', headers: { ...signed, host: `127.0.0.1:${service.port}`, origin: 'http://attacker.example' }, body })).status, 403);
    const foreignHost = await signRequest(service.credentials, { method: 'POST', url: `http://rebind.example:${service.port}/2015-03-31/functions`, body, service: 'lambda', headers: { 'content-type': 'application/json' } });
    assert.equal((await raw(service.port, { path: '/2015-03-31/functions', headers: { ...foreignHost, host: `rebind.example:${service.port}` }, body })).status, 403);
    const plain = await signRequest(service.credentials, { method: 'POST', url, body, service: 'lambda', headers: { 'content-type': 'text/plain' } });
    const refusedType = await raw(service.port, { path: '/2015-03-31/functions', headers: { ...plain, host: `127.0.0.1:${service.port}` }, body });
    assert.equal(refusedType.status, 415);
    const unsigned = await raw(service.port, { path: '/2015-03-31/functions', headers: { 'content-type': 'application/json' }, body });
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
    // A signature over a different body (tampered in flight) fails verification.
    const tampered = await raw(service.port, { path: '/2015-03-31/functions', headers: { ...signed, host: `127.0.0.1:${service.port}` }, body: body.replace('evil', 'evi2') });
    assert.equal(tampered.headers['x-amzn-errortype'], 'InvalidSignatureException');
    const names = (await client.send(new ListFunctionsCommand({}))).Functions?.map((f) => f.FunctionName);
    assert.deepEqual(names, ['fn']);
    assert.equal(fs.existsSync(marker), false);
  });

  test('a wrong secret or an unknown key is refused with AWS errors', async () => {
    const wrongSecret = new LambdaClient({ region: 'us-east-1', endpoint: service.endpoint, credentials: { ...service.credentials, secretAccessKey: 'not-the-secret-0000000000' } });
    await assert.rejects(wrongSecret.send(new ListFunctionsCommand({})), { name: 'InvalidSignatureException' });
    const unknownKey = new LambdaClient({ region: 'us-east-1', endpoint: service.endpoint, credentials: { accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 'x'.repeat(40) } });
    await assert.rejects(unknownKey.send(new ListFunctionsCommand({})), { name: 'UnrecognizedClientException' });
    wrongSecret.destroy();
    unknownKey.destroy();
    // The admin surface too.
    assert.equal((await fetch(`${service.endpoint}/_local/invocations`)).status, 403);
  });

  test('a handler outside the function package is refused', async () => {
    for (const handler of ['../../../../etc/passwd.handler', '/tmp/x.handler']) {
      await assert.rejects(
        client.send(new CreateFunctionCommand({ FunctionName: 'outside', Runtime: 'nodejs20.x', Role: 'r', Handler: handler, Code: { ZipFile: makeZip({ 'index.js': HANDLER }) } })),
        { name: 'InvalidParameterValueException' },
      );
    }
  });

  test('an invocation has its own cwd and temp folder, and nothing it started outlives its execution environment', async () => {
    const where = (await invokeFunction(client, 'fn', { action: 'where' })).payload as { cwd: string; tmp: string; root: string };
    assert.notEqual(where.cwd, where.root);
    assert.ok(where.cwd.startsWith(path.join(stateDir, 'invocations')) && where.tmp.startsWith(where.cwd), JSON.stringify(where));
    const { pid } = (await invokeFunction(client, 'fn', { action: 'leave-child' })).payload as { pid: number };
    // As on Lambda, a warm environment keeps what its invocations started until the environment ends;
    // a configuration change ends the idle environments of the old configuration.
    await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'fn', Timeout: 31 }));
    await waitFor('the child the function left behind to be killed', () => !processAlive(pid), 3000);
    await waitFor('the invocation folders to be removed', () => !fs.existsSync(where.cwd), 3000);
  });

  test('the Event queue is bounded: past 64 MB of queued events Invoke answers TooManyRequestsException, memory stays bounded', async () => {
    await deployFunction(client, { name: 'slow', zip: makeZip({ 'index.js': HANDLER }), handler: 'index.handler', memoryMB: 128, timeoutSeconds: 30 });
    const before = rssOf(service.pid);
    const payload = new TextEncoder().encode(JSON.stringify({ action: 'sleep', ms: 20_000, pad: 'p'.repeat(1_000_000) }));
    let accepted = 0;
    let throttled = 0;
    for (let i = 0; i < 90; i++) {
      try {
        await client.send(new InvokeCommand({ FunctionName: 'slow', InvocationType: 'Event', Payload: payload }));
        accepted++;
      } catch (error) {
        assert.equal((error as Error).name, 'TooManyRequestsException');
        throttled++;
      }
    }
    const grown = rssOf(service.pid) - before;
    // Deleting the function drops its queued events; the running ones are killed.
    await client.send(new DeleteFunctionCommand({ FunctionName: 'slow' }));
    const admin = localAdmin(service.endpoint, service.credentials);
    for (const inv of (await admin.invocations()).invocations) await admin.kill(inv.requestId);
    // 64 MiB of ~1 MB events queued, plus the 4 running (maxConcurrency 4).
    assert.ok(throttled > 0 && accepted <= Math.floor((64 * MB) / payload.length) + 4, `accepted ${accepted}, throttled ${throttled}`);
    assert.ok(grown < 250 * MB, `service RSS grew ${(grown / MB).toFixed(0)} MB`);
    await waitFor('the slots to free', async () => (await admin.invocations()).invocations.length === 0);
    assert.equal((await invokeFunction(client, 'fn', {})).payload, 'ok', 'still serving');
  });

  test('zip bombs: declared sizes are refused before inflating, lying ones while streaming, and nothing is left on disk', async () => {
    const before = rssOf(service.pid);
    // 8 entries each declaring 4 GiB - 2 (the 1.3 KB zip of the issue).
    const declared = zipWith(Array.from({ length: 8 }, (_, i) => ({ name: `big${i}.bin`, data: zlib.deflateRawSync(Buffer.alloc(1024)), size: 0xfffffffe, crc: 0 })));
    await assert.rejects(create('bomb1', declared), /Unzipped size must be smaller/);
    // One entry that says 1 KB and inflates to 40 MB.
    const zeros = Buffer.alloc(40 * MB);
    const lying = zipWith([{ name: 'liar.bin', data: zlib.deflateRawSync(zeros), size: 1024, crc: crc32(zeros.subarray(0, 1024)) }]);
    await assert.rejects(create('bomb2', lying), /inflates past its declared/);
    assert.ok(rssOf(service.pid) - before < 100 * MB, 'the bombs did not cost their declared memory');
    for (const name of ['bomb1', 'bomb2']) assert.equal(fs.existsSync(path.join(stateDir, 'functions', name)), false, `${name} left files behind`);
    assert.deepEqual(fs.readdirSync(path.join(stateDir, 'functions', 'fn')).filter((f) => f.includes('.tmp-')), []);
    assert.equal((await invokeFunction(client, 'fn', {})).payload, 'ok', 'invocations still run');
  });

  test('bodies are bounded in time: endless and stalled bodies are dropped at the deadline, memory stays bounded', async () => {
    const before = rssOf(service.pid);
    const auth = await signRequest(service.credentials, { method: 'POST', url: `${service.endpoint}/2015-03-31/functions`, body: '{}', service: 'lambda' });
    const sockets: net.Socket[] = [];
    const closed: Array<Promise<void>> = [];
    for (let i = 0; i < 40; i++) {
      const s = net.connect(service.port, '127.0.0.1');
      s.on('error', () => {});
      s.resume(); // read the answer (a paused socket would not notice the server closing it)
      closed.push(new Promise((r) => s.on('close', () => r())));
      sockets.push(s);
      const head =
        i % 2 === 0
          ? `POST /2015-03-31/functions HTTP/1.1\r\nHost: 127.0.0.1:${service.port}\r\nAuthorization: ${auth.authorization}\r\nX-Amz-Date: ${auth['x-amz-date']}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`
          : `POST /2015-03-31/functions HTTP/1.1\r\nHost: 127.0.0.1:${service.port}\r\nAuthorization: ${auth.authorization}\r\nX-Amz-Date: ${auth['x-amz-date']}\r\nContent-Type: application/json\r\nContent-Length: ${60 * MB}\r\n\r\n`;
      s.write(head);
      if (i % 2 === 0) s.write(`100000\r\n${'a'.repeat(0x100000)}\r\n`); // 1 MiB chunk, then nothing more
      else s.write(Buffer.alloc(2 * MB, 97)); // 2 MiB of the 60 declared, then a stall
    }
    // A client that never finishes its headers is dropped too.
    const slowHeaders = net.connect(service.port, '127.0.0.1');
    slowHeaders.on('error', () => {});
    slowHeaders.resume();
    slowHeaders.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    closed.push(new Promise((r) => slowHeaders.on('close', () => r())));
    const t0 = Date.now();
    await Promise.all(closed);
    assert.ok(Date.now() - t0 < 5000, `connections closed after ${Date.now() - t0} ms`);
    const grown = rssOf(service.pid) - before;
    assert.ok(grown < 200 * MB, `service RSS grew ${(grown / MB).toFixed(0)} MB`);
    assert.equal((await invokeFunction(client, 'fn', {})).payload, 'ok');
  });

  test('a 20 MB function result is refused without the service holding it', async () => {
    const before = rssOf(service.pid);
    const outcome = await invokeFunction(client, 'fn', { action: 'big', bytes: 20 * MB });
    assert.equal((outcome.payload as { errorType: string }).errorType, 'Function.ResponseSizeTooLarge');
    assert.ok(rssOf(service.pid) - before < 30 * MB, 'the service did not receive the result');
  });

  function create(name: string, zip: Uint8Array) {
    return client.send(new CreateFunctionCommand({ FunctionName: name, Runtime: 'nodejs20.x', Role: 'r', Handler: 'index.handler', Code: { ZipFile: zip } }));
  }
});

/** A zip built by hand, so headers can say what an attacker wants. */
function zipWith(entries: Array<{ name: string; data: Buffer; size: number; crc: number }>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(8, 8);
    lh.writeUInt32LE(e.crc >>> 0, 14);
    lh.writeUInt32LE(e.data.length, 18);
    lh.writeUInt32LE(e.size, 22);
    lh.writeUInt16LE(name.length, 26);
    locals.push(lh, name, e.data);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(8, 10);
    ch.writeUInt32LE(e.crc >>> 0, 16);
    ch.writeUInt32LE(e.data.length, 20);
    ch.writeUInt32LE(e.size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    centrals.push(ch, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

describe('embedded S3 server under attack', () => {
  let dir: string;
  let s3: EmbeddedS3;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-sec-s3-'));
    s3 = await startEmbeddedS3({ dataDir: path.join(dir, 'objects') });
  });
  after(async () => {
    await s3?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the SDK with the printed key pair works; unsigned, wrong-secret, foreign-Host and Origin requests are refused', async () => {
    const good = createS3Client(s3.target);
    await ensureBucket(good, 'sec');
    await putObjectBytes(good, 'sec', 'a.txt', 'hello');
    assert.equal(Buffer.from(await getObjectBytes(good, 'sec', 'a.txt')).toString(), 'hello');
    good.destroy();

    const unsigned = await raw(s3.port, { method: 'GET', path: '/sec/a.txt' });
    assert.equal(unsigned.status, 403);
    const wrong = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { ...s3.credentials, secretAccessKey: 'wrong-secret-000000000000' } });
    await assert.rejects(wrong.send(new ListBucketsCommand({})), { name: 'SignatureDoesNotMatch' });
    wrong.destroy();
    const signed = await signRequest(s3.credentials, { method: 'GET', url: `${s3.endpoint}/sec/a.txt`, service: 's3', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    const ok = await raw(s3.port, { method: 'GET', path: '/sec/a.txt', headers: { ...signed, host: `127.0.0.1:${s3.port}` } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal((await raw(s3.port, { method: 'GET', path: '/sec/a.txt', headers: { ...signed, host: `127.0.0.1:${s3.port}`, origin: 'http://attacker.example' } })).status, 403);
    const rebound = await signRequest(s3.credentials, { method: 'GET', url: `http://rebind.example:${s3.port}/sec/a.txt`, service: 's3', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    assert.equal((await raw(s3.port, { method: 'GET', path: '/sec/a.txt', headers: { ...rebound, host: `rebind.example:${s3.port}` } })).status, 403);
  });
});

describe('the backend restarts a local Lambda service that died', () => {
  test('killed with SIGKILL, it is back on the same port and says so', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-sec-backend-'));
    const notices: string[] = [];
    setLocalServiceLog((line) => notices.push(line));
    try {
      const backend = await localBackend(stateDir);
      await backend.lambda.send(new ListFunctionsCommand({}));
      const first = localLambdaProcess()!;
      process.kill(first.pid, 'SIGKILL');
      await waitFor('the restart', () => notices.some((n) => /restarted/.test(n)), 20_000);
      assert.ok(notices.some((n) => /killed by SIGKILL; restarting it on port/.test(n)), notices.join('\n'));
      assert.notEqual(localLambdaProcess()!.pid, first.pid);
      await backend.lambda.send(new ListFunctionsCommand({})); // the same client works again
    } finally {
      setLocalServiceLog((line) => process.stderr.write(`[cirrus] ${line}\n`));
      await stopLocalServices();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('the AWS CLI against the local services', () => {
  const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  const available = aws.status === 0;
  test('works with the key pair, and a wrong secret gets AWS errors', { skip: available ? false : 'the AWS CLI (`aws`) is not installed: apt-get install awscli' }, async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-sec-cli-'));
    const lambda = await startLocalLambda({ stateDir: path.join(stateDir, 'lambda'), credentials: localCredentials(stateDir), log: () => {} });
    const s3 = await startEmbeddedS3({ dataDir: path.join(stateDir, 's3') });
    const cli = (args: string[], secret = lambda.credentials.secretAccessKey) =>
      spawnSync('aws', args, {
        encoding: 'utf8',
        cwd: stateDir,
        env: { ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
      });
    try {
      fs.writeFileSync(path.join(stateDir, 'fn.zip'), makeZip({ 'index.js': 'exports.handler = async (e) => ({ got: e.x });' }));
      const created = cli(['lambda', 'create-function', '--endpoint-url', lambda.endpoint, '--function-name', 'clifn', '--runtime', 'nodejs20.x', '--role', 'arn:aws:iam::000000000000:role/x', '--handler', 'index.handler', '--zip-file', 'fileb://fn.zip']);
      assert.equal(created.status, 0, created.stderr);
      const invoked = cli(['lambda', 'invoke', '--endpoint-url', lambda.endpoint, '--function-name', 'clifn', ...(/aws-cli\/1\./.test(aws.stdout + aws.stderr) ? [] : ['--cli-binary-format', 'raw-in-base64-out']), '--payload', '{"x":5}', 'out.json']);
      assert.equal(invoked.status, 0, invoked.stderr);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(stateDir, 'out.json'), 'utf8')), { got: 5 });
      const listed = cli(['lambda', 'list-functions', '--endpoint-url', lambda.endpoint]);
      assert.match(listed.stdout, /clifn/);
      const wrong = cli(['lambda', 'list-functions', '--endpoint-url', lambda.endpoint], 'wrong-secret-0000000000000');
      assert.notEqual(wrong.status, 0);
      assert.match(wrong.stderr, /InvalidSignatureException/);
      const mb = cli(['s3', 'mb', 's3://clibucket', '--endpoint-url', s3.endpoint]);
      assert.equal(mb.status, 0, mb.stderr);
      const cp = cli(['s3', 'cp', 'fn.zip', 's3://clibucket/fn.zip', '--endpoint-url', s3.endpoint]);
      assert.equal(cp.status, 0, cp.stderr);
      assert.match(cli(['s3', 'ls', 's3://clibucket/', '--endpoint-url', s3.endpoint]).stdout, /fn\.zip/);
      const wrongS3 = cli(['s3', 'ls', 's3://clibucket/', '--endpoint-url', s3.endpoint], 'wrong-secret-0000000000000');
      assert.notEqual(wrongS3.status, 0);
      assert.match(wrongS3.stderr, /SignatureDoesNotMatch/);
    } finally {
      await Promise.all([lambda.stop(), s3.stop()]);
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
