// `cirrus local start|status|stop`: the embedded services standalone, used by the AWS CLI with the
// credentials `start` prints, then stopped by `cirrus local stop` with nothing left running.
import assert from 'node:assert/strict';
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ListFunctionsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { processAlive } from '../../runtime/util/process-alive';
import { startLocalStack } from '../helpers/local-stack';

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'bin', 'cirrus.js');

function cirrus(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** Without blocking this process (a blocked test process could not drain the running service's pipes). */
async function cirrusAsync(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}


test('local start prints endpoints and credentials the SDK and the AWS CLI use; status; stop ends it', async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-local-'));
  let started: ChildProcess | undefined;
  try {
    const stack = await startLocalStack(stateDir);
    started = stack.child;
    const { info, stderr } = stack;
    assert.match(info.lambdaEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((fs.statSync(path.join(stateDir, 'local-services.json')).mode & 0o077), 0, 'the services file is user-only');

    const status = cirrus('local', 'status', '--json', '--state-dir', stateDir);
    assert.equal(status.status, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).pid, started.pid);

    // The printed key pair works with the SDK; a wrong secret is refused with AWS's error.
    const client = (secretAccessKey: string) =>
      new LambdaClient({ endpoint: info.lambdaEndpoint, region: info.region, credentials: { accessKeyId: info.accessKeyId, secretAccessKey }, maxAttempts: 1 });
    const good = client(info.secretAccessKey);
    assert.ok(Array.isArray((await good.send(new ListFunctionsCommand({}))).Functions));
    const bad = client(`${info.secretAccessKey}x`);
    await assert.rejects(bad.send(new ListFunctionsCommand({})), (error: Error) => error.name === 'InvalidSignatureException');
    good.destroy();
    bad.destroy();

    const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
    if (aws.status === 0) {
      const env = { ...process.env, AWS_ACCESS_KEY_ID: info.accessKeyId, AWS_SECRET_ACCESS_KEY: info.secretAccessKey, AWS_DEFAULT_REGION: info.region, AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
      const listed = spawnSync('aws', ['--endpoint-url', info.s3Endpoint, 's3', 'ls', `s3://${info.bucket}`], { encoding: 'utf8', env });
      assert.equal(listed.status, 0, listed.stderr);
    }

    const stopped = await cirrusAsync('local', 'stop', '--state-dir', stateDir);
    assert.equal(stopped.status, 0, `${stopped.stderr}\nlocal start's stderr:\n${stderr()}`);
    assert.ok(!processAlive(started.pid!), 'the start process has exited');
    assert.equal(cirrus('local', 'status', '--state-dir', stateDir).status, 3, 'status says not running');
    assert.ok(!fs.existsSync(path.join(stateDir, 'local-services.json')));
  } finally {
    if (started && processAlive(started.pid!)) started.kill('SIGKILL');
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
