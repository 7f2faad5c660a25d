// How bytes reach the parameter server: plain TCP, or TLS with a per-run self-signed certificate whose
// SHA-256 fingerprint the clients pin (no CA: the driver makes the certificate and hands its fingerprint
// to the workers in their invocation event). The protocol above (HELLO with the run's token, frames) is
// the same either way; server.ts and client.ts only ask this module for a listening server or an open
// socket (docs/security.md, "Transport").
//
// Why pinning is enough: a TLS 1.3 server proves it holds the private key of the certificate it shows
// (CertificateVerify), so a peer showing a certificate with the pinned fingerprint holds the run's key,
// which never leaves the driver and the parameter server. The client checks the fingerprint after the
// handshake and before it writes a byte, so the token is never sent to anyone else.
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import type * as tlsModule from 'node:tls';

/** node:tls, loaded on first use: a worker on a plain connection (the local default) does not compile it
 *  at its cold start (docs/benchmarks.md, coldStart). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tlsApi = (): typeof tlsModule => require('node:tls');

/** The server's side: its certificate and private key, PEM. */
export interface PsServerTls {
  cert: string;
  key: string;
}

/** The client's side: the SHA-256 fingerprint of the only certificate it accepts (hex, colons optional). */
export interface PsClientTls {
  fingerprint: string;
}

/** A run's certificate: the server's half and the fingerprint the clients pin. */
export interface RunCertificate extends PsServerTls {
  fingerprint: string;
}

const TLS_MIN_VERSION = 'TLSv1.3';
/** A client's plain-TCP read buffer (Node's own default read size). */
const READ_BUFFER_BYTES = 64 * 1024;

/** A listening-ready server that hands `accept` each connection once it is usable (after the TLS
 *  handshake when `tls` is set). Connections still in their handshake are bounded like those that have
 *  not said HELLO: at most `maxHandshaking` at once (the oldest goes) and `handshakeTimeoutMs` each. */
export function createTransportServer(
  options: { tls?: PsServerTls; handshakeTimeoutMs: number; maxHandshaking: number },
  accept: (socket: net.Socket) => void,
): net.Server {
  if (!options.tls) return net.createServer(accept);
  const server = tlsApi().createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: TLS_MIN_VERSION, handshakeTimeout: options.handshakeTimeoutMs }, accept);
  // Connections in their handshake by peer address (the TLS socket that comes out of one is another object).
  const handshaking = new Map<string, net.Socket>();
  const peer = (socket: net.Socket) => `${socket.remoteAddress}:${socket.remotePort}`;
  server.on('connection', (raw: net.Socket) => {
    if (handshaking.size >= options.maxHandshaking) {
      const [oldestPeer, oldest] = handshaking.entries().next().value as [string, net.Socket];
      handshaking.delete(oldestPeer);
      oldest.destroy();
    }
    const key = peer(raw);
    handshaking.set(key, raw);
    raw.on('close', () => handshaking.get(key) === raw && handshaking.delete(key));
  });
  server.on('secureConnection', (socket: tlsModule.TLSSocket) => handshaking.delete(peer(socket)));
  // A handshake that fails (a client that does not speak TLS, a scanner, a pinned client leaving) is the
  // peer's business: it must not reach the server's 'error' handler, which is for the listening socket.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  return server;
}

/**
 * A socket to the parameter server, whose received bytes go to `onData` (the chunk may be reused after
 * it returns). Plain TCP: returned at once (writes queue until it connects).
 * TLS: resolves only after the handshake and the fingerprint check, so nothing (no token) is written
 * to a server that is not the run's; a wrong fingerprint or a failed handshake rejects, naming the cause.
 */
