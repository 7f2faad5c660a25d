import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadRunConfig, validateRunConfig } from '../../runtime/config/validate';

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
  assert.equal(config.training.workers, 2);
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
    validateRunConfig({ ...valid, model: { type: 'forest' }, training: { workers: 2 }, colour: 'blue' }, 'x.json');
    assert.fail('should throw');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const fields = error.problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['colour', 'model.type', 'training.minibatch']);
    assert.match(error.message, /model\.type: must be one of "logistic", "softmax", "mf"/);
    assert.match(error.message, /colour: is not a known setting/);
  }
});

test('cross-field rules: a stopping rule is required, testFraction and testPath exclude each other', () => {
  assert.throws(() => validateRunConfig({ ...valid, training: { workers: 1, minibatch: 1 } }), /training: set at least one stopping rule/);
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
