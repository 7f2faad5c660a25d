import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULTS } from '../../runtime/config/defaults';
import { limit } from '../../runtime/config/limits';
import { resolveRunConfig } from '../../runtime/config/resolve';
import { checkRunConfig, ConfigError, loadRunConfig, loadRunConfigFile, validateRunConfig } from '../../runtime/config/validate';

const valid = {
  dataset: { path: 'data.tsv', format: 'criteo', testFraction: 0.1 },
  model: { type: 'logistic', hashBits: 18 },
  optimizer: { type: 'adagrad', learningRate: 0.05 },
  training: { workers: 2, minibatch: 20, maxSeconds: 10 },
};

function writeConfig(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-config-'));
  const file = path.join(dir, 'run.cirrus.json');
  fs.writeFileSync(file, text);
  return file;
}

test('a valid config passes and relative dataset paths resolve against the config file', () => {
  const file = writeConfig(JSON.stringify(valid, null, 2));
  const config = loadRunConfig(file);
  assert.equal(config.dataset.path, path.join(path.dirname(file), 'data.tsv'));
  assert.equal(config.training!.workers, 2);
});

test('every example config in examples/ is valid', () => {
  const dir = path.join(__dirname, '..', '..', 'examples');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cirrus.json'));
  assert.ok(files.length >= 3);
  for (const f of files) loadRunConfig(path.join(dir, f));
});

test('a wrong field is named with its file and line', () => {
  const text = JSON.stringify({ ...valid, optimizer: { type: 'adagrad', learningRate: -1 } }, null, 2);
  const file = writeConfig(text);
  assert.throws(
    () => loadRunConfig(file),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const line = text.split('\n').findIndex((l) => l.includes('"learningRate"')) + 1;
      assert.match(error.message, new RegExp(`run\\.cirrus\\.json:${line}: optimizer\\.learningRate: must be > 0`));
      return true;
    },
  );
});

test('unknown settings, bad enums and missing fields are each reported', () => {
  try {
    validateRunConfig({ ...valid, dataset: { format: 'criteo' }, model: { type: 'forest' }, training: { workers: 2 }, colour: 'blue' }, 'x.json');
    assert.fail('should throw');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const fields = error.problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['colour', 'dataset.path', 'model.type']);
    assert.match(error.message, /model\.type: must be one of "logistic", "softmax", "mf"/);
    assert.match(error.message, /colour: is not a known setting/);
  }
});

test('cross-field rules: no stopping rule gets the default epochs, testFraction and testPath exclude each other', () => {
  const { config } = resolveRunConfig(validateRunConfig({ ...valid, training: { workers: 1, minibatch: 1 } }));
  assert.deepEqual([config.training.epochs, config.training.maxSeconds], [DEFAULTS.byModel.logistic.epochs, DEFAULTS.training.maxSeconds]);
  assert.throws(() => validateRunConfig({ ...valid, dataset: { ...valid.dataset, testPath: 't.tsv' } }), /dataset\.testPath: give either testFraction or testPath/);
  assert.throws(() => validateRunConfig({ ...valid, model: { type: 'mf' } }), /"mf" needs dataset.format "ratings"/);
});

test('invalid JSON names the line', () => {
  const file = writeConfig('{\n  "dataset": {\n    "path": "x",,\n  }\n}\n');
  assert.throws(() => loadRunConfig(file), /run\.cirrus\.json:3: \(top level\): invalid JSON/);
});

test('a missing file gives a clear error', () => {
  assert.throws(() => loadRunConfig('/nonexistent/run.cirrus.json'), /nonexistent\/run\.cirrus\.json: \(top level\): cannot read the file \(ENOENT\)/);
});

