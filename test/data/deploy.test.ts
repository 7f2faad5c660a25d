import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { after, test } from 'node:test';
import { defaultRowsPerPartition, deployDataset, type DeployProgressEvent } from '../../runtime/data/deploy';
import type { DatasetManifest, PartitionEntry } from '../../runtime/data/manifest';
import { PartitionKind, decodePartition, type Partition } from '../../runtime/data/partition';
import { readAllRows } from '../../runtime/data/read';
import { createS3Client, getObjectBytes, headObject, listKeys } from '../../runtime/storage/s3';
import { readManifest } from '../../runtime/data/catalog';
import { sharedDataset } from '../helpers/shared';
import { tmpDir, withEmbeddedS3, writeFixture, type S3Fixture } from './fixtures';

let fx: S3Fixture;
const dir = tmpDir('deploy');
const ready = withEmbeddedS3(after).then((f) => (fx = f));

async function fetchPartitions(entries: PartitionEntry[]): Promise<Partition[]> {
  return Promise.all(entries.map(async (e) => decodePartition(await getObjectBytes(fx.client, fx.bucket, e.key), e.key, e.crc32)));
}

/** Checks what workers rely on: sorted unique indices inside the feature space, labels < classes. */
function checkSamples(p: Partition, manifest: DatasetManifest): void {
  assert.equal(p.kind, PartitionKind.Samples);
  if (p.kind !== PartitionKind.Samples) return;
  for (let r = 0; r < p.rows; r++) {
    assert.ok(p.labels[r] >= 0 && p.labels[r] < manifest.schema.classes && Number.isInteger(p.labels[r]));
    for (let k = p.rowStart[r]; k < p.rowStart[r + 1]; k++) {
      if (k > p.rowStart[r]) assert.ok(p.indices[k] > p.indices[k - 1], `row ${r}: indices increase`);
      assert.ok(p.indices[k] < manifest.schema.featureCount);
    }
  }
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of listKeys(fx.client, fx.bucket, prefix + '/')) keys.push(key);
  return keys;
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

test('default partition size: ~16 partitions, clamped to 1,000..50,000 rows', () => {
  assert.equal(defaultRowsPerPartition(9000), 1000);
  assert.equal(defaultRowsPerPartition(390120), 24383);
  assert.equal(defaultRowsPerPartition(10_000_000), 50000);
});

