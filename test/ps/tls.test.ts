// The parameter server over TLS on the loopback, with real certificates: the run's self-signed
// certificate, workers that pin its fingerprint, the token at HELLO; and the ways in that must fail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { test } from 'node:test';
import { PsClient } from '../../runtime/ps/client';
import { Op, PsError, Status } from '../../runtime/ps/protocol';
import { ParameterServer } from '../../runtime/ps/server';
import { startParameterServer } from '../../runtime/ps/launch';
import { certificateFingerprint, makeRunCertificate, normalizeFingerprint } from '../../runtime/ps/transport';
import type { TableSpec } from '../../runtime/ps/types';
import { frame, helloBody, TOKEN } from './helpers';

const tables: TableSpec[] = [{ name: 'w', rows: 100, width: 1, optimizer: { type: 'sgd', learningRate: 0.5 } }];

async function tlsServer(extra: Partial<ConstructorParameters<typeof ParameterServer>[0]> = {}) {
  const certificate = makeRunCertificate();
  const server = new ParameterServer({ token: TOKEN, tables, tls: { cert: certificate.cert, key: certificate.key }, ...extra });
  const { port } = await server.listen();
  const connect = (options: { token?: string; fingerprint?: string } = {}) =>
    PsClient.connect({ host: '127.0.0.1', port, token: options.token ?? TOKEN, workerId: 1, generation: 0, tls: { fingerprint: options.fingerprint ?? certificate.fingerprint }, timeoutMs: 5000 });
  return { server, port, certificate, connect };
}

/** A TLS socket that accepts any certificate (an attacker's client), for hand-made frames. */
function rawTls(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Whole reply frames read from a socket until it closes (or `ms` pass). */
async function repliesUntilClose(socket: net.Socket, ms = 5000): Promise<{ status: number; body: string }[]> {
  let data = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    socket.once('close', () => (clearTimeout(timer), resolve()));
  });
  const replies: { status: number; body: string }[] = [];
  for (let o = 0; o + 4 <= data.length; ) {
    const end = o + 4 + data.readUInt32LE(o);
    replies.push({ status: data[o + 4], body: data.toString('utf8', o + 9, end) });
    o = end;
  }
  return replies;
}

test('the run certificate: a self-signed X.509 v3 P-256 certificate whose fingerprint the helpers report', () => {
  const { cert, key, fingerprint } = makeRunCertificate({ validDays: 2 });
  const x509 = new crypto.X509Certificate(cert);
  assert.ok(x509.verify(x509.publicKey), 'signed by its own key');
  assert.ok(x509.checkPrivateKey(crypto.createPrivateKey(key)), 'the key is the certificate key');
  assert.equal(x509.subject, 'CN=cirrus parameter server');
  assert.equal(x509.issuer, x509.subject);
  assert.equal(x509.ca, false);
  assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const from = Date.parse(x509.validFrom);
  const to = Date.parse(x509.validTo);
  assert.ok(from <= Date.now() && Date.now() - from < 2 * 3600_000, `valid from ${x509.validFrom}`);
  assert.ok(Math.abs(to - Date.now() - 2 * 86400_000) < 60_000, `valid to ${x509.validTo}`);
  assert.equal(fingerprint, normalizeFingerprint(x509.fingerprint256));
  assert.equal(fingerprint, crypto.createHash('sha256').update(x509.raw).digest('hex'));
  assert.equal(certificateFingerprint(cert), fingerprint);
  assert.notEqual(makeRunCertificate().fingerprint, fingerprint, 'a new certificate (and key) for every run');
  // Read by OpenSSL too, where its command-line tool is present.
  const openssl = spawnSync('openssl', ['x509', '-noout', '-text', '-fingerprint', '-sha256'], { input: cert, encoding: 'utf8' });
  if (openssl.status === 0) {
    assert.match(openssl.stdout, /Version: 3/);
    assert.match(openssl.stdout, /CA:FALSE/);
    assert.ok(openssl.stdout.toUpperCase().replace(/:/g, '').includes(fingerprint.toUpperCase()), 'openssl reports the same fingerprint');
  }
});