test('a config with only dataset resolves to the table of defaults (the model from the format)', () => {
  const { config, warnings } = resolveRunConfig(validateRunConfig({ dataset: { path: 'u1.base', format: 'ratings' } }));
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.model, { type: 'mf', factors: 100 });
  assert.deepEqual(config.optimizer, { type: 'sgd', learningRate: 0.01, l2: 0.1 });
  assert.deepEqual(config.training, { workers: 2, minibatch: 100, maxSeconds: 600, epochs: 40, patience: 5, evalEverySeconds: 1, sync: 'async-sgd', checkpointEverySeconds: 10 });
  assert.deepEqual(config.lambda, { memoryMB: 1024, timeoutSeconds: 60, functionName: 'cirrus-worker' });
  assert.equal(config.dataset.testFraction, 0.1);

  const ctr = resolveRunConfig(validateRunConfig({ dataset: { path: 'clicks.tsv', format: 'criteo' }, backend: 'aws' })).config;
  assert.deepEqual(ctr.model, { type: 'logistic', hashBits: 20 });
  assert.deepEqual(ctr.optimizer, { type: 'adagrad', learningRate: 0.02, l2: 0 });
  assert.equal(ctr.training.minibatch, 20);
  // LIBSVM files train logistic models with their own measured settings (docs/datasets.md).
  const svm = resolveRunConfig(validateRunConfig({ dataset: { path: 'a.svm', format: 'libsvm' } })).config;
  assert.deepEqual([svm.optimizer, svm.training.minibatch], [{ type: 'adagrad', learningRate: 0.1, l2: 0.0001 }, 50]);
  assert.equal(ctr.lambda.timeoutSeconds, 300, 'the aws default time limit');
  // The learning rate follows the optimiser named; momentum gets its coefficient.
  const momentum = resolveRunConfig(validateRunConfig({ dataset: { path: 'a.svm', format: 'libsvm' }, optimizer: { type: 'momentum' } })).config;
  assert.deepEqual(momentum.optimizer, { type: 'momentum', learningRate: DEFAULTS.learningRate.momentum, l2: DEFAULTS.byFormat.libsvm.l2, momentum: DEFAULTS.momentum });
  assert.equal(momentum.model.hashBits, undefined, 'libsvm keeps its indices unless hashBits is set');
});

test('resolving is idempotent: a resolved config resolves to itself with no warnings', () => {
  for (const json of [valid, { dataset: { path: 'u.data', format: 'ratings' } }, { dataset: { path: 's3://b/p' }, model: { type: 'softmax', classes: 3 }, backend: 'aws', aws: { region: 'eu-west-1' } }]) {
    const once = resolveRunConfig(validateRunConfig(json)).config;
    const twice = resolveRunConfig(once);
    assert.deepEqual(twice.config, once);
    assert.deepEqual(twice.warnings, []);
  }
});

test('a setting the run would ignore gets a warning with its line, and is left out of the resolved config', () => {
  const text = JSON.stringify(
    { dataset: { path: 's3://bucket/clicks', format: 'criteo', testFraction: 0.2 }, model: { type: 'logistic', hashBits: 18, factors: 10 }, optimizer: { type: 'adagrad', momentum: 0.5 }, aws: { region: 'x' } },
    null,
    2,
  );
  const { resolved, warnings } = checkRunConfig(JSON.parse(text), 'w.cirrus.json', text);
  const lineOf = (key: string) => text.split('\n').findIndex((l) => l.includes(`"${key}"`)) + 1;
  const byField = new Map(warnings.map((w) => [w.field, w]));
  assert.deepEqual([...byField.keys()].sort(), ['aws', 'dataset.format', 'dataset.testFraction', 'model.factors', 'model.hashBits', 'optimizer.momentum']);
  assert.match(byField.get('model.hashBits')!.message, /ignored: the s3:\/\/ dataset was converted when it was deployed/);
  assert.equal(byField.get('model.hashBits')!.line, lineOf('hashBits'));
  assert.deepEqual(resolved.model, { type: 'logistic' });
  assert.equal(resolved.aws, undefined);
  // An s3:// dataset's format is unknown here: the model type must be given.
  assert.throws(() => validateRunConfig({ dataset: { path: 's3://b/p' } }), /model\.type: is required for an s3:\/\/ dataset/);
});

