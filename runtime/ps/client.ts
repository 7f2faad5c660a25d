// Client of the parameter server (workers, the driver, the load generator).
//
// Pipelined: any number of requests may be outstanding on the one connection; replies come back in
// order and are matched by request id. The arrays given to push()/pull() are copied into the request
// frame before the call returns, so the caller may reuse them at once.
// When the connection drops, every pending request is rejected with an error naming the cause, and
// onClosed listeners / the `closed` promise tell a worker to stop (or reconnect).
import type * as net from 'node:net';
import {
  allocFrame,
  assertLittleEndian,
  FramePool,
  FrameReader,
  HEADER_BYTES,
  MAX_KEY_BYTES,
  MAX_TOKEN_BYTES,
  MAX_VALUE_BYTES,
  Op,
  OPTIMIZER_CODES,
  PROTOCOL_VERSION,
  PsError,
  SPARSE_ARRAY_OFFSET,
  Status,
  STATUS_NAMES,
} from './protocol';
import { connectTransport, type PsClientTls } from './transport';
import { emptyTraffic, type ParameterServerStats, type PsTraffic } from './types';
import type { OptimizerType } from '../config/run-config';

export interface PsConnectOptions {
  host: string;
  port: number;
  token: string;
  workerId: number;
  generation: number;
  /** Set: TLS, accepting only the certificate with this fingerprint (runtime/ps/transport.ts). */
  tls?: PsClientTls;
  /** Connect (+ TLS handshake) + HELLO must finish within this (default 10 s). */
  timeoutMs?: number;
  /** If set, a request unanswered for this long closes the connection (the protocol has no cancel). */
  requestTimeoutMs?: number;
  /** Largest reply accepted (default 1 GiB + header: a full pull of the largest table allowed). */
  maxReplyBytes?: number;
}

export interface PsTableInfo {
  id: number;
  name: string;
  rows: number;
  width: number;
  optimizer: OptimizerType;
}

type Decode = (buf: Buffer, start: number, end: number) => unknown;
interface Pending {
  op: number;
  decode: Decode;
  resolve: (value: any) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

const OPTIMIZER_BY_CODE = Object.fromEntries(Object.entries(OPTIMIZER_CODES).map(([k, v]) => [v, k])) as Record<number, OptimizerType>;

const noBody: Decode = () => undefined;
const copyBody: Decode = (buf, start, end) => Buffer.from(buf.subarray(start, end)); // the receive buffer is reused

function floatsFrom(buf: Buffer, start: number, end: number, out?: Float32Array): Float32Array {
  const count = (end - start) / 4;
  const result = out ? out.subarray(0, count) : new Float32Array(count);
  // Byte-wise copy: the reply's floats may sit at any alignment in the receive buffer.
  new Uint8Array(result.buffer, result.byteOffset, end - start).set(buf.subarray(start, end));
  return result;
}

export class PsClient {
  /** The server's tables, as announced in its HELLO reply (index = table id). */
  readonly tables: readonly PsTableInfo[] = [];
  /** Resolves when the connection has closed: with undefined after close(), with the cause otherwise. */
  readonly closed: Promise<Error | undefined>;

  private readonly pending = new Map<number, Pending>();
  private readonly reader: FrameReader;
  /** Memory of the pull and push frames, reused once written. */
  private readonly frames = new FramePool();
  private readonly closeListeners = new Set<(err: Error | undefined) => void>();
  private nextId = 1;
  /** What this connection has sent (requests written to the socket). */
  readonly traffic: PsTraffic = emptyTraffic();
  private isClosed = false;
  private closing = false;
  private closeError: Error | undefined;
  private resolveClosed!: (err: Error | undefined) => void;

  private constructor(private readonly socket: net.Socket, private opts: PsConnectOptions) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.reader = new FrameReader(
      opts.maxReplyBytes ?? 2 ** 30 + 64,
      (buf, start, end) => this.onReply(buf, start, end),
      (length) => this.fail(new Error(`parameter server protocol error: reply length ${length} out of bounds`)),
    );
    socket.setNoDelay(true);
    socket.on('error', (err) => this.fail(new Error(`parameter server connection ${this.where}: ${err.message}`)));
    socket.on('close', () => this.onSocketClosed());
  }

