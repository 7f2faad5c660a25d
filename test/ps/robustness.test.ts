// Authentication, malformed frames, limits and a fuzz: each bad connection gets an error or is closed,
// nothing partial is applied, and the server keeps serving everyone else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PsClient } from '../../runtime/ps/client';
import { Op, PsError, Status } from '../../runtime/ps/protocol';
import type { ParameterServer } from '../../runtime/ps/server';
import { frame, helloBody, RawConnection, sleep, sparseBody, startServer, TOKEN } from './helpers';

const MAX_FRAME = 1024 * 1024;
let server: ParameterServer;
let port: number;
let good: PsClient;

before(async () => {
  const s = await startServer(
    [
      { name: 'w', rows: 100, width: 1, optimizer: { type: 'adagrad', learningRate: 0.1 } },
      { name: 'f', rows: 10, width: 3, optimizer: { type: 'adam', learningRate: 0.1 } },
    ],
    { maxFrameBytes: MAX_FRAME, helloTimeoutMs: 300 },
  );
  server = s.server;
  port = s.port;
  good = await s.connect(99);
  await good.push(0, Uint32Array.of(1, 2, 3), Float32Array.of(0.5, -0.5, 1));
});
after(async () => {
  await good.close();
  await server.close();
});

/** The good client still works, and (unless told otherwise) the state is what it was. */
async function assertHealthy(stateBefore?: Buffer): Promise<void> {
  if (stateBefore) assert.ok(server.snapshot().equals(stateBefore), 'server state changed');
  const w = await good.pull(0, Uint32Array.of(1, 2, 3));
  assert.equal(w.length, 3);
  assert.ok((await good.stats()).connections >= 1);
}

describe('authentication', () => {
  test('a wrong token is refused and the connection closed; others are unaffected', async () => {
    const rejectedBefore = (await good.stats()).rejectedConnections;
    const raw = await RawConnection.open(port);
    raw.write(frame(Op.HELLO, 5, helloBody('not-the-token')));
    const r = await raw.reply();
    assert.equal(r.status, Status.UNAUTHORIZED);
    assert.equal(r.id, 5);
    assert.ok(await raw.closesWithin(), 'closed');

    // Same length as the real token, one byte different.
    const sameLength = TOKEN.slice(0, -1) + (TOKEN.endsWith('x') ? 'y' : 'x');
    await assert.rejects(
      PsClient.connect({ host: '127.0.0.1', port, token: sameLength, workerId: 1, generation: 0 }),
      (e: unknown) => e instanceof PsError && e.status === Status.UNAUTHORIZED,
    );
    assert.equal((await good.stats()).rejectedConnections, rejectedBefore + 2);
    await assertHealthy();
  });

  test('anything before HELLO closes the connection', async () => {
    const raw = await RawConnection.open(port);
    raw.write(frame(Op.PULL_FULL, 1, Buffer.from([0, 0, 0])));
    assert.equal((await raw.reply()).status, Status.UNAUTHORIZED);
    assert.ok(await raw.closesWithin());
    await assertHealthy();
  });

  test('before HELLO, frames over 4 KiB are refused (no big buffers for strangers)', async () => {
    const raw = await RawConnection.open(port);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(100_000, 0);
    raw.write(head);
    assert.equal((await raw.reply()).status, Status.TOO_LARGE);
    assert.ok(await raw.closesWithin());
  });

  test('a connection that never says HELLO is closed after the timeout', async () => {
    const raw = await RawConnection.open(port);
    assert.ok(await raw.closesWithin(2000));
  });

  test('a wrong protocol version is refused', async () => {
    const raw = await RawConnection.open(port);
    raw.write(frame(Op.HELLO, 1, helloBody(TOKEN, 1, 0, 999)));
    assert.equal((await raw.reply()).status, Status.VERSION);
    assert.ok(await raw.closesWithin());
  });
});

