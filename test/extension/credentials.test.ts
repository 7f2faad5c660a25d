// AWS credentials from VS Code: Set AWS Credentials keeps them in the SecretStorage only, the runtime
// context carries them to the aws backend's SDK clients, and they never show up in the log channel, a
// run folder (or anything else under the workspace), a notification or a dashboard message.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake, FakeSecretStorage, Uri, type Shown } from './fake-vscode';
import { activate, sleep } from './harness';
import * as runtime from '../../runtime/index';
import { awsBackend, openBackend } from '../../runtime/backends/backend';
import type { RunConfig } from '../../runtime/api';
import { SECRET_KEY } from '../../extension/credentials';

after(() => runtime.shutdownEmbeddedServices());

const SECRET = Object.freeze({
  accessKeyId: 'AKIAVSCODE3X7CIRRUS9Q',
  secretAccessKey: 'vsCodeFakeSecret/P4r8Lm2Qz7Wx1Ck9Nv5Bt3Hy6Gd0Jf',
  sessionToken: 'VsCodeFakeSession//token+cirrus/0a1b2c3d4e5f60718293a4b5c6d7e8f9',
}); // frozen: nothing may write into the caller's credentials
const SECRET_VALUES = Object.values(SECRET);

const awsConfig = { backend: 'aws', aws: { region: 'eu-west-1', bucket: 'cirrus-test-bucket', parameterServerAddress: '203.0.113.7:7000' } } as RunConfig;

/** Answers Set AWS Credentials' three input boxes by their prompt. */
function answerCredentialPrompts(): void {
  fake.answer = (kind, shown) => {
    if (kind !== 'inputBox') return undefined;
    const prompt = (shown as { prompt: string }).prompt;
    if (/access key id/.test(prompt)) return SECRET.accessKeyId;
    if (/secret access key/.test(prompt)) return SECRET.secretAccessKey;
    if (/Session token/.test(prompt)) return SECRET.sessionToken;
    return undefined;
  };
}

test('the aws backend uses explicit credentials when given, the standard chain otherwise', async () => {
  for (const backend of [await awsBackend(awsConfig, SECRET), await openBackend(awsConfig, '/nonexistent', SECRET)]) {
    assert.equal(backend.kind, 'aws');
    const fields = ({ accessKeyId, secretAccessKey, sessionToken }: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) => ({ accessKeyId, secretAccessKey, sessionToken });
    assert.deepEqual(fields(await backend.s3.config.credentials()), SECRET, 'S3 client');
    assert.deepEqual(fields(await backend.lambda.config.credentials()), SECRET, 'Lambda client');
    assert.deepEqual(backend.workerEnvironment, {}, 'nothing for the workers');
    assert.ok(!SECRET_VALUES.some((v) => JSON.stringify(backend.parameterServer).includes(v)));
  }
  const chain = await awsBackend(awsConfig);
  assert.equal(chain.storage.credentials, undefined, 'no explicit credentials: the SDK default chain');
});

test('Set / Clear AWS Credentials: stored in the SecretStorage only, handed to the runtime context', async () => {
  const ext = activate();
  try {
    const secrets = (ext.context as unknown as { secrets: FakeSecretStorage }).secrets;
    assert.equal(ext.host.runtimeContext().awsCredentials, undefined);
    answerCredentialPrompts();
    assert.equal(await commands.executeCommand('cirrus.setAwsCredentials'), true);
    assert.deepEqual(JSON.parse(secrets.values.get(SECRET_KEY)!), SECRET);
    assert.deepEqual(ext.host.runtimeContext().awsCredentials, SECRET);
    assert.ok(![...fake.configValues.values()].some((v) => SECRET_VALUES.some((s) => JSON.stringify(v).includes(s))), 'nothing in settings');

    // Read back from the secret storage by the next activation (a new window).
    const saved = secrets.values.get(SECRET_KEY)!;
    await ext.close();
    const again = activate(undefined, { workspace: ext.workspace, workspaceState: ext.context.workspaceState });
    await (again.context as unknown as { secrets: FakeSecretStorage }).secrets.store(SECRET_KEY, saved);
    await sleep(10);
    assert.deepEqual(again.host.runtimeContext().awsCredentials, SECRET);
    await commands.executeCommand('cirrus.clearAwsCredentials');
    assert.equal(again.host.runtimeContext().awsCredentials, undefined);
    assert.equal((again.context as unknown as { secrets: FakeSecretStorage }).secrets.values.has(SECRET_KEY), false);
    await again.close();
  } finally {
    await ext.dispose();
  }
});

