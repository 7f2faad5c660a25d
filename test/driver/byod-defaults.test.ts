// Bring your own data, end to end: with only the dataset and the model type given (the rest from
// runtime/config/defaults.ts), every shared dataset reaches its figure, and a click log in CSV (ids, an hour stamp,
// integer-coded categories) trains as well as the same rows through the Criteo reader.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunConfig } from '../../runtime/config/run-config';
import { startTraining } from '../../runtime/index';
import { writeCtrCsv } from '../helpers/ctr-csv';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-byod-');

async function train(name: string, dataset: RunConfig['dataset'], model?: RunConfig['model']) {
  const handle = await startTraining({ name, dataset, ...(model ? { model } : {}) }, { stateDir });
  const summary = await handle.done;
  assert.equal(summary.status, 'completed', summary.reason);
  return summary;
}

test('defaults: Criteo 10k (last 10 % test) log-loss <= 0.470; the same rows as a click-log CSV within 0.01', async (t) => {
  const criteo = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!criteo) return;
  const viaCriteo = await train('criteo-defaults', { path: criteo, format: 'criteo', testFraction: 0.1 });
  assert.ok(viaCriteo.testLoss !== null && viaCriteo.testLoss <= 0.47, `Criteo log-loss ${viaCriteo.testLoss}`);
  const csv = path.join(stateDir, 'clicks.csv');
  writeCtrCsv(criteo, csv);
  const viaCsv = await train('ctr-csv-defaults', { path: csv, format: 'csv', testFraction: 0.1 });
  assert.ok(viaCsv.testLoss !== null && Math.abs(viaCsv.testLoss - viaCriteo.testLoss!) <= 0.01, `CSV ${viaCsv.testLoss} vs Criteo ${viaCriteo.testLoss}`);
});

test('defaults: a9a log-loss <= 0.330 and accuracy >= 84.5 %', async (t) => {
  const a9a = sharedDataset(t, 'libsvm-a9a/a9a');
  const a9at = sharedDataset(t, 'libsvm-a9a/a9a.t');
  if (!a9a || !a9at) return;
  const s = await train('a9a-defaults', { path: a9a, format: 'libsvm', testPath: a9at });
  assert.ok(s.testLoss !== null && s.testLoss <= 0.33, `a9a log-loss ${s.testLoss}`);
  assert.ok(s.testAccuracy !== null && s.testAccuracy >= 0.845, `a9a accuracy ${s.testAccuracy}`);
});

test('defaults: MovieLens 100k u1 RMSE <= 0.93 (model type inferred from the format)', async (t) => {
  const base = sharedDataset(t, 'movielens-100k/u1.base');
  const u1test = sharedDataset(t, 'movielens-100k/u1.test');
  if (!base || !u1test) return;
  const s = await train('ml-defaults', { path: base, format: 'ratings', testPath: u1test });
  assert.ok(s.testRMSE !== null && s.testRMSE !== undefined && s.testRMSE <= 0.93, `u1 RMSE ${s.testRMSE}`);
});

test('MF trains with minibatch 256 on MovieLens u1 (it diverged to -Infinity before the row cap)', async (t) => {
  const base = sharedDataset(t, 'movielens-100k/u1.base');
  const u1test = sharedDataset(t, 'movielens-100k/u1.test');
  if (!base || !u1test) return;
  const handle = await startTraining(
    ({ name: 'ml-256', dataset: { path: base, format: 'ratings', testPath: u1test }, training: { workers: 2, minibatch: 256, epochs: 5 } }),
    { stateDir },
  );
  const s = await handle.done;
  assert.equal(s.status, 'completed', s.reason);
  assert.ok(s.testRMSE !== null && s.testRMSE !== undefined && s.testRMSE < 1.0, `RMSE ${s.testRMSE}`);
});

test('a diverging run stops, fails naming the likely causes, and keeps the best model evaluated', async (t) => {
  const criteo = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!criteo) return;
  // Raw ids and stamps of 1e6-1e9 as numeric features with plain SGD: the loss explodes.
  const csv = path.join(stateDir, 'clicks-raw.csv');
  writeCtrCsv(criteo, csv);
  const handle = await startTraining(
    ({
      name: 'diverging',
      dataset: { path: csv, format: 'csv', testFraction: 0.1, scaling: 'none', columns: { row_id: 'numeric', hour: 'numeric' } },
      optimizer: { type: 'sgd', learningRate: 0.5 },
      training: { workers: 2, minibatch: 20, epochs: 5 },
    }),
    { stateDir },
  );
  const s = await handle.done;
  assert.equal(s.status, 'failed', s.reason);
  assert.match(s.reason, /base-rate loss|diverged/);
  assert.match(s.reason, /Likely causes: the learning rate \(optimizer\.learningRate 0\.5 with sgd/);
  assert.match(s.reason, /unscaled numeric column/);
});
