// The parameter server's wire protocol: length-prefixed binary frames over TCP, little-endian.
// The byte-by-byte description (the contract other implementations follow) is in
// docs/parameter-server-protocol.md; this file holds the constants and the small helpers both ends share.
//
//   request: u32 length-of-rest | u8 opcode | u32 request id | body
//   reply:   u32 length-of-rest | u8 status | u32 request id | body   (status != 0: body = UTF-8 message)
//
// The sparse ops put 3 bytes (u16 table id, u8 flags) before their u32 count, so the row ids and the
// float arrays start at offset 16 of the frame: a frame that starts 4-aligned (the usual case for a
// fresh socket read or our own receive buffer) can be viewed as Uint32Array/Float32Array without copying.
import * as os from 'node:os';

export const PROTOCOL_VERSION = 1;

/** Bytes before the body: u32 length, u8 opcode/status, u32 request id. */
export const HEADER_BYTES = 9;
/** Offset of the first row id (PULL_SPARSE / PUSH_SPARSE) from the start of the frame. */
export const SPARSE_ARRAY_OFFSET = 16;

export const Op = {
  HELLO: 1,
  PULL_SPARSE: 2,
  PUSH_SPARSE: 3,
  PULL_FULL: 4,
  STATS: 5,
  KV_GET: 6,
  KV_SET: 7,
  SNAPSHOT: 8,
  RESTORE: 9,
  BYE: 10,
  /** HELLO's body again, on an authenticated connection: it now belongs to the worker and generation named. */
  REIDENTIFY: 11,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export const Status = {
  OK: 0,
  BAD_FRAME: 1, // body malformed or inconsistent with its counts
  UNAUTHORIZED: 2, // HELLO missing, wrong token: the connection is closed
  UNKNOWN_OP: 3,
  UNKNOWN_TABLE: 4,
  ROW_OUT_OF_RANGE: 5,
  NON_FINITE: 6, // a NaN or infinite gradient
  TOO_LARGE: 7, // frame, key or value over its limit
  BAD_SNAPSHOT: 8, // RESTORE: corrupt or shaped unlike this server's tables
  VERSION: 9, // HELLO: unsupported protocol version
  LIMIT: 10, // too many connections
  INTERNAL: 11,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

export const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k]));
export const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k]));

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Before HELLO succeeds, frames may not exceed this: an unauthenticated peer cannot make us buffer much. */
export const MAX_UNAUTHENTICATED_FRAME_BYTES = 4096;
export const MAX_KEY_BYTES = 256;
export const MAX_VALUE_BYTES = 1024 * 1024;
export const MAX_TOKEN_BYTES = 1024;

export const OPTIMIZER_CODES = { sgd: 0, momentum: 1, adagrad: 2, adam: 3 } as const;

/** Raised for a reply with a non-zero status (the client) or a request to refuse (the server). */
export class PsError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'PsError';
  }
  get statusName(): string {
    return STATUS_NAMES[this.status] ?? `status ${this.status}`;
  }
}

/** Typed-array views over frame bytes rely on the host's byte order matching the wire's. */
export function assertLittleEndian(): void {
  if (os.endianness() !== 'LE') throw new Error('the parameter server protocol needs a little-endian host');
}

/** A frame buffer whose first byte sits at a 4-aligned address, so the arrays at offset 16 can be viewed in place.
 *  allocUnsafeSlow gives a buffer that owns its ArrayBuffer (offset 0) instead of a slice of the shared pool. */
export function allocFrame(bodyBytes: number, opOrStatus: number, requestId: number): Buffer {
  return writeHeader(Buffer.allocUnsafeSlow(HEADER_BYTES + bodyBytes), opOrStatus, requestId);
}

/** Writes the 9-byte header of a frame that fills `buf`. */
function writeHeader(buf: Buffer, opOrStatus: number, requestId: number): Buffer {
  buf.writeUInt32LE(buf.length - 4, 0);
  buf[4] = opOrStatus;
  buf.writeUInt32LE(requestId >>> 0, 5);
  return buf;
}

/**
 * Reused frame memory for one connection: a frame is taken here, written with `socket.write(frame,
 * pool.release(frame))`, and its memory comes back once the socket is done with it. A fresh ArrayBuffer
 * for each 8-17 KB frame cost about 15 µs of allocation, page faults and GC per frame on this machine
 * (bench `psUpdates`), as much as the frame's own write. Frames start 4-aligned (offset 0 of their memory).
 * Only as many buffers are kept as were in use at once (at most `keep`), each at most `maxKeptBytes`.
 */
const MIN_POOLED_BYTES = 4096;

export class FramePool {
  private readonly free: ArrayBuffer[] = [];

  constructor(private readonly keep = 4, private readonly maxKeptBytes = 1 << 20) {}

