// The worker's push pipeline with training.filter against a real parameter server over TCP: what the
// filter holds back reaches the server at flush, in frames under the server's limit, and a Byzantine
// worker's updates are corrupted on the way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createModelStep } from '../../runtime/worker/model-step';
import { randomSamples } from '../models/random-data';
import { startServer } from '../ps/helpers';

const FEATURES = 1 << 20;
const weightsTable = [{ name: 'weights', rows: FEATURES, width: 1, init: { type: 'zeros' as const }, optimizer: { type: 'sgd' as const, learningRate: 1 } }];

test('top-k 0.001: over 500k held-back rows all reach the server at flush, in pushes under an 8 MB frame limit', async () => {
  const part = randomSamples(11, 60000, FEATURES, 25, (r) => r % 2);
  const { server, connect } = await startServer(weightsTable, { maxFrameBytes: 8 << 20 });
  const ps = await connect();
  try {
    const step = createModelStep({ type: 'logistic', featureCount: FEATURES }, { settings: { type: 'topk', fraction: 0.001 }, stepScale: 1, stepsBefore: 0 });
    for (let from = 0; from < part.rows; from += 6000) await step.run(part, from, from + 6000, ps);
    const held = step.heldRows;
    assert.ok(held > 500000, `held rows ${held}`);
    const pushesBefore = ps.traffic.pushes;
    const before = await ps.pullFull(0);
    await step.flush(ps);
    assert.equal(step.heldRows, 0);
    assert.ok(ps.traffic.pushes - pushesBefore >= 2, 'the flush is split into several pushes');
    const after = await ps.pullFull(0);
    // The held rows reach the server: all but those whose gradients cancelled exactly (the random
    // values include 0 and negatives) change at the flush, and nearly every touched row has moved.
    let changedAtFlush = 0;
    for (let j = 0; j < FEATURES; j++) if (after[j] !== before[j]) changedAtFlush++;
    assert.ok(changedAtFlush > 0.98 * held, `${changedAtFlush} rows changed at the flush of ${held} held`);
    const touched = new Set(part.indices);
    let moved = 0;
    for (const id of touched) if (after[id] !== 0) moved++;
    assert.ok(moved > 0.98 * touched.size, `${moved} of ${touched.size} touched rows moved`);
  } finally {
    await ps.close();
    await server.close();
  }
});

test('a Byzantine step (flip, factor 10) pushes -10x what an honest one pushes', async () => {
  const part = randomSamples(12, 50, 1000, 5, (r) => r % 2);
  const tables = [{ ...weightsTable[0], rows: 1000 }];
  const results: Float32Array[] = [];
  for (const byzantine of [undefined, { kind: 'flip' as const, factor: 10 }]) {
    const { server, connect } = await startServer(tables);
    const ps = await connect();
    const step = createModelStep({ type: 'logistic', featureCount: 1000 }, undefined, byzantine);
    await step.run(part, 0, 50, ps);
    await step.flush(ps);
    results.push(await ps.pullFull(0));
    await ps.close();
    await server.close();
  }
  let nonZero = 0;
  for (let j = 0; j < 1000; j++) {
    assert.ok(Math.abs(results[1][j] + 10 * results[0][j]) <= 1e-5 * Math.max(1, Math.abs(results[1][j])), `row ${j}`);
    if (results[0][j] !== 0) nonZero++;
  }
  assert.ok(nonZero > 100);
});
