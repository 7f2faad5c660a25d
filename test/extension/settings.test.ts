// Settings are read live: a change event re-reads them, and they fill what a run config leaves out.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fake, setConfig, Uri } from './fake-vscode';
import { activate } from './harness';
import { applySettingsDefaults, onSettingsChanged, readSettings } from '../../extension/settings';
import { loadRunConfig } from '../../extension/commands/run-config-file';

test('defaults, then values read again after a change event', () => {
  fake.reset();
  assert.equal(readSettings().backend, 'local');
  assert.equal(readSettings().workerCount, 4);
  const seen: string[] = [];
  const sub = onSettingsChanged((s) => seen.push(`${s.backend}/${s.awsRegion}`));
  setConfig('cirrus.backend', 'aws');
  setConfig('cirrus.aws.region', 'eu-west-1');
  setConfig('editor.fontSize', 14); // not ours: no event
  assert.deepEqual(seen, ['aws/', 'aws/eu-west-1']);
  assert.equal(readSettings().awsRegion, 'eu-west-1');
  sub.dispose();
});

test('settings fill what the run config leaves out; the file wins', () => {
  fake.reset();
  setConfig('cirrus.backend', 'aws');
  setConfig('cirrus.aws.profile', 'ml');
  setConfig('cirrus.aws.region', 'us-east-1');
  setConfig('cirrus.s3.bucket', 'my-bucket');
  setConfig('cirrus.worker.memoryMB', 2048);
  const written = { dataset: { path: 'x' }, training: { workers: 2, minibatch: 10 }, aws: { region: 'eu-central-1' } };
  const { json, fromSettings } = applySettingsDefaults(written, readSettings());
  assert.deepEqual(json, { ...written, backend: 'aws', aws: { region: 'eu-central-1', profile: 'ml', bucket: 'my-bucket' }, lambda: { memoryMB: 2048 } });
  assert.deepEqual(fromSettings.sort(), ['aws.bucket', 'aws.profile', 'backend', 'lambda.memoryMB']);
  assert.deepEqual(written.aws, { region: 'eu-central-1' }, 'the parsed file itself is not changed');
});

test('cirrus.worker.memoryMB "auto" reaches the run config as lambda.memoryMB "auto", which the runtime right-sizes', async () => {
  fake.reset();
  setConfig('cirrus.worker.memoryMB', 'auto');
  const written = { dataset: { path: 'x', format: 'libsvm' }, training: { workers: 2, minibatch: 10 } };
  const { json, fromSettings } = applySettingsDefaults(written, readSettings());
  assert.deepEqual((json as { lambda: unknown }).lambda, { memoryMB: 'auto' });
  assert.ok(fromSettings.includes('lambda.memoryMB'));
  // The runtime accepts it (with no past run, "auto" starts from the default memory).
  const { resolveRunConfig } = await import('../../runtime/config/resolve');
  const { validateRunConfig } = await import('../../runtime/config/validate');
  const full = { ...(json as object), model: { type: 'logistic' }, optimizer: { type: 'sgd', learningRate: 0.1 } };
  assert.doesNotThrow(() => validateRunConfig(full));
  const resolved = resolveRunConfig(full as never).config.lambda;
  assert.ok('autoMemory' in resolved && resolved.autoMemory, 'resolved as the "auto" flag (right-sized once a run measured the peak)');
  // Any other word is refused by the run config's schema, which names lambda.memoryMB (mapped back to the setting).
  setConfig('cirrus.worker.memoryMB', 'lots');
  const bad = applySettingsDefaults(written, readSettings()).json as object;
  assert.throws(() => validateRunConfig({ ...bad, model: { type: 'logistic' }, optimizer: { type: 'sgd', learningRate: 0.1 } }), /lambda\.memoryMB/);
});

