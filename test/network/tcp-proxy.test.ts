// The TCP proxy over real sockets: the round-trip time and the per-connection bandwidth it adds are
// measured, not assumed. Tolerances allow for a loaded 2-core machine (timers fire late, never early).
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { startTcpProxy } from '../../runtime/network/tcp-proxy';

/** A server that echoes; or, for `sink`, counts bytes and answers one byte once it has `expect` of them. */
async function startServer(mode: 'echo' | { sink: number }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    if (mode === 'echo') socket.on('data', (chunk) => socket.write(chunk));
    else {
      let got = 0;
      socket.on('data', (chunk) => {
        got += chunk.length;
        if (got === mode.sink) socket.write('k');
      });
    }
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Median of `n` one-byte ping-pongs (ms). */
async function medianRtt(socket: net.Socket, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const reply = new Promise((resolve) => socket.once('data', resolve));
    socket.write('p');
    await reply;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)];
}

/** Seconds to push `bytes` through `socket` until the sink acknowledges them all. */
async function sendSeconds(socket: net.Socket, bytes: number): Promise<number> {
  const start = performance.now();
  const ack = new Promise((resolve) => socket.once('data', resolve));
  socket.write(Buffer.alloc(bytes, 7));
  await ack;
  return (performance.now() - start) / 1000;
}

test('the proxy adds its round-trip time to every exchange, and passes bytes unchanged', async (t) => {
  const echo = await startServer('echo');
  const proxy = await startTcpProxy({ upstream: () => ({ host: '127.0.0.1', port: echo.port }), rttMs: 20, bytesPerSecond: 1e9 });
  t.after(async () => {
    await proxy.close();
    await echo.close();
  });
  const direct = await connect(echo.port);
  const proxied = await connect(proxy.port);
  const directRtt = await medianRtt(direct, 15);
  const proxiedRtt = await medianRtt(proxied, 15);
  console.log(`# rtt direct ${directRtt.toFixed(3)} ms, through a 20 ms proxy ${proxiedRtt.toFixed(3)} ms`);
  assert.ok(proxiedRtt >= 20, `a 20 ms round trip cannot be shorter (${proxiedRtt} ms)`);
  assert.ok(proxiedRtt < 20 + directRtt + 10, `20 ms round trip measured ${proxiedRtt} ms`);

  const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) % 256));
  const received: Buffer[] = [];
  let length = 0;
  await new Promise<void>((resolve) => {
    proxied.on('data', (chunk) => {
      received.push(chunk);
      length += chunk.length;
      if (length >= payload.length) resolve();
    });
    proxied.write(payload);
  });
  assert.deepEqual(Buffer.concat(received), payload, 'bytes arrive complete and in order');
  direct.destroy();
  proxied.destroy();
});

test('a sub-millisecond round trip (same AZ) is kept below a millisecond, not rounded up to timer ticks', async (t) => {
  const echo = await startServer('echo');
  const proxy = await startTcpProxy({ upstream: () => ({ host: '127.0.0.1', port: echo.port }), rttMs: 0.5, bytesPerSecond: 1e9 });
  t.after(async () => {
    await proxy.close();
    await echo.close();
  });
  const socket = await connect(proxy.port);
  const rtt = await medianRtt(socket, 40);
  console.log(`# rtt through a 0.5 ms proxy: ${rtt.toFixed(3)} ms`);
  assert.ok(rtt >= 0.5, `${rtt} ms`);
  assert.ok(rtt < 1.8, `0.5 ms round trip measured ${rtt} ms (timer granularity would give >= 2 ms)`);
  socket.destroy();
});

test('each connection gets the configured bandwidth, independently of the others', async (t) => {
  const bytes = 4_000_000;
  const sink = await startServer({ sink: bytes });
  const proxy = await startTcpProxy({ upstream: () => ({ host: '127.0.0.1', port: sink.port }), rttMs: 0, bytesPerSecond: 10e6 });
  t.after(async () => {
    await proxy.close();
    await sink.close();
  });
  const one = await connect(proxy.port);
  const seconds = await sendSeconds(one, bytes);
  console.log(`# 4 MB at 10 MB/s: ${seconds.toFixed(3)} s (${(bytes / seconds / 1e6).toFixed(2)} MB/s)`);
  assert.ok(seconds >= 0.4 * 0.98, `4 MB at 10 MB/s cannot take less than 0.4 s (${seconds})`);
  assert.ok(seconds < 0.4 * 1.4 + 0.05, `4 MB at 10 MB/s took ${seconds} s`);
  one.destroy();

  // Two workers at once: each has its own link, as each Lambda has its own network interface.
  const [a, b] = await Promise.all([connect(proxy.port), connect(proxy.port)]);
  const both = await Promise.all([sendSeconds(a, bytes), sendSeconds(b, bytes)]);
  console.log(`# two connections at once: ${both.map((s) => s.toFixed(3)).join(' s, ')} s`);
  for (const s of both) assert.ok(s >= 0.39 && s < 0.4 * 1.5 + 0.05, `each connection at 10 MB/s took ${s} s`);
  a.destroy();
  b.destroy();
});

test('new connections go where the upstream is now; closing the proxy cuts its connections', async (t) => {
  const first = await startServer('echo');
  const second = await startServer('echo');
  let target = first.port;
  const proxy = await startTcpProxy({ upstream: () => ({ host: '127.0.0.1', port: target }), rttMs: 1, bytesPerSecond: 1e9 });
  t.after(async () => {
    await first.close();
    await second.close();
  });
  const a = await connect(proxy.port);
  await medianRtt(a, 1);
  await first.close();
  await new Promise((resolve) => a.once('close', resolve)); // the upstream went away: so does the client's connection
  target = second.port; // e.g. the parameter server restarted on another port
  const b = await connect(proxy.port);
  assert.ok((await medianRtt(b, 3)) >= 1);
  assert.equal(proxy.connections(), 1);
  const closed = new Promise((resolve) => b.once('close', resolve));
  await proxy.close();
  await closed;
});

test('a connection to an upstream that is down is closed, not left hanging', async (t) => {
  const gone = await startServer('echo');
  const port = gone.port;
  await gone.close();
  const proxy = await startTcpProxy({ upstream: () => ({ host: '127.0.0.1', port }), rttMs: 1, bytesPerSecond: 1e9 });
  t.after(() => proxy.close());
  const socket = await connect(proxy.port);
  socket.on('error', () => undefined);
  socket.write('hello');
  await new Promise((resolve) => socket.once('close', resolve));
  assert.equal(proxy.connections(), 0);
});