test('over TLS: HELLO with the token, pushes and pulls work; the wire carries no plaintext', async () => {
  const { server, port, certificate, connect } = await tlsServer();
  // A TCP relay that records what crosses the wire.
  const wire: Buffer[] = [];
  const relay = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port });
    inbound.on('data', (chunk: Buffer) => (wire.push(chunk), outbound.write(chunk)));
    outbound.on('data', (chunk: Buffer) => (wire.push(chunk), inbound.write(chunk)));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.on('error', () => {});
    outbound.on('error', () => {});
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayPort = (relay.address() as net.AddressInfo).port;
  try {
    const client = await PsClient.connect({ host: '127.0.0.1', port: relayPort, token: TOKEN, workerId: 3, generation: 2, tls: { fingerprint: certificate.fingerprint } });
    assert.deepEqual(client.tables.map((t) => [t.name, t.rows, t.width]), [['w', 100, 1]]);
    const rows = new Uint32Array([1, 5, 99]);
    await client.push(0, rows, new Float32Array([1, -2, 4]));
    assert.deepEqual([...(await client.pull(0, rows))], [-0.5, 1, -2]);
    await client.kvSet('greeting', Buffer.from('plaintext-marker-0123'));
    assert.equal((await client.kvGet('greeting'))?.toString(), 'plaintext-marker-0123');
    const stats = await client.stats();
    assert.equal(stats.updates, 1);
    assert.equal(stats.workers, 1);
    await client.close();
    const all = Buffer.concat(wire);
    assert.ok(all.length > 500, `${all.length} bytes crossed the wire`);
    assert.equal(all.indexOf(TOKEN), -1, 'the token never crosses in the clear');
    assert.equal(all.indexOf('plaintext-marker-0123'), -1, 'nor the data');
    assert.equal(all[0], 0x16, 'the first byte is a TLS handshake record');
  } finally {
    relay.close();
    await server.close();
  }
});