  /** A buffer of exactly `bytes` bytes (contents undefined). */
  take(bytes: number): Buffer {
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      if (free[i].byteLength >= bytes) {
        const ab = free[i];
        free[i] = free[free.length - 1];
        free.pop();
        return Buffer.from(ab, 0, bytes);
      }
    }
    // Rounded up so frames of a minibatch's varying size find a buffer again.
    const size = bytes <= this.maxKeptBytes ? Math.min(this.maxKeptBytes, Math.max(MIN_POOLED_BYTES, 2 ** Math.ceil(Math.log2(bytes)))) : bytes;
    return Buffer.allocUnsafeSlow(size).subarray(0, bytes);
  }

  /** take() with a request or reply header written, like allocFrame(). */
  takeFrame(bodyBytes: number, opOrStatus: number, requestId: number): Buffer {
    return writeHeader(this.take(HEADER_BYTES + bodyBytes), opOrStatus, requestId);
  }

  /** The write callback that gives `frame`'s memory back (called once the socket has written it or
   *  failed). `frame` must own its memory: from take() or allocFrame(), not Node's shared small pool. */
  release(frame: Buffer): () => void {
    return () => {
      const ab = frame.buffer as ArrayBuffer;
      if (this.free.length < this.keep && ab.byteLength >= MIN_POOLED_BYTES && ab.byteLength <= this.maxKeptBytes) this.free.push(ab);
    };
  }
}

/** A header-only frame (small: taken from Node's shared pool). */
export function headerFrame(opOrStatus: number, requestId: number, bodyBytes = 0): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES);
  buf.writeUInt32LE(1 + 4 + bodyBytes, 0);
  buf[4] = opOrStatus;
  buf.writeUInt32LE(requestId >>> 0, 5);
  return buf;
}

export function errorFrame(status: number, requestId: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const buf = Buffer.allocUnsafe(HEADER_BYTES + text.length);
  buf.writeUInt32LE(1 + 4 + text.length, 0);
  buf[4] = status;
  buf.writeUInt32LE(requestId >>> 0, 5);
  text.copy(buf, HEADER_BYTES);
  return buf;
}

/**
 * Cuts a byte stream into whole frames without trusting the peer: a declared length below 5 or above
 * the current limit is reported (and nothing is buffered for it); a frame split across reads is
 * assembled in a reused buffer that starts 4-aligned. A frame found whole inside one read is handed out
 * in place. `onFrame(buf, start, end)` must finish with the bytes before returning: they are reused.
 */
export class FrameReader {
  private asm: Buffer = Buffer.alloc(0);
  private filled = 0; // bytes of the current partial frame in `asm`
  private need = 0; // its total size once the length is known (0 while the 4 length bytes are incomplete)
  /** The limit on the u32 length field; may be changed between frames (e.g. raised after HELLO). */
  maxFrameBytes: number;

  constructor(
    maxFrameBytes: number,
    private readonly onFrame: (buf: Buffer, start: number, end: number) => void,
    private readonly onBadLength: (length: number) => void,
  ) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes buffered for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.filled;
  }

  /** Drops the assembly buffer (the connection is closing). */
  release(): void {
    this.asm = Buffer.alloc(0);
    this.filled = 0;
    this.need = 0;
  }

  /**
   * Feeds bytes; returns the offset it stopped at. It stops early (returns < chunk.length) when
   * `shouldPause()` turns true after a frame, so the caller can keep the rest for later, or when
   * a bad length was reported (then it returns -1 and the stream is unusable).
   */
  push(chunk: Buffer, shouldPause?: () => boolean): number {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (this.filled === 0) {
        if (len - off >= 4) {
          const rest = chunk.readUInt32LE(off);
          if (rest < 5 || rest > this.maxFrameBytes) {
            this.onBadLength(rest);
            return -1;
          }
          const total = 4 + rest;
          if (len - off >= total) {
            // Whole frame inside this read: no copy.
            this.onFrame(chunk, off, off + total);
            off += total;
            if (shouldPause?.()) return off;
            continue;
          }
          this.begin(total);
        } else {
          this.begin(0);
        }
      }
      if (this.need === 0) {
        // Still collecting the 4 length bytes.
        const take = Math.min(4 - this.filled, len - off);
        chunk.copy(this.asm, this.filled, off, off + take);
        this.filled += take;
        off += take;
        if (this.filled < 4) break;
        const rest = this.asm.readUInt32LE(0);
        if (rest < 5 || rest > this.maxFrameBytes) {
          this.onBadLength(rest);
          return -1;
        }
        this.need = 4 + rest;
      }
      const take = Math.min(this.need - this.filled, len - off);
      // Grow with what has arrived, never to the declared length at once: a peer that declares 64 MiB
      // and sends 10 bytes costs 10 bytes (plus doubling), not 64 MiB.
      this.grow(this.filled + take);
      chunk.copy(this.asm, this.filled, off, off + take);
      this.filled += take;
      off += take;
      if (this.filled === this.need) {
        const total = this.need;
        this.filled = 0;
        this.need = 0;
        this.onFrame(this.asm, 0, total);
        // Don't keep a huge buffer around for a connection that sent one big frame (a RESTORE, say).
        if (this.asm.length > 8 * 1024 * 1024) this.asm = Buffer.alloc(0);
        if (shouldPause?.()) return off;
      }
    }
    return off;
  }

  private begin(total: number): void {
    this.filled = 0;
    this.need = total;
    this.grow(4);
  }

  private grow(size: number): void {
    if (this.asm.length >= size) return;
    const cap = this.need > 0 ? this.need : this.maxFrameBytes + 4;
    const next = Buffer.allocUnsafeSlow(Math.max(size, Math.min(Math.max(this.asm.length * 2, 64 * 1024), cap)));
    this.asm.copy(next, 0, 0, this.filled);
    this.asm = next;
  }
}
