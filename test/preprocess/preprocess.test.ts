// Preprocessing as a map phase on workers: statistics merged from parallel tasks equal one pass over
// the same rows; the transformed version equals the single-process transform, partition by
// partition; the new version has its own manifest, its stage record, and trains.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { localBackend } from '../../runtime/backends/backend';
import { decodePartition, type SamplePartition } from '../../runtime/data/partition';
import { deployDataset, shutdownEmbeddedServices, startTraining } from '../../runtime/index';
import { partitionStats, scalingFromStats, transformPartition, type StatsTable } from '../../runtime/data/partition-ops';
import { preprocessDataset } from '../../runtime/preprocess/run';
import { getObjectBytes } from '../../runtime/storage/s3';
import { sharedDataset } from '../helpers/shared';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-preprocess-'));
const ctx = { stateDir: path.join(dir, 'state') };
after(async () => {
  await shutdownEmbeddedServices();
  fs.rmSync(dir, { recursive: true, force: true });
});

function assertSameStats(actual: StatsTable, expected: StatsTable): void {
  assert.equal(actual.size, expected.size, 'the same features seen');
  for (const [f, e] of expected) {
    const a = actual.get(f)!;
    assert.ok(a, `feature ${f}`);
    assert.equal(a.count, e.count, `count of ${f}`);
    assert.equal(a.min, e.min, `min of ${f}`);
    assert.equal(a.max, e.max, `max of ${f}`);
    assert.ok(Math.abs(a.mean - e.mean) <= 1e-12 * Math.max(1, Math.abs(e.mean)), `mean of ${f}: ${a.mean} vs ${e.mean}`);
    assert.ok(Math.abs(a.m2 - e.m2) <= 1e-9 * Math.max(1, e.m2), `variance of ${f}: ${a.m2} vs ${e.m2}`);
  }
}