test('a worker pinning another fingerprint is refused and never sends its token, to the real server or to an impostor', async () => {
  const { server, connect } = await tlsServer();
  try {
    const wrong = makeRunCertificate().fingerprint;
    await assert.rejects(connect({ fingerprint: wrong }), /its TLS certificate \(SHA-256 [0-9A-F:]{95}\) is not the run's .* the token was not sent/);
    await assert.rejects(connect({ fingerprint: 'not-a-fingerprint' }), /not 32 bytes of hex/);
    assert.equal(server.stats().totalConnections, 0, 'no HELLO reached the server');
  } finally {
    await server.close();
  }

  // An impostor with a certificate of its own (a man in the middle): it completes the handshake and
  // waits for the token. The worker, pinning the run's fingerprint, writes nothing to it.
  const run = makeRunCertificate();
  const impostorCert = makeRunCertificate();
  const received: Buffer[] = [];
  let connections = 0;
  const impostor = tls.createServer({ cert: impostorCert.cert, key: impostorCert.key }, (socket) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
  });
  impostor.on('connection', () => connections++);
  impostor.on('tlsClientError', () => {}); // the worker leaves as soon as it has seen the certificate
  await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
  try {
    const port = (impostor.address() as net.AddressInfo).port;
    await assert.rejects(
      PsClient.connect({ host: '127.0.0.1', port, token: TOKEN, workerId: 1, generation: 0, tls: { fingerprint: run.fingerprint } }),
      /is not the run's/,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(connections, 1, 'the worker did connect');
    assert.equal(Buffer.concat(received).length, 0, 'not a byte (no HELLO, no token) after it');
  } finally {
    impostor.close();
  }
});

test('over TLS a client without the token is refused: a wrong token, no HELLO, a request before HELLO', async () => {
  const { server, port, connect } = await tlsServer({ helloTimeoutMs: 500 });
  try {
    await assert.rejects(connect({ token: 'not-the-run-token' }), (e: unknown) => e instanceof PsError && e.status === Status.UNAUTHORIZED && /bad token/.test(e.message));

    // The right certificate is public: anyone can finish the handshake. Without the token they get nothing.
    const before = await rawTls(port);
    before.write(frame(Op.PULL_FULL, 1, Buffer.from([0, 0, 0])));
    const refused = await repliesUntilClose(before);
    assert.equal(refused.length, 1);
    assert.equal(refused[0].status, Status.UNAUTHORIZED);
    assert.match(refused[0].body, /HELLO must come first/);

    const silent = await rawTls(port);
    const timedOut = await repliesUntilClose(silent);
    assert.equal(timedOut[0]?.status, Status.UNAUTHORIZED);
    assert.match(timedOut[0].body, /no HELLO within 500 ms/);

    const wrongToken = await rawTls(port);
    wrongToken.write(frame(Op.HELLO, 1, helloBody('guess')));
    const bad = await repliesUntilClose(wrongToken);
    assert.equal(bad[0]?.status, Status.UNAUTHORIZED);

    const stats = server.stats();
    assert.equal(stats.totalConnections, 0);
    assert.ok(stats.rejectedConnections >= 4, `${stats.rejectedConnections} refused`);
    // And the run's workers still get in.
    const ok = await connect();
    assert.equal(ok.tables.length, 1);
    await ok.close();
  } finally {
    await server.close();
  }
});

test('a TLS server refuses plain TCP, and a plain client pointed at it fails with a clear error; the server serves on', async () => {
  const { server, port, connect } = await tlsServer();
  try {
    const plain = net.connect({ host: '127.0.0.1', port });
    plain.on('error', () => {});
    await new Promise((resolve) => plain.once('connect', resolve));
    plain.write(frame(Op.HELLO, 1, helloBody()));
    const replies = await repliesUntilClose(plain);
    assert.equal(replies.length, 0, 'no protocol reply to a plain-text HELLO');
    await assert.rejects(PsClient.connect({ host: '127.0.0.1', port, token: TOKEN, workerId: 1, generation: 0, timeoutMs: 3000 }), /parameter server/);
    const ok = await connect();
    await ok.push(0, new Uint32Array([0]), new Float32Array([2]));
    await ok.close();
    assert.equal(server.stats().updates, 1);
  } finally {
    await server.close();
  }
});

test('connections that never finish their TLS handshake are bounded: the oldest goes, a worker still gets in, close() ends them', async () => {
  const { server, port, connect } = await tlsServer({ maxUnauthenticated: 4, helloTimeoutMs: 30_000 });
  const stalled: net.Socket[] = [];
  try {
    let dropped = 0;
    for (let i = 0; i < 10; i++) {
      const s = net.connect({ host: '127.0.0.1', port }); // TCP only: no ClientHello
      s.on('error', () => {});
      s.on('close', () => dropped++);
      await new Promise((resolve) => s.once('connect', resolve));
      stalled.push(s);
    }
    const deadline = Date.now() + 3000;
    while (dropped < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(dropped, 6, 'all but the newest 4 stalled handshakes dropped');
    const client = await connect();
    assert.equal(client.tables.length, 1);
    await client.close();
  } finally {
    const closing = server.close();
    await Promise.race([closing, new Promise((_, reject) => setTimeout(() => reject(new Error('close() waited for stalled handshakes')), 3000))]);
    for (const s of stalled) s.destroy();
  }
});

test('the parameter-server child process speaks TLS with the certificate it is given over IPC', async () => {
  const certificate = makeRunCertificate();
  const ps = await startParameterServer({ token: TOKEN, tables, tls: { cert: certificate.cert, key: certificate.key } });
  try {
    const client = await PsClient.connect({ host: '127.0.0.1', port: ps.port, token: TOKEN, workerId: 1, generation: 0, tls: { fingerprint: certificate.fingerprint } });
    await client.push(0, new Uint32Array([7]), new Float32Array([1]));
    assert.deepEqual([...(await client.pull(0, new Uint32Array([7])))], [-0.5]);
    await client.close();
    await assert.rejects(
      PsClient.connect({ host: '127.0.0.1', port: ps.port, token: TOKEN, workerId: 1, generation: 0, tls: { fingerprint: makeRunCertificate().fingerprint } }),
      /is not the run's/,
    );
  } finally {
    await ps.stop();
  }
});