test('Criteo 10k, testFraction 0.1: 9,000 train / 1,000 test rows that decode as the reader reads them', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  await ready;
  const events: DeployProgressEvent[] = [];
  const result = await deployDataset({ file, format: 'criteo', testFraction: 0.1, bucket: fx.bucket, prefix: 'criteo10k', client: fx.client, onProgress: (p) => events.push(p) });
  t.diagnostic(`Criteo 10k deploy: ${result.seconds.toFixed(2)} s, ${(result.uploadedBytes / 1e6).toFixed(2)} MB uploaded`);
  const m = result.manifest;
  assert.equal(result.manifestKey, 'criteo10k/manifest.json');
  assert.deepEqual([m.counts.rows, m.counts.trainRows, m.counts.testRows, m.counts.skippedRows], [10000, 9000, 1000, 0]);
  assert.deepEqual(m.split, { method: 'last-fraction', testFraction: 0.1 });
  assert.equal(m.source.sha256, sha256(file));
  assert.equal(m.source.file, 'train_head10000.txt');
  assert.deepEqual(m.schema, { kind: 'samples', format: 'criteo', featureCount: 2 ** 20, hashBits: 20, bias: true, integerTransform: 'log1p', classes: 2, labelNames: ['0', '1'] });
  assert.equal(m.partitions.train.length, 9); // 1,000 rows each (the clamp's floor)
  assert.equal(m.partitions.test.length, 1);
  assert.equal(m.partitions.train[0].key, 'criteo10k/train/part-00000.bin');
  assert.equal(m.partitions.test[0].key, 'criteo10k/test/part-00000.bin');
  assert.deepEqual(await readManifest(fx.client, fx.bucket, 'criteo10k'), m);

  const train = await fetchPartitions(m.partitions.train);
  const test_ = await fetchPartitions(m.partitions.test);
  assert.equal(train.reduce((a, p) => a + p.rows, 0), 9000);
  assert.equal(test_[0].rows, 1000);
  for (const p of [...train, ...test_]) checkSamples(p, m);
  assert.equal(m.partitions.train.reduce((a, e) => a + e.bytes, 0) + m.partitions.test[0].bytes, m.counts.bytes);

  // The stored rows are the reader's rows, in file order: the test set is the last 1,000 lines.
  const rows = await readAllRows(file, 'criteo');
  const check = (p: Partition, r: number, expected: (typeof rows)[number]) => {
    assert.ok(p.kind === PartitionKind.Samples && 'label' in expected);
    assert.equal(p.labels[r], expected.label);
    assert.deepEqual(Array.from(p.indices.subarray(p.rowStart[r], p.rowStart[r + 1])), expected.indices);
    assert.deepEqual(Array.from(p.values.subarray(p.rowStart[r], p.rowStart[r + 1])), expected.values.map(Math.fround));
  };
  check(train[0], 0, rows[0]);
  check(train[8], 999, rows[8999]);
  check(test_[0], 0, rows[9000]);
  check(test_[0], 999, rows[9999]);
  const clicks = rows.reduce((a, r) => a + ('label' in r ? r.label : 0), 0);
  assert.ok(Math.abs(clicks / 10000 - 0.218) < 0.01, `click rate ${clicks / 10000}`);

  // Statistics of the raw integer columns over the training rows, recomputed here from the text.
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, 9000).map((l) => l.split('\t'));
  const i2 = lines.map((f) => f[2]).filter((v) => v !== '').map(Number);
  const stats = Object.fromEntries(m.featureStats.map((s) => [s.name, s]));
  assert.equal(m.featureStats.length, 39);
  assert.equal(stats.I2.count, i2.length);
  assert.equal(stats.I2.missing, 9000 - i2.length);
  assert.equal(stats.I2.min, Math.min(...i2));
  assert.ok(stats.I2.min < 0, 'negative counts are kept raw');
  const mean = i2.reduce((a, b) => a + b, 0) / i2.length;
  assert.ok(Math.abs(stats.I2.mean - mean) < 1e-9 * Math.abs(mean) + 1e-9);
  const variance = i2.reduce((a, b) => a + (b - mean) ** 2, 0) / i2.length;
  assert.ok(Math.abs(stats.I2.variance - variance) / variance < 1e-9);
  assert.equal(stats.C1.kind, 'categorical');
  assert.equal(stats.C22.missing, lines.filter((f) => f[13 + 22] === '').length);

  // Progress: phases in order, throttled to about 10 a second within a phase.
  const phases = events.map((e) => e.phase).filter((p, i, a) => p !== a[i - 1]);
  assert.deepEqual(phases, ['count', 'convert', 'upload', 'manifest']);
  assert.equal(events.at(-1)!.partitionsUploaded, 10);
  assert.equal(events.find((e) => e.phase === 'upload')!.rows, 10000);
  assert.ok(events.length <= 4 + result.seconds * 10 + 4, `${events.length} progress events in ${result.seconds} s`);

  await t.test('a rerun reuses every partition whose checksum matches', async () => {
    const again = await deployDataset({ file, format: 'criteo', testFraction: 0.1, bucket: fx.bucket, prefix: 'criteo10k', client: fx.client });
    t.diagnostic(`Criteo 10k redeploy (all reused): ${again.seconds.toFixed(2)} s`);
    assert.equal(again.reusedPartitions, 10);
    assert.equal(again.uploadedBytes, 0);
    assert.deepEqual(again.manifest.partitions, m.partitions);
  });

  await t.test('a different hashBits changes the partitions: nothing is reused', async () => {
    const other = await deployDataset({ file, format: 'criteo', testFraction: 0.1, hashBits: 18, bucket: fx.bucket, prefix: 'criteo10k', client: fx.client });
    assert.equal(other.reusedPartitions, 0);
    assert.equal(other.manifest.schema.featureCount, 2 ** 18);
    for (const p of await fetchPartitions(other.manifest.partitions.test)) checkSamples(p, other.manifest);
  });
});

