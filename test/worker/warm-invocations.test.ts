// A worker environment's state across invocations, as a warm Lambda environment keeps it (the handler's
// module state, in this process): the parameter-server connection is kept and said HELLO on again by the
// next invocation of the same run, with a fresh one when the server restarted or the run changed; the
// partition read with the signed GET (no SDK) is held and not read again. Real embedded S3, real server.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { encodeSamples } from '../../runtime/data/partition';
import { crc32 } from '../../runtime/util/crc32';
import { putObjectBytes } from '../../runtime/storage/s3';
import { handler } from '../../runtime/worker/handler';
import type { WorkerEvent } from '../../runtime/worker/protocol';
import { withEmbeddedS3 } from '../data/fixtures';
import { startServer, TOKEN } from '../ps/helpers';

const FEATURES = 1024;
const ROWS = 600;

test('warm invocations keep the parameter-server connection (safely) and the partition', async () => {
  const { client, bucket, s3 } = await withEmbeddedS3(after);
  // The function's credentials, as Lambda sets them: the worker reads with the signed GET, not the SDK.
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = s3.target.credentials!.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.target.credentials!.secretAccessKey;
  after(() => {
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  });
  const per = 8;
  const labels = new Float32Array(ROWS).map((_, r) => r % 2);
  const rowStart = new Uint32Array(ROWS + 1).map((_, r) => r * per);
  const indices = new Uint32Array(ROWS * per).map((_, k) => (k * 2654435761) % FEATURES);
  const bytes = encodeSamples({ rows: ROWS, labels, rowStart, indices, values: new Float32Array(ROWS * per).fill(1) });
  await putObjectBytes(client, bucket, 'train/part-00000.bin', bytes);

  const table = [{ name: 'weights', rows: FEATURES, width: 1, optimizer: { type: 'adagrad' as const, learningRate: 0.05 } }];
  let ps = await startServer(table);
  after(() => ps.server.close());
  const event = (generation: number, token = TOKEN, port = ps.port): WorkerEvent => ({
    runId: 'r1', worker: 0, generation, bucket, s3Endpoint: s3.target.endpoint, region: s3.target.region,
    partitions: [{ key: 'train/part-00000.bin', rows: ROWS, crc32: crc32(bytes.subarray(32)) }],
    cursor: { partition: 0, row: 0 }, ps: { host: '127.0.0.1', port, token },
    model: { type: 'logistic', featureCount: FEATURES }, minibatch: 100, sampleBudget: 400, returnMarginMs: 500, heartbeatMs: 1000,
  });
  const context = { getRemainingTimeInMillis: () => 60_000 };

  const first = await handler(event(0), context);
  assert.equal(first.status, 'done');
  assert.equal(first.s3Gets, 1, 'read once, with the signed GET');
  assert.equal(first.traffic?.pushes, 4, 'one push per minibatch of 100');
  assert.equal(ps.server.stats().connections, 1, 'the connection stays open after the invocation');

  const second = await handler(event(1), context);
  assert.equal(second.status, 'done');
  assert.deepEqual([second.s3Gets, second.partitionsHeld], [0, 1], 'the partition held from the first invocation');
  assert.equal(ps.server.stats().totalConnections, 1, 'the second invocation used the kept connection');
  assert.equal(second.traffic?.pushes, 4, "this invocation's traffic only, not the connection's since it opened");
  assert.ok(second.traffic!.requests < first.traffic!.requests + 4, `${second.traffic!.requests} requests`);
  assert.equal(ps.server.stats().updates, 8);

  // The server restarts on the same port (as after a crash): the kept socket is dead, a fresh one is opened.
  const port = ps.port;
  await ps.server.close();
  ps = await startServer(table, { port });
  const third = await handler(event(2, TOKEN, port), context);
  assert.equal(third.status, 'done', third.status);
  assert.equal(ps.server.stats().totalConnections, 1, 'connected to the restarted server');
  assert.equal(ps.server.stats().updates, 4);

  // Another run (another token): a connection of its own; the kept one is dropped.
  const other = await startServer(table, { token: 'another-run-token-0123' });
  after(() => other.server.close());
  const fourth = await handler(event(0, 'another-run-token-0123', other.port), context);
  assert.equal(fourth.status, 'done');
  assert.equal(other.server.stats().totalConnections, 1);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(ps.server.stats().connections, 0, "the first run's connection was closed, not leaked");
});
