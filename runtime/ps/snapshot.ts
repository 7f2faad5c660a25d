// Checkpoint format: every table (weights and optimiser state) and the key-value store, in one buffer.
// Little-endian; layout in docs/parameter-server-protocol.md ("Snapshot format"). The trailing CRC-32
// lets a restore refuse a truncated or damaged checkpoint before it touches anything.
import { crc32 } from '../util/crc32';
import { firstNonFinite, type Table } from './optimizers';
import { OPTIMIZER_CODES, PsError, Status } from './protocol';

export const SNAPSHOT_MAGIC = 0x53535043; // "CPSS" read as bytes
export const SNAPSHOT_VERSION = 1;

/** A table's arrays in snapshot order: its float arrays apart (copies: the table keeps them
 *  interleaved by row, optimizers.ts), then adam's step counts (the table's own). */
function stateArrays(t: Table): Array<Float32Array | Uint32Array> {
  const arrays: Array<Float32Array | Uint32Array> = [];
  for (let k = 0; k < t.arrayCount; k++) arrays.push(t.copyArray(k));
  if (t.optimizer === 'adam') arrays.push(t.steps);
  return arrays;
}

/** The byte sizes of stateArrays(t), and which are float arrays, without copying them. */
function stateLayout(t: Table): Array<{ bytes: number; float: boolean }> {
  const layout = Array.from({ length: t.arrayCount }, () => ({ bytes: 4 * t.rows * t.width, float: true }));
  if (t.optimizer === 'adam') layout.push({ bytes: t.steps.byteLength, float: false });
  return layout;
}

export function encodeSnapshot(tables: readonly Table[], kv: ReadonlyMap<string, Buffer>): Buffer {
  let size = 16;
  const names = tables.map((t) => Buffer.from(t.name, 'utf8'));
  tables.forEach((t, i) => {
    size += 2 + names[i].length + 4 + 4 + 1;
    for (const a of stateLayout(t)) size += a.bytes;
  });
  const keys = [...kv.keys()].map((k) => Buffer.from(k, 'utf8'));
  let k = 0;
  for (const value of kv.values()) size += 2 + keys[k++].length + 4 + value.length;
  size += 4;

  const out = Buffer.allocUnsafeSlow(size);
  let o = 0;
  o = out.writeUInt32LE(SNAPSHOT_MAGIC, o);
  o = out.writeUInt32LE(SNAPSHOT_VERSION, o);
  o = out.writeUInt32LE(tables.length, o);
  o = out.writeUInt32LE(kv.size, o);
  tables.forEach((t, i) => {
    o = out.writeUInt16LE(names[i].length, o);
    o += names[i].copy(out, o);
    o = out.writeUInt32LE(t.rows, o);
    o = out.writeUInt32LE(t.width, o);
    o = out.writeUInt8(OPTIMIZER_CODES[t.optimizer], o);
    for (const a of stateArrays(t)) o += Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, o);
  });
  k = 0;
  for (const value of kv.values()) {
    o = out.writeUInt16LE(keys[k].length, o);
    o += keys[k++].copy(out, o);
    o = out.writeUInt32LE(value.length, o);
    o += value.copy(out, o);
  }
  out.writeUInt32LE(crc32(out.subarray(0, o)), o);
  return out;
}

/**
 * Checks a snapshot completely against the server's tables, then (only if all is well) copies it in.
 * Throws PsError(BAD_SNAPSHOT) with nothing changed otherwise. Returns the restored key-value entries.
 */
export function applySnapshot(buf: Uint8Array, tables: readonly Table[]): Map<string, Buffer> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const fail = (why: string): never => {
    throw new PsError(Status.BAD_SNAPSHOT, `snapshot rejected: ${why}`);
  };
  if (b.length < 20) fail('too short');
  if (crc32(b.subarray(0, b.length - 4)) !== b.readUInt32LE(b.length - 4)) fail('checksum mismatch (truncated or damaged)');
  if (b.readUInt32LE(0) !== SNAPSHOT_MAGIC) fail('bad magic');
  if (b.readUInt32LE(4) !== SNAPSHOT_VERSION) fail(`unsupported version ${b.readUInt32LE(4)}`);
  const tableCount = b.readUInt32LE(8);
  const kvCount = b.readUInt32LE(12);
  if (tableCount !== tables.length) fail(`it has ${tableCount} tables, this server ${tables.length}`);
  const end = b.length - 4;
  let o = 16;
  const need = (n: number) => {
    if (o + n > end) fail('truncated');
  };
  // First pass: validate and remember where each array starts.
  const starts: number[][] = [];
  for (const t of tables) {
    need(2);
    const nameLen = b.readUInt16LE(o);
    o += 2;
    need(nameLen + 9);
    const name = b.toString('utf8', o, o + nameLen);
    o += nameLen;
    const rows = b.readUInt32LE(o);
    const width = b.readUInt32LE(o + 4);
    const opt = b[o + 8];
    o += 9;
    if (name !== t.name || rows !== t.rows || width !== t.width || opt !== OPTIMIZER_CODES[t.optimizer]) {
      fail(`table ${JSON.stringify(name)} ${rows}×${width} (optimizer code ${opt}) does not match ${JSON.stringify(t.name)} ${t.rows}×${t.width} (${t.optimizer})`);
    }
    const at: number[] = [];
    for (const a of stateLayout(t)) {
      need(a.bytes);
      at.push(o);
      o += a.bytes;
    }
    starts.push(at);
  }
  const kv = new Map<string, Buffer>();
  for (let i = 0; i < kvCount; i++) {
    need(2);
    const keyLen = b.readUInt16LE(o);
    o += 2;
    need(keyLen + 4);
    const key = b.toString('utf8', o, o + keyLen);
    o += keyLen;
    const valueLen = b.readUInt32LE(o);
    o += 4;
    need(valueLen);
    kv.set(key, Buffer.from(b.subarray(o, o + valueLen))); // a copy: the frame buffer is reused
    o += valueLen;
  }
  if (o !== end) fail(`${end - o} unexpected trailing bytes`);
  // A checksum proves the snapshot is intact, not that it is sane: refuse NaN or infinite values,
  // which would poison every worker that pulls them.
  const scratch = new Float32Array(16 * 1024);
  const scratchBytes = new Uint8Array(scratch.buffer);
  tables.forEach((t, i) => {
    stateLayout(t).forEach((a, j) => {
      if (!a.float) return;
      for (let at = 0; at < a.bytes; at += scratchBytes.length) {
        const n = Math.min(scratchBytes.length, a.bytes - at);
        scratchBytes.set(b.subarray(starts[i][j] + at, starts[i][j] + at + n));
        const bad = firstNonFinite(n === scratchBytes.length ? scratch : scratch.subarray(0, n / 4));
        if (bad >= 0) fail(`table ${JSON.stringify(t.name)} ${j === 0 ? 'weights' : 'optimizer state'} element ${at / 4 + bad} is ${scratch[bad]}`);
      }
    });
  });
  // Second pass: copy. Byte-wise, so the source needs no alignment.
  tables.forEach((t, i) => {
    stateLayout(t).forEach((a, j) => {
      // Float arrays go in through an aligned copy (the table keeps them interleaved by row).
      const into = a.float ? new Float32Array(t.rows * t.width) : t.steps;
      new Uint8Array(into.buffer, into.byteOffset, a.bytes).set(b.subarray(starts[i][j], starts[i][j] + a.bytes));
      if (into instanceof Float32Array) t.setArray(j, into);
    });
  });
  return kv;
}
