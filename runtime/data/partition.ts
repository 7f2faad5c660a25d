// The binary partition format (version 1), documented in docs/formats.md.
//
// All little-endian. A 32-byte header, then columnar typed arrays (all 4-byte aligned, so a worker can
// view them without copying):
//
//   offset  size  field
//   0       4     magic "CRP1" (0x43 0x52 0x50 0x31)
//   4       2     version (1)
//   6       2     kind: 1 = samples (label + sparse features), 2 = ratings (user, item, rating)
//   8       4     rows
//   12      4     nnz (samples: total (index, value) pairs; ratings: 0)
//   16      4     payload bytes (everything after the header)
//   20      4     CRC-32 of the payload
//   24      8     reserved (zero)
//
// samples payload: labels f32[rows], rowStart u32[rows + 1], indices u32[nnz], values f32[nnz]
// ratings payload: users u32[rows], items u32[rows], ratings f32[rows]
import { crc32 } from '../util/crc32';

export const PARTITION_MAGIC = 0x31505243; // "CRP1" read as a little-endian u32
export const PARTITION_VERSION = 1;
export const HEADER_BYTES = 32;

export enum PartitionKind {
  Samples = 1,
  Ratings = 2,
}

export interface SamplePartition {
  kind: PartitionKind.Samples;
  rows: number;
  labels: Float32Array;
  rowStart: Uint32Array; // row r's features are indices/values[rowStart[r] .. rowStart[r+1])
  indices: Uint32Array;
  values: Float32Array;
}

export interface RatingPartition {
  kind: PartitionKind.Ratings;
  rows: number;
  users: Uint32Array;
  items: Uint32Array;
  ratings: Float32Array;
}

export type Partition = SamplePartition | RatingPartition;

export class PartitionFormatError extends Error {
  constructor(message: string, readonly source?: string) {
    super(source ? `${source}: ${message}` : message);
    this.name = 'PartitionFormatError';
  }
}

function writeHeader(buffer: Buffer, kind: PartitionKind, rows: number, nnz: number): void {
  const payload = buffer.subarray(HEADER_BYTES);
  buffer.writeUInt32LE(PARTITION_MAGIC, 0);
  buffer.writeUInt16LE(PARTITION_VERSION, 4);
  buffer.writeUInt16LE(kind, 6);
  buffer.writeUInt32LE(rows, 8);
  buffer.writeUInt32LE(nnz, 12);
  buffer.writeUInt32LE(payload.length, 16);
  buffer.writeUInt32LE(crc32(payload), 20);
  buffer.fill(0, 24, HEADER_BYTES); // reserved
}

function copyInto(buffer: Buffer, offset: number, array: Float32Array | Uint32Array): number {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  buffer.set(bytes, offset);
  return offset + array.byteLength;
}

/** The encoded size of a samples partition of `rows` rows and `nnz` features. */
export function sampleBytes(rows: number, nnz: number): number {
  return HEADER_BYTES + 4 * (rows + rows + 1 + nnz + nnz);
}

/** The encoded size of a ratings partition of `rows` rows. */
export function ratingBytes(rows: number): number {
  return HEADER_BYTES + 12 * rows;
}

/** The start of `into` (a buffer to reuse) or a fresh buffer, `bytes` long; every byte is written by the
 *  encoders (the header's reserved ones by writeHeader), so neither is zero-filled. */
function target(bytes: number, into?: Buffer): Buffer {
  if (!into) return Buffer.allocUnsafeSlow(bytes);
  if (into.length < bytes) throw new RangeError(`partition buffer too small: ${into.length} bytes, the partition needs ${bytes}`);
  return into.subarray(0, bytes);
}

/** Encodes into a new buffer, or into the start of `into` (returning that part of it). */
export function encodeSamples(p: Omit<SamplePartition, 'kind'>, into?: Buffer): Buffer {
  const nnz = p.rowStart[p.rows];
  if (p.labels.length < p.rows || p.rowStart.length < p.rows + 1 || p.indices.length < nnz || p.values.length < nnz) {
    throw new PartitionFormatError('inconsistent sample arrays');
  }
  const buffer = target(sampleBytes(p.rows, nnz), into);
  let offset = HEADER_BYTES;
  offset = copyInto(buffer, offset, p.labels.subarray(0, p.rows));
  offset = copyInto(buffer, offset, p.rowStart.subarray(0, p.rows + 1));
  offset = copyInto(buffer, offset, p.indices.subarray(0, nnz));
  copyInto(buffer, offset, p.values.subarray(0, nnz));
  writeHeader(buffer, PartitionKind.Samples, p.rows, nnz);
  return buffer;
}