describe('malformed frames after HELLO', () => {
  test('oversized length: error, that connection closed, state unchanged', async () => {
    const state = server.snapshot();
    const raw = await RawConnection.authed(port);
    const head = Buffer.alloc(9);
    head.writeUInt32LE(MAX_FRAME + 1, 0);
    head[4] = Op.PUSH_SPARSE;
    raw.write(head);
    const r = await raw.reply();
    assert.equal(r.status, Status.TOO_LARGE);
    assert.equal(r.id, 0, 'no request id can be trusted in a frame that is refused whole');
    assert.ok(await raw.closesWithin());
    await assertHealthy(state);
  });

  test('length field below the header size closes the connection', async () => {
    const raw = await RawConnection.authed(port);
    raw.write(Buffer.from([2, 0, 0, 0, 3, 0]));
    assert.equal((await raw.reply()).status, Status.TOO_LARGE);
    assert.ok(await raw.closesWithin());
  });

  test('a frame cut short by a disconnect applies nothing', async () => {
    const state = server.snapshot();
    const raw = await RawConnection.authed(port);
    const whole = frame(Op.PUSH_SPARSE, 2, sparseBody(0, [1, 2, 3, 4], [1, 1, 1, 1]));
    raw.write(whole.subarray(0, whole.length - 3));
    await sleep(50);
    raw.destroy();
    await sleep(50);
    await assertHealthy(state);
  });

  const inFrameErrors: Array<[string, Buffer, number]> = [
    ['body shorter than n says', frame(Op.PUSH_SPARSE, 10, sparseBody(0, [1, 2, 3], [1, 1, 1], 4)), Status.BAD_FRAME],
    ['body longer than n says', frame(Op.PULL_SPARSE, 11, sparseBody(0, [1, 2, 3], undefined, 2)), Status.BAD_FRAME],
    ['gradients missing for width 3', frame(Op.PUSH_SPARSE, 12, sparseBody(1, [1], [1])), Status.BAD_FRAME],
    ['n huge', frame(Op.PULL_SPARSE, 13, sparseBody(0, [1], undefined, 0xffffffff)), Status.BAD_FRAME],
    ['empty body', frame(Op.PULL_SPARSE, 14), Status.BAD_FRAME],
    ['unknown table (push)', frame(Op.PUSH_SPARSE, 15, sparseBody(7, [1], [1])), Status.UNKNOWN_TABLE],
    ['unknown table (full pull)', frame(Op.PULL_FULL, 16, Buffer.from([9, 0, 0])), Status.UNKNOWN_TABLE],
    ['row out of range (after valid rows)', frame(Op.PUSH_SPARSE, 17, sparseBody(0, [1, 2, 100], [1, 1, 1])), Status.ROW_OUT_OF_RANGE],
    ['row 2^32−1', frame(Op.PULL_SPARSE, 18, sparseBody(0, [0xffffffff])), Status.ROW_OUT_OF_RANGE],
    ['NaN gradient (after valid ones)', frame(Op.PUSH_SPARSE, 19, sparseBody(0, [1, 2], [0.5, NaN])), Status.NON_FINITE],
    ['infinite gradient', frame(Op.PUSH_SPARSE, 20, sparseBody(1, [1], [1, -Infinity, 1])), Status.NON_FINITE],
    ['non-zero flags', frame(Op.PULL_FULL, 21, Buffer.from([0, 0, 1])), Status.BAD_FRAME],
    ['unknown opcode', frame(200, 22, Buffer.from('hello')), Status.UNKNOWN_OP],
    ['second HELLO', frame(Op.HELLO, 23, helloBody()), Status.BAD_FRAME],
    ['KV key too long', frame(Op.KV_GET, 24, Buffer.concat([Buffer.from([0x01, 0x01]), Buffer.alloc(257, 97)])), Status.TOO_LARGE],
    ['KV value length lies', frame(Op.KV_SET, 25, Buffer.from([1, 0, 97, 10, 0, 0, 0, 1, 2])), Status.BAD_FRAME],
    ['KV key not UTF-8', frame(Op.KV_GET, 26, Buffer.from([2, 0, 0xc3, 0x28])), Status.BAD_FRAME],
    ['garbage snapshot', frame(Op.RESTORE, 27, Buffer.from('not a snapshot at all, sorry')), Status.BAD_SNAPSHOT],
  ];
  for (const [what, bytes, status] of inFrameErrors) {
    test(`${what}: error reply, nothing applied, connection still usable`, async () => {
      const state = server.snapshot();
      const raw = await RawConnection.authed(port);
      raw.write(bytes);
      const r = await raw.reply();
      assert.equal(r.status, status, r.body.toString());
      assert.equal(r.id, bytes.readUInt32LE(5));
      assert.ok(r.body.length > 0, 'an error carries a message');
      assert.ok(server.snapshot().equals(state), 'state unchanged');
      // Framing was intact, so the connection goes on.
      raw.write(frame(Op.STATS, 1000));
      const s = await raw.reply();
      assert.equal(s.status, Status.OK);
      assert.equal(s.id, 1000);
      raw.destroy();
      await assertHealthy(state);
    });
  }

  test('garbage bytes: that connection closes, the server serves the rest', async () => {
    for (let k = 0; k < 20; k++) {
      const raw = await RawConnection.authed(port);
      const junk = Buffer.alloc(64);
      for (let i = 0; i < junk.length; i++) junk[i] = (Math.random() * 256) | 0;
      junk.writeUInt32LE(0xf0000000 + k, 0); // make sure the length is out of bounds
      raw.write(junk);
      assert.ok(await raw.closesWithin());
    }
    await assertHealthy();
  });
});

