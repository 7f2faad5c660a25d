// The S3 proxy in front of the real embedded S3, driven by the AWS SDK: first-byte latency and
// per-connection bandwidth measured, 503 SlowDown in S3's shape, and the SDK's own retries riding it out.
import assert from 'node:assert/strict';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { performance } from 'node:perf_hooks';
import { test, after } from 'node:test';
import { startS3Proxy, requestPrefix, PrefixRateLimiter, type S3ProxyFigures } from '../../runtime/network/s3-proxy';
import { AWS_NETWORK } from '../../runtime/network/profile';
import { createS3Client, getObjectBytes, putObjectBytes } from '../../runtime/storage/s3';
import { withEmbeddedS3 } from '../data/fixtures';

const fixture = withEmbeddedS3(after, 'net-test');

const FAST: S3ProxyFigures = { s3FirstByteMs: 0, s3BytesPerSecond: 1e9, s3GetsPerSecondPerPrefix: 1e6, s3PutsPerSecondPerPrefix: 1e6 };

async function proxyClient(figures: S3ProxyFigures, maxAttempts?: number) {
  const { s3 } = await fixture;
  const proxy = await startS3Proxy({ upstream: s3.endpoint, figures });
  const client = maxAttempts === undefined ? createS3Client({ ...s3.target, endpoint: proxy.endpoint }) : new S3Client({ ...s3.target, endpoint: proxy.endpoint, forcePathStyle: true, maxAttempts });
  return { proxy, client, close: async () => (client.destroy(), await proxy.close()) };
}

async function median(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)];
}

test('prefixes and the token bucket behave as documented', () => {
  assert.equal(requestPrefix('/bucket/run/1/grad/3?x-id=GetObject'), '/bucket/run/1/grad/');
  assert.equal(requestPrefix('/bucket?list-type=2&prefix=a'), '/bucket');
  assert.equal(requestPrefix('/bucket/top'), '/bucket/');
  const limiter = new PrefixRateLimiter(10, 2);
  let granted = 0;
  for (let i = 0; i < 15; i++) if (limiter.take('/b/p/', false, 1000)) granted++;
  assert.equal(granted, 10, 'a burst of one second of GETs');
  assert.equal(limiter.take('/b/p/', false, 1000), false);
  assert.equal(limiter.take('/b/p/', false, 1100), true, '0.1 s later one more token');
  assert.equal(limiter.take('/b/q/', false, 1000), true, 'another prefix has its own budget');
  assert.equal(limiter.take('/b/p/', true, 1000) && limiter.take('/b/p/', true, 1000), true);
  assert.equal(limiter.take('/b/p/', true, 1000), false, 'writes have their own, lower budget');
});

test('every S3 response comes the first-byte latency later, and objects pass through intact', async () => {
  const { client: direct, bucket } = await fixture;
  const body = Buffer.from('a small gradient object');
  await putObjectBytes(direct, bucket, 'lat/small', body);
  const { client, close } = await proxyClient({ ...FAST, s3FirstByteMs: 40 });
  try {
    await getObjectBytes(client, bucket, 'lat/small'); // connection set up
    const base = await median(9, () => getObjectBytes(direct, bucket, 'lat/small'));
    const proxied = await median(9, () => getObjectBytes(client, bucket, 'lat/small'));
    console.log(`# small GET: direct ${base.toFixed(1)} ms, with 40 ms first byte ${proxied.toFixed(1)} ms`);
    assert.ok(proxied >= 40, `${proxied} ms`);
    assert.ok(proxied < 40 + base + 20, `40 ms first byte measured ${proxied} ms (direct ${base} ms)`);
    assert.deepEqual(Buffer.from(await getObjectBytes(client, bucket, 'lat/small')), body);
    const putTime = await median(5, () => putObjectBytes(client, bucket, 'lat/put', body));
    assert.ok(putTime >= 40, `a PUT waits for its response too (${putTime} ms)`);
    assert.deepEqual(Buffer.from(await getObjectBytes(direct, bucket, 'lat/put')), body, 'a PUT through the proxy is stored unchanged (its signature verified upstream)');
  } finally {
    await close();
  }
});

