// Scoring with an exported model: `scoreFile` / `cirrus predict` must read a file exactly as the
// training data was read (same reader, same hashing), so scoring the run's own test rows reproduces
// the run's final test metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { shutdownEmbeddedServices, startTraining } from '../../runtime/index';
import { scoreFile } from '../../runtime/predict/score';
import { writeCtrCsv } from '../helpers/ctr-csv';
import { sharedDataset } from '../helpers/shared';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-predict-'));
const stateDir = path.join(dir, 'state');
after(async () => {
  await shutdownEmbeddedServices();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Criteo (hashed): scoring the held-out rows reproduces the run\'s test log-loss and accuracy; the CLI writes predictions', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const handle = await startTraining(
    {
      name: 'criteo-predict',
      dataset: { path: file, format: 'criteo', testFraction: 0.1 },
      model: { type: 'logistic', hashBits: 18 },
      optimizer: { type: 'adagrad', learningRate: 0.02 },
      training: { workers: 1, minibatch: 20, epochs: 1, maxSeconds: 20 },
      lambda: { memoryMB: 512, timeoutSeconds: 20 },
    },
    { stateDir },
  );
  const summary = await handle.done;
  assert.equal(summary.status, 'completed', summary.reason);
  // The held-out rows are the file's last 10 %.
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const heldOut = path.join(dir, 'criteo-test.txt');
  fs.writeFileSync(heldOut, lines.slice(lines.length - 1000).join('\n') + '\n');
  const result = await scoreFile(summary.modelPath!, heldOut);
  assert.equal(result.rows, 1000);
  assert.ok(Math.abs(result.logLoss! - summary.testLoss!) < 1e-6, `log-loss ${result.logLoss} vs the run's ${summary.testLoss}`);
  assert.equal(result.accuracy, summary.testAccuracy);

  const out = path.join(dir, 'predictions.tsv');
  const cli = spawnSync(process.execPath, [path.resolve(__dirname, '../../bin/cirrus.js'), 'predict', handle.runFolder, heldOut, '--out', out, '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.ok(Math.abs(JSON.parse(cli.stdout).logLoss - summary.testLoss!) < 1e-6);
  const predictions = fs.readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(predictions[0], 'probability\tlabel');
  assert.equal(predictions.length, 1001);
  assert.ok(predictions.slice(1).every((l) => /^0\.\d{6}\t[01]$/.test(l)));
});

test('CSV (column roles, scaled numeric columns): scoring the held-out rows reproduces the run\'s test log-loss', async (t) => {
  const criteo = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!criteo) return;
  const file = path.join(dir, 'clicks.csv');
  writeCtrCsv(criteo, file);
  const handle = await startTraining(
    {
      name: 'csv-predict',
      dataset: { path: file, format: 'csv', testFraction: 0.1 },
      model: { type: 'logistic', hashBits: 18 },
      optimizer: { type: 'adagrad', learningRate: 0.02 },
      training: { workers: 1, minibatch: 20, epochs: 1, maxSeconds: 20 },
      lambda: { memoryMB: 512, timeoutSeconds: 20 },
    },
    { stateDir },
  );
  const summary = await handle.done;
  assert.equal(summary.status, 'completed', summary.reason);
  // The held-out tail alone, with the header: the scaling must be the training rows', not this file's.
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const heldOut = path.join(dir, 'clicks-test.csv');
  fs.writeFileSync(heldOut, [lines[0], ...lines.slice(lines.length - 1000)].join('\n') + '\n');
  const result = await scoreFile(summary.modelPath!, heldOut);
  assert.equal(result.rows, 1000);
  assert.ok(Math.abs(result.logLoss! - summary.testLoss!) < 1e-6, `log-loss ${result.logLoss} vs the run's ${summary.testLoss}`);
  assert.equal(result.accuracy, summary.testAccuracy);
});

test('MF: scoring u1.test reproduces the run\'s test RMSE (the model carries its mean rating)', async (t) => {
  const train = sharedDataset(t, 'movielens-100k/u1.base');
  const testFile = sharedDataset(t, 'movielens-100k/u1.test');
  if (!train || !testFile) return;
  const handle = await startTraining(
    {
      name: 'mf-predict',
      dataset: { path: train, format: 'ratings', testPath: testFile },
      model: { type: 'mf', factors: 10 },
      optimizer: { type: 'sgd', learningRate: 0.01, l2: 0.05 },
      training: { workers: 1, minibatch: 100, epochs: 2, maxSeconds: 20 },
      lambda: { memoryMB: 512, timeoutSeconds: 20 },
    },
    { stateDir },
  );
  const summary = await handle.done;
  assert.equal(summary.status, 'completed', summary.reason);
  const model = JSON.parse(fs.readFileSync(summary.modelPath!, 'utf8'));
  assert.ok(model.extra.globalMean > 3 && model.extra.globalMean < 4, 'MovieLens mean rating about 3.5');
  const result = await scoreFile(summary.modelPath!, testFile);
  assert.equal(result.rows, 20000);
  assert.ok(Math.abs(result.rmse! - summary.testRMSE!) < 1e-6, `RMSE ${result.rmse} vs the run's ${summary.testRMSE}`);
});

test('a file that is not the model\'s kind is refused', async (t) => {
  const train = sharedDataset(t, 'movielens-100k/u1.base');
  if (!train) return;
  const fakeModel = path.join(dir, 'm');
  fs.mkdirSync(fakeModel, { recursive: true });
  const schema = { kind: 'samples', format: 'libsvm', featureCount: 4, bias: true, classes: 2 };
  fs.writeFileSync(path.join(fakeModel, 'model.json'), JSON.stringify({ format: 'cirrus-model', version: 1, model: { type: 'mf' }, schema, tables: [] }));
  fs.writeFileSync(path.join(fakeModel, 'model.bin'), Buffer.alloc(0));
  await assert.rejects(scoreFile(path.join(fakeModel, 'model.json'), train), /mf model cannot score libsvm/);
});
