// The parameter server: model tables behind a TCP port, speaking the protocol of protocol.ts.
//
// Concurrency model: Node runs every frame handler to completion on one thread, so updates are applied
// one whole push at a time in arrival order (asynchronous SGD, "Hogwild" without the races). No locks,
// and no global model lock to serialise on as in the original Cirrus server: there is nothing to lock.
//
// Robustness rules (see docs/parameter-server-protocol.md, "Errors and limits"):
// - a frame whose length field is out of bounds, a connection without a valid HELLO first, or a
//   wrong token: an error reply, then that connection is closed;
// - a well-framed request that is wrong (unknown op or table, row out of range, NaN gradient, a body
//   inconsistent with its counts): an error reply and nothing applied; the connection stays usable;
// - everything is validated before anything is changed, so no partial update ever lands;
// - nothing a peer sends can throw out of a handler: one connection's trouble never reaches another;
// - a peer cannot hold resources for free: connections that have not said HELLO have a short
//   deadline and a small limit of their own (apart from the authenticated workers' limit), a frame
//   that has begun must keep arriving, an idle connection is closed, partly received frames are
//   bounded across all connections, and a push whose optimiser step would write a non-finite
//   value is refused with the rows left as they were (docs/security.md).
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { Table } from './optimizers';
import {
  assertLittleEndian,
  DEFAULT_MAX_FRAME_BYTES,
  errorFrame,
  FramePool,
  FrameReader,
  HEADER_BYTES,
  headerFrame,
  MAX_KEY_BYTES,
  MAX_TOKEN_BYTES,
  MAX_UNAUTHENTICATED_FRAME_BYTES,
  MAX_VALUE_BYTES,
  Op,
  OP_NAMES,
  OPTIMIZER_CODES,
  PROTOCOL_VERSION,
  PsError,
  SPARSE_ARRAY_OFFSET,
  Status,
} from './protocol';
import { applySnapshot, encodeSnapshot } from './snapshot';
import { createTransportServer, readIntoBuffer } from './transport';
import type { ParameterServerConfig, ParameterServerStats } from './types';
import { screenRecords, UpdateScreen } from '../aggregation/screen';

export interface ParameterServerOptions {
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Counts events into 250 ms buckets over the last 5 s, for the "per second" figures. */
class SlidingRate {
  private readonly counts: Float64Array;
  private readonly epochs: Float64Array;
  constructor(private readonly bucketMs = 250, private readonly buckets = 20) {
    this.counts = new Float64Array(buckets);
    this.epochs = new Float64Array(buckets).fill(-1);
  }
  get windowSeconds(): number {
    return (this.bucketMs * this.buckets) / 1000;
  }
  add(count: number, now: number): void {
    const e = Math.floor(now / this.bucketMs);
    const i = e % this.buckets;
    if (this.epochs[i] !== e) {
      this.epochs[i] = e;
      this.counts[i] = 0;
    }
    this.counts[i] += count;
  }
  perSecond(now: number, startedAt: number): number {
    const e = Math.floor(now / this.bucketMs);
    let sum = 0;
    for (let i = 0; i < this.buckets; i++) if (this.epochs[i] > e - this.buckets && this.epochs[i] <= e) sum += this.counts[i];
    const from = Math.max(startedAt, (e - this.buckets + 1) * this.bucketMs);
    const seconds = (now - from) / 1000;
    return seconds > 0 ? sum / seconds : 0;
  }
}

/** One client connection's state. */
class Connection {
  authed = false;
  closing = false;
  workerId = -1;
  generation = -1;
  backlog: Buffer | null = null; // unread part of a socket read (a copy), kept while replies drain or the rate limit refills
  rateLimited = false; // the frame-rate bucket ran dry during the current read
  /** Asked by the reader after each frame: stop here? (Over the frame rate, or too many reply bytes queued.) */
  overLimit: () => boolean = () => false;
  waitingDrain = false; // reading is paused (replies draining or rate-limited)
  tokens = 0; // frame-rate bucket
  tokensAt = 0; // when it was last refilled (0: never; it starts full)
  helloTimer: NodeJS.Timeout | undefined;
  /** Bytes of a partial frame counted in the server's buffered total. */
  buffered = 0;
  /** The socket timeout currently set: the frame-progress one while a frame is partly in, else the idle one. */
  timeoutMode: 'idle' | 'frame' | undefined;
  readonly reader: FrameReader;
  /** Memory of the PULL_SPARSE replies, reused once written. */
  readonly replies = new FramePool();
  private scratch = new ArrayBuffer(0);

