// LambdaML's AllReduce and ScatterReduce with N simulated workers in this process, exchanging real
// objects through the embedded S3 and a real redis-server: every worker gets exactly the mean.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, test, type TestContext } from 'node:test';
import { StepTimeoutError, type Channel } from '../../runtime/channels/channel';
import { Collective, sliceBounds, type SyncScheme } from '../../runtime/channels/collectives';
import { RedisChannel } from '../../runtime/channels/redis-channel';
import { S3Channel } from '../../runtime/channels/s3-channel';
import { startS3Proxy } from '../../runtime/network/s3-proxy';
import { AWS_NETWORK } from '../../runtime/network/profile';
import { connectRedis } from '../../runtime/redis/client';
import { findRedisServer, startLocalRedis } from '../../runtime/redis/server';
import { createS3Client, listKeys } from '../../runtime/storage/s3';
import { tmpDir, withEmbeddedS3 } from '../data/fixtures';

const s3 = withEmbeddedS3(after, 'sync-test');

/** A deterministic pseudo-random vector (xorshift), values of both signs and many magnitudes. */
function vector(seed: number, length: number): Float32Array {
  let x = seed * 2654435761 + 1;
  return Float32Array.from({ length }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) / 2 ** 32 - 0.5) * 10 ** ((x >>> 0) % 7 - 3);
  });
}

/** The expected mean, written independently of the code under test: sum in float64 in rank order, one rounding. */
function expectedMean(vectors: Float32Array[]): Float32Array {
  return Float32Array.from(vectors[0], (_, i) => vectors.reduce((sum, v) => sum + v[i], 0) / vectors.length);
}

async function redisChannel(t: TestContext): Promise<Channel | undefined> {
  if (!findRedisServer()) {
    t.skip('redis-server is not installed (Debian/Ubuntu: apt-get install redis-server; .ci/run installs it)');
    return undefined;
  }
  const redis = await startLocalRedis({ dir: path.join(tmpDir('sync-redis'), 'redis') });
  const client = await connectRedis(redis.url);
  t.after(async () => {
    client.destroy();
    await redis.stop();
  });
  return new RedisChannel({ client });
}

async function runSteps(channel: Channel, prefix: string, scheme: SyncScheme, workers: number, steps: number, length: number) {
  const collectives = Array.from({ length: workers }, (_, rank) => new Collective({ channel, prefix, rank, workers, scheme, stepTimeoutMs: 20_000 }));
  for (let step = 0; step < steps; step++) {
    const inputs = collectives.map((_, rank) => vector(1000 * step + rank + 1, length));
    const results = await Promise.all(collectives.map((c, rank) => c.reduce(inputs[rank])));
    const expected = expectedMean(inputs);
    for (const [rank, result] of results.entries()) assert.deepEqual(result, expected, `step ${step}, ${scheme}: worker ${rank} got exactly the mean`);
  }
}

for (const scheme of ['all-reduce', 'scatter-reduce'] as const) {
  test(`${scheme} through the embedded S3: 4 workers, 3 steps, each gets exactly the mean; only the last step's result is left`, async () => {
    const { client, bucket } = await s3;
    const prefix = `runs/${scheme}/sync`;
    await runSteps(new S3Channel({ client, bucket, pollMs: 5 }), prefix, scheme, 4, 3, 1003);
    const left: string[] = [];
    for await (const { key } of listKeys(client, bucket, `${prefix}/`)) left.push(key);
    const merged = scheme === 'all-reduce' ? [`${prefix}/2/merged/0`] : [0, 1, 2, 3].map((j) => `${prefix}/2/merged/${j}`);
    assert.deepEqual(left.sort(), merged.sort());
  });

  test(`${scheme} through a real Redis: 4 workers, 3 steps, each gets exactly the mean`, async (t) => {
    const channel = await redisChannel(t);
    if (!channel) return;
    await runSteps(channel, `runs/${scheme}/sync`, scheme, 4, 3, 1003);
    // 7 workers and a vector shorter than that: some slices are empty, the result is still exact.
    await runSteps(channel, `runs/${scheme}-7/sync`, scheme, 7, 2, 5);
  });
}

test('the two schemes give bit-identical results, and a single worker gets its own vector back', async (t) => {
  const channel = await redisChannel(t);
  if (!channel) return;
  const inputs = [0, 1, 2].map((r) => vector(r + 77, 64));
  const [a, b] = await Promise.all(
    (['all-reduce', 'scatter-reduce'] as const).map((scheme) =>
      Promise.all(inputs.map((v, rank) => new Collective({ channel, prefix: `same/${scheme}`, rank, workers: 3, scheme, stepTimeoutMs: 10_000 }).reduce(v))),
    ),
  );
  assert.deepEqual(a[0], b[0]);
  const alone = vector(5, 10);
  assert.deepEqual(await new Collective({ channel, prefix: 'alone', rank: 0, workers: 1, scheme: 'scatter-reduce', stepTimeoutMs: 1000 }).reduce(alone), alone);
  assert.deepEqual(sliceBounds(10, 4, 0), [0, 2]);
  assert.deepEqual(sliceBounds(10, 4, 3), [7, 10]);
});

test('a worker that never arrives fails the step after the timeout, naming it, instead of hanging', async () => {
  const { client, bucket } = await s3;
  const channel = new S3Channel({ client, bucket, pollMs: 10 });
  for (const scheme of ['all-reduce', 'scatter-reduce'] as const) {
    const collectives = [0, 1, 2].map((rank) => new Collective({ channel, prefix: `timeout/${scheme}`, rank, workers: 4, scheme, stepTimeoutMs: 400 }));
    const start = performance.now();
    const results = await Promise.allSettled(collectives.map((c) => c.reduce(vector(3, 40))));
    const seconds = (performance.now() - start) / 1000;
    assert.ok(seconds >= 0.4 && seconds < 5, `${seconds} s`);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      const error = (result as PromiseRejectedResult).reason;
      assert.ok(error instanceof StepTimeoutError, String(error));
      assert.match(error.message, /^step 0: .*(worker 3|worker 0)/);
    }
    assert.match(String((results[0] as PromiseRejectedResult).reason.message), /worker 3's (update|slice 0)/, 'the reducer names the missing worker');
  }
});

test('a step through S3 with the aws network costs its first-byte latencies (figures printed)', async () => {
  const { s3: server, bucket } = await s3;
  const proxy = await startS3Proxy({ upstream: server.endpoint, figures: AWS_NETWORK });
  const client = createS3Client({ ...server.target, endpoint: proxy.endpoint });
  try {
    const channel = new S3Channel({ client, bucket, pollMs: 10 });
    for (const scheme of ['all-reduce', 'scatter-reduce'] as const) {
      const start = performance.now();
      await runSteps(channel, `aws/${scheme}`, scheme, 4, 3, 100_000);
      const perStep = (performance.now() - start) / 3;
      console.log(`# ${scheme}, 4 workers, 400 KB vectors, aws network: ${perStep.toFixed(0)} ms per step (${proxy.stats().requests} requests so far)`);
      // At least: a PUT, then a GET of the merged object, each 30 ms to first byte; the reducer in between.
      assert.ok(perStep >= 3 * AWS_NETWORK.s3FirstByteMs, `${perStep} ms per step`);
    }
  } finally {
    client.destroy();
    await proxy.close();
  }
});