  static async connect(opts: PsConnectOptions): Promise<PsClient> {
    assertLittleEndian();
    const token = Buffer.from(opts.token, 'utf8');
    if (token.length === 0 || token.length > MAX_TOKEN_BYTES) throw new Error(`token must be 1..${MAX_TOKEN_BYTES} bytes`);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const startedAt = Date.now();
    let client: PsClient | undefined;
    const socket = await connectTransport({ host: opts.host, port: opts.port, tls: opts.tls, timeoutMs, onData: (chunk) => client?.onData(chunk) });
    client = new PsClient(socket, opts);
    const timer = setTimeout(() => client.fail(new Error(`parameter server ${client.where}: no connection and HELLO within ${timeoutMs} ms`)), timeoutMs - (Date.now() - startedAt));
    try {
      await client.hello();
      return client;
    } catch (err) {
      client.socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Names this open connection as worker `workerId`, generation `generation` (REIDENTIFY: a warm
   *  environment's next invocation keeps the connection, runtime/worker/handler.ts). The server checks the
   *  token again and counts the connection as that worker's; the tables are read anew. */
  async reidentify(workerId: number, generation: number): Promise<void> {
    this.opts = { ...this.opts, workerId, generation };
    await this.hello(Op.REIDENTIFY);
  }

  /** HELLO (or REIDENTIFY) with the token and this connection's worker and generation; keeps the tables the server lists. */
  private async hello(op: number = Op.HELLO): Promise<void> {
    const token = Buffer.from(this.opts.token, 'utf8');
    const body = Buffer.allocUnsafe(4 + token.length + 8);
    let o = body.writeUInt16LE(PROTOCOL_VERSION, 0);
    o = body.writeUInt16LE(token.length, o);
    o += token.copy(body, o);
    o = body.writeUInt32LE(this.opts.workerId >>> 0, o);
    body.writeUInt32LE(this.opts.generation >>> 0, o);
    const tables = await this.request<PsTableInfo[]>(op, body, (buf, start, end) => decodeHello(buf, start, end));
    (this as { tables: readonly PsTableInfo[] }).tables = tables;
  }

  private get where(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  /** True once the connection is gone (or going: close() was called). */
  get isOpen(): boolean {
    return !this.isClosed && !this.closing;
  }

  /** Called once when the connection closes; `err` is undefined after close(). Returns an unsubscribe function. */
  onClosed(cb: (err: Error | undefined) => void): () => void {
    if (this.isClosed) {
      queueMicrotask(() => cb(this.closeError));
      return () => {};
    }
    this.closeListeners.add(cb);
    return () => this.closeListeners.delete(cb);
  }

  /** The rows' current values, row-major (`rows.length × width`). `out`, if given and large enough, receives them. */
  pull(table: number, rows: Uint32Array, out?: Float32Array): Promise<Float32Array> {
    const n = rows.length;
    const width = this.tables[table]?.width;
    if (out && width !== undefined && out.length < n * width) return Promise.reject(new RangeError(`out holds ${out.length} floats, ${n * width} needed`));
    const frame = this.frames.takeFrame(7 + 4 * n, Op.PULL_SPARSE, 0);
    this.writeTableHead(frame, table, n);
    new Uint32Array(frame.buffer, frame.byteOffset + SPARSE_ARRAY_OFFSET, n).set(rows);
    return this.send(frame, (buf, start, end) => {
      if (width !== undefined && end - start !== 4 * n * width) throw new Error(`PULL_SPARSE reply has ${end - start} bytes, expected ${4 * n * width}`);
      return floatsFrom(buf, start, end, out);
    });
  }

  /** Sends gradients for the rows (`grads` row-major, `rows.length × width`); resolves once the server applied them. */
  push(table: number, rows: Uint32Array, grads: Float32Array): Promise<void> {
    const n = rows.length;
    const width = this.tables[table]?.width;
    if (width !== undefined && grads.length !== n * width) {
      return Promise.reject(new RangeError(`push to table ${table}: ${grads.length} gradients for ${n} rows of width ${width}`));
    }
    const frame = this.frames.takeFrame(7 + 4 * n + 4 * grads.length, Op.PUSH_SPARSE, 0);
    this.writeTableHead(frame, table, n);
    new Uint32Array(frame.buffer, frame.byteOffset + SPARSE_ARRAY_OFFSET, n).set(rows);
    new Float32Array(frame.buffer, frame.byteOffset + SPARSE_ARRAY_OFFSET + 4 * n, grads.length).set(grads);
    return this.send(frame, noBody);
  }

  /** Runs `send` (which issues requests) with the socket corked, so its requests leave in one write
   *  (one syscall, one TCP segment train): a worker's push and its next prefetched pull. */
  corked(send: () => void): void {
    this.socket.cork();
    try {
      send();
    } finally {
      this.socket.uncork();
    }
  }

  /** The whole table, row-major. */
  pullFull(table: number): Promise<Float32Array> {
    const frame = allocFrame(3, Op.PULL_FULL, 0);
    frame.writeUInt16LE(table, 9);
    frame[11] = 0;
    return this.send(frame, (buf, start, end) => floatsFrom(buf, start, end));
  }

  stats(): Promise<ParameterServerStats> {
    return this.request(Op.STATS, undefined, (buf, start, end) => JSON.parse(buf.toString('utf8', start, end)));
  }

  kvGet(key: string): Promise<Buffer | undefined> {
    const k = this.keyBytes(key);
    const body = Buffer.allocUnsafe(2 + k.length);
    body.writeUInt16LE(k.length, 0);
    k.copy(body, 2);
    return this.request(Op.KV_GET, body, (buf, start, end) => {
      if (end - start < 1) throw new Error('KV_GET reply is empty');
      return buf[start] === 1 ? Buffer.from(buf.subarray(start + 1, end)) : undefined;
    });
  }

  kvSet(key: string, value: Uint8Array): Promise<void> {
    const k = this.keyBytes(key);
    if (value.length > MAX_VALUE_BYTES) return Promise.reject(new RangeError(`value of ${value.length} bytes exceeds ${MAX_VALUE_BYTES}`));
    const body = Buffer.allocUnsafe(2 + k.length + 4 + value.length);
    let o = body.writeUInt16LE(k.length, 0);
    o += k.copy(body, o);
    o = body.writeUInt32LE(value.length, o);
    body.set(value, o);
    return this.request(Op.KV_SET, body, noBody);
  }

  /** The server's whole state (tables with optimiser state, key-value store): a checkpoint. */
  snapshot(): Promise<Buffer> {
    return this.request(Op.SNAPSHOT, undefined, copyBody);
  }

  /** Loads a checkpoint made by snapshot() of a server with the same tables. */
  restore(snapshot: Uint8Array): Promise<void> {
    return this.request(Op.RESTORE, snapshot, noBody);
  }

  /** Drops the connection at once, as a network failure would: pending requests reject with `reason`. */
  abort(reason = 'connection cut'): void {
    this.fail(new Error(`parameter server connection ${this.where}: ${reason}`));
  }

  /** Says BYE (after the replies still due), then closes. Pending requests complete first. */
  async close(): Promise<void> {
    if (this.isClosed || this.closing) {
      await this.closed;
      return;
    }
    this.closing = true;
    const bye = this.send(allocFrame(0, Op.BYE, 0), noBody).catch(() => {});
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    await bye;
    clearTimeout(timer);
    this.socket.end();
    this.socket.destroy();
    await this.closed;
  }

  // ---- internals ----

  /** Received bytes (valid only during the call: the transport reuses its read buffer). */
  private onData(chunk: Buffer): void {
    if (!this.isClosed) this.reader.push(chunk);
  }

  private keyBytes(key: string): Buffer {
    const k = Buffer.from(key, 'utf8');
    if (k.length === 0 || k.length > MAX_KEY_BYTES) throw new RangeError(`key must be 1..${MAX_KEY_BYTES} bytes of UTF-8`);
    return k;
  }

  private writeTableHead(frame: Buffer, table: number, n: number): void {
    frame.writeUInt16LE(table, 9);
    frame[11] = 0; // flags
    frame.writeUInt32LE(n, 12);
  }

  private request<T>(op: number, body: Uint8Array | undefined, decode: Decode): Promise<T> {
    const n = body?.length ?? 0;
    const frame = allocFrame(n, op, 0);
    if (body) frame.set(body, HEADER_BYTES);
    return this.send(frame, decode);
  }

  /** Stamps a request id into a built frame, writes it, and returns the promise of its reply. */
  private send<T>(frame: Buffer, decode: Decode): Promise<T> {
    const op = frame[4];
    if (this.isClosed || (this.closing && op !== Op.BYE)) {
      return Promise.reject(this.closeError ?? new Error(`parameter server connection ${this.where} is closed`));
    }
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1; // 0 is the server's "no request" id
    frame.writeUInt32LE(id, 5);
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { op, decode, resolve, reject };
      if (this.opts.requestTimeoutMs) {
        p.timer = setTimeout(() => this.fail(new Error(`parameter server ${this.where}: no reply within ${this.opts.requestTimeoutMs} ms`)), this.opts.requestTimeoutMs);
      }
      this.pending.set(id, p);
      this.traffic.requests++;
      this.traffic.bytesSent += frame.length;
      if (op === Op.PUSH_SPARSE) {
        this.traffic.pushes++;
        this.traffic.pushBytes += frame.length;
      }
      this.socket.write(frame, this.frames.release(frame));
    });
  }

  private onReply(buf: Buffer, start: number, end: number): void {
    const status = buf[start + 4];
    const id = buf.readUInt32LE(start + 5);
    const body = start + HEADER_BYTES;
    const p = this.pending.get(id);
    if (!p) {
      // Id 0 carries a connection-level refusal (frame too large, connection limit): the server closes next.
      const message = status !== Status.OK ? buf.toString('utf8', body, end) : `reply to unknown request ${id}`;
      this.fail(new PsError(status === Status.OK ? Status.INTERNAL : status, `parameter server ${this.where}: ${message}`));
      return;
    }
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (status !== Status.OK) {
      const name = STATUS_NAMES[status] ?? `status ${status}`;
      p.reject(new PsError(status, `parameter server: ${name}: ${buf.toString('utf8', body, end)}`));
      return;
    }
    try {
      p.resolve(p.decode(buf, body, end));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  /** Ends the connection because of `err`; pending requests are rejected with it. */
  private fail(err: Error): void {
    if (this.isClosed) return;
    this.closeError ??= err;
    this.socket.destroy();
  }

  private onSocketClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const cleanClose = this.closing && !this.closeError;
    const err = cleanClose ? undefined : (this.closeError ?? new Error(`parameter server connection ${this.where} closed by the server`));
    this.closeError = err;
    const rejection = err ?? new Error(`parameter server connection ${this.where} was closed`);
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(rejection);
    }
    this.pending.clear();
    this.resolveClosed(err);
    for (const cb of this.closeListeners) cb(err);
    this.closeListeners.clear();
  }
}

function decodeHello(buf: Buffer, start: number, end: number): PsTableInfo[] {
  let o = start;
  const need = (n: number) => {
    if (o + n > end) throw new Error('HELLO reply truncated');
  };
  need(4);
  const version = buf.readUInt16LE(o);
  if (version !== PROTOCOL_VERSION) throw new Error(`server speaks protocol ${version}, this client ${PROTOCOL_VERSION}`);
  const count = buf.readUInt16LE(o + 2);
  o += 4;
  const tables: PsTableInfo[] = [];
  for (let id = 0; id < count; id++) {
    need(11);
    const rows = buf.readUInt32LE(o);
    const width = buf.readUInt32LE(o + 4);
    const optimizer = OPTIMIZER_BY_CODE[buf[o + 8]];
    const nameLen = buf.readUInt16LE(o + 9);
    o += 11;
    need(nameLen);
    tables.push({ id, name: buf.toString('utf8', o, o + nameLen), rows, width, optimizer });
    o += nameLen;
  }
  return tables;
}