test('errors show the offending value and suggest the nearest valid name', () => {
  const text = '{\n  "dataset": { "path": "x.tsv", "format": "critea" },\n  "training": { "maxSecond": 10 }\n}\n';
  assert.throws(
    () => checkRunConfig(JSON.parse(text), 'r.cirrus.json', text),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /r\.cirrus\.json:3: training\.maxSecond: is not a known setting: did you mean "maxSeconds"\?/);
      assert.match(error.message, /r\.cirrus\.json:2: dataset\.format: must be one of .* \(got "critea"\): did you mean "criteo"\?/);
      return true;
    },
  );
  assert.throws(() => validateRunConfig({ ...valid, training: { workers: 0 } }), /training\.workers: must be >= 1 \(got 0\)/);
  assert.throws(() => validateRunConfig({ ...valid, colour: 1 }), /colour: is not a known setting \(known here: name, dataset, model/);
});

test('a missing data file is named with the config file and line, before any run', () => {
  const file = writeConfig('{\n  "dataset": {\n    "path": "absent.tsv",\n    "format": "criteo"\n  }\n}\n');
  assert.throws(() => loadRunConfigFile(file), new RegExp(`run\\.cirrus\\.json:3: dataset\\.path: ${path.join(path.dirname(file), 'absent.tsv').replace(/[.\\/]/g, '\\$&')} does not exist`));
  fs.writeFileSync(path.join(path.dirname(file), 'absent.tsv'), '0\t1\n');
  assert.equal(loadRunConfigFile(file).resolved.dataset.path, path.join(path.dirname(file), 'absent.tsv'));
});

test('the schema holds each range once: the parameter server and the CLI read it from there', () => {
  assert.deepEqual(limit('model.hashBits'), { min: 4, max: 26, exclusiveMin: false, exclusiveMax: false, integer: true });
  assert.deepEqual(limit('optimizer.learningRate'), { min: 0, max: 100, exclusiveMin: true, exclusiveMax: false, integer: false });
  // package.json's cirrus.worker.memoryMB setting is VS Code's copy of the same default and range.
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  // It also accepts "auto" (right-sizing): the range is its integer branch.
  const setting = pkg.contributes.configuration.properties['cirrus.worker.memoryMB'];
  const range = setting.anyOf.find((branch: { type: string }) => branch.type === 'integer');
  const memory = limit('lambda.memoryMB');
  assert.deepEqual([setting.default, range.minimum, range.maximum], [DEFAULTS.lambda.memoryMB, memory.min, memory.max]);
  assert.ok(setting.anyOf.some((branch: { enum?: string[] }) => branch.enum?.includes('auto')));
});

test('training.filter: significance and topk pass; a bad type, threshold or fraction is named', () => {
  const withFilter = (filter: unknown) => validateRunConfig({ ...valid, training: { ...valid.training, filter } });
  assert.deepEqual(withFilter({ type: 'significance', threshold: 0.7 }).training?.filter, { type: 'significance', threshold: 0.7 });
  assert.deepEqual(withFilter({ type: 'topk', fraction: 0.01 }).training?.filter, { type: 'topk', fraction: 0.01 });
  // A significance filter without a threshold takes the defaults (v = 3, cap 0.05, docs/filters.md), in the resolved config.
  assert.equal(resolveRunConfig(withFilter({ type: 'significance' })).config.training.filter?.type, 'significance');
  assert.deepEqual(resolveRunConfig(withFilter({ type: 'significance' })).config.training.filter, {
    type: 'significance',
    threshold: DEFAULTS.training.significanceThreshold,
    maxThreshold: DEFAULTS.training.significanceMaxThreshold,
  });
  assert.deepEqual(resolveRunConfig(withFilter({ type: 'significance', threshold: 0.7, maxThreshold: 0.1 })).config.training.filter, { type: 'significance', threshold: 0.7, maxThreshold: 0.1 });
  for (const bad of [{ type: 'topk', fraction: 0 }, { type: 'topk', fraction: 1.5 }, { type: 'significance', threshold: -1 }, { type: 'gzip' }, { type: 'topk', threshold: 0.7 }, { type: 'topk' }, { type: 'significance', fraction: 0.1 }, { type: 'significance', maxThreshold: -0.1 }, { type: 'topk', fraction: 0.1, maxThreshold: 0.05 }]) {
    assert.throws(() => withFilter(bad), /training\.filter/, JSON.stringify(bad));
  }
});