  constructor(readonly socket: net.Socket, onFrame: (buf: Buffer, start: number, end: number) => void, onBadLength: (n: number) => void) {
    this.reader = new FrameReader(MAX_UNAUTHENTICATED_FRAME_BYTES, onFrame, onBadLength);
  }

  /** Takes one frame from the token bucket (`rate` frames a second, bursts of up to `rate`);
   *  false when the bucket is empty: the caller stops reading until it refills. */
  takeFrame(now: number, rate: number): boolean {
    if (this.tokensAt === 0) this.tokens = rate;
    else this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0;
  }

  /** Milliseconds until the bucket holds a whole frame again. */
  msUntilFrame(rate: number): number {
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / rate));
  }

  /** An ArrayBuffer holding `bytes` bytes of `buf` from `off` at a 4-aligned place: the frame's own
   *  memory when it already is aligned, else a copy in this connection's reused scratch buffer. */
  aligned(buf: Buffer, off: number, bytes: number): [ArrayBuffer, number] {
    const abs = buf.byteOffset + off;
    if ((abs & 3) === 0) return [buf.buffer as ArrayBuffer, abs];
    if (this.scratch.byteLength < bytes) this.scratch = new ArrayBuffer(Math.max(bytes, this.scratch.byteLength * 2));
    new Uint8Array(this.scratch, 0, bytes).set(buf.subarray(off, off + bytes));
    return [this.scratch, 0];
  }
}

export class ParameterServer {
  private readonly tables: Table[];
  /** config.screen: one update screen per table (runtime/aggregation/screen.ts). */
  private readonly screens: UpdateScreen[] | undefined;
  private readonly tokenDigest: Buffer;
  private readonly maxFrameBytes: number;
  private readonly maxConnections: number;
  private readonly maxUnauthenticated: number;
  private readonly idleTimeoutMs: number;
  private readonly frameProgressTimeoutMs: number;
  private readonly maxBufferedFrameBytes: number;
  private bufferedFrameBytes = 0;
  private authedCount = 0;
  private readonly maxPendingReplyBytes: number;
  private readonly helloTimeoutMs: number;
  private readonly maxKvBytes: number;
  private readonly maxFramesPerSecond: number;
  private readonly log: NonNullable<ParameterServerOptions['log']>;
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  /** What every plain-TCP connection reads into (readIntoBuffer): a read is handled before the next. */
  private readonly readBuffer = Buffer.allocUnsafeSlow(64 * 1024);
  /** Connections that have not said HELLO yet, oldest first. */
  private readonly unauthenticated = new Set<Connection>();
  private readonly sockets = new Set<net.Socket>(); // every open socket, refused ones included, for close()
  private readonly workerCounts = new Map<number, number>();
  private kv = new Map<string, Buffer>();
  private kvBytes = 0;
  private listening = false;

  private readonly startedAt = Date.now();
  private updates = 0;
  /** Time spent in the optimiser steps of pushes and in gathering pulled rows (the bench's cost breakdown). */
  private applySeconds = 0;
  private gatherSeconds = 0;
  private rowUpdates = 0;
  private pulls = 0;
  private totalConnections = 0;
  private rejectedConnections = 0;
  private errors = 0;
  private throttled = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly updateRate = new SlidingRate();
  private readonly rowRate = new SlidingRate();
  private readonly pullRate = new SlidingRate();