export function encodeRatings(p: Omit<RatingPartition, 'kind'>, into?: Buffer): Buffer {
  const buffer = target(ratingBytes(p.rows), into);
  let offset = HEADER_BYTES;
  offset = copyInto(buffer, offset, p.users.subarray(0, p.rows));
  offset = copyInto(buffer, offset, p.items.subarray(0, p.rows));
  copyInto(buffer, offset, p.ratings.subarray(0, p.rows));
  writeHeader(buffer, PartitionKind.Ratings, p.rows, 0);
  return buffer;
}

/** Reads and fully checks a partition (magic, version, sizes, checksum, row offsets).
 *  `source` (e.g. the S3 key) is named in every error. */
export function decodePartition(data: Uint8Array, source?: string, expectedCrc?: number): Partition {
  if (data.byteLength < HEADER_BYTES) throw new PartitionFormatError(`truncated: ${data.byteLength} bytes, header needs ${HEADER_BYTES}`, source);
  // Typed-array views need 4-byte alignment; copy once if the buffer is not aligned.
  const aligned = data.byteOffset % 4 === 0 ? data : new Uint8Array(data);
  const view = new DataView(aligned.buffer, aligned.byteOffset, aligned.byteLength);
  if (view.getUint32(0, true) !== PARTITION_MAGIC) throw new PartitionFormatError('not a Cirrus partition (bad magic)', source);
  const version = view.getUint16(4, true);
  if (version !== PARTITION_VERSION) throw new PartitionFormatError(`unsupported partition version ${version} (this build reads ${PARTITION_VERSION})`, source);
  const kind = view.getUint16(6, true);
  const rows = view.getUint32(8, true);
  const nnz = view.getUint32(12, true);
  const payloadBytes = view.getUint32(16, true);
  const storedCrc = view.getUint32(20, true);
  if (HEADER_BYTES + payloadBytes !== aligned.byteLength) {
    throw new PartitionFormatError(`size mismatch: header says ${payloadBytes} payload bytes, object has ${aligned.byteLength - HEADER_BYTES}`, source);
  }
  const payload = aligned.subarray(HEADER_BYTES);
  const actualCrc = crc32(payload);
  if (actualCrc !== storedCrc) throw new PartitionFormatError(`checksum mismatch (stored ${storedCrc}, computed ${actualCrc}): the object is corrupt`, source);
  if (expectedCrc !== undefined && expectedCrc !== storedCrc) {
    throw new PartitionFormatError(`checksum ${storedCrc} differs from the manifest's ${expectedCrc}: the object was replaced or the manifest is stale`, source);
  }
  const base = aligned.byteOffset + HEADER_BYTES;
  if (kind === PartitionKind.Samples) {
    if (payloadBytes !== 4 * (2 * rows + 1 + 2 * nnz)) throw new PartitionFormatError('sample payload size does not match rows and nnz', source);
    let at = base;
    const labels = new Float32Array(aligned.buffer, at, rows); at += 4 * rows;
    const rowStart = new Uint32Array(aligned.buffer, at, rows + 1); at += 4 * (rows + 1);
    const indices = new Uint32Array(aligned.buffer, at, nnz); at += 4 * nnz;
    const values = new Float32Array(aligned.buffer, at, nnz);
    if (rowStart[0] !== 0 || rowStart[rows] !== nnz) throw new PartitionFormatError('row offsets do not span the features', source);
    for (let r = 0; r < rows; r++) if (rowStart[r + 1] < rowStart[r]) throw new PartitionFormatError(`row offsets decrease at row ${r}`, source);
    return { kind, rows, labels, rowStart, indices, values };
  }
  if (kind === PartitionKind.Ratings) {
    if (payloadBytes !== 12 * rows) throw new PartitionFormatError('ratings payload size does not match rows', source);
    const users = new Uint32Array(aligned.buffer, base, rows);
    const items = new Uint32Array(aligned.buffer, base + 4 * rows, rows);
    const ratings = new Float32Array(aligned.buffer, base + 8 * rows, rows);
    return { kind, rows, users, items, ratings };
  }
  throw new PartitionFormatError(`unknown partition kind ${kind}`, source);
}

/** Reads only the header's checksum field (for resumable uploads: compare without decoding). */
export function partitionChecksum(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(20, true);
}
