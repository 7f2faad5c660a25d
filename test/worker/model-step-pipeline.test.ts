// The worker's pipeline against a real parameter server over TCP: pulls sent ahead (two minibatches)
// are used by the minibatches they were sent for and leave with the pushes, and model averaging's
// correction makes a prefetched run end with exactly the model of a run that pulls after each push.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SamplePartition } from '../../runtime/data/partition';
import { createModelStep, type Upcoming } from '../../runtime/worker/model-step';
import { randomSamples } from '../models/random-data';
import type { TableSpec } from '../../runtime/ps/types';
import { startServer } from '../ps/helpers';

const FEATURES = 4096;
const MINIBATCH = 50;

/** The minibatches after `to` (two at most), as the handler hands them to the step. */
function upcoming(rows: number, to: number): Upcoming {
  const out: Array<[number, number]> = [];
  for (let at = to; at < rows && out.length < 2; at += MINIBATCH) out.push([at, Math.min(rows, at + MINIBATCH)]);
  return out;
}

type PsConnection = Awaited<ReturnType<Awaited<ReturnType<typeof startServer>>['connect']>>;

/** The model a fresh server holds after `train`: plain SGD at rate 1 (it adds the pushed changes) unless told. */
async function modelAfter(train: (ps: PsConnection) => Promise<void>, optimizer: TableSpec['optimizer'] = { type: 'sgd', learningRate: 1 }): Promise<Float32Array> {
  const { server, connect } = await startServer([{ name: 'weights', rows: FEATURES, width: 1, optimizer }]);
  const ps = await connect();
  try {
    await train(ps);
    return await ps.pullFull(0);
  } finally {
    await ps.close();
    await server.close();
  }
}

test('pulls ahead: each minibatch after the first uses the pull sent for it, one pull and one push per minibatch', async () => {
  const part = randomSamples(21, 500, FEATURES, 12, (r) => r % 2) as SamplePartition;
  const { server, connect } = await startServer([{ name: 'weights', rows: FEATURES, width: 1, optimizer: { type: 'adagrad', learningRate: 0.05 } }]);
  const ps = await connect();
  try {
    const step = createModelStep({ type: 'logistic', featureCount: FEATURES });
    const start = ps.traffic.requests;
    await step.run(part, 0, MINIBATCH, ps, upcoming(part.rows, MINIBATCH));
    // The first minibatch's pull and push, and the pulls of the next two.
    assert.equal(ps.traffic.requests - start, 4);
    assert.equal(ps.traffic.pushes, 1);
    let loss = 0;
    for (let from = MINIBATCH; from < part.rows; from += MINIBATCH) loss += await step.run(part, from, from + MINIBATCH, ps, upcoming(part.rows, from + MINIBATCH));
    await step.flush(ps);
    const minibatches = part.rows / MINIBATCH;
    // No minibatch pulled twice: one pull and one push each.
    assert.equal(ps.traffic.requests - start, 2 * minibatches);
    assert.equal(ps.traffic.pushes, minibatches);
    assert.ok(Number.isFinite(loss) && loss > 0);
    assert.ok(step.timing!.pullWaitMs >= 0 && step.timing!.pushWaitMs >= 0);
    // A range other than the one prefetched (another cut) is pulled afresh, and the step still works.
    await step.run(part, 0, 30, ps, upcoming(part.rows, 30));
    await step.run(part, 30, 90, ps);
    await step.flush(ps);
    const w = await ps.pullFull(0);
    assert.ok(w.some((x) => x !== 0) && w.every(Number.isFinite));
  } finally {
    await ps.close();
    await server.close();
  }
});

test('model averaging with pulls ahead ends with exactly the model of pulling after each push (one worker)', async () => {
  const part = randomSamples(22, 600, FEATURES, 15, (r) => (r % 3 === 0 ? 1 : 0)) as SamplePartition;
  const models: Float32Array[] = [];
  for (const ahead of [false, true]) {
    models.push(
      await modelAfter(async (ps) => {
        const step = createModelStep({ type: 'logistic', featureCount: FEATURES, localLearningRate: 0.1 });
        for (let epoch = 0; epoch < 2; epoch++) {
          for (let from = 0; from < part.rows; from += MINIBATCH) await step.run(part, from, from + MINIBATCH, ps, ahead ? upcoming(part.rows, from + MINIBATCH) : undefined);
        }
        await step.flush(ps);
      }),
    );
  }
  let moved = 0;
  for (let j = 0; j < FEATURES; j++) {
    assert.equal(models[1][j], models[0][j], `weight ${j}`);
    if (models[0][j] !== 0) moved++;
  }
  assert.ok(moved > FEATURES / 2, `${moved} weights moved`);
});

