// Issue 17's attacks on the parameter server, repeated against the real server (its own child
// process over TCP): each asserts refused, bounded or recovered. Figures and limits: docs/security.md.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { PsClient } from '../../runtime/ps/client';
import { startParameterServer, type ParameterServerProcess } from '../../runtime/ps/launch';
import { Op, Status } from '../../runtime/ps/protocol';
import type { ParameterServerConfig, TableSpec } from '../../runtime/ps/types';
import { crc32 } from '../../runtime/util/crc32';
import { frame, helloBody, RawConnection, TOKEN } from '../ps/helpers';
import { buildPsServer } from './helpers';

let script: string;
let cleanup: () => void;
before(async () => ({ script, cleanup } = await buildPsServer()));
after(() => cleanup?.());

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(tables: TableSpec[], extra: Partial<ParameterServerConfig> = {}): Promise<ParameterServerProcess> {
  return startParameterServer({ token: TOKEN, tables, ...extra }, { script, log: () => {} });
}
const connect = (ps: ParameterServerProcess, workerId = 1) => PsClient.connect({ host: ps.host, port: ps.port, token: TOKEN, workerId, generation: 0 });

/** Opens 1,030 silent sockets, prints "flooding", then opens 50 more a second until killed. */
const FLOODER = `
const net = require('node:net');
const port = Number(process.argv[1]);
const open = () => new Promise((resolve) => { const s = net.connect(port, '127.0.0.1', resolve); s.on('error', resolve); s.on('close', resolve); });
(async () => {
  await Promise.all(Array.from({ length: 1030 }, open));
  console.log('flooding');
  setInterval(() => { for (let i = 0; i < 5; i++) open(); }, 100);
})();`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function pullLatencies(c: PsClient, n: number): Promise<number[]> {
  const rows = Uint32Array.from({ length: 64 }, (_, i) => i * 7);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await c.pull(0, rows);
    out.push(performance.now() - t0);
  }
  return out;
}

