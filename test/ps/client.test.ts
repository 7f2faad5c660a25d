// The client's behaviour when the connection goes away under it.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { PsClient } from '../../runtime/ps/client';
import { Op, PROTOCOL_VERSION } from '../../runtime/ps/protocol';
import { sleep, startServer, TOKEN } from './helpers';

/** A fake server: accepts HELLO (announcing one 4×1 table), then swallows requests; `cut()` drops the connection. */
async function blackHole(): Promise<{ port: number; received: () => number; cut: () => void; close: () => Promise<void> }> {
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32LE(0)) {
        const total = 4 + buffered.readUInt32LE(0);
        const op = buffered[4];
        const id = buffered.readUInt32LE(5);
        buffered = buffered.subarray(total);
        if (op === Op.HELLO) {
          const body = Buffer.alloc(4 + 11 + 1);
          body.writeUInt16LE(PROTOCOL_VERSION, 0);
          body.writeUInt16LE(1, 2);
          body.writeUInt32LE(4, 4);
          body.writeUInt32LE(1, 8);
          body[12] = 0;
          body.writeUInt16LE(1, 13);
          body[15] = 119; // "w"
          const reply = Buffer.alloc(9);
          reply.writeUInt32LE(5 + body.length, 0);
          reply.writeUInt32LE(id, 5);
          socket.write(Buffer.concat([reply, body]));
        } else {
          received++;
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('a dropped connection rejects every pending request with a clear error and notifies the worker', async () => {
  const fake = await blackHole();
  const client = await PsClient.connect({ host: '127.0.0.1', port: fake.port, token: 'x', workerId: 1, generation: 2 });
  assert.equal(client.tables[0].name, 'w');
  let notified = 'not yet' as Error | undefined | 'not yet';
  client.onClosed((err) => (notified = err));

  const pending = [
    client.pull(0, Uint32Array.of(1)),
    client.push(0, Uint32Array.of(1), Float32Array.of(1)),
    client.stats(),
    client.kvGet('k'),
  ];
  const settled = Promise.allSettled(pending);
  while (fake.received() < pending.length) await sleep(5);
  fake.cut();

  const outcomes = await settled;
  for (const o of outcomes) {
    assert.equal(o.status, 'rejected');
    assert.match(String((o as PromiseRejectedResult).reason?.message), /parameter server connection 127\.0\.0\.1:\d+ closed by the server/);
  }
  const closedWith = await client.closed;
  assert.ok(closedWith instanceof Error);
  assert.ok(notified instanceof Error, 'onClosed listener called with the cause');
  assert.equal(client.isOpen, false);
  await assert.rejects(client.pull(0, Uint32Array.of(0)), /closed/, 'later requests fail at once');
  await client.close(); // harmless after the fact
  await fake.close();
});

test('a server that goes away mid-run: pending requests rejected; close() is a clean close', async () => {
  const s = await startServer([{ name: 'w', rows: 1000, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }]);
  const a = await s.connect(1);
  const b = await s.connect(2);
  const ids = new Uint32Array(1000).map((_, i) => i);
  const many = Array.from({ length: 50 }, () => a.pull(0, ids));
  await s.server.close();
  const results = await Promise.allSettled(many);
  // Some replies may have been sent before the close; the rest must be rejected, none left hanging.
  assert.ok(results.some((r) => r.status === 'rejected'));
  assert.ok((await a.closed) instanceof Error);
  assert.ok((await b.closed) instanceof Error);

  const t = await startServer([{ name: 'w', rows: 4, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }]);
  const c = await t.connect(3);
  let reason = 'not yet' as Error | undefined | 'not yet';
  c.onClosed((err) => (reason = err));
  const last = c.push(0, Uint32Array.of(0), Float32Array.of(1));
  await c.close();
  await last; // requests sent before close() complete
  assert.equal(reason, undefined, 'a close we asked for carries no error');
  assert.equal(await c.closed, undefined);
  await t.server.close();
});

test('connect fails clearly: refused port, timeout', async () => {
  const fake = await blackHole();
  await fake.close(); // the port is now closed
  await assert.rejects(PsClient.connect({ host: '127.0.0.1', port: fake.port, token: TOKEN, workerId: 1, generation: 0 }), /ECONNREFUSED/);

  // A server that accepts but never answers HELLO.
  const silent = net.createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as net.AddressInfo).port;
  const started = Date.now();
  await assert.rejects(PsClient.connect({ host: '127.0.0.1', port, token: TOKEN, workerId: 1, generation: 0, timeoutMs: 200 }), /within 200 ms/);
  assert.ok(Date.now() - started < 2000);
  silent.close();
});