test('a9a + a9a.t: labels 0/1, feature count from the data (124), separate test file', async (t) => {
  const file = sharedDataset(t, 'libsvm-a9a/a9a');
  const testFile = sharedDataset(t, 'libsvm-a9a/a9a.t');
  if (!file || !testFile) return;
  await ready;
  const result = await deployDataset({ file, testFile, format: 'libsvm', bucket: fx.bucket, prefix: 'a9a', client: fx.client });
  t.diagnostic(`a9a + a9a.t deploy: ${result.seconds.toFixed(2)} s`);
  const m = result.manifest;
  assert.deepEqual([m.counts.trainRows, m.counts.testRows], [32561, 16281]);
  assert.deepEqual(m.split, { method: 'test-file' });
  assert.equal(m.source.testFile, 'a9a.t');
  assert.equal(m.source.testSha256, sha256(testFile));
  assert.equal(m.schema.featureCount, 124);
  assert.equal(m.schema.hashBits, undefined);
  assert.deepEqual(m.schema.labelNames, ['-1', '+1']);
  assert.equal(m.partitions.train.length, 16); // ceil(32561 / 16) = 2036 rows a partition
  const trainParts = await fetchPartitions(m.partitions.train);
  const testParts = await fetchPartitions(m.partitions.test);
  assert.equal(testParts.reduce((a, p) => a + p.rows, 0), 16281);
  for (const p of [...trainParts, ...testParts]) checkSamples(p, m);
  // Line 1 of a9a: "-1 3:1 11:1 14:1 19:1 39:1 42:1 55:1 64:1 67:1 73:1 75:1 76:1 80:1 83:1 "
  const p0 = trainParts[0];
  assert.ok(p0.kind === PartitionKind.Samples);
  assert.equal(p0.labels[0], 0);
  assert.deepEqual(Array.from(p0.indices.subarray(0, p0.rowStart[1])), [0, 3, 11, 14, 19, 39, 42, 55, 64, 67, 73, 75, 76, 80, 83]);
  const positives = trainParts.reduce((a, p) => a + (p.kind === PartitionKind.Samples ? p.labels.reduce((x, y) => x + y, 0) : 0), 0);
  assert.equal(positives, 7841); // a9a: 7,841 of 32,561 earn >50K
  assert.equal(m.featureStats.find((s) => s.name === '123')?.count !== undefined, true);
});

test('libsvm: a test index beyond the training dimension widens the feature count', async () => {
  await ready;
  const file = writeFixture(dir, 'small.svm', ['+1 1:1 5:1', '-1 2:1']);
  const testFile = writeFixture(dir, 'small.svm.t', ['+1 9:1']);
  const { manifest } = await deployDataset({ file, testFile, format: 'libsvm', bucket: fx.bucket, prefix: 'wide', client: fx.client });
  assert.equal(manifest.schema.featureCount, 10);
  const [p] = await fetchPartitions(manifest.partitions.test);
  assert.ok(p.kind === PartitionKind.Samples);
  assert.deepEqual(Array.from(p.indices), [0, 9]);
  // Statistics describe the training rows only.
  assert.deepEqual(manifest.featureStats.map((s) => [s.name, s.count, s.missing]), [['1', 1, 1], ['2', 1, 1], ['5', 1, 1]]);
});

test('MovieLens u1.base + u1.test: ratings partitions', async (t) => {
  const file = sharedDataset(t, 'movielens-100k/u1.base');
  const testFile = sharedDataset(t, 'movielens-100k/u1.test');
  if (!file || !testFile) return;
  await ready;
  const { manifest: m, seconds } = await deployDataset({ file, testFile, format: 'ratings', bucket: fx.bucket, prefix: 'ml100k-u1', client: fx.client });
  t.diagnostic(`MovieLens u1 deploy: ${seconds.toFixed(2)} s`);
  assert.deepEqual([m.counts.trainRows, m.counts.testRows], [80000, 20000]);
  assert.deepEqual([m.schema.kind, m.schema.maxUser, m.schema.maxItem, m.schema.ratingMin, m.schema.ratingMax], ['ratings', 943, 1682, 1, 5]);
  const parts = await fetchPartitions([...m.partitions.train, ...m.partitions.test]);
  assert.equal(parts.reduce((a, p) => a + p.rows, 0), 100000);
  const first = parts[0];
  assert.ok(first.kind === PartitionKind.Ratings);
  // u1.base starts "1\t1\t5\t874965758"
  assert.deepEqual([first.users[0], first.items[0], first.ratings[0]], [1, 1, 5]);
  const ratingStats = m.featureStats.find((s) => s.name === 'rating')!;
  assert.equal(ratingStats.count, 80000);
});