export async function connectTransport(options: { host: string; port: number; tls?: PsClientTls; timeoutMs: number; onData: (chunk: Buffer) => void }): Promise<net.Socket> {
  const { host, port, onData } = options;
  if (!options.tls) {
    // Plain TCP reads into one reused buffer (the chunk handed to onData is valid until it returns):
    // a fresh 64 KB read buffer per reply cost as much as the reply's own decoding.
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    return net.connect({ host, port, onread: { buffer, callback: (n: number) => (onData(buffer.subarray(0, n)), true) } });
  }
  const pinned = normalizeFingerprint(options.tls.fingerprint);
  if (!pinned) throw new Error(`parameter server ${host}:${port}: the pinned certificate fingerprint "${options.tls.fingerprint}" is not 32 bytes of hex`);
  // No CA check (the certificate is self-signed; the pin replaces it) and no host-name check (the
  // server's address is not known when the certificate is made, e.g. an EC2 instance's public IP).
  const socket = tlsApi().connect({ host, port, rejectUnauthorized: false, minVersion: TLS_MIN_VERSION, ...(net.isIP(host) ? {} : { servername: host }) });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`parameter server ${host}:${port}: no TLS handshake within ${options.timeoutMs} ms`)), options.timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`parameter server connection ${host}:${port}: ${error.message}`));
      });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        const got = normalizeFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
        if (got === pinned) return resolve();
        reject(new Error(`parameter server ${host}:${port}: its TLS certificate (SHA-256 ${formatFingerprint(got ?? '')}) is not the run's (${formatFingerprint(pinned)}): not connecting, the token was not sent`));
      });
    });
  } catch (error) {
    socket.destroy();
    throw error;
  }
  socket.removeAllListeners('error'); // the client installs its own
  socket.on('data', onData);
  return socket;
}

/**
 * Makes an accepted plain-TCP socket read into `buffer`, handing `onRead(bytes)` a view of what
 * arrived (valid until it returns: the next read of any socket sharing `buffer` overwrites it), in
 * place of 'data' events. Node gives a server's sockets no public way to do this (`onread` is an
 * option of net.connect only), and its default allocates a 64 KB buffer for every read, shrinks it,
 * and passes it through the stream machinery: reading into one buffer took the server's CPU per
 * update from 121-144 to 93-95 µs (docs/benchmarks.md, "The parameter server's read path"). So this
 * sets the fields that `onread` sets (found by their names on a probe socket) and asks the handle to
 * use the buffer, as Node's own sockets with `onread` do.
 * Returns false, changing nothing, when this Node does not have them (the caller reads 'data' events);
 * call it before the socket's first read, in the server's connection callback.
 */
export function readIntoBuffer(socket: net.Socket, buffer: Buffer, onRead: (bytes: Buffer) => void): boolean {
  const fields = onreadFields();
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Buffer) => void } })._handle;
  if (!fields || typeof handle?.useUserBuffer !== 'function' || socket.constructor !== net.Socket) return false;
  const target = socket as unknown as Record<symbol, unknown>;
  target[fields.buffer] = buffer;
  target[fields.callback] = (n: number) => {
    onRead(buffer.subarray(0, n));
    return true; // keep reading: pause() stops the handle as with 'data' events
  };
  target[fields.generator] = null;
  handle.useUserBuffer(buffer);
  return true;
}

type OnreadFields = { buffer: symbol; callback: symbol; generator: symbol };
let onreadFieldsFound: OnreadFields | null | undefined;

/** The symbols under which net.Socket keeps its `onread` option, or null if this Node has none. */
function onreadFields(): OnreadFields | null {
  if (onreadFieldsFound !== undefined) return onreadFieldsFound;
  const probeBuffer = Buffer.alloc(1);
  const probeCallback = () => true;
  // `onread` is in net.Socket's constructor options since Node 12, though its types list it for net.connect only.
  const options = { onread: { buffer: probeBuffer, callback: probeCallback } } as net.SocketConstructorOpts;
  const probe = new net.Socket(options) as unknown as Record<symbol, unknown>;
  const find = (name: string, value: unknown) =>
    Object.getOwnPropertySymbols(probe).find((s) => s.description === name && probe[s] === value);
  const buffer = find('kBuffer', probeBuffer);
  const callback = find('kBufferCb', probeCallback);
  const generator = find('kBufferGen', null);
  (probe as unknown as net.Socket).destroy();
  onreadFieldsFound = buffer && callback && generator ? { buffer, callback, generator } : null;
  return onreadFieldsFound;
}

