// The synchronous step (training.sync "sync-sgd") with training.filter, against a real parameter server
// over TCP with its own store as the channel: two workers step in lockstep, each sends only what its
// filter releases, and their flushes (one last step with what is held) bring the held rows into the model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import type { WorkerEvent } from '../../runtime/worker/protocol';
import { createSyncStep } from '../../runtime/worker/sync-step';
import { randomSamples } from '../models/random-data';
import { startServer } from '../ps/helpers';

const FEATURES = 1 << 16;
const weightsTable = [{ name: 'weights', rows: FEATURES, width: 1, init: { type: 'zeros' as const }, optimizer: { type: 'sgd' as const, learningRate: 1 } }];

function event(worker: number, filter: WorkerEvent['filter']): WorkerEvent {
  return {
    runId: 'sync-filter-test',
    worker,
    generation: 0,
    bucket: 'unused',
    region: 'local',
    partitions: [],
    cursor: { partition: 0, row: 0 },
    ps: { host: '127.0.0.1', port: 0, token: 'unused' },
    model: { type: 'logistic', featureCount: FEATURES },
    minibatch: 100,
    ...(filter ? { filter } : {}),
    returnMarginMs: 1000,
    heartbeatMs: 500,
    sync: { channel: 'ps', scheme: 'all-reduce', aggregation: { rule: 'mean', f: 0 }, workers: 2, stepTimeoutMs: 10_000, prefix: 'runs/test/sync' },
  };
}

async function trainPair(filter: WorkerEvent['filter']) {
  const { server, connect } = await startServer(weightsTable);
  const clients = [await connect(1), await connect(2)];
  const noS3 = undefined as unknown as S3Client; // the ps channel uses no S3
  const steps = await Promise.all([0, 1].map((w) => createSyncStep(event(w, filter), noS3, clients[w], () => undefined)));
  const parts = [0, 1].map((w) => randomSamples(21 + w, 3000, FEATURES, 20, (r) => r % 2));
  const observer = await connect(3);
  try {
    await Promise.all([0, 1].map(async (w) => {
      for (let from = 0; from < 3000; from += 100) await steps[w].run(parts[w], from, from + 100, clients[w]);
    }));
    const held = steps.map((s) => s.heldRows);
    const bytesBefore = steps.map((s) => s.channelTraffic().pushBytes);
    const before = await observer.pullFull(0);
    await Promise.all([0, 1].map((w) => steps[w].flush(clients[w])));
    const after = await observer.pullFull(0);
    let changedAtFlush = 0;
    for (let j = 0; j < FEATURES; j++) if (after[j] !== before[j]) changedAtFlush++;
    return { held, heldAfter: steps.map((s) => s.heldRows), bytesBefore, traffic: steps.map((s) => s.channelTraffic()), changedAtFlush, stepsTaken: steps.map((s) => s.steps) };
  } finally {
    for (const s of steps) await s.close();
    for (const c of [...clients, observer]) await c.close();
    await server.close();
  }
}

test('sync-sgd with top-k 0.05: each step sends ~5 % of the rows, and the flush step brings every held row into the model', async () => {
  const dense = await trainPair(undefined);
  const topk = await trainPair({ settings: { type: 'topk', fraction: 0.05 }, stepScale: 1, stepsBefore: 0 });
  const figures = JSON.stringify({ dense, topk });
  assert.deepEqual(dense.held, [0, 0]);
  assert.equal(dense.changedAtFlush, 0, figures); // nothing held: the flush takes no step
  assert.deepEqual(dense.traffic.map((t) => t.pushes), [30, 30]);
  assert.deepEqual(topk.stepsTaken, [30, 30]);
  assert.ok(topk.held.every((h) => h > 1000), figures);
  assert.deepEqual(topk.heldAfter, [0, 0]);
  // The flush is one more step each, holding every held row; the mean merges the two workers' rows.
  assert.deepEqual(topk.traffic.map((t) => t.pushes), [31, 31]);
  topk.traffic.forEach((t, w) => assert.equal(t.pushBytes - topk.bytesBefore[w], 4 + 8 * topk.held[w], figures));
  assert.ok(topk.changedAtFlush > 0.98 * Math.max(...topk.held) && topk.changedAtFlush <= topk.held[0] + topk.held[1], figures);
  // Before the flush, top-k sent far less than dense.
  assert.ok(topk.bytesBefore[0] * 5 < dense.traffic[0].pushBytes, figures);
});
