// Generated run configurations (New Run Configuration, runtime/config/new-config.ts) train to the
// reference on the shared data with nothing tuned: on Criteo 10k the validation rule ends the run (not
// the epoch cap) and the best model evaluated is the one kept; MovieLens u1 reaches RMSE <= 0.95.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, newRunConfig, startTraining, validateRunConfig } from '../../runtime/index';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-newconfig-');

test('newRunConfig: the model from the data, the resolved defaults written out, the epoch cap of DEFAULTS.newConfigEpochs', () => {
  const criteo = newRunConfig({ name: 'clicks', path: 'clicks.tsv', format: 'criteo', workers: 4 });
  assert.equal(criteo.model?.type, 'logistic');
  assert.deepEqual(criteo.training, { ...criteo.training, workers: 4, epochs: DEFAULTS.newConfigEpochs.logistic, patience: DEFAULTS.training.patience });
  assert.equal(criteo.optimizer?.learningRate, DEFAULTS.byModel.logistic.learningRate);
  assert.equal('backend' in criteo || 'lambda' in criteo || 'faults' in criteo, false, 'host-filled settings left out');
  validateRunConfig(criteo);
  const ratings = newRunConfig({ name: 'u1', path: 's3://b/u1', kind: 'ratings' });
  assert.deepEqual([ratings.model?.type, ratings.training?.epochs], ['mf', DEFAULTS.newConfigEpochs.mf]);
  const multi = newRunConfig({ name: 'iris', path: 's3://b/iris', kind: 'samples', classes: 3 });
  assert.deepEqual(multi.model, { type: 'softmax', classes: 3 });
  const local = newRunConfig({ name: 'u1', path: 'u1.base', format: 'ratings', testPath: 'u1.test' });
  assert.deepEqual(local.dataset, { path: 'u1.base', format: 'ratings', testPath: 'u1.test', skipBad: false });
});

test('generated config on Criteo 10k: ends on the validation rule with the best model kept, log-loss <= 0.475', { timeout: 300_000 }, async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const config = newRunConfig({ name: 'criteo-generated', path: file, format: 'criteo', workers: 4 });
  const handle = await startTraining(config, { stateDir });
  const s = await handle.done;
  t.diagnostic(`Criteo 10k: ${s.testLoss} (${s.reason}), ${s.seconds} s, ${s.samples} samples`);
  assert.equal(s.status, 'completed', s.reason);
  assert.match(s.reason, /the test loss rose for \d+ evaluations in a row \(training\.patience\)/);
  assert.ok(s.testLoss !== null && s.testLoss <= 0.475, `log-loss ${s.testLoss}`);
  // The model kept is the evaluation with the lowest test loss: the one the dashboard marks.
  const evals = readRunEvents(handle.runFolder).filter((e) => e.type === 'eval') as Array<{ testLoss: number }>;
  assert.equal(s.testLoss, Math.min(...evals.map((e) => e.testLoss)));
});

test('generated config on MovieLens u1 (u1.test beside): RMSE <= 0.95', { timeout: 300_000 }, async (t) => {
  const base = sharedDataset(t, 'movielens-100k/u1.base');
  const u1test = sharedDataset(t, 'movielens-100k/u1.test');
  if (!base || !u1test) return;
  const handle = await startTraining(newRunConfig({ name: 'u1-generated', path: base, format: 'ratings', testPath: u1test, workers: 4 }), { stateDir });
  const s = await handle.done;
  t.diagnostic(`u1: RMSE ${s.testRMSE} (${s.reason}), ${s.seconds} s`);
  assert.equal(s.status, 'completed', s.reason);
  assert.ok(s.testRMSE != null && s.testRMSE <= 0.95, `RMSE ${s.testRMSE}`);
});