test('MovieLens 1M part (gzip, "::"): last 10 % held out', async (t) => {
  const file = sharedDataset(t, 'movielens-1m-partial/ratings_users1-2999.dat.gz');
  if (!file) return;
  await ready;
  const { manifest: m, seconds } = await deployDataset({ file, format: 'ratings', testFraction: 0.1, bucket: fx.bucket, prefix: 'ml1m-part', client: fx.client });
  t.diagnostic(`MovieLens 1M part (487,650 ratings, gzip) deploy: ${seconds.toFixed(2)} s`);
  assert.deepEqual([m.counts.rows, m.counts.trainRows, m.counts.testRows], [487650, 438885, 48765]);
  assert.equal(m.schema.maxUser, 2999);
  const [first] = await fetchPartitions(m.partitions.train.slice(0, 1));
  assert.ok(first.kind === PartitionKind.Ratings);
  assert.deepEqual([first.users[0], first.items[0], first.ratings[0]], [1, 1193, 5]); // "1::1193::5::978300760"
  const [lastTest] = await fetchPartitions(m.partitions.test.slice(-1));
  assert.ok(lastTest.kind === PartitionKind.Ratings);
  assert.equal(lastTest.users[lastTest.rows - 1], 2999);
});

test('bad rows: stop with file:line before anything is uploaded, or skip and list them', async () => {
  await ready;
  const good = (label: string, i: number) => [label, ...Array.from({ length: 13 }, () => String(i)), ...Array.from({ length: 26 }, (_, c) => (c * 1000 + i).toString(16))].join('\t');
  const lines = Array.from({ length: 3000 }, (_, i) => good(String(i % 2), i));
  lines[1234] = good('3', 0);
  lines[2500] = 'not\ta\trow';
  const file = writeFixture(dir, 'with-bad.tsv', lines);
  await assert.rejects(deployDataset({ file, format: 'criteo', bucket: fx.bucket, prefix: 'bad', client: fx.client }), (err: Error) => {
    assert.equal(err.message, `${file}:1235: label "3" must be 0 or 1`);
    return true;
  });
  assert.deepEqual(await keysUnder('bad'), [], 'nothing uploaded, no manifest');

  const { manifest } = await deployDataset({ file, format: 'criteo', skipBad: true, testFraction: 0.5, bucket: fx.bucket, prefix: 'bad', client: fx.client });
  assert.deepEqual([manifest.counts.skippedRows, manifest.counts.trainRows, manifest.counts.testRows], [2, 1499, 1499]);
  assert.deepEqual(manifest.skipped, ['with-bad.tsv:1235: label "3" must be 0 or 1', 'with-bad.tsv:2501: expected 40 tab-separated fields (label, 13 integer, 26 categorical), found 3']);
});

test('an empty file, a header-only CSV and bad options are errors', async () => {
  await ready;
  const empty = writeFixture(dir, 'empty.svm', '');
  await assert.rejects(deployDataset({ file: empty, format: 'libsvm', bucket: fx.bucket, prefix: 'e', client: fx.client }), { message: `${empty}: the file is empty` });
  const headerOnly = writeFixture(dir, 'header.csv', ['a,label']);
  await assert.rejects(deployDataset({ file: headerOnly, format: 'csv', bucket: fx.bucket, prefix: 'e', client: fx.client }), { message: `${headerOnly}: the file holds no rows` });
  const one = writeFixture(dir, 'one.svm', ['+1 1:1']);
  await assert.rejects(deployDataset({ file: one, format: 'libsvm', testFraction: 1, bucket: fx.bucket, prefix: 'e', client: fx.client }), /testFraction must be at least 0 and below 1/);
  await assert.rejects(deployDataset({ file: one, format: 'libsvm', testFraction: 0.5, testFile: one, bucket: fx.bucket, prefix: 'e', client: fx.client }), /either testFraction or testFile/);
  await assert.rejects(deployDataset({ file: `${dir}/absent.svm`, format: 'libsvm', bucket: fx.bucket, prefix: 'e', client: fx.client }), /absent\.svm: no such file/);
  assert.deepEqual(await keysUnder('e'), []);
});

