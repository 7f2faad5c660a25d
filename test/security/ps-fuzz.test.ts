// Hostile clients against the parameter server running as its own process (as in a run):
// - 100,000+ random and mutated frames, with and without HELLO, pipelined, cut off mid-frame;
//   the server process stays up, within a memory bound, and consistent (finite weights, exact
//   arithmetic for a good client afterwards, no connection state left behind);
// - the per-connection frame-rate limit slows a flooding connection without delaying the others.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PsClient } from '../../runtime/ps/client';
import { startParameterServer, type ParameterServerProcess } from '../../runtime/ps/launch';
import { Op } from '../../runtime/ps/protocol';
import type { ParameterServerConfig } from '../../runtime/ps/types';
import { frame, helloBody, RawConnection, sleep, sparseBody, startServer, TOKEN } from '../ps/helpers';
import { buildPsServer } from './helpers';

const FRAMES = Number(process.env.CIRRUS_FUZZ_FRAMES ?? 100_000);
const RSS_BOUND = 400 * 2 ** 20; // the server process (Node itself is ~50 MB; tables here are < 1 MB)

let script: string;
let cleanup: () => void;
before(async () => ({ script, cleanup } = await buildPsServer()));
after(() => cleanup());

/** A seeded generator, so a failure can be replayed with the same frames. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

function hostileFrames(rand: (n: number) => number) {
  const templates = [
    frame(Op.PULL_SPARSE, 1, sparseBody(0, [1, 2, 3])),
    frame(Op.PUSH_SPARSE, 2, sparseBody(0, [4, 5], [0.1, -0.2])),
    frame(Op.PUSH_SPARSE, 3, sparseBody(1, [1, 9], [1, 2, 3, 4, 5, 6])),
    frame(Op.PULL_FULL, 4, Buffer.from([1, 0, 0])),
    frame(Op.STATS, 5),
    frame(Op.KV_SET, 6, Buffer.from([1, 0, 107, 2, 0, 0, 0, 1, 2])),
    frame(Op.KV_GET, 7, Buffer.from([1, 0, 107])),
    frame(Op.SNAPSHOT, 8),
    frame(Op.RESTORE, 9, Buffer.from('xxxxxxxxxxxxxxxxxxxxxxxx')),
    frame(Op.HELLO, 10, helloBody(TOKEN)),
    frame(Op.HELLO, 11, helloBody('wrong-token')),
  ];
  return (): Buffer => {
    const kind = rand(8);
    if (kind === 0) {
      const b = Buffer.alloc(9 + rand(80)); // noise with a plausible length
      for (let i = 0; i < b.length; i++) b[i] = rand(256);
      b.writeUInt32LE(b.length - 4, 0);
      return b;
    }
    const b = Buffer.from(templates[rand(templates.length)]);
    switch (kind) {
      case 1:
        for (let f = 0; f <= rand(4); f++) b[4 + rand(b.length - 4)] ^= 1 << rand(8); // bit flips
        return b;
      case 2:
        b[4] = rand(256); // any opcode
        return b;
      case 3: {
        const cut = Buffer.from(b.subarray(0, 9 + rand(b.length - 8))); // body cut, length kept consistent
        cut.writeUInt32LE(cut.length - 4, 0);
        return cut;
      }
      case 4:
        if (b.length > 15) b.writeUInt32LE(rand(2) ? 0xffffffff : rand(1 << 20), 12); // a lying count
        return b;
      case 5:
        // Rare (they end the connection, and the frames after them go unread): a lying length, or BYE.
        if (rand(25) !== 0) return b;
        if (rand(4) === 0) return frame(Op.BYE, 12);
        b.writeUInt32LE(rand(4) === 0 ? rand(0xffffffff) : b.length - 4 + rand(8) - 4, 0);
        return b;
      case 6:
        if (b.length > 10) b.writeFloatLE([NaN, Infinity, -Infinity, 3.4e38][rand(4)], b.length - 4); // a poisoned float
        return b;
      default:
        return b; // well-formed: keeps the connection busy with real work
    }
  };
}

test(`${FRAMES.toLocaleString('en-US')} random and mutated frames: the server process stays up, bounded and consistent`, async () => {
  const config: ParameterServerConfig = {
    token: TOKEN,
    helloTimeoutMs: 500,
    maxFrameBytes: 1 << 20,
    tables: [
      { name: 'w', rows: 100, width: 1, optimizer: { type: 'adagrad', learningRate: 0.1 } },
      { name: 'f', rows: 10, width: 3, optimizer: { type: 'adam', learningRate: 0.1 } },
      { name: 'control', rows: 4, width: 1, optimizer: { type: 'sgd', learningRate: 1 } },
    ],
  };
  const ps: ParameterServerProcess = await startParameterServer(config, { script, log: () => {} });
  let exited: string | undefined;
  ps.onExit((code, signal) => (exited = `code ${code}, signal ${signal}`));
  const good = await PsClient.connect({ host: '127.0.0.1', port: ps.port, token: TOKEN, workerId: 99, generation: 0 });
  try {
    const rand = lcg(20240607);
    const next = hostileFrames(rand);
    let sent = 0;
    let connections = 0;
    let maxRss = 0;
    let goodRequests = 0;
    let answered = 0; // replies the hostile connections got (a frame after a framing error goes unread)
    const started = Date.now();

    // The good client keeps working all along: its requests must all succeed.
    let fuzzing = true;
    const goodLoop = (async () => {
      while (fuzzing) {
        await good.push(2, Uint32Array.of(0), Float32Array.of(0)); // lr 1, gradient 0: no change
        maxRss = Math.max(maxRss, (await good.stats()).rssBytes);
        goodRequests += 2;
        await sleep(20);
      }
    })();

    const attacker = async () => {
      while (sent < FRAMES) {
        const raw = rand(8) === 0 ? await RawConnection.open(ps.port) : await RawConnection.authed(ps.port);
        connections++;
        const batch: Buffer[] = [];
        for (let k = 0; k < 100 && sent < FRAMES; k++, sent++) batch.push(next());
        const bytes = Buffer.concat(batch);
        if (rand(10) === 0) {
          raw.write(bytes.subarray(0, rand(bytes.length))); // a peer that vanishes mid-frame
          raw.destroy();
          continue;
        }
        raw.write(bytes);
        await Promise.race([raw.closed, sleep(30)]);
        answered += raw.replies.length;
        raw.destroy();
      }
    };
    await Promise.all(Array.from({ length: 8 }, attacker));
    fuzzing = false;
    await goodLoop;
    const seconds = (Date.now() - started) / 1000;

    assert.equal(exited, undefined, 'the server process is alive');
    assert.ok(sent >= FRAMES, `${sent} frames sent`);
    assert.ok(maxRss > 0 && maxRss < RSS_BOUND, `server RSS peaked at ${(maxRss / 2 ** 20).toFixed(0)} MB`);

    // Consistent: no non-finite value got in; the good client's arithmetic is exact; no connection left behind.
    for (const t of [0, 1, 2]) for (const x of await good.pullFull(t)) assert.ok(Number.isFinite(x), `table ${t} holds ${x}`);
    const before = (await good.pull(2, Uint32Array.of(3)))[0];
    await good.push(2, Uint32Array.of(3), Float32Array.of(0.25));
    assert.equal((await good.pull(2, Uint32Array.of(3)))[0], Math.fround(before - 0.25));
    const snapshot = await good.snapshot();
    await good.restore(snapshot);
    assert.ok((await good.snapshot()).equals(snapshot), 'snapshot/restore round trip');
    let stats = await good.stats();
    for (let i = 0; i < 50 && stats.connections > 1; i++) {
      await sleep(100);
      stats = await good.stats();
    }
    assert.equal(stats.connections, 1, 'only the good client is still connected');
    const fresh = await PsClient.connect({ host: '127.0.0.1', port: ps.port, token: TOKEN, workerId: 1, generation: 0 });
    await fresh.push(0, Uint32Array.of(50), Float32Array.of(1));
    await fresh.close();
    assert.ok(answered > FRAMES / 4, `only ${answered} frames were answered`);
    console.log(
      `fuzz: ${sent} frames over ${connections} connections in ${seconds.toFixed(1)} s, ${answered} answered; 0 crashes; ` +
        `${stats.rejectedConnections} connections refused, ${stats.errors} error replies; good client: ${goodRequests} requests, all answered; ` +
        `server RSS peak ${(maxRss / 2 ** 20).toFixed(0)} MB`,
    );
  } finally {
    await good.close().catch(() => {});
    await ps.stop();
  }
});

test('frame-rate limit: a flooding connection is slowed to its allowance, others are not delayed', async () => {
  const rate = 2000;
  const s = await startServer([{ name: 'w', rows: 8, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }], { maxFramesPerSecond: rate });
  try {
    const flood = await RawConnection.authed(s.port);
    const count = 6000; // 3 s worth at the limit; the first `rate` frames are the allowed burst
    const started = Date.now();
    flood.write(Buffer.concat(Array.from({ length: count }, (_, i) => frame(Op.KV_GET, i + 2, Buffer.from([1, 0, 107])))));

    const other = await s.connect(2);
    let worstMs = 0;
    while (flood.replies.length < count && Date.now() - started < 10_000) {
      const t0 = performance.now();
      await other.pull(0, Uint32Array.of(1));
      worstMs = Math.max(worstMs, performance.now() - t0);
      await sleep(20);
    }
    const seconds = (Date.now() - started) / 1000;
    assert.equal(flood.replies.length, count, 'every frame is answered in the end (throttled, not dropped)');
    assert.ok(seconds >= (count - rate) / rate - 0.3, `${count} frames answered in ${seconds.toFixed(2)} s at a limit of ${rate}/s`);
    assert.ok(worstMs < 100, `another connection waited ${worstMs.toFixed(1)} ms`);
    const stats = await other.stats();
    assert.ok(stats.throttled > 0);
    console.log(`rate limit: ${count} frames at ${rate}/s took ${seconds.toFixed(2)} s; another connection's worst request ${worstMs.toFixed(1)} ms`);
    flood.destroy();
    await other.close();
  } finally {
    await s.server.close();
  }
});
