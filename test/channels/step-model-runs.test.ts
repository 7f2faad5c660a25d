// The analytic model (runtime/channels/step-model.ts) against real runs: a few design-space cells
// train Criteo 10k briefly on the local stack under the "aws" network profile, and the model's
// seconds per step, from the primitives the run's workers measured (request round trips to the
// parameter server and through the channel, compute), must be within 30 % of the run's measured
// seconds per step (between its first and last evaluation). The primitives are the run's, but the
// step's structure (how many requests a scheme chains, the polls, the pipelining of async pulls) is
// the model's: a miscounted chain misses by far more than 30 % (see the last assertion).
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { test } from 'node:test';
import type { RunConfig } from '../../runtime/config/run-config';
import { checkStepModel } from '../../runtime/channels/step-check';
import { predictStep, rowsPerSample, sparseUpdateBytes, type DesignCell } from '../../runtime/channels/step-model';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { startTraining } from '../../runtime/index';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-step-model-');

const MINIBATCH = 20;
const WORKERS = 2;
const HASH_BITS = 20;

const cells: DesignCell[] = [
  { sync: 'async-sgd' },
  { sync: 'sync-sgd', channel: 'ps', scheme: 'all-reduce' },
  { sync: 'sync-sgd', channel: 's3', scheme: 'all-reduce' },
];

for (const cell of cells) {
  const name = cell.sync === 'async-sgd' ? 'async PS' : `sync-sgd ${cell.channel} ${cell.scheme}`;
  test(`analytic model within 30 % of a real run's s/step: ${name}, "aws" network`, async (t) => {
    const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
    if (!file) return;
    const config: RunConfig = {
      name: `step-model-${name.replace(/\W+/g, '-')}`,
      dataset: { path: file, format: 'criteo', testFraction: 0.1 },
      model: { type: 'logistic', hashBits: HASH_BITS },
      optimizer: { type: 'adagrad', learningRate: 0.02 },
      training: { workers: WORKERS, minibatch: MINIBATCH, maxSeconds: 6, epochs: 50, evalEverySeconds: 0.5, patience: 0, ...(cell.sync === 'sync-sgd' ? { sync: 'sync-sgd', channel: cell.channel, scheme: cell.scheme } : {}) },
      network: { profile: 'aws' },
      lambda: { memoryMB: 1024, timeoutSeconds: 60 },
    };
    const load = os.loadavg()[0];
    const handle = await startTraining(config, { stateDir });
    await handle.done;
    const events = readRunEvents(handle.runFolder);
    const rows = MINIBATCH * rowsPerSample('criteo');
    const inputs = { workers: WORKERS, updateBytes: sparseUpdateBytes(rows, 1), pullBytes: rows * 8, computeSeconds: 0, memoryMB: 1024, modelBytes: 4 * 2 ** HASH_BITS };
    const check = checkStepModel(events, cell, inputs, MINIBATCH);
    assert.ok(check.measured !== null && check.predicted && check.primitives, `the run measured its steps and its workers their primitives: ${JSON.stringify(check)}`);
    const ms = (x: number) => `${(x * 1000).toFixed(2)} ms`;
    console.log(
      `# ${name} (load ${load.toFixed(1)}): measured ${ms(check.measured)}/step, predicted ${ms(check.predicted.seconds)} (${(check.error! * 100).toFixed(0)} %); ` +
        `primitives: ps request ${ms(check.primitives.psRequest)}, channel request ${ms(check.primitives.channelRequest)}, compute ${ms(check.primitives.compute)}`,
    );
    assert.ok(Math.abs(check.error!) <= 0.3, `predicted ${ms(check.predicted.seconds)} vs measured ${ms(check.measured)} per step (${(check.error! * 100).toFixed(0)} %)`);
    if (cell.sync === 'sync-sgd') {
      // The structure matters: a step priced as one request (the bare round trip) misses by far more.
      const oneRequest = check.primitives.psRequest + check.primitives.compute;
      assert.ok(Math.abs(oneRequest / check.measured - 1) > 0.3, `one request ${ms(oneRequest)} would also be within 30 % of ${ms(check.measured)}: the test could not fail`);
      // And so does the model without the run's primitives (the "aws" figures alone).
      const bare = predictStep(cell, inputs).seconds;
      console.log(`# ${name}: the "aws" figures alone predict ${ms(bare)}`);
    }
  });
}