test('a9a on 3 workers: merged statistics and the normalised, re-split version equal the single-process computation; it trains', async (t) => {
  const file = sharedDataset(t, 'libsvm-a9a/a9a');
  if (!file) return;
  const deployed = await deployDataset({ file, format: 'libsvm', testFraction: 0.2 }, ctx);
  const backend = await localBackend(ctx.stateDir);
  const bucket = backend.bucket;
  const load = async (key: string) => decodePartition(await getObjectBytes(backend.s3, bucket, key)) as SamplePartition;
  const source = { train: await Promise.all(deployed.manifest.partitions.train.map((p) => load(p.key))), test: await Promise.all(deployed.manifest.partitions.test.map((p) => load(p.key))) };
  assert.ok(source.train.length >= 3, 'several partitions, so the workers really split the work');

  const steps = { normalize: 'standard' as const, testFraction: 0.25 };
  const events: string[] = [];
  const outcome = await preprocessDataset({ dataset: deployed.url, steps, workers: 3, memoryMB: 512, onEvent: (e) => events.push(e.type) }, ctx);

  // Statistics: one pass over the same training rows.
  const reference: StatsTable = new Map();
  for (const part of source.train) partitionStats(part, reference);
  assertSameStats(outcome.stats, reference);
  const f1 = reference.get(1)!;
  assert.equal(outcome.stats.get(1)!.count + (deployed.manifest.counts.trainRows - f1.count), deployed.manifest.counts.trainRows, 'count + missing = rows');

  // The new version: the single-process transform of every source partition, with the same scaling.
  const scaling = scalingFromStats(reference, 'standard');
  const expected = new Map<string, Buffer>(); // "split/part-ID.bin" -> bytes
  const sourceEntries = [...deployed.manifest.partitions.train.map((p, i) => ({ p, part: source.train[i], split: 'train' })), ...deployed.manifest.partitions.test.map((p, i) => ({ p, part: source.test[i], split: 'test' }))];
  const sortedIds = sourceEntries.map((e) => `${e.split}-${path.basename(e.p.key, '.bin').replace(/^part-/, '')}`);
  sourceEntries.forEach((e, i) => {
    const halves = transformPartition(e.part, sortedIds[i], steps, scaling);
    for (const split of ['train', 'test'] as const) if (halves[split].rows > 0) expected.set(`${split}/part-${sortedIds[i]}.bin`, halves[split].take());
  });
  const manifest = outcome.manifest!;
  assert.ok(outcome.url && outcome.url !== deployed.url, 'a new version beside the source');
  const written = [...manifest.partitions.train, ...manifest.partitions.test];
  assert.equal(written.length, expected.size, 'one output partition per source partition and split');
  for (const entry of written) {
    const name = entry.key.split('/').slice(-2).join('/');
    assert.ok(expected.has(name), `${name} expected`);
    assert.ok(Buffer.from(await getObjectBytes(backend.s3, bucket, entry.key)).equals(expected.get(name)!), `${name} byte for byte`);
  }
  assert.equal(manifest.counts.rows, deployed.manifest.counts.rows, 'no row lost or added');
  const testShare = manifest.counts.testRows / manifest.counts.rows;
  assert.ok(Math.abs(testShare - 0.25) < 0.02, `re-split test share ${testShare}`);
  const normalised = manifest.featureStats.find((s) => s.name === '1')!;
  assert.ok(Math.abs(normalised.mean) > 0, 'statistics of the new version, not of the source');
  assert.ok(manifest.featureStats.every((s) => s.variance >= 0 && s.missing >= 0));

  // Its stage record and events.
  const summary = JSON.parse(fs.readFileSync(path.join(outcome.runFolder, 'summary.json'), 'utf8'));
  assert.deepEqual(summary.stages.map((s: { stage: string }) => s.stage), ['preprocess']);
  assert.ok(summary.stages[0].gbSeconds > 0 && summary.stages[0].workers === 3 && summary.costUSD > 0);
  assert.ok(events.filter((e) => e === 'worker-finished').length >= 9, 'three map phases of three tasks');

  // The new version trains like any deployed dataset.
  const run = await startTraining(
    {
      name: 'a9a-normalised',
      dataset: { path: outcome.url! },
      model: { type: 'logistic' },
      optimizer: { type: 'adagrad', learningRate: 0.05, l2: 0.0001 },
      training: { workers: 1, minibatch: 50, epochs: 2, maxSeconds: 20 },
      lambda: { memoryMB: 512, timeoutSeconds: 20 },
    },
    ctx,
  );
  const trained = await run.done;
  assert.equal(trained.status, 'completed', trained.reason);
  assert.ok(trained.testAccuracy !== null && trained.testAccuracy > 0.82, `accuracy ${trained.testAccuracy}`);
});

test('feature hashing on workers: every index lands in the 2^bits space, the bias stays feature 0', async (t) => {
  const file = sharedDataset(t, 'libsvm-a9a/a9a.t');
  if (!file) return;
  const deployed = await deployDataset({ file, format: 'libsvm', testFraction: 0.1 }, ctx);
  const outcome = await preprocessDataset({ dataset: deployed.url, steps: { hash: { bits: 6 } }, workers: 2, memoryMB: 256 }, ctx);
  const manifest = outcome.manifest!;
  assert.equal(manifest.schema.featureCount, 64);
  assert.equal(manifest.schema.hashBits, 6);
  assert.equal(manifest.counts.trainRows, deployed.manifest.counts.trainRows, 'no re-split: the splits are kept');
  const backend = await localBackend(ctx.stateDir);
  const part = decodePartition(await getObjectBytes(backend.s3, backend.bucket, manifest.partitions.train[0].key)) as SamplePartition;
  assert.ok(part.indices.every((f) => f < 64));
  const sourcePart = decodePartition(await getObjectBytes(backend.s3, backend.bucket, deployed.manifest.partitions.train[0].key)) as SamplePartition;
  assert.equal(sourcePart.indices[0], 0, 'the source has its bias at 0');
  assert.equal(part.indices[0], 0, 'and so does the hashed version');
});
