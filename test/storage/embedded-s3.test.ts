import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { startEmbeddedS3 } from '../../runtime/storage/embedded-s3';
import { localCredentials } from '../../runtime/util/local-credentials';
import { distFile } from '../../runtime/util/paths';
import { createS3Client, ensureBucket, getObjectBytes, putObjectBytes } from '../../runtime/storage/s3';
import { isAlive, tmpDir } from '../data/fixtures';

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

test('the embedded S3 keeps objects on disk across restarts, and stop leaves no process', async () => {
  const dataDir = path.join(tmpDir('embedded'), 'objects');
  const first = await startEmbeddedS3({ dataDir });
  assert.match(first.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(isAlive(first.pid));
  let client = createS3Client(first.target);
  await ensureBucket(client, 'keep');
  await putObjectBytes(client, 'keep', 'hello.txt', 'hello');
  client.destroy();
  await first.stop();
  assert.equal(isAlive(first.pid), false, 'the server process is gone after stop()');
  await first.stop(); // a second stop is harmless

  const second = await startEmbeddedS3({ dataDir });
  try {
    client = createS3Client(second.target);
    assert.equal(Buffer.from(await getObjectBytes(client, 'keep', 'hello.txt')).toString(), 'hello');
    client.destroy();
  } finally {
    await second.stop();
  }
  assert.equal(isAlive(second.pid), false);
});

test('two embedded servers get different free ports', async () => {
  const dir = tmpDir('embedded2');
  const [a, b] = await Promise.all([startEmbeddedS3({ dataDir: path.join(dir, 'a') }), startEmbeddedS3({ dataDir: path.join(dir, 'b') })]);
  try {
    assert.notEqual(a.port, b.port);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('the server exits when its parent process dies', async () => {
  const dir = tmpDir('orphan');
  const script = path.join(dir, 'parent.ts');
  const module = path.resolve(__dirname, '../../runtime/storage/embedded-s3.ts');
  fs.writeFileSync(
    script,
    `const { startEmbeddedS3 } = require(${JSON.stringify(module)});
     startEmbeddedS3({ dataDir: ${JSON.stringify(path.join(dir, 'objects'))} }).then((s) => {
       console.log('PID ' + s.pid);
       setInterval(() => {}, 1000); // stay alive until killed
     });`,
  );
  const parent = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const childPid = await new Promise<number>((resolve, reject) => {
    let out = '';
    parent.stdout.on('data', (d) => {
      out += d;
      const m = /PID (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    parent.on('exit', () => reject(new Error(`parent exited early: ${out}`)));
  });
  assert.ok(isAlive(childPid));
  parent.kill('SIGKILL');
  assert.ok(await waitUntil(() => !isAlive(childPid), 5000), 'the S3 server outlived its parent');
});

test('a runtime that refuses the first flags gets the server started without them', async () => {
  // Node refuses an unknown flag and exits at once, as Electron may refuse --openssl-legacy-provider.
  const s3 = await startEmbeddedS3({ dataDir: path.join(tmpDir('flags'), 'objects'), nodeFlags: ['--no-such-flag-for-cirrus'] });
  try {
    assert.equal(s3.legacyProvider, false);
    const client = createS3Client(s3.target);
    await ensureBucket(client, 'works');
    client.destroy();
  } finally {
    await s3.stop();
  }
});

test('the server script also takes its data directory over IPC', async () => {
  const dataDir = path.join(tmpDir('ipc'), 'objects');
  const child = fork(distFile('s3-server.js'), [], { execArgv: ['--openssl-legacy-provider'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const ready = new Promise<{ type: string; port: number }>((resolve) => child.once('message', resolve as (m: unknown) => void));
    const credentials = localCredentials(path.dirname(dataDir));
    child.send({ type: 'start', dataDir, credentials });
    const message = await ready;
    assert.equal(message.type, 'ready');
    const client = createS3Client({ endpoint: `http://127.0.0.1:${message.port}`, region: 'us-east-1', credentials, forcePathStyle: true });
    await ensureBucket(client, 'over-ipc');
    client.destroy();
    assert.ok(fs.existsSync(path.join(dataDir, 'over-ipc')), 'the bucket lives in the directory sent over IPC');
  } finally {
    child.disconnect(); // the server leaves when its channel closes
    assert.ok(await waitUntil(() => child.exitCode !== null || child.signalCode !== null, 5000));
  }
});

test('a bad data directory is reported, not hung on', async () => {
  const dir = tmpDir('baddir');
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'not a directory');
  await assert.rejects(startEmbeddedS3({ dataDir: path.join(file, 'sub') }), /embedded S3 server (failed|exited)/);
});

test('objects of a few MB are served whole and by range, as a partition read needs them', async () => {
  const OBJECT_READ_CHUNK_BYTES = 2 ** 20; // ranges cross MiB boundaries
  const dataDir = path.join(tmpDir('embedded-reads'), 'objects');
  const s3 = await startEmbeddedS3({ dataDir });
  const client = createS3Client(s3.target);
  try {
    await ensureBucket(client, 'reads');
    const bytes = Buffer.alloc(2 * OBJECT_READ_CHUNK_BYTES + 12_345);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    await putObjectBytes(client, 'reads', 'big.bin', bytes);
    await putObjectBytes(client, 'reads', 'empty.bin', new Uint8Array(0));
    assert.ok(Buffer.from(await getObjectBytes(client, 'reads', 'big.bin')).equals(bytes), 'whole object');
    assert.equal((await getObjectBytes(client, 'reads', 'empty.bin')).byteLength, 0);
    // (s3rver's range parsing is kept as it is: it reads `bytes=0-0` and suffix ranges `bytes=-N` otherwise than S3.)
    const ranges: Array<[string, number, number]> = [
      ['bytes=1048570-2097160', 1_048_570, 2_097_161], // across both chunk boundaries
      ['bytes=5-5', 5, 6],
      [`bytes=${bytes.length - 10}-`, bytes.length - 10, bytes.length],
      [`bytes=${OBJECT_READ_CHUNK_BYTES}-${bytes.length + 100}`, OBJECT_READ_CHUNK_BYTES, bytes.length], // an end past the object
    ];
    for (const [range, from, to] of ranges) {
      const reply = await client.send(new GetObjectCommand({ Bucket: 'reads', Key: 'big.bin', Range: range }));
      assert.equal(reply.ContentRange, `bytes ${from}-${to - 1}/${bytes.length}`, range);
      assert.ok(Buffer.from(await reply.Body!.transformToByteArray()).equals(bytes.subarray(from, to)), range);
    }
    await assert.rejects(client.send(new GetObjectCommand({ Bucket: 'reads', Key: 'big.bin', Range: `bytes=${bytes.length + 5}-` })), (error: Error) => error.name === 'InvalidRange');
    await assert.rejects(client.send(new GetObjectCommand({ Bucket: 'reads', Key: 'no-such.bin' })), (error: Error) => error.name === 'NoSuchKey');
  } finally {
    client.destroy();
    await s3.stop();
  }
});
