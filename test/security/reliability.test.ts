// Runs under injected faults, on the embedded local stack with Criteo 10k (../shared): each must
// complete, and the run folder must show what happened.
// - 30 % of worker invocations killed: the target loss (<= 0.470) is still reached; relaunches recorded;
// - the parameter server killed mid-run: restarted from the last checkpoint, workers reconnect, the run
//   completes; seconds of updates lost <= the checkpoint interval;
// - S3 requests failing (10 %) and slowed (20 ms); worker connections cut (30 % of invocations);
// - a partition replaced in S3 after deploy: the workers refuse it with a clear error.
// Figures are printed (runs completed / attempted per fault kind, seconds lost per crash).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunConfig } from '../../runtime/config/run-config';
import type { RunEvent } from '../../runtime/recording/events';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { startTraining } from '../../runtime/index';
import { localBackend } from '../../runtime/backends/backend';
import { putObjectBytes, getObjectBytes } from '../../runtime/storage/s3';
import { pointerKey } from '../../runtime/driver/checkpoint';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-reliability-');

const CRITEO = 'criteo-kaggle-head10k/train_head10000.txt';

function criteoConfig(file: string, training: NonNullable<RunConfig['training']>, faults: RunConfig['faults']): RunConfig {
  return {
    name: 'criteo-faults',
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    // The tuned settings of test/driver/train.test.ts; time-limited runs (no epochs: however many the
    // machine's speed fits in) use a slower rate with l2, which stays near 0.465 for 80 epochs.
    optimizer: training.epochs === undefined ? { type: 'adagrad', learningRate: 0.005, l2: 0.01 } : { type: 'adagrad', learningRate: 0.02 },
    training: { workers: 2, minibatch: 20, maxSeconds: 60, epochs: 3, ...training },
    lambda: { memoryMB: 1024, timeoutSeconds: 5 }, // short generations: many invocations for the faults to hit
    faults,
  };
}

type Of<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) => events.filter((e): e is Of<T> => e.type === type);

test('30 % of worker invocations killed: Criteo 10k still reaches test log-loss <= 0.470 (3 runs); relaunches in the run folder', async (t) => {
  const file = sharedDataset(t, CRITEO);
  if (!file) return;
  const runs = 3;
  let completed = 0;
  let killed = 0;
  let launched = 0;
  let relaunches = 0;
  const losses: string[] = [];
  for (let r = 0; r < runs; r++) {
    // 40 epochs at the slow rate with l2 (0.462-0.465 from epoch 3 to 80 in a single-process run), one
    // row a minibatch: long enough, even on a fast machine, for several 5-s generations per worker, so
    // the kills (at random moments of an invocation's possible life) strike mid-run and get relaunched.
    const config = { ...criteoConfig(file, { maxSeconds: 90, epochs: 40, minibatch: 1, evalEverySeconds: 0.25 }, { killWorkerFraction: 0.3 }), optimizer: { type: 'adagrad' as const, learningRate: 0.005, l2: 0.01 } };
    const handle = await startTraining(config, { stateDir });
    const summary = await handle.done;
    const events = readRunEvents(handle.runFolder);
    const failed = ofType(events, 'worker-finished').filter((e) => e.status === 'failed');
    const relaunched = ofType(events, 'worker-launched').filter((e) => e.reason === 'relaunch-after-failure');
    assert.equal(summary.status, 'completed', summary.reason);
    assert.ok(summary.testLoss !== null && summary.testLoss <= 0.47, `test log-loss ${summary.testLoss}`);
    // Every generation killed while the run was still going was relaunched (one killed while it stops is not).
    const lastEval = ofType(events, 'eval').at(-1)!.t;
    for (const f of failed.filter((e) => e.t < lastEval - 1)) {
      assert.ok(relaunched.some((l) => l.worker === f.worker && l.generation === f.generation + 1), `worker ${f.worker} generation ${f.generation} relaunched`);
    }
    assert.ok(failed.every((e) => /killed|signal|exit/i.test(e.error ?? '')), failed.map((e) => e.error).join('; '));
    completed++;
    killed += failed.length;
    relaunches += relaunched.length;
    launched += ofType(events, 'worker-launched').length;
    losses.push(summary.testLoss!.toFixed(4));
  }
  console.log(`killWorkerFraction 0.3: ${completed}/${runs} runs completed at the target; test losses ${losses.join(', ')}; ${killed} of ${launched} invocations killed, ${relaunches} relaunched`);
  assert.ok(killed > 0 && relaunches > 0, 'invocations were killed mid-run and relaunched');
});

