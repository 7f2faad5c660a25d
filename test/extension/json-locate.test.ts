// Locating a config field in the file text (for "Open File" at the problem) and reading ConfigErrors.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import './fake-vscode';
import { configProblems } from '../../extension/errors';
import { fieldPath, locateField, syntaxErrorPosition } from '../../extension/json-locate';
import { validateRunConfig } from '../../runtime/index';

const text = `{
  "name": "x",
  "dataset": { "path": "a.tsv" },
  "training": {
    "workers": -3,
    "minibatch": 10
  },
  "list": [1, {"deep": true}]
}`;

test('finds keys, nested keys, array items, and the parent of a missing field', () => {
  assert.deepEqual(locateField(text, fieldPath('training.workers')), { line: 4, character: 4 });
  assert.deepEqual(locateField(text, fieldPath('/dataset/path')), { line: 2, character: 15 });
  assert.deepEqual(locateField(text, fieldPath('list[1].deep')), { line: 7, character: 15 });
  assert.deepEqual(locateField(text, fieldPath('training.epochs')), { line: 3, character: 2 }, 'missing: its parent');
  assert.deepEqual(locateField(text, []), { line: 0, character: 0 });
  assert.deepEqual(locateField('{ "a": { "b": ', ['a', 'b']), { line: 0, character: 9 }, 'half-written file');
});

test('JSON syntax errors map to a position', () => {
  const bad = '{\n  "a": 1,\n}';
  let err: unknown;
  try {
    JSON.parse(bad);
  } catch (e) {
    err = e;
  }
  const pos = syntaxErrorPosition(err, bad);
  assert.ok(pos && pos.line === 2, `position ${JSON.stringify(pos)}`);
});

test("the runtime's ConfigError is read into fields, messages and lines", () => {
  const file = '/ws/bad.cirrus.json';
  const json = JSON.parse(text);
  let err: unknown;
  try {
    validateRunConfig(json, file, text);
  } catch (e) {
    err = e;
  }
  const problems = configProblems(err, file)!;
  assert.ok(problems.length > 0, 'the real validator rejects it');
  for (const p of problems) assert.equal(typeof p.message, 'string');
  // The same, from the message text only (an error object without `problems`).
  const plain = Object.assign(new Error(`${file}:5: training.workers: must be >= 1\n${file}: (top level): must have required property 'model'`), { name: 'ConfigError' });
  assert.deepEqual(configProblems(plain, file), [
    { field: 'training.workers', message: 'must be >= 1', line: 5 },
    { field: '', message: "must have required property 'model'" },
  ]);
  assert.equal(configProblems(new Error('other'), file), undefined);
});
