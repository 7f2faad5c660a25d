// The server's plain-TCP connections read into one buffer the server reuses for every read
// (readIntoBuffer, runtime/ps/transport.ts) instead of a fresh buffer per read: the reads arrive there,
// the socket's pause/resume, timeout and close still work, and what a connection keeps of a read
// for later (its backlog, while it is paused) survives other connections' reads into that buffer.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { Op } from '../../runtime/ps/protocol';
import { readIntoBuffer } from '../../runtime/ps/transport';
import { frame, RawConnection, sleep, sparseBody, startServer } from './helpers';

test('readIntoBuffer: an accepted socket reads into the given buffer; pause, resume, timeout and close work', async () => {
  const buffer = Buffer.alloc(1024);
  const received: Buffer[] = [];
  let accepted: net.Socket | undefined;
  let installed: boolean | undefined;
  let timedOut = false;
  const closed = new Promise<void>((resolveClosed) => {
    const server = net.createServer((socket) => {
      accepted = socket;
      installed = readIntoBuffer(socket, buffer, (bytes) => {
        assert.equal(bytes.buffer, buffer.buffer, 'the bytes are a view of the given buffer');
        received.push(Buffer.from(bytes));
      });
      socket.setTimeout(150, () => (timedOut = true));
      socket.on('close', () => {
        server.close();
        resolveClosed();
      });
    });
    server.listen(0, '127.0.0.1', async () => {
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      await new Promise((r) => client.once('connect', r));
      const sent = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251)); // larger than the buffer: several reads
      client.write(sent);
      while (Buffer.concat(received).length < sent.length) await sleep(5);
      assert.deepEqual(Buffer.concat(received), sent, 'every byte, in order');
      accepted!.pause();
      const before = received.length;
      client.write(Buffer.from('while paused'));
      await sleep(100);
      assert.equal(received.length, before, 'nothing is read while paused');
      accepted!.resume();
      while (received.length === before) await sleep(5);
      assert.equal(Buffer.concat(received.slice(before)).toString(), 'while paused');
      await sleep(300);
      assert.ok(timedOut, 'the socket timeout fires on an idle connection');
      client.end();
    });
  });
  await closed;
  assert.equal(installed, true, "this Node keeps net.Socket's onread option where readIntoBuffer looks for it (else the server reads 'data' events)");
});

test("a paused connection's unread frames survive other connections' reads into the shared buffer", async () => {
  // 20 frames a second: connection A's 40 pushes, sent in one write, are answered ~20 at once and the
  // rest from A's backlog, one every 50 ms, while connection B's 8 KB pushes are read meanwhile.
  const { server, port, connect } = await startServer([{ name: 'w', rows: 2000, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }], { maxFramesPerSecond: 20 });
  try {
    const a = await RawConnection.authed(port);
    const b = await RawConnection.authed(port);
    const pushes = 40;
    a.write(Buffer.concat(Array.from({ length: pushes }, (_, i) => frame(Op.PUSH_SPARSE, 100 + i, sparseBody(0, [i], [i + 1])))));
    const bIds = Array.from({ length: 1000 }, (_, i) => 100 + i);
    const bFrame = frame(Op.PUSH_SPARSE, 5, sparseBody(0, bIds, bIds.map(() => 0.5)));
    let bPushes = 0;
    while (a.replies.length < pushes && bPushes < 60) {
      b.write(bFrame);
      bPushes++;
      await sleep(40);
    }
    for (let i = 0; i < pushes; i++) {
      const r = await a.reply(5000);
      assert.deepEqual([r.status, r.id], [0, 100 + i], `A's push ${i}: answered OK, in order`);
    }
    for (let i = 0; i < bPushes; i++) assert.equal((await b.reply(5000)).status, 0);
    const c = await connect();
    const w = await c.pullFull(0);
    assert.deepEqual(Array.from(w.subarray(0, pushes)), Array.from({ length: pushes }, (_, i) => -(i + 1)), "A's pushes, each applied once, as sent");
    assert.ok(w.subarray(100, 1100).every((x) => x === -0.5 * bPushes), "B's pushes applied");
    assert.ok((await c.stats()).throttled > 0, 'A was paused by the rate limit (the case under test)');
    a.destroy();
    b.destroy();
    await c.close();
  } finally {
    await server.close();
  }
});