test('model averaging: a later invocation reusing the environment\'s trainer (its partitions kept) ends with the model of a fresh one', async () => {
  const parts = [randomSamples(23, 300, FEATURES, 15, (r) => r % 2), randomSamples(24, 250, FEATURES, 15, (r) => (r % 3 === 0 ? 1 : 0))] as SamplePartition[];
  const models: Float32Array[] = [];
  for (const reuse of [true, false]) {
    models.push(
      await modelAfter(async (ps) => {
        const generation = async (step: ReturnType<typeof createModelStep>) => {
          for (const part of parts) for (let from = 0; from < part.rows; from += MINIBATCH) await step.run(part, from, Math.min(part.rows, from + MINIBATCH), ps, upcoming(part.rows, from + MINIBATCH));
          await step.flush(ps);
        };
        const first = createModelStep({ type: 'logistic', featureCount: FEATURES, localLearningRate: 0.1 });
        await generation(first);
        // Closed before the next is created: the next takes its trainer (and id sets). Else it makes its own.
        if (reuse) await first.close!();
        const second = createModelStep({ type: 'logistic', featureCount: FEATURES, localLearningRate: 0.1 });
        if (!reuse) await first.close!();
        await generation(second);
        await second.close!();
      }),
    );
  }
  assert.ok(models[0].some((w) => w !== 0));
  assert.deepEqual(models[0], models[1]);
});

test('model averaging with whole-partition minibatches pulled ahead across partitions: one pull per minibatch, and the model of pulling after each push (one worker)', async () => {
  // As endToEnd runs it: each minibatch is a whole partition, so the pulls ahead are the next partitions'.
  const parts = [randomSamples(25, 120, FEATURES, 15, (r) => r % 2), randomSamples(26, 90, FEATURES, 15, (r) => (r % 3 === 0 ? 1 : 0)), randomSamples(27, 150, FEATURES, 15, (r) => (r % 4 === 0 ? 1 : 0))] as SamplePartition[];
  const across = (index: number): Upcoming => [1, 2].map((n) => {
    const next = parts[(index + n) % parts.length];
    return [0, next.rows, next] as const;
  });
  const models: Float32Array[] = [];
  for (const ahead of [false, true]) {
    models.push(
      await modelAfter(async (ps) => {
        const step = createModelStep({ type: 'logistic', featureCount: FEATURES, localLearningRate: 0.1 });
        const start = ps.traffic.requests;
        const epochs = 3;
        for (let epoch = 0; epoch < epochs; epoch++) {
          for (const [index, part] of parts.entries()) await step.run(part, 0, part.rows, ps, ahead ? across(index) : undefined);
        }
        await step.flush(ps);
        // One pull and one push per minibatch, plus (ahead) the two pulls sent past the last one, unused.
        assert.equal(ps.traffic.requests - start, 2 * epochs * parts.length + (ahead ? 2 : 0));
        await step.close!();
      }),
    );
  }
  assert.ok(models[0].some((w) => w !== 0));
  assert.deepEqual(models[1], models[0]);
});

test('asynchronous SGD: epochs over the same partition (collects served from the saved ranges) push what fresh collects push: the same model bit for bit (one worker)', async () => {
  const part = randomSamples(28, 400, FEATURES, 15, (r) => (r % 3 === 0 ? 1 : 0)) as SamplePartition;
  // A copy of the partition per epoch: new arrays, so nothing is found saved.
  const copy = (): SamplePartition => ({ ...part, labels: part.labels.slice(), rowStart: part.rowStart.slice(), indices: part.indices.slice(), values: part.values.slice() });
  const models: Float32Array[] = [];
  for (const fresh of [true, false]) {
    models.push(
      await modelAfter(async (ps) => {
        const step = createModelStep({ type: 'logistic', featureCount: FEATURES });
        for (let epoch = 0; epoch < 3; epoch++) {
          const p = fresh ? copy() : part;
          for (let from = 0; from < p.rows; from += MINIBATCH) await step.run(p, from, from + MINIBATCH, ps, upcoming(p.rows, from + MINIBATCH));
        }
        await step.flush(ps);
        await step.close!();
      }, { type: 'adagrad', learningRate: 0.05 }),
    );
  }
  assert.ok(models[0].filter((w) => w !== 0).length > FEATURES / 2);
  assert.deepEqual(models[1], models[0]);
});