/** "AB:CD:…" or "abcd…" -> lower-case hex without separators; undefined unless it is 32 bytes. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** Colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it. */
export function formatFingerprint(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

/** The SHA-256 fingerprint (hex) of a PEM certificate. */
export function certificateFingerprint(certPem: string): string {
  return normalizeFingerprint(new crypto.X509Certificate(certPem).fingerprint256)!;
}

// ---- the run's certificate ----
//
// Node makes keys (node:crypto) but not certificates, so the certificate is written here in DER by hand:
// an X.509 v3 certificate with an ECDSA P-256 key, signed by itself. It needs no package and no openssl
// binary (VS Code runs on machines without one); node:crypto's X509Certificate reads it back in the tests.

/** A fresh key pair and self-signed certificate, valid from an hour ago (clock skew) for `validDays`. */
export function makeRunCertificate(options: { commonName?: string; validDays?: number } = {}): RunCertificate {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const name = der.seq(der.set(der.seq(der.oid('2.5.4.3'), der.utf8(options.commonName ?? 'cirrus parameter server'))));
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f; // a positive INTEGER
  serial[0] |= 0x01; // with no leading zero byte
  const ecdsaWithSha256 = der.seq(der.oid('1.2.840.10045.4.3.2'));
  const basicConstraints = der.seq(der.oid('2.5.29.19'), der.bool(true), der.octets(der.seq())); // critical, cA false
  const tbs = der.seq(
    der.tag(0xa0, der.int(Buffer.from([2]))), // version 3
    der.int(serial),
    ecdsaWithSha256,
    name,
    der.seq(der.time(new Date(now - 3600_000)), der.time(new Date(now + (options.validDays ?? 30) * 86400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    der.tag(0xa3, der.seq(basicConstraints)),
  );
  const signature = crypto.sign('sha256', tbs, privateKey); // DER-encoded ECDSA signature
  const cert = toPem('CERTIFICATE', der.seq(tbs, ecdsaWithSha256, der.bitString(signature)));
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { cert, key, fingerprint: certificateFingerprint(cert) };
}

function toPem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

/** The few DER encodings a certificate needs. */
const der = {
  tag(tag: number, content: Buffer): Buffer {
    const n = content.length;
    const length = n < 0x80 ? Buffer.from([n]) : (() => {
      const bytes: number[] = [];
      for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
      return Buffer.from([0x80 | bytes.length, ...bytes]);
    })();
    return Buffer.concat([Buffer.from([tag]), length, content]);
  },
  seq: (...parts: Buffer[]) => der.tag(0x30, Buffer.concat(parts)),
  set: (...parts: Buffer[]) => der.tag(0x31, Buffer.concat(parts)),
  int: (bytes: Buffer) => der.tag(0x02, bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes),
  bool: (value: boolean) => der.tag(0x01, Buffer.from([value ? 0xff : 0])),
  octets: (bytes: Buffer) => der.tag(0x04, bytes),
  bitString: (bytes: Buffer) => der.tag(0x03, Buffer.concat([Buffer.from([0]), bytes])),
  utf8: (text: string) => der.tag(0x0c, Buffer.from(text, 'utf8')),
  oid(dotted: string): Buffer {
    const [a, b, ...rest] = dotted.split('.').map(Number);
    const bytes = [40 * a + b];
    for (const v of rest) {
      const chunk = [v & 0x7f];
      for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift(0x80 | (x & 0x7f));
      bytes.push(...chunk);
    }
    return der.tag(0x06, Buffer.from(bytes));
  },
  /** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
  time(date: Date): Buffer {
    const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
    return date.getUTCFullYear() < 2050 ? der.tag(0x17, Buffer.from(iso.slice(2), 'ascii')) : der.tag(0x18, Buffer.from(iso, 'ascii'));
  },
};
