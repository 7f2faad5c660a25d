// `cirrus aws cleanup` finds and removes what a killed driver left (issue 16), on a local stand-in:
// EMULATED is EC2 and SSM (test/helpers/fake-ec2.ts, served over HTTP, the EC2 Query API for the calls
// Cirrus sends); REAL are the embedded S3 server (the bundle and config objects, presigned URLs, the run
// data that must stay) and the driver processes, killed with SIGKILL after their launch.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { cleanup, findLeftovers } from '../../runtime/backends/aws/cleanup';
import { createControlClients, executeCalls, type AwsClients } from '../../runtime/backends/aws/execute';
import { instanceStartCalls } from '../../runtime/backends/aws/plan';
import { startEmbeddedS3, type EmbeddedS3 } from '../../runtime/storage/embedded-s3';
import { createS3Client, ensureBucket, putObjectBytes } from '../../runtime/storage/s3';
import { FakeEc2 } from '../helpers/fake-ec2';

const BUCKET = 'cirrus-cleanup-test';
let dir: string;
let s3server: EmbeddedS3;
let s3: S3Client;
let fake: FakeEc2;
let ec2Endpoint: string;
let clients: AwsClients;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-aws-cleanup-'));
  s3server = await startEmbeddedS3({ dataDir: path.join(dir, 's3') });
  s3 = createS3Client(s3server.target);
  await ensureBucket(s3, BUCKET);
  fake = new FakeEc2();
  ec2Endpoint = await fake.listen();
  const { ec2, ssm } = createControlClients({ region: 'us-east-1', credentials: { ...s3server.credentials }, endpoints: { ec2: ec2Endpoint, ssm: ec2Endpoint } });
  clients = { ec2, ssm, s3 };
});

after(async () => {
  clients?.ec2.destroy();
  clients?.ssm.destroy();
  s3?.destroy();
  await fake?.close();
  await s3server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A driver process that launches the instance and is killed (SIGKILL) once it has. */
async function killedDriver(runId: string): Promise<string> {
  const args = JSON.stringify({ ec2Endpoint, s3Endpoint: s3server.endpoint, credentials: s3server.credentials, bucket: BUCKET, runId });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'fixtures', 'aws-launch-then-hang.ts'), args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const id = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /launched (i-\w+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`driver exited ${code} before launching: ${err}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return id;
}

async function keys(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((c) => c.Key!).sort();
}

test('cleanup --run removes what a killed driver left of that run only; cleanup removes the rest; run data stays', async () => {
  const a = '20261130-170500-run-a-0001';
  const b = '20261130-170500-run-b-0002';
  const c = '20261130-170500-run-c-0003';
  const instanceA = await killedDriver(a);
  const instanceB = await killedDriver(b);
  // A driver killed half-way: objects and group made, no instance yet.
  const half = instanceStartCalls({ runId: c, bucket: BUCKET, instanceType: 'c6i.large', port: 7070 }).filter((x) => x.operation !== 'RunInstances' && x.operation !== 'DescribeInstances');
  await executeCalls(clients, half, { Bundle: new Uint8Array([1]), ServerConfig: new Uint8Array([2]) });
  // Run data beside them, which no cleanup may touch.
  await putObjectBytes(s3, BUCKET, `runs/${a}/checkpoints/000001.bin`, new Uint8Array([9, 9]));

  // The instance fetches its code through a presigned URL of the run's object (the embedded S3 refuses
  // presigned URLs by design, runtime/util/sigv4.ts, so the fetch itself is not made here).
  const userData = Buffer.from(fake.instances.get(instanceA)!.userData!, 'base64').toString('utf8');
  const bundleUrl = new URL(/'(http[^']+ps-instance\.js[^']*)'/.exec(userData)![1]);
  assert.equal(bundleUrl.origin + bundleUrl.pathname, `${s3server.endpoint}/${BUCKET}/runs/${a}/aws-ps/ps-instance.js`);
  assert.equal(bundleUrl.searchParams.get('X-Amz-Expires'), '1800');
  assert.match(bundleUrl.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
  assert.equal(fake.instances.get(instanceA)!.shutdownBehavior, 'terminate');

  const found = await findLeftovers(clients, { bucket: BUCKET });
  assert.deepEqual(found.instances.map((i) => i.id).sort(), [instanceA, instanceB].sort());
  assert.deepEqual(found.groups.map((g) => g.runId).sort(), [a, b, c]);
  assert.deepEqual(found.objects.sort(), [a, b, c].flatMap((r) => [`runs/${r}/aws-ps/ps-config.json`, `runs/${r}/aws-ps/ps-instance.js`]).sort());

  const onlyA = await cleanup(clients, { bucket: BUCKET, runId: a, pollSeconds: 0.05 });
  assert.deepEqual(onlyA.errors, []);
  assert.equal(fake.instances.get(instanceA)!.state, 'terminated');
  assert.equal(fake.instances.get(instanceB)!.state, 'running', "run b's instance is not touched by cleanup --run a");
  assert.deepEqual(await keys(`runs/${a}/`), [`runs/${a}/checkpoints/000001.bin`], "run a's aws-ps objects go, its checkpoint stays");
  assert.equal((await keys(`runs/${b}/aws-ps/`)).length, 2);

  const rest = await cleanup(clients, { bucket: BUCKET, pollSeconds: 0.05 });
  assert.deepEqual(rest.errors, []);
  assert.deepEqual(fake.leftovers(), { instances: [], groups: [] }, 'no instance runs, no group is left');
  assert.deepEqual(await keys('runs/'), [`runs/${a}/checkpoints/000001.bin`]);
  const again = await findLeftovers(clients, { bucket: BUCKET });
  assert.deepEqual(again, { instances: [], groups: [], objects: [] }, 'a second look finds nothing');
});

test('the instance bundle (dist/ps-instance.js) serves the parameter server from a config file, token checked', async () => {
  const { PsClient } = await import('../../runtime/ps/client');
  const configFile = path.join(dir, 'ps-config.json');
  const token = 'b'.repeat(64);
  const port = 20000 + Math.floor(Math.random() * 20000);
  fs.writeFileSync(configFile, JSON.stringify({ token, host: '127.0.0.1', port, tables: [{ name: 'w', rows: 8, width: 1, optimizer: { type: 'sgd', learningRate: 0.1 } }] }));
  const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'dist', 'ps-instance.js'), configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => ((out += d), /listening on/.test(out) && resolve()));
      child.on('exit', (code) => reject(new Error(`ps-instance exited ${code}`)));
    });
    const client = await PsClient.connect({ host: '127.0.0.1', port, token, workerId: 1, generation: 0 });
    assert.equal((await client.pullFull(0)).length, 8);
    await client.close();
    await assert.rejects(PsClient.connect({ host: '127.0.0.1', port, token: 'c'.repeat(64), workerId: 2, generation: 0 }));
  } finally {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});
