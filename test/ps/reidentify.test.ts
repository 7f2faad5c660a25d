// REIDENTIFY on an open connection (PsClient.reidentify): a warm worker environment keeps its connection
// for its next invocation, which names its own worker and generation on it. The token is checked again;
// a wrong one closes the connection as a HELLO's would. (A second HELLO stays an error: robustness.test.ts.)
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Op } from '../../runtime/ps/protocol';
import { frame, helloBody, RawConnection, startServer } from './helpers';

test('reidentify: same connection, now counted as the worker and generation it names', async () => {
  // SGD with a huge rate: a push whose step overflows is refused with a message naming worker and generation.
  const { server, connect } = await startServer([{ name: 'w', rows: 4, width: 1, optimizer: { type: 'sgd', learningRate: 100 } }]);
  after(() => server.close());
  const client = await connect(1, 0);
  after(() => client.close());
  const before = server.stats();
  assert.deepEqual([before.connections, before.workers, before.totalConnections], [1, 1, 1]);

  await client.reidentify(2, 5);
  const other = await connect(2, 0);
  const stats = server.stats();
  assert.equal(stats.connections, 2);
  assert.equal(stats.totalConnections, 2, 'the HELLO again opened no connection');
  assert.equal(stats.workers, 1, 'both connections are worker 2 now (worker 1 has none left)');
  await other.close();

  await assert.rejects(client.push(0, new Uint32Array([3]), new Float32Array([1e37])), /worker 2 \(generation 5\): the sgd step of row 3/);
  assert.deepEqual([...(await client.pull(0, new Uint32Array([3])))], [0], 'still usable after the refused push');
  assert.equal(client.tables[0].name, 'w');
});

test('REIDENTIFY with a wrong token closes the connection; a malformed one too; before HELLO it is refused', async () => {
  const { server, port } = await startServer([{ name: 'w', rows: 4, width: 1, optimizer: { type: 'sgd', learningRate: 0.1 } }]);
  after(() => server.close());
  const bad = await RawConnection.authed(port);
  after(() => bad.destroy());
  bad.write(frame(Op.REIDENTIFY, 2, helloBody('not-the-token', 9, 1)));
  assert.equal((await bad.reply()).status, 2, 'UNAUTHORIZED');
  assert.ok(await bad.closesWithin(), 'closed after a wrong token');
  const short = await RawConnection.authed(port);
  after(() => short.destroy());
  short.write(frame(Op.REIDENTIFY, 2, helloBody().subarray(0, 6)));
  assert.equal((await short.reply()).status, 1, 'BAD_FRAME');
  assert.ok(await short.closesWithin(), 'closed after a malformed HELLO');
  const first = await RawConnection.open(port);
  after(() => first.destroy());
  first.write(frame(Op.REIDENTIFY, 1, helloBody()));
  assert.equal((await first.reply()).status, 2, 'UNAUTHORIZED: HELLO must come first');
  assert.ok(await first.closesWithin());
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual([server.stats().connections, server.stats().workers], [0, 0], 'nothing left counted');
});
