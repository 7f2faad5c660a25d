// The sweep template Start Hyperparameter Sweep writes when there is no sweep file: ranges around the
// run config's own (resolved) settings, a file name that never overwrites, every trial valid.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { expandTrials, loadSweepConfig } from '../../runtime/tuning/sweep-config';
import { LR_SPREAD, TEMPLATE_TRIALS, writeSweepTemplate } from '../../runtime/tuning/sweep-template';

function workspace(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-sweep-template-'));
}

function writeConfig(dir: string, file: string, config: unknown): string {
  const full = path.join(dir, file);
  fs.writeFileSync(full, JSON.stringify(config, null, 2));
  return full;
}

test('a Criteo-like config: learning rate log-range around 0.02, minibatch halved and doubled, written beside it and loadable', () => {
  const dir = workspace();
  const file = writeConfig(dir, 'clicks.cirrus.json', {
    name: 'clicks',
    dataset: { path: 'train.txt', format: 'criteo' },
    model: { type: 'logistic' },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    training: { workers: 2, minibatch: 20, epochs: 300 },
  });
  const written = writeSweepTemplate(file);
  assert.equal(written.file, path.join(dir, 'clicks.sweep.json'));
  assert.equal(written.trials, TEMPLATE_TRIALS);
  const { sweep, base } = loadSweepConfig(written.file); // the file as the sweep command reads it
  assert.equal(sweep.base, 'clicks.cirrus.json');
  assert.equal(sweep.name, 'clicks-sweep');
  assert.deepEqual(sweep.parameters['optimizer.learningRate'], { min: 0.004, max: 0.1, scale: 'log' });
  assert.equal(0.02 / LR_SPREAD, 0.004);
  assert.deepEqual(sweep.parameters['training.minibatch'], [10, 20, 40]);
  assert.equal(sweep.parameters['optimizer.l2'], undefined, 'no L2 range when the config does not regularise');
  assert.equal(sweep.search?.method, 'random');
  const trials = expandTrials(sweep, base);
  assert.equal(trials.length, TEMPLATE_TRIALS);
  for (const t of trials) {
    const lr = t.config.optimizer.learningRate;
    assert.ok(lr >= 0.004 && lr <= 0.1, `lr ${lr} in range`);
    assert.ok([10, 20, 40].includes(t.config.training.minibatch));
    assert.equal(t.config.training.epochs, 300, 'the rest of the config is the base');
  }
  // The random search spreads over the range, not one value.
  assert.ok(new Set(trials.map((t) => t.config.optimizer.learningRate)).size === TEMPLATE_TRIALS);
});

test('a MovieLens config: defaults resolved (sgd 0.01, minibatch 100) and L2 a decade either side of 0.1', () => {
  const dir = workspace();
  const file = writeConfig(dir, 'u1.cirrus.json', { dataset: { path: 'u1.base', format: 'ratings', testPath: 'u1.test' } });
  const { sweep } = writeSweepTemplate(file);
  assert.equal(sweep.name, 'u1-sweep', 'no name in the config: the file stem');
  assert.deepEqual(sweep.parameters['optimizer.learningRate'], { min: 0.002, max: 0.05, scale: 'log' });
  assert.deepEqual(sweep.parameters['training.minibatch'], [50, 100, 200]);
  assert.deepEqual(sweep.parameters['optimizer.l2'], { min: 0.01, max: 1, scale: 'log' });
});

test('never overwrites: a second template is NAME-2.sweep.json, and a minibatch of 1 is not halved to 0', () => {
  const dir = workspace();
  const file = writeConfig(dir, 'tiny.cirrus.json', { dataset: { path: 'x.libsvm', format: 'libsvm' }, training: { minibatch: 1 } });
  fs.writeFileSync(path.join(dir, 'tiny.sweep.json'), '{"mine": true}');
  const second = writeSweepTemplate(file);
  assert.equal(path.basename(second.file), 'tiny-2.sweep.json');
  assert.equal(fs.readFileSync(path.join(dir, 'tiny.sweep.json'), 'utf8'), '{"mine": true}', 'the user\'s file is untouched');
  assert.deepEqual(second.sweep.parameters['training.minibatch'], [1, 2]);
  assert.equal(path.basename(writeSweepTemplate(file).file), 'tiny-3.sweep.json');
});

test('an invalid run config: a ConfigError naming the file and field, and no file written', () => {
  const dir = workspace();
  const file = writeConfig(dir, 'bad.cirrus.json', { dataset: { path: 'x.txt' }, optimizer: { learningRate: -1 } });
  assert.throws(
    () => writeSweepTemplate(file),
    (err: Error) => err.name === 'ConfigError' && err.message.includes('bad.cirrus.json') && err.message.includes('learningRate'),
  );
  assert.deepEqual(fs.readdirSync(dir), ['bad.cirrus.json']);
});