  constructor(private readonly config: ParameterServerConfig, options: ParameterServerOptions = {}) {
    assertLittleEndian();
    if (typeof config.token !== 'string' || config.token.length === 0) throw new Error('parameter server: a non-empty token is required');
    if (Buffer.byteLength(config.token) > MAX_TOKEN_BYTES) throw new Error(`parameter server: token longer than ${MAX_TOKEN_BYTES} bytes`);
    if (!Array.isArray(config.tables) || config.tables.length === 0) throw new Error('parameter server: at least one table is required');
    if (config.tables.length > 0xffff) throw new Error('parameter server: too many tables');
    this.tables = config.tables.map((spec) => new Table(spec));
    this.screens = config.screen ? this.tables.map(() => new UpdateScreen(config.screen)) : undefined;
    // Digests of equal length let timingSafeEqual compare tokens of any length in constant time.
    this.tokenDigest = crypto.createHash('sha256').update(config.token, 'utf8').digest();
    this.maxFrameBytes = positive(config.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes');
    this.maxConnections = positive(config.maxConnections, 1024, 'maxConnections');
    this.maxPendingReplyBytes = positive(config.maxPendingReplyBytes, 64 * 1024 * 1024, 'maxPendingReplyBytes');
    this.helloTimeoutMs = positive(config.helloTimeoutMs, 5_000, 'helloTimeoutMs');
    this.maxUnauthenticated = positive(config.maxUnauthenticated, 64, 'maxUnauthenticated');
    this.idleTimeoutMs = positive(config.idleTimeoutMs, 15 * 60_000, 'idleTimeoutMs');
    this.frameProgressTimeoutMs = positive(config.frameProgressTimeoutMs, 10_000, 'frameProgressTimeoutMs');
    this.maxKvBytes = positive(config.maxKvBytes, 64 * 1024 * 1024, 'maxKvBytes');
    this.maxFramesPerSecond = positive(config.maxFramesPerSecond, 50_000, 'maxFramesPerSecond');
    if (this.maxFrameBytes > 0xffffffff - 4) throw new Error('parameter server: maxFrameBytes must fit a u32 length');
    this.maxBufferedFrameBytes = positive(config.maxBufferedFrameBytes, Math.max(512 * 1024 * 1024, 2 * this.maxFrameBytes), 'maxBufferedFrameBytes');
    this.log = options.log ?? (() => {});
    // Plain TCP or TLS (config.tls): connections reach accept() ready for the protocol either way.
    const transport = { tls: config.tls, handshakeTimeoutMs: this.helloTimeoutMs, maxHandshaking: this.maxUnauthenticated };
    this.server = createTransportServer(transport, (socket) => this.accept(socket));
    // Every socket, also one still in its TLS handshake, so close() ends them all at once.
    this.server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('error', (err) => this.log('error', `parameter server: ${err.message}`));
  }

  listen(): Promise<{ host: string; port: number }> {
    const host = this.config.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.config.port ?? 0, host, () => {
        this.server.off('error', onError);
        this.listening = true;
        this.touchTablePages();
        const address = this.server.address() as net.AddressInfo;
        resolve({ host, port: address.port });
      });
    });
  }

  /** Maps the tables' memory while the workers start (their process start-up is 100 ms or more), a
   *  megabyte per event-loop turn so requests arriving meanwhile wait at most one slice. */
  private touchTablePages(): void {
    let table = 0;
    let from = 0;
    const slice = () => {
      if (!this.listening || table >= this.tables.length) return;
      from = this.tables[table].touchPages(from, 256);
      if (from < 0) {
        table++;
        from = 0;
      }
      setImmediate(slice);
    };
    setImmediate(slice);
  }

  /** Stops accepting, drops every connection, resolves when the port is released. */
  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  stats(): ParameterServerStats {
    const now = Date.now();
    const authed = this.authedCount;
    return {
      updates: this.updates,
      updatesPerSecond: this.updateRate.perSecond(now, this.startedAt),
      rowUpdates: this.rowUpdates,
      rowUpdatesPerSecond: this.rowRate.perSecond(now, this.startedAt),
      pulls: this.pulls,
      pullsPerSecond: this.pullRate.perSecond(now, this.startedAt),
      connections: authed,
      workers: this.workerCounts.size,
      totalConnections: this.totalConnections,
      rejectedConnections: this.rejectedConnections,
      errors: this.errors,
      throttled: this.throttled,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      kvKeys: this.kv.size,
      uptimeSeconds: (now - this.startedAt) / 1000,
      windowSeconds: this.updateRate.windowSeconds,
      rssBytes: process.memoryUsage().rss,
      applySeconds: this.applySeconds,
      gatherSeconds: this.gatherSeconds,
      ...(this.screens ? { screen: screenRecords(this.screens) } : {}),
    };
  }

  /** Every table (weights + optimiser state) and the key-value store: the checkpoint format. */
  snapshot(): Buffer {
    return encodeSnapshot(this.tables, this.kv);
  }

  /** Loads a snapshot of a server with the same tables; throws PsError(BAD_SNAPSHOT) and changes nothing otherwise. */
  restore(buf: Uint8Array): void {
    const kv = applySnapshot(buf, this.tables);
    this.kv = kv;
    this.kvBytes = 0;
    for (const [k, v] of kv) this.kvBytes += Buffer.byteLength(k) + v.length;
  }

  /** A copy of a table's weights, row-major, for in-process users (tests, evaluation in the same process). */
  tableWeights(table: number): Float32Array {
    const t = this.tables[table];
    if (!t) throw new Error(`no table ${table}`);
    return t.copyArray(0);
  }

  // ---- connections ----

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => {}); // resets and the like: 'close' follows and cleans up
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // Sockets that have not said HELLO have their own small limit, apart from the workers' limit:
    // over it, the oldest silent one is dropped (no reply). A flood then only ever holds the newest
    // few slots, and a worker, which says HELLO as soon as it connects, gets through.
    if (this.unauthenticated.size >= this.maxUnauthenticated) {
      const oldest = this.unauthenticated.values().next().value as Connection;
      this.unauthenticated.delete(oldest);
      oldest.closing = true;
      this.rejectedConnections++;
      oldest.socket.destroy();
    }
    const c: Connection = new Connection(
      socket,
      (buf, start, end) => this.onFrame(c, buf, start, end),
      (length) => this.refuse(c, Status.TOO_LARGE, 0, `frame length ${length} out of bounds (5..${c.reader.maxFrameBytes})`),
    );
    c.overLimit = () => {
      if (c.closing) return true;
      if (!c.takeFrame(Date.now(), this.maxFramesPerSecond)) c.rateLimited = true;
      return c.rateLimited || c.socket.writableLength > this.maxPendingReplyBytes;
    };
    this.connections.add(c);
    this.unauthenticated.add(c);
    c.helloTimer = setTimeout(() => {
      if (!c.authed && !c.closing) this.refuse(c, Status.UNAUTHORIZED, 0, `no HELLO within ${this.helloTimeoutMs} ms`);
    }, this.helloTimeoutMs);
    c.helloTimer.unref();
    const onRead = (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      this.feed(c, chunk);
      this.track(c);
    };
    // Plain TCP: every connection reads into the server's one read buffer (nothing outlives a read
    // but a copied backlog and FrameReader's own copy of a partial frame). TLS: 'data' events.
    if (!readIntoBuffer(socket, this.readBuffer, onRead)) socket.on('data', onRead);
    socket.on('timeout', () => {
      if (c.timeoutMode === 'frame') this.refuse(c, Status.BAD_FRAME, 0, `a frame stopped arriving (no byte for ${this.frameProgressTimeoutMs} ms)`);
      else if (c.authed) this.refuse(c, Status.BAD_FRAME, 0, `idle for ${this.idleTimeoutMs} ms`);
    });
    socket.on('close', () => {
      clearTimeout(c.helloTimer);
      this.connections.delete(c);
      this.unauthenticated.delete(c);
      this.bufferedFrameBytes -= c.buffered;
      c.buffered = 0;
      c.reader.release();
      if (c.authed) {
        this.authedCount--;
        this.countWorker(c.workerId, -1);
      }
    });
  }

  /** After a read: counts the connection's partial frame in the server-wide total (closing the
   *  connection that goes past it) and picks its timeout: frame progress while a frame is partly
   *  in, idle otherwise. */
  private track(c: Connection): void {
    if (c.closing) return;
    const now = c.reader.bufferedBytes;
    this.bufferedFrameBytes += now - c.buffered;
    c.buffered = now;
    if (this.bufferedFrameBytes > this.maxBufferedFrameBytes) {
      return this.refuse(c, Status.LIMIT, 0, `the server holds ${this.bufferedFrameBytes} bytes of partly received frames (limit ${this.maxBufferedFrameBytes})`);
    }
    const mode = now > 0 ? 'frame' : 'idle';
    if (mode !== c.timeoutMode) {
      c.timeoutMode = mode;
      c.socket.setTimeout(mode === 'frame' ? this.frameProgressTimeoutMs : this.idleTimeoutMs);
    }
  }

  /** Runs the frames in a socket read. It stops (and pauses the socket) while too many reply bytes are
   *  queued — a client that pipelines requests but never reads replies cannot grow our memory — and
   *  while the connection is over its frame rate: a flooding peer is slowed down, not served first. */
  private feed(c: Connection, chunk: Buffer): void {
    if (c.closing) return;
    c.rateLimited = false;
    // Replies to all the frames of one read leave in one batch (one writev, not one syscall each).
    c.socket.cork();
    const stoppedAt = c.reader.push(chunk, c.overLimit);
    c.socket.uncork();
    if (stoppedAt < 0 || c.closing) return;
    // A copy: the read buffer is the next read's (and other connections').
    if (stoppedAt < chunk.length) c.backlog = Buffer.from(chunk.subarray(stoppedAt));
    if (c.waitingDrain) return;
    if (c.rateLimited) {
      this.throttled++;
      this.pauseUntil(c, (resume) => setTimeout(resume, c.msUntilFrame(this.maxFramesPerSecond)));
    } else if (c.backlog || c.socket.writableLength > this.maxPendingReplyBytes) {
      this.pauseUntil(c, (resume) => c.socket.once('drain', resume));
    }
  }

  /** Stops reading `c` until `wake` calls back, then feeds what was left over and reads on. */
  private pauseUntil(c: Connection, wake: (resume: () => void) => void): void {
    c.waitingDrain = true;
    c.socket.pause();
    wake(() => {
      c.waitingDrain = false;
      if (c.closing || c.socket.destroyed) return;
      const rest = c.backlog;
      c.backlog = null;
      if (rest) this.feed(c, rest);
      if (!c.waitingDrain && !c.closing) c.socket.resume();
    });
  }

  /** Error reply, then close this connection (only this one). */
  private refuse(c: Connection, status: number, requestId: number, message: string): void {
    if (c.closing) return;
    c.closing = true;
    if (!c.authed) this.rejectedConnections++;
    this.errors++;
    this.log('warn', `parameter server: closing ${c.socket.remoteAddress}:${c.socket.remotePort}: ${message}`);
    const frame = errorFrame(status, requestId, message);
    this.bytesOut += frame.length;
    c.socket.end(frame);
    // A peer that never reads would keep the half-closed socket forever.
    setTimeout(() => c.socket.destroy(), 2000).unref();
  }

  private send(c: Connection, frame: Buffer): void {
    this.bytesOut += frame.length;
    c.socket.write(frame);
  }

  private onFrame(c: Connection, buf: Buffer, start: number, end: number): void {
    if (c.closing) return;
    const op = buf[start + 4];
    const id = buf.readUInt32LE(start + 5);
    if (!c.authed) {
      if (op !== Op.HELLO) return this.refuse(c, Status.UNAUTHORIZED, id, `HELLO must come first (got ${OP_NAMES[op] ?? `opcode ${op}`})`);
      return this.hello(c, id, buf, start + HEADER_BYTES, end);
    }
    try {
      switch (op) {
        case Op.PUSH_SPARSE: return this.pushSparse(c, id, buf, start, end);
        case Op.PULL_SPARSE: return this.pullSparse(c, id, buf, start, end);
        case Op.PULL_FULL: return this.pullFull(c, id, buf, start, end);
        case Op.STATS: return this.reply(c, id, Buffer.from(JSON.stringify(this.stats()), 'utf8'));
        case Op.KV_GET: return this.kvGet(c, id, buf, start + HEADER_BYTES, end);
        case Op.KV_SET: return this.kvSet(c, id, buf, start + HEADER_BYTES, end);
        case Op.SNAPSHOT: return this.reply(c, id, this.snapshot());
        case Op.RESTORE:
          this.restore(buf.subarray(start + HEADER_BYTES, end));
          return this.reply(c, id);
        case Op.BYE:
          c.closing = true;
          this.bytesOut += HEADER_BYTES;
          c.socket.end(headerFrame(Status.OK, id));
          return;
        case Op.HELLO: throw new PsError(Status.BAD_FRAME, 'HELLO was already accepted on this connection');
        // A warm worker environment keeps its connection for its next invocation, which names itself on it.
        case Op.REIDENTIFY: return this.hello(c, id, buf, start + HEADER_BYTES, end);
        default: throw new PsError(Status.UNKNOWN_OP, `unknown opcode ${op}`);
      }
    } catch (err) {
      if (err instanceof PsError) {
        this.errors++;
        this.send(c, errorFrame(err.status, id, err.message));
      } else {
        // A bug of ours, not the peer's: report it, keep serving everyone.
        this.errors++;
        this.log('error', `parameter server: ${OP_NAMES[op]} failed: ${(err as Error)?.stack ?? err}`);
        this.send(c, errorFrame(Status.INTERNAL, id, `internal error: ${(err as Error)?.message ?? err}`));
      }
    }
  }

  private reply(c: Connection, id: number, body?: Uint8Array): void {
    const n = body?.length ?? 0;
    this.bytesOut += HEADER_BYTES + n;
    // Header and body as two writes (feed() corks the socket around a read's frames): no copy of a large body.
    c.socket.write(headerFrame(Status.OK, id, n));
    if (n > 0) c.socket.write(body!);
  }

  private hello(c: Connection, id: number, buf: Buffer, body: number, end: number): void {
    if (end - body < 4) return this.refuse(c, Status.BAD_FRAME, id, 'HELLO body too short');
    const version = buf.readUInt16LE(body);
    const tokenLen = buf.readUInt16LE(body + 2);
    if (end - body !== 4 + tokenLen + 8) return this.refuse(c, Status.BAD_FRAME, id, 'HELLO body length does not match its token length');
    if (version !== PROTOCOL_VERSION) return this.refuse(c, Status.VERSION, id, `protocol version ${version} unsupported (server speaks ${PROTOCOL_VERSION})`);
    const digest = crypto.createHash('sha256').update(buf.subarray(body + 4, body + 4 + tokenLen)).digest();
    if (!crypto.timingSafeEqual(digest, this.tokenDigest)) return this.refuse(c, Status.UNAUTHORIZED, id, 'bad token');
    if (c.authed) {
      // REIDENTIFY: the same checks, then the connection counts as the worker it now names.
      this.countWorker(c.workerId, -1);
    } else {
      if (this.authedCount >= this.maxConnections) return this.refuse(c, Status.LIMIT, id, `too many connections (limit ${this.maxConnections})`);
      c.authed = true;
      this.unauthenticated.delete(c);
      this.authedCount++;
      clearTimeout(c.helloTimer);
      c.reader.maxFrameBytes = this.maxFrameBytes;
      this.totalConnections++;
    }
    c.workerId = buf.readUInt32LE(body + 4 + tokenLen);
    c.generation = buf.readUInt32LE(body + 8 + tokenLen);
    this.countWorker(c.workerId, 1);

    // Reply: u16 version, u16 table count, then per table u32 rows, u32 width, u8 optimiser, u16 name length, name.
    const names = this.tables.map((t) => Buffer.from(t.name, 'utf8'));
    const size = 4 + names.reduce((s, n) => s + 11 + n.length, 0);
    const out = Buffer.allocUnsafe(size);
    let o = out.writeUInt16LE(PROTOCOL_VERSION, 0);
    o = out.writeUInt16LE(this.tables.length, o);
    this.tables.forEach((t, i) => {
      o = out.writeUInt32LE(t.rows, o);
      o = out.writeUInt32LE(t.width, o);
      o = out.writeUInt8(OPTIMIZER_CODES[t.optimizer], o);
      o = out.writeUInt16LE(names[i].length, o);
      o += names[i].copy(out, o);
    });
    this.reply(c, id, out);
  }

  /** Connections of worker `workerId`, changed by `delta`. */
  private countWorker(workerId: number, delta: number): void {
    const count = (this.workerCounts.get(workerId) ?? 0) + delta;
    if (count > 0) this.workerCounts.set(workerId, count);
    else this.workerCounts.delete(workerId);
  }

  /** Common head of the sparse ops and PULL_FULL: u16 table id, u8 flags (0). */
  private tableOf(buf: Buffer, start: number, end: number, minBody: number): Table {
    if (end - start - HEADER_BYTES < minBody) throw new PsError(Status.BAD_FRAME, `body shorter than ${minBody} bytes`);
    const tableId = buf.readUInt16LE(start + 9);
    if (buf[start + 11] !== 0) throw new PsError(Status.BAD_FRAME, 'flags byte must be 0');
    const t = this.tables[tableId];
    if (!t) throw new PsError(Status.UNKNOWN_TABLE, `unknown table ${tableId} (the server has ${this.tables.length})`);
    return t;
  }

  private pullSparse(c: Connection, id: number, buf: Buffer, start: number, end: number): void {
    const t = this.tableOf(buf, start, end, 7);
    const n = buf.readUInt32LE(start + 12);
    if (end - start !== SPARSE_ARRAY_OFFSET + 4 * n) throw new PsError(Status.BAD_FRAME, `PULL_SPARSE: ${end - start} bytes do not hold ${n} row ids`);
    const replyBytes = 4 * n * t.width;
    if (replyBytes > this.maxFrameBytes) throw new PsError(Status.TOO_LARGE, `PULL_SPARSE reply of ${replyBytes} bytes exceeds ${this.maxFrameBytes}: pull fewer rows at a time`);
    const [ab, at] = c.aligned(buf, start + SPARSE_ARRAY_OFFSET, 4 * n);
    const ids = new Uint32Array(ab, at, n);
    // The reply's floats start at byte 12 of a pooled buffer (the frame itself starts at byte 3), so
    // they are written through an aligned Float32Array view: no per-row copies or objects.
    const out = c.replies.take(12 + replyBytes);
    const gatherStart = performance.now();
    const bad = t.gather(ids, new Float32Array(out.buffer, out.byteOffset + 12, n * t.width)); // checks the ids too
    this.gatherSeconds += (performance.now() - gatherStart) / 1000;
    if (bad >= 0) {
      c.replies.release(out)();
      throw new PsError(Status.ROW_OUT_OF_RANGE, `row id ${ids[bad]} (position ${bad}) ≥ ${t.rows} rows`);
    }
    out.writeUInt32LE(5 + replyBytes, 3);
    out[7] = Status.OK;
    out.writeUInt32LE(id, 8);
    this.pulls++;
    this.pullRate.add(1, Date.now());
    this.bytesOut += out.length - 3;
    c.socket.write(out.subarray(3), c.replies.release(out));
  }

  private pushSparse(c: Connection, id: number, buf: Buffer, start: number, end: number): void {
    const t = this.tableOf(buf, start, end, 7);
    const n = buf.readUInt32LE(start + 12);
    const values = n * t.width;
    if (end - start !== SPARSE_ARRAY_OFFSET + 4 * n + 4 * values) {
      throw new PsError(Status.BAD_FRAME, `PUSH_SPARSE: ${end - start} bytes do not hold ${n} row ids and ${n}×${t.width} gradients`);
    }
    const [ab, at] = c.aligned(buf, start + SPARSE_ARRAY_OFFSET, 4 * n + 4 * values);
    const ids = new Uint32Array(ab, at, n);
    const grads = new Float32Array(ab, at + 4 * n, values);
    const check = t.checkPush(ids, grads);
    if (!check.ok) {
      const at = check.position;
      if (check.problem === 'row') throw new PsError(Status.ROW_OUT_OF_RANGE, `row id ${ids[at]} (position ${at}) ≥ ${t.rows} rows`);
      throw new PsError(Status.NON_FINITE, `gradient ${grads[at]} at position ${at}: nothing applied`);
    }
    // A screened-out push is answered OK (the worker carries on) and counted in stats().screen: the
    // driver reports it; an error would only make a faulty worker's invocation fail and relaunch.
    if (this.screens && !this.screens[buf.readUInt16LE(start + 9)].judge(c.workerId, grads).accepted) return this.send(c, headerFrame(Status.OK, id));
    const applyStart = performance.now();
    const badRow = t.applyChecked();
    this.applySeconds += (performance.now() - applyStart) / 1000;
    if (badRow >= 0) {
      const message = `worker ${c.workerId} (generation ${c.generation}): the ${t.optimizer} step of row ${ids[badRow]} of table ${JSON.stringify(t.name)} gave a non-finite value (gradients too large?): push refused, rows unchanged`;
      this.log('warn', `parameter server: ${message}`);
      throw new PsError(Status.NON_FINITE, message);
    }
    this.updates++;
    this.rowUpdates += n;
    const now = Date.now();
    this.updateRate.add(1, now);
    this.rowRate.add(n, now);
    this.send(c, headerFrame(Status.OK, id));
  }

  private pullFull(c: Connection, id: number, buf: Buffer, start: number, end: number): void {
    const t = this.tableOf(buf, start, end, 3);
    if (end - start !== 12) throw new PsError(Status.BAD_FRAME, 'PULL_FULL body must be 3 bytes');
    // A copy, so the reply shows the table as it was now even if updates land before it is sent. As in
    // pullSparse, the frame starts at byte 3 so that its floats (at 12) are 4-aligned.
    const bytes = 4 * t.rows * t.width;
    const out = Buffer.allocUnsafeSlow(12 + bytes);
    out.writeUInt32LE(5 + bytes, 3);
    out[7] = Status.OK;
    out.writeUInt32LE(id, 8);
    t.copyArray(0, new Float32Array(out.buffer, out.byteOffset + 12, t.rows * t.width));
    this.pulls++;
    this.pullRate.add(1, Date.now());
    this.send(c, out.subarray(3));
  }

  private readKey(buf: Buffer, at: number, end: number): [string, number] {
    if (end - at < 2) throw new PsError(Status.BAD_FRAME, 'missing key length');
    const keyLen = buf.readUInt16LE(at);
    if (keyLen === 0) throw new PsError(Status.BAD_FRAME, 'empty key');
    if (keyLen > MAX_KEY_BYTES) throw new PsError(Status.TOO_LARGE, `key of ${keyLen} bytes exceeds ${MAX_KEY_BYTES}`);
    if (end - at < 2 + keyLen) throw new PsError(Status.BAD_FRAME, 'key runs past the frame');
    let key: string;
    try {
      key = utf8Strict.decode(buf.subarray(at + 2, at + 2 + keyLen));
    } catch {
      throw new PsError(Status.BAD_FRAME, 'key is not valid UTF-8');
    }
    return [key, at + 2 + keyLen];
  }

  private kvGet(c: Connection, id: number, buf: Buffer, body: number, end: number): void {
    const [key, after] = this.readKey(buf, body, end);
    if (after !== end) throw new PsError(Status.BAD_FRAME, 'KV_GET body has trailing bytes');
    const value = this.kv.get(key);
    const out = Buffer.allocUnsafe(1 + (value?.length ?? 0));
    out[0] = value ? 1 : 0; // a miss is a well-formed reply, not a short one
    value?.copy(out, 1);
    this.reply(c, id, out);
  }

  private kvSet(c: Connection, id: number, buf: Buffer, body: number, end: number): void {
    const [key, after] = this.readKey(buf, body, end);
    if (end - after < 4) throw new PsError(Status.BAD_FRAME, 'missing value length');
    const valueLen = buf.readUInt32LE(after);
    if (valueLen > MAX_VALUE_BYTES) throw new PsError(Status.TOO_LARGE, `value of ${valueLen} bytes exceeds ${MAX_VALUE_BYTES}`);
    if (end - after - 4 !== valueLen) throw new PsError(Status.BAD_FRAME, 'KV_SET value length does not match the frame');
    const old = this.kv.get(key);
    // The store's size counts keys and values; replacing a value only changes the value's share.
    const delta = old ? valueLen - old.length : Buffer.byteLength(key) + valueLen;
    if (this.kvBytes + delta > this.maxKvBytes) throw new PsError(Status.TOO_LARGE, `the key-value store is full (${this.maxKvBytes} bytes)`);
    // Copied out of the frame: the receive buffer is reused for the next frame.
    this.kv.set(key, Buffer.from(buf.subarray(after + 4, end)));
    this.kvBytes += delta;
    this.reply(c, id);
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`parameter server: ${name} must be a positive integer`);
  return value;
}