test('faults.byzantineWorkers: more Byzantine workers than workers, or an unknown kind, is named', () => {
  const withByzantine = (byzantineWorkers: unknown) => validateRunConfig({ ...valid, faults: { byzantineWorkers } });
  assert.deepEqual(withByzantine({ count: 1, kind: 'flip', factor: 10 }).faults?.byzantineWorkers, { count: 1, kind: 'flip', factor: 10 });
  assert.throws(() => withByzantine({ count: 3, kind: 'flip' }), /faults\.byzantineWorkers\.count: 3 Byzantine workers of 2/);
  assert.throws(() => withByzantine({ count: 1, kind: 'lie' }), /faults\.byzantineWorkers\.kind/);
});

test('parameterServer.tls: off by default locally, on by default on AWS, where turning it off is an error naming the line', () => {
  assert.deepEqual(resolveRunConfig(validateRunConfig(valid)).config.parameterServer, { tls: DEFAULTS.parameterServer.tls.local, shards: DEFAULTS.parameterServer.shards });
  assert.equal(DEFAULTS.parameterServer.tls.local, false);
  assert.deepEqual(resolveRunConfig(validateRunConfig({ ...valid, parameterServer: { tls: true } })).config.parameterServer, { tls: true, shards: 1 });
  const aws = { ...valid, backend: 'aws', aws: { region: 'eu-west-1' } };
  assert.deepEqual(resolveRunConfig(validateRunConfig(aws)).config.parameterServer, { tls: true, shards: 1 });
  const text = JSON.stringify({ ...aws, parameterServer: { tls: false } }, null, 2);
  assert.throws(
    () => loadRunConfig(writeConfig(text)),
    (error: Error) => error instanceof ConfigError && /parameterServer\.tls/.test(error.message) && /must be true on AWS/.test(error.message) && /:\d+/.test(error.message),
  );
  assert.throws(() => validateRunConfig({ ...valid, parameterServer: { tls: 'yes' } }), /parameterServer\.tls/);
  assert.throws(() => validateRunConfig({ ...valid, parameterServer: { tsl: true } }), /did you mean "tls"/);
});

test('parameterServer: shards and screen resolve with their defaults; a bad setting is named', () => {
  const withPs = (parameterServer: unknown, extra: object = {}) => resolveRunConfig(validateRunConfig({ ...valid, parameterServer, ...extra })).config.parameterServer;
  assert.deepEqual(resolveRunConfig(validateRunConfig(valid)).config.parameterServer, { tls: false, shards: 1 });
  assert.deepEqual(withPs({ shards: 2, screen: true }), { tls: false, shards: 2, screen: { quorum: Math.min(3, valid.training?.workers ?? DEFAULTS.training.workers) } });
  assert.deepEqual(withPs({ screen: { factor: 3, quorum: 2 } }), { tls: false, shards: 1, screen: { factor: 3, quorum: 2 } });
  assert.deepEqual(withPs({ screen: false }), { tls: false, shards: 1 });
  assert.throws(() => withPs({ shards: 0 }), /parameterServer\.shards/);
  assert.throws(() => withPs({ screen: { factor: 1 } }), /parameterServer\.screen\.factor/);
  assert.throws(() => withPs({ shards: 2 }, { backend: 'aws', aws: { region: 'eu-west-1' } }), /parameterServer\.shards.*local backend only/);
});