describe('limits', () => {
  test('connections over the limit are refused; the others keep working', async () => {
    const s = await startServer([{ name: 'w', rows: 4, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }], { maxConnections: 2 });
    try {
      const a = await s.connect(1);
      const b = await s.connect(2);
      await assert.rejects(s.connect(3), (e: unknown) => e instanceof Error && /LIMIT|too many connections|closed/.test(e.message));
      await a.push(0, Uint32Array.of(0), Float32Array.of(1));
      assert.deepEqual([...(await b.pull(0, Uint32Array.of(0)))], [-1]);
      assert.equal((await b.stats()).workers, 2);
      await a.close();
      await sleep(50);
      const c = await s.connect(3); // a slot is free again
      await c.close();
      await b.close();
    } finally {
      await s.server.close();
    }
  });

  test('a client that pipelines requests without reading replies is throttled, not buffered without bound', async () => {
    const rows = 32768; // 128 KiB per full pull
    const s = await startServer([{ name: 'w', rows, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }], { maxPendingReplyBytes: 512 * 1024 });
    try {
      const raw = await RawConnection.authed(s.port);
      raw.socket.pause(); // read nothing
      const requests = 400; // 50 MB of replies if the server produced them all
      const batch = Buffer.concat(Array.from({ length: requests }, (_, i) => frame(Op.PULL_FULL, i + 1, Buffer.from([0, 0, 0]))));
      raw.write(batch);
      await sleep(500);
      const observer = await s.connect(5);
      const pullsWhilePaused = (await observer.stats()).pulls;
      console.log(`backpressure: ${pullsWhilePaused} of ${requests} replies produced while the client read nothing`);
      assert.ok(pullsWhilePaused < 120, `the server produced ${pullsWhilePaused} replies for a reader that reads nothing`);
      raw.socket.resume();
      const deadline = Date.now() + 20_000;
      while (raw.replies.length < requests && Date.now() < deadline) await sleep(20);
      assert.equal(raw.replies.length, requests, 'all replies arrive once the client reads');
      assert.ok(raw.replies.every((r, i) => r.status === Status.OK && r.id === i + 1 && r.body.length === rows * 4));
      raw.destroy();
      await observer.close();
    } finally {
      await s.server.close();
    }
  });
});

describe('fuzz', () => {
  test('thousands of random and mutated frames: the server stays up and answers a good client', async () => {
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
      frame(Op.BYE, 10),
    ];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const mutate = (): Buffer => {
      const kind = rand(6);
      if (kind === 0) {
        // Pure noise with a plausible length.
        const b = Buffer.alloc(9 + rand(60));
        for (let i = 0; i < b.length; i++) b[i] = rand(256);
        b.writeUInt32LE(b.length - 4, 0);
        return b;
      }
      const b = Buffer.from(templates[rand(templates.length)]);
      if (kind === 1) {
        for (let f = 0; f <= rand(4); f++) {
          const i = 4 + rand(b.length - 4);
          b[i] ^= 1 << rand(8);
        }
      } else if (kind === 2) {
        b[4] = rand(256); // any opcode
      } else if (kind === 3 && b.length > 12) {
        // Cut the body; keep the length field consistent so the framing survives.
        const cut = b.subarray(0, 9 + rand(b.length - 9));
        cut.writeUInt32LE(cut.length - 4, 0);
        return Buffer.from(cut);
      } else if (kind === 4 && b.length > 13) {
        b.writeUInt32LE(rand(2) ? 0xffffffff : rand(1000), 12); // a lying count or id
      } else {
        b.writeUInt32LE(rand(2) ? rand(0xffffffff) : b.length - 4 + rand(8) - 4, 0); // a lying length
      }
      return b;
    };

    const deadline = Date.now() + 6000;
    let sent = 0;
    let connections = 0;
    while (sent < 3000 && Date.now() < deadline) {
      const raw = rand(10) === 0 ? await RawConnection.open(port) : await RawConnection.authed(port);
      connections++;
      for (let k = 0; k < 50 && !raw.isClosed; k++) {
        raw.write(mutate());
        sent++;
      }
      await Promise.race([raw.closed, sleep(5)]);
      raw.destroy();
    }
    assert.ok(sent >= 1000, `only ${sent} frames sent`);

    // Still up, still correct.
    await assertHealthy();
    for (const t of [0, 1]) {
      for (const x of await good.pullFull(t)) assert.ok(Number.isFinite(x), 'no NaN or infinity got into a table');
    }
    const fresh = await PsClient.connect({ host: '127.0.0.1', port, token: TOKEN, workerId: 1, generation: 0 });
    await fresh.push(0, Uint32Array.of(50), Float32Array.of(1));
    await fresh.close();
    console.log(`fuzz: ${sent} frames over ${connections} connections`);
  });
});