test('CSV deploy: column statistics and schema', async () => {
  await ready;
  const file = writeFixture(dir, 'people.csv', ['age,city,income,label', '20,Oslo,100,1', '30,,200,0', ',Bergen,600,1', '50,Oslo,,0']);
  const { manifest: m } = await deployDataset({ file, format: 'csv', hashBits: 10, bucket: fx.bucket, prefix: 'people', client: fx.client });
  assert.equal(m.schema.featureCount, 1 + 3 + 1024);
  assert.equal(m.schema.labelColumn, 'label');
  const s = Object.fromEntries(m.featureStats.map((x) => [x.name, x]));
  assert.deepEqual(s.age, { name: 'age', kind: 'numeric', count: 3, missing: 1, min: 20, max: 50, mean: 100 / 3, variance: ((20 - 100 / 3) ** 2 + (30 - 100 / 3) ** 2 + (50 - 100 / 3) ** 2) / 3 });
  assert.deepEqual([s.city.kind, s.city.count, s.city.missing], ['categorical', 3, 1]);
  assert.equal(s.income.mean, 300);
  const [p] = await fetchPartitions(m.partitions.train);
  checkSamples(p, m);
});

/** Synthetic Criteo-like rows (~290 bytes a row in a partition), enough for a multipart upload (over 16 MiB). */
function syntheticCriteo(rows: number): string {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: string[] = [];
  for (let i = 0; i < rows; i++) {
    const ints = Array.from({ length: 13 }, () => (rand() < 0.2 ? '' : String(Math.floor(rand() * 100))));
    const cats = Array.from({ length: 26 }, () => (rand() < 0.1 ? '' : Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0')));
    out.push([rand() < 0.25 ? '1' : '0', ...ints, ...cats].join('\t'));
  }
  return out.join('\n') + '\n';
}

test('abort mid-upload: the multipart upload is aborted, no manifest is written and an older one is removed', async () => {
  await ready;
  const file = writeFixture(dir, 'big.tsv', syntheticCriteo(70_000));
  const prefix = 'aborted';
  // A finished small deploy first, so there is an old manifest to remove.
  const small = writeFixture(dir, 'small.tsv', syntheticCriteo(100));
  const old = await deployDataset({ file: small, format: 'criteo', bucket: fx.bucket, prefix, client: fx.client });
  assert.ok(await readManifest(fx.client, fx.bucket, prefix));

  // Abort exactly when the first part of a multipart upload is being sent, and watch what follows.
  const controller = new AbortController();
  const client = createS3Client(fx.s3.target);
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName as string);
      if (context.commandName === 'UploadPartCommand' && !controller.signal.aborted) controller.abort();
      return next(args);
    },
    { step: 'initialize' },
  );
  const started = Date.now();
  await assert.rejects(
    deployDataset({
      file,
      format: 'criteo',
      rowsPerPartition: 68_000, // a ~19 MB partition: a multipart upload (16 MiB parts)
      bucket: fx.bucket,
      prefix,
      client,
      signal: controller.signal,
    }),
    (err: Error) => err.name === 'AbortError',
  );
  assert.ok(Date.now() - started < 30_000);
  assert.ok(sent.includes('CreateMultipartUploadCommand'));
  assert.ok(sent.includes('AbortMultipartUploadCommand'), `the multipart upload was aborted on S3 (sent: ${[...new Set(sent)].join(', ')})`);
  assert.ok(!sent.includes('CompleteMultipartUploadCommand'));
  assert.ok(!sent.includes('PutObjectCommand'), 'no manifest was written');
  assert.equal(await readManifest(fx.client, fx.bucket, prefix), undefined, 'no manifest after an abort');
  // The partition being uploaded was not replaced: the small deploy's object is still there.
  const head = await headObject(fx.client, fx.bucket, `${prefix}/train/part-00000.bin`);
  assert.equal(head?.ContentLength, old.manifest.partitions.train[0].bytes);
  assert.ok(!(await keysUnder(prefix)).includes(`${prefix}/train/part-00001.bin`), 'stopped before the second partition');
  client.destroy();

  // Aborting before the start rejects at once.
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(deployDataset({ file, format: 'criteo', bucket: fx.bucket, prefix, client: fx.client, signal: pre.signal }), { name: 'AbortError' });
});

