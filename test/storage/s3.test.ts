import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  bucketNameProblem,
  ensureBucket,
  getObjectBytes,
  headObject,
  listKeys,
  objectExists,
  parseS3Url,
  putObjectBytes,
} from '../../runtime/storage/s3';
import { listDatasets, readManifest } from '../../runtime/data/catalog';
import { withEmbeddedS3 } from '../data/fixtures';

test('parseS3Url splits bucket and prefix and rejects bad URLs clearly', () => {
  assert.deepEqual(parseS3Url('s3://my-bucket/datasets/criteo/'), { bucket: 'my-bucket', prefix: 'datasets/criteo' });
  assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
  assert.deepEqual(parseS3Url('s3://my-bucket/'), { bucket: 'my-bucket', prefix: '' });
  assert.throws(() => parseS3Url('https://my-bucket/x'), /not an S3 URL: "https:\/\/my-bucket\/x" \(expected s3:\/\/bucket\/prefix\)/);
  assert.throws(() => parseS3Url('s3:///x'), /has no bucket name/);
  assert.throws(() => parseS3Url('s3://My_Bucket/x'), /invalid bucket name "My_Bucket": it may contain only lowercase letters/);
  assert.throws(() => parseS3Url('s3://b-1/a//b'), /empty path segment/);
});

test('bucket names follow the S3 rules', () => {
  for (const good of ['abc', 'cirrus-datasets', 'a.b-c.123', 'x'.repeat(63)]) assert.equal(bucketNameProblem(good), undefined, good);
  for (const bad of ['ab', 'x'.repeat(64), 'Upper', 'under_score', '-start', 'end-', 'a..b', '192.168.1.1', 'xn--abc', 'foo-s3alias']) {
    assert.ok(bucketNameProblem(bad), bad);
  }
});

test('against the embedded S3: buckets, put/get/head, manifests, listing past 1,000 keys', async (t) => {
  const { client, bucket, s3 } = await withEmbeddedS3(after);
  assert.equal(s3.legacyProvider, true, 'started with --openssl-legacy-provider on Node');

  await t.test('ensureBucket is idempotent and validates the name', async () => {
    await ensureBucket(client, 'second-bucket');
    await ensureBucket(client, 'second-bucket');
    await assert.rejects(ensureBucket(client, 'Bad_Name'), /invalid S3 bucket name "Bad_Name"/);
  });

  await t.test('listDatasets of a bucket that does not exist is empty', async () => {
    assert.deepEqual(await listDatasets(client, 'no-such-bucket-here'), []);
  });

  await t.test('put, get, head and metadata round-trip', async () => {
    const body = new Uint8Array([0, 1, 2, 250, 255]);
    await putObjectBytes(client, bucket, 'dir/bytes.bin', body, { crc32: '12345' });
    assert.deepEqual(await getObjectBytes(client, bucket, 'dir/bytes.bin'), body);
    const head = await headObject(client, bucket, 'dir/bytes.bin');
    assert.equal(head?.ContentLength, 5);
    assert.equal(head?.Metadata?.crc32, '12345');
    assert.equal(await objectExists(client, bucket, 'dir/missing.bin'), false);
    assert.equal(await headObject(client, bucket, 'dir/missing.bin'), undefined);
  });

  await t.test('readManifest: undefined without one, an error for a broken one', async () => {
    assert.equal(await readManifest(client, bucket, 'nothing-here'), undefined);
    await putObjectBytes(client, bucket, 'broken/manifest.json', '{ not json');
    await assert.rejects(readManifest(client, bucket, 'broken'), /s3:\/\/cirrus-test\/broken\/manifest\.json: not valid JSON/);
  });

  await t.test('listing past 1,000 keys pages through continuation tokens', async () => {
    // 1,050 keys sorted before the dataset, so its manifest is on the second page.
    const keys = Array.from({ length: 1050 }, (_, i) => `a-many/key-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }))));
    }
    const manifest = { manifestVersion: 1, createdAt: 'now', counts: { rows: 1 } };
    await putObjectBytes(client, bucket, 'z-last/data/manifest.json', JSON.stringify(manifest));
    const firstPage = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a-many/' }));
    assert.equal(firstPage.KeyCount, 1000);
    assert.equal(firstPage.IsTruncated, true);
    const listed: string[] = [];
    for await (const { key } of listKeys(client, bucket, 'a-many/')) listed.push(key);
    assert.deepEqual(listed, keys);
    const datasets = await listDatasets(client, bucket);
    // The broken manifest above is left out; the one past the first 1,000 keys is found.
    assert.deepEqual(datasets.map((d) => d.url), ['s3://cirrus-test/z-last/data']);
    assert.equal(datasets[0].manifest.manifestVersion, 1);
  });
});