test('1,030 silent sockets lock out no worker; a worker pulls within 2x of its baseline during the flood', async () => {
  const ps = await start([{ name: 'w', rows: 4096, width: 4, optimizer: { type: 'sgd', learningRate: 0.1 } }]);
  try {
    const worker = await connect(ps, 1);
    await pullLatencies(worker, 100); // warm up
    const baseline = median(await pullLatencies(worker, 300));
    // The flood, from another process (so it does not share the measuring worker's event loop):
    // 1,030 sockets that never say HELLO, held open, and 50 more a second for as long as it runs.
    const flooder = spawn(process.execPath, ['-e', FLOODER, String(ps.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => flooder.stdout!.once('data', () => resolve())); // "flooding"
    // 50 legitimate workers all get in.
    const workers = await Promise.all(Array.from({ length: 50 }, (_, i) => connect(ps, 100 + i)));
    assert.equal(workers.length, 50);
    const during = median(await pullLatencies(worker, 300));
    flooder.kill('SIGKILL');
    // 2x, with a 0.5 ms floor for a sub-millisecond baseline on a loaded machine.
    assert.ok(during <= Math.max(2 * baseline, baseline + 0.5), `median pull ${during.toFixed(3)} ms during the flood vs ${baseline.toFixed(3)} ms before`);
    const stats = await worker.stats();
    assert.ok(stats.rejectedConnections > 900, `silent sockets over the limit are dropped (${stats.rejectedConnections})`);
    assert.ok(stats.connections >= 51, `every worker is connected (${stats.connections})`);
    await Promise.all([worker, ...workers].map((c) => c.close()));
  } finally {
    await ps.stop();
  }
});

test('a socket that never says HELLO is closed at the hello deadline; an idle worker at the idle deadline', async () => {
  const ps = await start([{ name: 'w', rows: 8, width: 1, optimizer: { type: 'sgd', learningRate: 0.1 } }], { helloTimeoutMs: 500, idleTimeoutMs: 800 });
  try {
    const silent = await RawConnection.open(ps.port);
    const idle = await RawConnection.authed(ps.port);
    const t0 = Date.now();
    await silent.closed;
    assert.ok(Date.now() - t0 < 2000);
    await idle.closed;
    assert.ok(Date.now() - t0 < 3000, 'the idle connection is closed');
  } finally {
    await ps.stop();
  }
});

test('25 workers each sending most of a huge frame: memory stays bounded, stalled frames are dropped', async () => {
  const maxBuffered = 64 * MB;
  const ps = await start([{ name: 'w', rows: 8, width: 1, optimizer: { type: 'sgd', learningRate: 0.1 } }], {
    maxBufferedFrameBytes: maxBuffered,
    frameProgressTimeoutMs: 1000,
  });
  try {
    const before = rssOf(ps.pid);
    const conns = await Promise.all(Array.from({ length: 25 }, () => RawConnection.authed(ps.port)));
    const chunk = Buffer.alloc(MB, 7);
    for (const c of conns) {
      const head = Buffer.alloc(9);
      head.writeUInt32LE(64 * MB - 4, 0); // declares 64 MiB
      head[4] = Op.KV_SET;
      c.write(head);
      for (let i = 0; i < 8; i++) c.write(chunk); // sends 8 MiB of it, then stalls
    }
    await sleep(500);
    const grown = rssOf(ps.pid) - before;
    assert.ok(grown < maxBuffered + 100 * MB, `RSS grew ${(grown / MB).toFixed(0)} MB (limit ${maxBuffered / MB} MB of partial frames)`);
    // Over the total some were closed at once; the rest at the frame-progress deadline.
    await Promise.all(conns.map((c) => c.closed));
    // And a worker still gets in and is served.
    const w = await connect(ps, 9);
    await w.pull(0, Uint32Array.of(1));
    await w.close();
  } finally {
    await ps.stop();
  }
});

test('a finite gradient whose optimiser step overflows is refused, names the worker, and leaves the rows as they were', async () => {
  for (const type of ['sgd', 'momentum', 'adagrad', 'adam'] as const) {
    const ps = await start([{ name: 'w', rows: 4, width: 2, optimizer: { type, learningRate: 1 } }]);
    try {
      const c = await connect(ps, 42);
      const rows = Uint32Array.of(0, 1);
      // Row 1 gets a sane gradient in the same push: it must not move either.
      await c.push(0, rows, Float32Array.of(1, 1, 0.5, 0.5));
      const huge = Float32Array.of(3e38, -3e38, 0.5, 0.5);
      let refused: Error | undefined;
      let last = await c.pull(0, rows);
      for (let i = 0; i < 3 && !refused; i++) {
        await c.push(0, rows, huge).then(
          async () => (last = await c.pull(0, rows)), // a finite step landed
          (e: Error) => (refused = e),
        );
      }
      assert.ok(refused, `${type}: overflowing pushes must be refused`);
      assert.match(refused.message, /worker 42/);
      assert.match(refused.message, /non-finite/);
      // Both rows (the sane one too) are exactly as before the refused push, and finite.
      const after = await c.pull(0, rows);
      assert.deepEqual([...after], [...last], `${type}: rows unchanged by the refused push`);
      for (const x of after) assert.ok(Number.isFinite(x), `${type}: row values stay finite`);
      await c.close();
    } finally {
      await ps.stop();
    }
  }
});

test('optimizer.clipNorm scales a push down to that norm', async () => {
  const ps = await start([{ name: 'w', rows: 2, width: 2, optimizer: { type: 'sgd', learningRate: 1, clipNorm: 1 } }]);
  try {
    const c = await connect(ps);
    await c.push(0, Uint32Array.of(0), Float32Array.of(3, 4)); // norm 5 -> (0.6, 0.8)
    const w = await c.pull(0, Uint32Array.of(0));
    assert.ok(Math.abs(w[0] + 0.6) < 1e-6 && Math.abs(w[1] + 0.8) < 1e-6, `got ${[...w]}`);
    await c.close();
  } finally {
    await ps.stop();
  }
});

test('RESTORE of a snapshot with NaN weights and a valid checksum is refused; the model is unchanged', async () => {
  const ps = await start([{ name: 'w', rows: 16, width: 1, optimizer: { type: 'adagrad', learningRate: 0.5 } }]);
  try {
    const c = await connect(ps);
    await c.push(0, Uint32Array.of(3), Float32Array.of(1));
    const snap = Buffer.from(await c.snapshot());
    const weightsBefore = await c.pullFull(0);
    // The first weight starts after 16 bytes of header, the name (2 + 1) and rows, width, optimizer (9).
    snap.writeFloatLE(Number.NaN, 16 + 3 + 9 + 4 * 3);
    snap.writeUInt32LE(crc32(snap.subarray(0, snap.length - 4)), snap.length - 4);
    await assert.rejects(c.restore(snap), (e: Error & { status?: number }) => /NaN/.test(e.message) && (e.status === undefined || e.status === Status.BAD_SNAPSHOT));
    assert.deepEqual([...(await c.pullFull(0))], [...weightsBefore]);
    await c.close();
  } finally {
    await ps.stop();
  }
});

test('HELLO frames from the flood never count against authenticated workers', async () => {
  const ps = await start([{ name: 'w', rows: 8, width: 1, optimizer: { type: 'sgd', learningRate: 0.1 } }], { maxConnections: 4, maxUnauthenticated: 8 });
  try {
    const silent = await Promise.all(Array.from({ length: 20 }, () => RawConnection.open(ps.port)));
    const workers = await Promise.all(Array.from({ length: 4 }, (_, i) => connect(ps, i)));
    // The fifth authenticated connection is over maxConnections: refused with LIMIT at HELLO.
    const fifth = await RawConnection.open(ps.port);
    fifth.write(frame(Op.HELLO, 1, helloBody()));
    const reply = await fifth.reply().catch(() => undefined);
    if (reply) assert.equal(reply.status, Status.LIMIT);
    await Promise.all(workers.map((w) => w.close()));
    for (const s of silent) s.socket.destroy();
  } finally {
    await ps.stop();
  }
});
