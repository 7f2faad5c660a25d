// Shared by the parameter-server tests: raw sockets that speak (or mangle) the protocol by hand.
import * as net from 'node:net';
import { PsClient } from '../../runtime/ps/client';
import { Op, PROTOCOL_VERSION } from '../../runtime/ps/protocol';
import { ParameterServer } from '../../runtime/ps/server';
import type { ParameterServerConfig, TableSpec } from '../../runtime/ps/types';

export const TOKEN = 'test-token-0123456789';

export async function startServer(tables: TableSpec[], extra: Partial<ParameterServerConfig> = {}) {
  const server = new ParameterServer({ token: TOKEN, tables, ...extra });
  const { port } = await server.listen();
  const connect = (workerId = 1, generation = 0) => PsClient.connect({ host: '127.0.0.1', port, token: TOKEN, workerId, generation });
  return { server, port, connect };
}

/** A request frame built by hand: u32 length, u8 op, u32 id, body. */
export function frame(op: number, id: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const buf = Buffer.alloc(9 + body.length);
  buf.writeUInt32LE(5 + body.length, 0);
  buf[4] = op;
  buf.writeUInt32LE(id, 5);
  buf.set(body, 9);
  return buf;
}

export function helloBody(token = TOKEN, workerId = 7, generation = 0, version = PROTOCOL_VERSION): Buffer {
  const t = Buffer.from(token, 'utf8');
  const b = Buffer.alloc(4 + t.length + 8);
  b.writeUInt16LE(version, 0);
  b.writeUInt16LE(t.length, 2);
  t.copy(b, 4);
  b.writeUInt32LE(workerId, 4 + t.length);
  b.writeUInt32LE(generation, 8 + t.length);
  return b;
}

/** Body of PULL_SPARSE / PUSH_SPARSE: u16 table, u8 flags, u32 n, ids, then the gradients if any. */
export function sparseBody(table: number, ids: number[], grads?: number[], n = ids.length): Buffer {
  const b = Buffer.alloc(7 + 4 * ids.length + 4 * (grads?.length ?? 0));
  b.writeUInt16LE(table, 0);
  b[2] = 0;
  b.writeUInt32LE(n, 3);
  ids.forEach((id, i) => b.writeUInt32LE(id >>> 0, 7 + 4 * i));
  grads?.forEach((g, i) => b.writeFloatLE(g, 7 + 4 * ids.length + 4 * i));
  return b;
}

export interface Reply {
  status: number;
  id: number;
  body: Buffer;
}

/** A raw connection that collects whole reply frames and notices the close. */
export class RawConnection {
  readonly socket: net.Socket;
  readonly replies: Reply[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  private buffered = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const total = 4 + this.buffered.readUInt32LE(0);
        if (this.buffered.length < total) break;
        const f = this.buffered.subarray(0, total);
        this.replies.push({ status: f[4], id: f.readUInt32LE(5), body: Buffer.from(f.subarray(9)) });
        this.buffered = this.buffered.subarray(total);
      }
      this.wake();
    });
  }

  static open(port: number): Promise<RawConnection> {
    const c = new RawConnection(port);
    return new Promise((resolve, reject) => {
      c.socket.once('connect', () => resolve(c));
      c.socket.once('error', reject);
    });
  }

  /** Opens and says a valid HELLO. */
  static async authed(port: number): Promise<RawConnection> {
    const c = await RawConnection.open(port);
    c.write(frame(Op.HELLO, 1, helloBody()));
    const r = await c.reply();
    if (r.status !== 0) throw new Error(`HELLO refused: ${r.body}`);
    return c;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next reply not yet taken; rejects if the connection closes first (or after `ms`). */
  async reply(ms = 3000): Promise<Reply> {
    const deadline = Date.now() + ms;
    while (this.replies.length === 0) {
      if (this.isClosed) throw new Error('connection closed before a reply');
      if (Date.now() > deadline) throw new Error('no reply in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies.shift()!;
  }

  /** Resolves true if the server closes the connection within `ms`. */
  async closesWithin(ms = 3000): Promise<boolean> {
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref());
    return Promise.race([this.closed.then(() => true), timer]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