test('with credentials stored, a real run leaks them nowhere: log lines, run folders, notifications, dashboard messages', { timeout: 180_000 }, async () => {
  const ext = activate();
  try {
    answerCredentialPrompts();
    await commands.executeCommand('cirrus.setAwsCredentials');
    assert.deepEqual(ext.host.runtimeContext().awsCredentials, SECRET);

    const data = path.join(ext.workspace, 'tiny.libsvm');
    fs.writeFileSync(data, Array.from({ length: 2000 }, (_, i) => `${i % 2 ? 1 : -1} ${i % 2 ? 1 : 2}:1 ${3 + (i % 5)}:1`).join('\n') + '\n');
    const file = path.join(ext.workspace, 'scan.cirrus.json');
    fs.writeFileSync(file, JSON.stringify({
      name: 'scan',
      dataset: { path: 'tiny.libsvm', format: 'libsvm', testFraction: 0.2 },
      model: { type: 'logistic', hashBits: 10 },
      optimizer: { type: 'adagrad', learningRate: 0.1 },
      training: { workers: 1, minibatch: 50, maxSeconds: 3, evalEverySeconds: 1, checkpointEverySeconds: 1 },
      backend: 'local',
      lambda: { memoryMB: 256, timeoutSeconds: 10 },
    }));
    const finished = new Promise<void>((resolve) => {
      fake.answer = (_kind, shown) => {
        const s = shown as Shown;
        if (s.options?.modal) return 'Start';
        if (/^Run "scan"/.test(s.message ?? '')) resolve();
        return undefined;
      };
    });
    const runId = (await commands.executeCommand('cirrus.startRun', Uri.file(file))) as string;
    assert.ok(runId, JSON.stringify(fake.messages));
    fake.panels[0].webview.received.fire({ type: 'ready' });
    await finished;
    await sleep(400); // the dashboard's last batch
    // A second panel replays the finished run from its folder.
    await commands.executeCommand('cirrus.compareRuns', runId, [runId]);
    for (const panel of fake.panels) panel.webview.received.fire({ type: 'ready' });

    const hits: string[] = [];
    const scan = (where: string, text: string | Buffer) => {
      for (const v of SECRET_VALUES) if (text.includes(v)) hits.push(`${where} holds ${v.slice(0, 6)}…`);
    };
    fake.logLines.forEach((l, i) => scan(`log line ${i}`, l.message));
    fake.messages.forEach((m, i) => scan(`notification ${i}`, JSON.stringify(m)));
    fake.panels.forEach((p, i) => p.webview.posted.forEach((m, j) => scan(`panel ${i} message ${j}`, JSON.stringify(m))));
    let files = 0;
    const visit = (p: string): void => {
      if (fs.statSync(p).isDirectory()) return fs.readdirSync(p).forEach((n) => visit(path.join(p, n)));
      files++;
      scan(path.relative(ext.workspace, p), fs.readFileSync(p));
    };
    visit(ext.workspace); // run folders, the embedded S3 objects, the local Lambda service's files
    assert.ok(fake.logLines.length >= 3 && files > 5, `scanned ${fake.logLines.length} log lines and ${files} files`);
    assert.ok(fake.panels.flatMap((p) => p.webview.posted).length > 2, 'dashboard messages were scanned');
    assert.deepEqual(hits, []);
  } finally {
    await ext.dispose();
  }
});
