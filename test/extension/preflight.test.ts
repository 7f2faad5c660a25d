// Pre-flight before Start (issue 14): every problem that would fail the run is found at once, before
// the estimate's confirm, and no run (folder, tree entry) is created. Real runtime, real embedded S3;
// AWS itself is never reached: its checks run against an empty credential chain.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake, setConfig, Uri, type Shown } from './fake-vscode';
import { activate } from './harness';
import * as runtime from '../../runtime/index';

after(() => runtime.shutdownEmbeddedServices());

// The SDK's credential chain finds nothing here, and fast: no environment keys, no shared files, no instance metadata.
const noAws = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined };
function withoutAwsEnvironment(dir: string): () => void {
  const saved = { ...process.env };
  for (const key of Object.keys(noAws)) delete process.env[key];
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'no-credentials');
  process.env.AWS_CONFIG_FILE = path.join(dir, 'no-config');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

function writeConfig(dir: string, name: string, config: unknown): Uri {
  const file = path.join(dir, `${name}.cirrus.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return Uri.file(file);
}

function tinyLibsvm(dir: string): string {
  const file = path.join(dir, 'tiny.libsvm');
  fs.writeFileSync(file, Array.from({ length: 400 }, (_, i) => `${i % 2 ? 1 : -1} ${1 + (i % 2)}:1 ${3 + (i % 5)}:1`).join('\n') + '\n');
  return file;
}

/** Starts the run from the command with every modal answered "Start"; returns what was shown. */
async function start(uri: Uri): Promise<{ runId: unknown; modals: Shown[]; errors: Shown[] }> {
  fake.answer = (kind, shown) => ((shown as Shown).options?.modal ? 'Start' : undefined);
  const runId = await commands.executeCommand('cirrus.startRun', uri);
  return { runId, modals: fake.messages.filter((m) => m.options?.modal), errors: fake.messages.filter((m) => m.kind === 'error') };
}

function runsIn(stateDir: string): string[] {
  const dir = path.join(stateDir, 'runs');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

test('every problem at once: schema errors, a cross-field rule and missing data files, before the confirm; no run created', async () => {
  const ext = activate();
  try {
    const uri = writeConfig(ext.workspace, 'many', {
      name: 'many',
      dataset: { path: 'nowhere/clicks.tsv', format: 'criteo', testPath: 'nowhere/test.tsv' },
      training: { workers: 0, maxSecond: 5 },
      optimizer: { learningRate: -1 },
    });
    const { runId, modals, errors } = await start(uri);
    assert.equal(runId, undefined);
    assert.equal(modals.length, 0, 'the estimate is not offered for a config that cannot run');
    assert.equal(errors.length, 1, 'one message');
    const logged = fake.logLines.filter((l) => l.level === 'error').map((l) => l.message).join('\n');
    for (const field of ['training.workers', 'training.maxSecond', 'optimizer.learningRate', 'dataset.path', 'dataset.testPath']) {
      assert.ok(logged.includes(`: ${field}: `), `${field} is reported: ${logged}`);
    }
    assert.match(logged, /nowhere\/clicks\.tsv does not exist/);
    assert.match(errors[0].message, /many\.cirrus\.json is not a valid run configuration: .*\(and \d+ more\)/);
    assert.deepEqual(runsIn(ext.stateDir), [], 'no run folder');
    assert.equal(ext.host.registry.list().length, 0, 'nothing in the Runs tree');
  } finally {
    await ext.dispose();
  }
});

test('a cross-field problem and a missing file are reported together when the schema holds', async () => {
  const ext = activate();
  try {
    const uri = writeConfig(ext.workspace, 'mix', { dataset: { path: 'gone.tsv', format: 'criteo', testFraction: 0.1, testPath: 'gone-test.tsv' }, model: { type: 'mf' } });
    const { modals, errors } = await start(uri);
    assert.equal(modals.length, 0);
    const logged = fake.logLines.filter((l) => l.level === 'error').map((l) => l.message).join('\n');
    assert.match(logged, /model\.type: "mf" needs dataset\.format "ratings"/);
    assert.match(logged, /dataset\.testPath: give either testFraction or testPath/);
    assert.match(logged, /dataset\.path: .*gone\.tsv does not exist/);
    assert.match(logged, /dataset\.testPath: .*gone-test\.tsv does not exist/);
    assert.equal(errors.length, 1);
    assert.deepEqual(runsIn(ext.stateDir), []);
  } finally {
    await ext.dispose();
  }
});

test('an s3:// dataset that was never deployed (or was deleted) is refused before the confirm', { timeout: 60_000 }, async () => {
  const ext = activate();
  try {
    const uri = writeConfig(ext.workspace, 'ghost', { dataset: { path: 's3://cirrus-local/never-deployed' }, model: { type: 'logistic' } });
    const { modals, errors } = await start(uri);
    assert.equal(modals.length, 0);
    assert.match(errors[0]?.message ?? '', /dataset\.path: s3:\/\/cirrus-local\/never-deployed holds no deployed dataset/);
    const other = writeConfig(ext.workspace, 'elsewhere', { dataset: { path: 's3://someone-elses-bucket/data' }, model: { type: 'logistic' } });
    fake.messages.length = 0;
    const second = await start(other);
    assert.match(second.errors[0]?.message ?? '', /not in the local backend's bucket "cirrus-local"/);
    assert.deepEqual(runsIn(ext.stateDir), []);
  } finally {
    await ext.dispose();
  }
});

test('aws backend: region, bucket, parameter-server address and credentials are checked before the confirm', { timeout: 60_000 }, async () => {
  const ext = activate();
  const restore = withoutAwsEnvironment(ext.workspace);
  try {
    tinyLibsvm(ext.workspace);
    const dataset = { path: 'tiny.libsvm', format: 'libsvm', testFraction: 0.2 };
    // Nothing AWS set anywhere: two settings missing, each named with the setting that gives it.
    const bare = writeConfig(ext.workspace, 'bare', { dataset, backend: 'aws' });
    fake.answer = (kind, shown) => ((shown as Shown).options?.modal ? 'Start' : kind === 'error' ? 'Open Settings' : undefined);
    await commands.executeCommand('cirrus.startRun', bare);
    let logged = fake.logLines.filter((l) => l.level === 'error').map((l) => l.message).join('\n');
    assert.match(logged, /aws\.region: is required for the aws backend/);
    assert.match(logged, /aws\.bucket: is required/);
    assert.doesNotMatch(logged, /aws\.parameterServerAddress/, 'no address is needed: the driver starts its own server on EC2');
    assert.ok(!fake.messages.some((m) => m.options?.modal), 'no confirm');
    // The missing region is fixed in the settings: Open Settings goes there.
    assert.deepEqual(fake.executed.find((e) => e.command === 'workbench.action.openSettings')?.args, ['cirrus.aws.region']);

    // A malformed region and address, and no credentials anywhere.
    fake.messages.length = 0;
    fake.logLines.length = 0;
    const wrong = writeConfig(ext.workspace, 'wrong', { dataset, backend: 'aws', aws: { region: 'Frankfurt', bucket: 'my-bucket', parameterServerAddress: 'ps.example.com:99999' } });
    await start(wrong);
    logged = fake.logLines.filter((l) => l.level === 'error').map((l) => l.message).join('\n');
    assert.match(logged, /aws\.region: "Frankfurt" is not an AWS region name/);
    assert.match(logged, /aws\.parameterServerAddress: /);

    fake.messages.length = 0;
    fake.logLines.length = 0;
    setConfig('cirrus.aws.region', 'eu-central-1');
    setConfig('cirrus.s3.bucket', 'my-bucket');
    setConfig('cirrus.parameterServer.address', 'ps.example.com:9000');
    const fromSettings = writeConfig(ext.workspace, 'settings', { dataset, backend: 'aws' });
    const noCredentials = await start(fromSettings);
    assert.equal(noCredentials.modals.length, 0);
    assert.match(noCredentials.errors[0]?.message ?? '', /aws\.profile: no AWS credentials found/);

    // With credentials saved (Set AWS Credentials), everything checks out: the confirm comes (dismissed here: nothing starts on AWS).
    fake.answer = (kind, shown) => {
      if (kind === 'inputBox') {
        const prompt = (shown as { prompt?: string }).prompt ?? '';
        return /key id/.test(prompt) ? 'AKIAEXAMPLEEXAMPLE12' : /secret/.test(prompt) ? 'secret-secret-secret-secret' : '';
      }
      return undefined;
    };
    await commands.executeCommand('cirrus.setAwsCredentials');
    fake.messages.length = 0;
    fake.answer = () => undefined;
    await commands.executeCommand('cirrus.startRun', fromSettings);
    assert.ok(!fake.messages.some((m) => m.kind === 'error'), fake.messages.map((m) => m.message).join('\n'));
    assert.ok(fake.messages.some((m) => m.options?.modal && /Start training run "settings"/.test(m.message)), 'the estimate is confirmed next');
    assert.deepEqual(runsIn(ext.stateDir), []);

    // No address: the Plan step shows the run's own EC2 parameter server, its calls, cost and guardrails, in the
    // confirm, before anything is created (dismissed here).
    setConfig('cirrus.parameterServer.address', undefined);
    fake.messages.length = 0;
    await commands.executeCommand('cirrus.startRun', fromSettings);
    assert.ok(!fake.messages.some((m) => m.kind === 'error'), fake.messages.map((m) => m.message).join('\n'));
    const plan = fake.messages.find((m) => m.options?.modal && /Start training run "settings"/.test(m.message));
    assert.ok(plan, 'the confirm comes with the plan');
    assert.deepEqual(plan.actions, ['Start on AWS']);
    for (const expected of [/RunInstances/, /CreateSecurityGroup/, /TerminateInstances/, /maxUSD|\$10/]) assert.match(plan.options?.detail ?? '', expected);
    assert.deepEqual(runsIn(ext.stateDir), []);
  } finally {
    restore();
    await ext.dispose();
  }
});

test('runtime preflightRun: all problems in one ConfigError with lines; a sound local config resolves', async () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cirrus-preflight-'));
  try {
    tinyLibsvm(dir);
    const file = path.join(dir, 'x.cirrus.json');
    const text = JSON.stringify({ dataset: { path: 'missing.libsvm', format: 'libsvm' }, training: { workers: 0 } }, null, 2);
    await assert.rejects(runtime.preflightRun(JSON.parse(text), { file, text, stateDir: dir }), (err: Error & { problems?: Array<{ field: string; line?: number }> }) => {
      assert.equal(err.name, 'ConfigError');
      assert.deepEqual(err.problems!.map((p) => p.field).sort(), ['dataset.path', 'training.workers']);
      assert.ok(err.problems!.every((p) => typeof p.line === 'number' && p.line > 1), JSON.stringify(err.problems));
      return true;
    });
    const ok = await runtime.preflightRun({ dataset: { path: 'tiny.libsvm', format: 'libsvm' } }, { file, stateDir: dir });
    assert.equal(ok.resolved.model.type, 'logistic');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