/** [key, first request's start, last request's end] of each partition upload a client sent. */
function uploadSpans(client: ReturnType<typeof createS3Client>): Map<string, [number, number]> {
  const spans = new Map<string, [number, number]>();
  client.middlewareStack.add(
    (next) => async (args) => {
      const key = (args.input as { Key?: string }).Key ?? '';
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        if (key.endsWith('.bin')) {
          const span = spans.get(key);
          spans.set(key, [Math.min(span?.[0] ?? started, started), Math.max(span?.[1] ?? 0, performance.now())]);
        }
      }
    },
    { step: 'initialize' },
  );
  return spans;
}

test('partitions of ~11 MB (near the size cap): one upload at a time, so the converter holds at most ~20 MB of them', async () => {
  await ready;
  const file = writeFixture(dir, 'capped.tsv', syntheticCriteo(120_000));
  const client = createS3Client(fx.s3.target);
  after(() => client.destroy());
  const spans = uploadSpans(client);
  const result = await deployDataset({ file, format: 'criteo', rowsPerPartition: 40_000, bucket: fx.bucket, prefix: 'capped', client });
  const sizes = new Map(result.manifest.partitions.train.map((p) => [p.key, p.bytes]));
  assert.equal(sizes.size, 3);
  assert.ok([...sizes.values()].every((b) => b > 10.5 * 2 ** 20), `partition bytes ${[...sizes.values()]}`);
  // Bytes of the partitions whose uploads overlap, at each upload's start.
  const intervals = [...spans].filter(([key]) => sizes.has(key));
  assert.equal(intervals.length, 3);
  const held = intervals.map(([, [start]]) => intervals.filter(([, [s, e]]) => s <= start && e > start).reduce((sum, [key]) => sum + sizes.get(key)!, 0));
  assert.ok(Math.max(...held) <= 20 * 2 ** 20, `bytes in flight at each upload's start: ${held.map((b) => (b / 2 ** 20).toFixed(1)).join(', ')} MB`);
});

test('partitions are encoded into a few reused buffers, each upload intact; a HEAD only for a key already there', async () => {
  await ready;
  const file = writeFixture(dir, 'reuse.tsv', syntheticCriteo(12_000));
  const client = createS3Client(fx.s3.target);
  after(() => client.destroy());
  const buffers = new Set<ArrayBufferLike>();
  const uploaded = new Map<string, string>(); // key -> sha256 of the body as sent
  const heads: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string; Body?: unknown };
      if (context.commandName === 'HeadObjectCommand') heads.push(input.Key ?? '');
      if (context.commandName === 'PutObjectCommand' && input.Key?.endsWith('.bin') && input.Body instanceof Uint8Array) {
        buffers.add(input.Body.buffer);
        // Hashed as the request leaves: a buffer handed out again before its upload ended would change later.
        uploaded.set(input.Key, createHash('sha256').update(input.Body).digest('hex'));
      }
      return next(args);
    },
    { step: 'initialize' },
  );
  const first = await deployDataset({ file, format: 'criteo', testFraction: 0.1, rowsPerPartition: 1_000, bucket: fx.bucket, prefix: 'reuse', client });
  const entries = [...first.manifest.partitions.train, ...first.manifest.partitions.test];
  assert.equal(entries.length, 13); // 10,800 train rows: 11 partitions; 1,200 test rows: 2
  assert.ok(buffers.size >= 1 && buffers.size <= 3, `${entries.length} partitions in ${buffers.size} buffers`);
  for (const e of entries) {
    const stored = await getObjectBytes(fx.client, fx.bucket, e.key);
    assert.equal(createHash('sha256').update(stored).digest('hex'), uploaded.get(e.key), `${e.key} as sent and as stored`);
    checkSamples(decodePartition(stored, e.key, e.crc32), first.manifest);
  }
  assert.deepEqual(heads, [], 'a first deploy sends no HEAD');

  const again = await deployDataset({ file, format: 'criteo', testFraction: 0.1, rowsPerPartition: 1_000, bucket: fx.bucket, prefix: 'reuse', client });
  assert.equal(again.reusedPartitions, 13);
  assert.deepEqual(heads.sort(), entries.map((e) => e.key).sort(), 'a rerun checks each listed partition once');
});
