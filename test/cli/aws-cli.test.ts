// The AWS CLI (Debian's `awscli`) as a user would run it against `cirrus local start`: a shell script
// (aws-cli-script.sh) creates, invokes and deletes functions with .js, .mjs and .cjs handlers and syncs
// a folder to S3; the results are checked here, the S3 objects through the SDK against the folder.
import assert from 'node:assert/strict';
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { processAlive } from '../../runtime/util/process-alive';
import { startLocalStack } from '../helpers/local-stack';

const script = path.join(__dirname, 'aws-cli-script.sh');
// Debian's package first (what .ci/run installs); any other `aws` on the PATH otherwise.
const awsCli = fs.existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
const version = spawnSync(awsCli, ['--version'], { encoding: 'utf8' });
const skip = version.status === 0 ? false : 'the AWS CLI is not installed: apt-get install awscli';

test('the AWS CLI against `cirrus local start`: .js, .mjs and .cjs functions created, invoked, deleted; a folder synced to S3', { skip }, async (t) => {
  t.diagnostic(`${awsCli}: ${(version.stdout + version.stderr).trim()}`);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-awscli-'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-awscli-work-'));
  let started: ChildProcess | undefined;
  let s3: S3Client | undefined;
  try {
    const stack = await startLocalStack(stateDir);
    started = stack.child;
    const { info, stderr } = stack;
    const env = {
      ...process.env,
      AWS_CLI: awsCli,
      LAMBDA_ENDPOINT: info.lambdaEndpoint,
      S3_ENDPOINT: info.s3Endpoint,
      BUCKET: info.bucket,
      AWS_ACCESS_KEY_ID: info.accessKeyId,
      AWS_SECRET_ACCESS_KEY: info.secretAccessKey,
      AWS_DEFAULT_REGION: info.region,
      AWS_PAGER: '',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_MAX_ATTEMPTS: '1',
    };
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)('bash', [script, work], { env, encoding: 'utf8', timeout: 480_000 /* ~17 CLI calls; each starts Python (slow on a loaded machine) */ }));
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      assert.fail(`the script failed: ${e.message}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}\n--- local start\n${stderr()}`);
    }
    const lines = stdout.split('\n');

    for (const kind of ['js', 'mjs', 'cjs']) {
      const line = lines.find((l) => l.startsWith(`RESULT ${kind} `));
      assert.ok(line, `an invocation of the .${kind} function:\n${stdout}`);
      const [, , status, ...payload] = line.split(' ');
      assert.equal(status, '200');
      const result = JSON.parse(payload.join(' '));
      assert.equal(result.kind, kind, JSON.stringify(result));
      assert.equal(result.doubled, 42);
      assert.equal(result.fn, `cli-${kind}`);
      if (kind === 'mjs') assert.equal(result.esm, true);
    }
    assert.equal(lines.filter((l) => l === 'Active').length, 3, 'three functions created, each Active');
    const functions = lines.find((l) => l.startsWith('FUNCTIONS'))!;
    assert.ok(!/cli-/.test(functions), `the functions were deleted: ${functions}`);

    const listed = lines.filter((l) => l.startsWith('LISTED')).map((l) => l.slice('LISTED '.length).trim().split(' '));
    assert.deepEqual(listed[0], ['cli-sync/a.txt', 'cli-sync/sub/b.txt', 'cli-sync/sub/c.bin']);
    assert.deepEqual(listed[1], ['cli-sync/a.txt', 'cli-sync/sub/c.bin'], 'the second sync uploaded the change and removed the deleted file');
    // The objects are the folder's files, byte for byte.
    s3 = new S3Client({ endpoint: info.s3Endpoint, region: info.region, forcePathStyle: true, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
    for (const file of ['a.txt', 'sub/c.bin']) {
      const object: GetObjectCommandOutput = await s3.send(new GetObjectCommand({ Bucket: info.bucket, Key: `cli-sync/${file}` }));
      assert.deepEqual(Buffer.from(await object.Body!.transformToByteArray()), fs.readFileSync(path.join(work, 'site', file)), file);
    }
  } finally {
    s3?.destroy();
    if (started && processAlive(started.pid!)) {
      started.kill('SIGTERM');
      await Promise.race([once(started, 'exit'), new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (processAlive(started.pid!)) started.kill('SIGKILL');
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
});