test('a connection carries the configured bandwidth, up and down', async () => {
  const { client: direct, bucket } = await fixture;
  const bytes = 3_000_000;
  const body = Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 7) % 251));
  const { client, close } = await proxyClient({ ...FAST, s3BytesPerSecond: 6e6 });
  try {
    // The server's own time (s3rver hashes and writes to disk) comes on top of the link's.
    let start = performance.now();
    await putObjectBytes(direct, bucket, 'bw/direct', body);
    const directUp = (performance.now() - start) / 1000;
    start = performance.now();
    await getObjectBytes(direct, bucket, 'bw/direct');
    const directDown = (performance.now() - start) / 1000;
    start = performance.now();
    await putObjectBytes(client, bucket, 'bw/up', body);
    const up = (performance.now() - start) / 1000;
    start = performance.now();
    const got = Buffer.from(await getObjectBytes(client, bucket, 'bw/up'));
    const down = (performance.now() - start) / 1000;
    console.log(`# 3 MB at 6 MB/s: PUT ${up.toFixed(3)} s (direct ${directUp.toFixed(3)} s), GET ${down.toFixed(3)} s (direct ${directDown.toFixed(3)} s)`);
    assert.deepEqual(got, body);
    assert.deepEqual(Buffer.from(await getObjectBytes(direct, bucket, 'bw/up')), body);
    for (const [name, s, base] of [['PUT', up, directUp], ['GET', down, directDown]] as const) {
      assert.ok(s >= 0.5 * 0.98, `${name} of 3 MB at 6 MB/s cannot take less than 0.5 s (${s})`);
      assert.ok(s < 0.5 * 1.25 + base + 0.1, `${name} of 3 MB at 6 MB/s took ${s} s (direct ${base} s)`);
    }
  } finally {
    await close();
  }
});

test('past the per-prefix rate S3 answers 503 SlowDown in its XML shape; another prefix is unaffected', async () => {
  const { client: direct, bucket } = await fixture;
  await putObjectBytes(direct, bucket, 'hot/a', 'x');
  await putObjectBytes(direct, bucket, 'cold/a', 'y');
  const { proxy, client, close } = await proxyClient({ ...FAST, s3GetsPerSecondPerPrefix: 20 }, 1);
  try {
    const start = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => client.send(new GetObjectCommand({ Bucket: bucket, Key: 'hot/a' }))));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as S3ServiceException] : []));
    const seconds = (performance.now() - start) / 1000;
    console.log(`# 60 GETs at once on a 20/s prefix: ${ok} served, ${errors.length} SlowDown in ${seconds.toFixed(3)} s`);
    // A burst of one second's worth, then the rate: never more than that.
    assert.ok(ok >= 20 && ok <= 20 + Math.ceil(20 * seconds), `${ok} served in ${seconds} s`);
    assert.ok(errors.length > 0);
    for (const error of errors) {
      assert.equal(error.name, 'SlowDown', String(error));
      assert.equal(error.$metadata.httpStatusCode, 503);
      assert.match(error.message, /reduce your request rate/);
    }
    assert.equal(proxy.stats().slowDowns, errors.length);
    assert.equal(Buffer.from(await getObjectBytes(client, bucket, 'cold/a')).toString(), 'y', 'another prefix has its own budget');

    const raw = await fetch(`${proxy.endpoint}/${bucket}/hot/a`);
    if (raw.status === 503) {
      const xml = await raw.text();
      assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>SlowDown<\/Code><Message>[^<]+<\/Message><RequestId>[0-9A-F]+<\/RequestId><HostId>[^<]+<\/HostId><\/Error>$/);
      assert.equal(raw.headers.get('content-type'), 'application/xml');
    } else await raw.arrayBuffer();
  } finally {
    await close();
  }
});

test("the AWS SDK's standard retries ride out SlowDown: every request eventually succeeds", async () => {
  const { client: direct, bucket } = await fixture;
  await putObjectBytes(direct, bucket, 'retry/a', 'z');
  const { proxy, client, close } = await proxyClient({ ...FAST, s3GetsPerSecondPerPrefix: 20 }, 10);
  try {
    const outputs = await Promise.all(Array.from({ length: 40 }, () => client.send(new GetObjectCommand({ Bucket: bucket, Key: 'retry/a' }))));
    const retried = outputs.filter((o) => (o.$metadata.attempts ?? 1) > 1).length;
    console.log(`# 40 GETs at once on a 20/s prefix with SDK retries: all served, ${retried} after a retry, ${proxy.stats().slowDowns} SlowDown answers`);
    for (const output of outputs) assert.equal(await output.Body!.transformToString(), 'z');
    assert.ok(proxy.stats().slowDowns > 0 && retried > 0, 'some requests were throttled and retried');
  } finally {
    await close();
  }
});

test('the aws profile figures are the documented ones', () => {
  assert.deepEqual({ ...AWS_NETWORK }, {
    s3FirstByteMs: 30,
    s3BytesPerSecond: 75e6,
    s3GetsPerSecondPerPrefix: 5500,
    s3PutsPerSecondPerPrefix: 3500,
    tcpRttMs: 0.5,
    tcpBytesPerSecond: 75e6,
  });
});