test('the parameter server killed mid-run: restarted from the last checkpoint, workers reconnect, the run completes', async (t) => {
  const file = sharedDataset(t, CRITEO);
  if (!file) return;
  const every = 2;
  // Criteo 10k trains 3 epochs in a few seconds: a time limit instead of epochs keeps it going past the crash
  // (and a high patience: the validation rule would stop it once the test loss rises, as it did at 9.8 s).
  const handle = await startTraining(criteoConfig(file, { checkpointEverySeconds: every, maxSeconds: 16, epochs: undefined, patience: 1000 }, { killParameterServerAtSeconds: 7 }), { stateDir });
  const summary = await handle.done;
  const events = readRunEvents(handle.runFolder);
  const restarts = ofType(events, 'ps-restarted');
  const checkpoints = ofType(events, 'checkpoint');
  assert.equal(summary.status, 'completed', summary.reason);
  assert.equal(restarts.length, 1, 'one restart');
  const restart = restarts[0];
  assert.ok(restart.checkpoint !== null, 'restored from a checkpoint');
  // At most one interval (plus the time one checkpoint takes to write) of updates is lost.
  assert.ok(restart.lostSeconds <= every + 2, `${restart.lostSeconds} s of updates lost, checkpoints every ${every} s`);
  // Workers came back: generations launched after the restart sent heartbeats, and the model kept improving.
  const after = events.filter((e) => e.t > restart.t);
  assert.ok(ofType(after, 'worker-heartbeat').length > 0, 'heartbeats after the restart');
  // The restored model is the checkpointed one, not fresh tables (log-loss 0.693).
  const evalsBefore = ofType(events, 'eval').filter((e) => e.t < restart.t);
  const evalsAfter = ofType(after, 'eval');
  console.log(`evals: ${ofType(events, 'eval').map((e) => `${e.t.toFixed(1)}:${e.testLoss.toFixed(3)}`).join(' ')}`);
  assert.ok(evalsAfter.length >= 2, 'evaluations after the restart');
  // (Not worse than before the crash: on a loaded machine the workers may not have started before the
  // kill, and the first evaluation after the restart may already include new training.)
  assert.ok(evalsAfter[0].testLoss < evalsBefore.at(-1)!.testLoss + 0.03, `loss ${evalsBefore.at(-1)!.testLoss} before the crash, ${evalsAfter[0].testLoss} after`);
  assert.ok(checkpoints.length >= 4, `${checkpoints.length} checkpoints`);
  // The pointer names the latest checkpoint, whose object is whole.
  const backend = await localBackend(stateDir);
  const pointer = JSON.parse(Buffer.from(await getObjectBytes(backend.s3, backend.bucket, pointerKey(handle.runId))).toString('utf8'));
  assert.equal(pointer.seq, checkpoints.at(-1)!.seq);
  assert.equal((await getObjectBytes(backend.s3, backend.bucket, pointer.key)).byteLength, pointer.bytes);
  console.log(
    `killParameterServerAtSeconds 7: 1/1 runs ${summary.status}; restarted from checkpoint ${restart.checkpoint} in ${restart.downSeconds.toFixed(2)} s; ` +
      `${restart.lostSeconds.toFixed(2)} s of updates lost (checkpoint interval ${every} s); test loss ${summary.testLoss?.toFixed(4)}`,
  );
});

test('S3 requests failing (10 %) and slowed (20 ms), worker connections cut (30 %): the run completes', async (t) => {
  const file = sharedDataset(t, CRITEO);
  if (!file) return;
  const handle = await startTraining(
    // A time limit rather than 3 epochs: long enough for several generations, so the cuts strike.
    criteoConfig(file, { checkpointEverySeconds: 2, maxSeconds: 12, epochs: undefined }, { s3ErrorRate: 0.1, s3DelayMs: 20, cutConnectionFraction: 0.3 }),
    { stateDir },
  );
  const summary = await handle.done;
  const events = readRunEvents(handle.runFolder);
  const failed = ofType(events, 'worker-finished').filter((e) => e.status === 'failed');
  console.log(
    `s3ErrorRate 0.1 + s3DelayMs 20 + cutConnectionFraction 0.3: 1/1 runs ${summary.status}; test loss ${summary.testLoss?.toFixed(4)}; ` +
      `${failed.length} invocations failed (${failed.filter((e) => /cut/.test(e.error ?? '')).length} cut connections) and were relaunched`,
  );
  assert.equal(summary.status, 'completed', summary.reason);
  // Still learning (a fresh model scores 0.693; past 3 epochs this learning rate slowly overfits).
  assert.ok(summary.testLoss !== null && summary.testLoss < 0.53, `test loss ${summary.testLoss}`);
  assert.ok(failed.some((e) => /connection cut/.test(e.error ?? '')), 'a cut connection failed its invocation');
  assert.ok(ofType(events, 'checkpoint').length > 0, 'checkpoints were written through the faulty S3');
});

test('a partition replaced in S3 after the deploy is refused by the workers, naming the object', async (t) => {
  const file = sharedDataset(t, CRITEO);
  if (!file) return;
  const backend = await localBackend(stateDir);
  // Deployed by the runs above (same file, same settings): swap one training partition for another's bytes.
  const first = await startTraining(criteoConfig(file, { maxSeconds: 3, epochs: undefined }, undefined), { stateDir });
  await first.done;
  const load = readRunEvents(first.runFolder).find((e) => e.type === 'log' && /dataset s3:\/\//.test(e.message)) as Of<'log'>;
  const prefix = /s3:\/\/[^/]+\/(\S+):/.exec(load.message)![1];
  const a = `${prefix}/train/part-00000.bin`;
  const b = `${prefix}/train/part-00001.bin`;
  const original = await getObjectBytes(backend.s3, backend.bucket, a);
  await putObjectBytes(backend.s3, backend.bucket, a, await getObjectBytes(backend.s3, backend.bucket, b));
  try {
    const handle = await startTraining(criteoConfig(file, { workers: 1, maxSeconds: 20, epochs: undefined }, undefined), { stateDir });
    const summary = await handle.done;
    assert.equal(summary.status, 'failed');
    assert.match(summary.reason, /part-00000\.bin.*checksum .* differs from the manifest/);
  } finally {
    await putObjectBytes(backend.s3, backend.bucket, a, original);
  }
});