test('a changed cirrus.stateDirectory moves the runtime context at once', async () => {
  const ext = activate();
  try {
    assert.equal(ext.host.runtimeContext().stateDir, path.join(ext.workspace, '.cirrus'));
    setConfig('cirrus.stateDirectory', 'state/cirrus');
    assert.equal(ext.host.runtimeContext().stateDir, path.join(ext.workspace, 'state', 'cirrus'));
    setConfig('cirrus.stateDirectory', '${workspaceFolder}/other');
    assert.equal(ext.host.runtimeContext().stateDir, path.join(ext.workspace, 'other'));
  } finally {
    await ext.dispose();
  }
});

test('Select Backend writes cirrus.backend and warns when AWS has no region', async () => {
  const ext = activate();
  try {
    const prev = process.env.AWS_CONFIG_FILE;
    process.env.AWS_CONFIG_FILE = process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(ext.workspace, 'none');
    fake.answer = (kind, shown) => (kind === 'quickPick' ? (shown as { items: Array<{ label: string }> }).items.find((i) => i.label === 'aws') : undefined);
    const { commands } = await import('./fake-vscode');
    await commands.executeCommand('cirrus.selectBackend');
    assert.equal(readSettings().backend, 'aws');
    assert.ok(fake.messages.some((m) => m.kind === 'warning' && /cirrus\.aws\.region/.test(m.message) && m.actions.includes('Open Settings')));
    process.env.AWS_CONFIG_FILE = prev;
    delete process.env.AWS_SHARED_CREDENTIALS_FILE;
  } finally {
    await ext.dispose();
  }
});

test('cirrus.parameterServer.address becomes aws.parameterServerAddress on the aws backend; the file wins; local ignores it', async () => {
  fake.reset();
  setConfig('cirrus.parameterServer.address', ' 10.0.0.5:7000 ');
  const aws = { dataset: { path: 'x' }, backend: 'aws', aws: { region: 'us-east-1', bucket: 'b-1' } };
  const filled = applySettingsDefaults(aws, readSettings());
  assert.equal((filled.json as { aws: { parameterServerAddress?: string } }).aws.parameterServerAddress, '10.0.0.5:7000');
  assert.ok(filled.fromSettings.includes('aws.parameterServerAddress'));
  const own = applySettingsDefaults({ ...aws, aws: { ...aws.aws, parameterServerAddress: 'ps.example:9000' } }, readSettings());
  assert.equal((own.json as { aws: { parameterServerAddress?: string } }).aws.parameterServerAddress, 'ps.example:9000', 'the file wins');
  assert.ok(!own.fromSettings.includes('aws.parameterServerAddress'));
  const local = applySettingsDefaults({ dataset: { path: 'x' }, backend: 'local' }, readSettings());
  assert.equal((local.json as { aws?: unknown }).aws, undefined, 'a local run starts its own parameter server');

  // Through Start Training Run's loader and the real runtime's validation: the validated config carries it.
  const ext = activate();
  try {
    setConfig('cirrus.parameterServer.address', '10.0.0.5:7000');
    const file = path.join(ext.workspace, 'ps.cirrus.json');
    fs.writeFileSync(file, JSON.stringify({ ...aws, dataset: { path: 'data.libsvm', format: 'libsvm', testFraction: 0.1 }, model: { type: 'logistic' }, optimizer: { type: 'sgd', learningRate: 0.1 }, training: { workers: 1, minibatch: 10, maxSeconds: 5 } }));
    // The pre-flight checks the data file and finds credentials (here the SDK's environment variables).
    fs.writeFileSync(path.join(ext.workspace, 'data.libsvm'), '1 1:0.5\n0 2:0.5\n');
    const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIAEXAMPLEEXAMPLE00';
    process.env.AWS_SECRET_ACCESS_KEY = 'x'.repeat(40);
    const loaded = await loadRunConfig(ext.host, Uri.file(file) as never).finally(() => {
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', savedEnv.id], ['AWS_SECRET_ACCESS_KEY', savedEnv.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    assert.ok(loaded, JSON.stringify(fake.messages));
    assert.equal(loaded.config.aws?.parameterServerAddress, '10.0.0.5:7000');
  } finally {
    await ext.dispose();
  }
});
