// Unpacks a function's .zip into a folder without trusting what the zip says about itself:
// - sizes are read from the central directory and summed BEFORE anything is inflated (a 1 KB zip
//   declaring 8 x 4 GiB is refused without allocating anything);
// - each entry is inflated in small slices straight to disk, and its real output is counted against
//   its declared size and the total limit while it streams (a lying header stops at the limit);
// - names are checked (no absolute paths, no `..`, no backslashes), encrypted and ZIP64 entries are
//   refused, and every entry's CRC-32 is checked;
// - on any failure the partly written folder is removed: nothing is left behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inflate } from 'fflate';
import { crc32 } from '../../util/crc32';

export class ZipError extends Error {}

interface Entry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
/** Compressed bytes handed to the inflater at a time: deflate expands at most ~1032x, so one slice
 *  yields at most ~16 MB of output in memory before it is written out. */
const SLICE = 16 * 1024;

function checkName(name: string): void {
  const normal = path.posix.normalize(name);
  if (name.includes('\\') || name.includes('\0') || path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new ZipError(`entry ${JSON.stringify(name)} points outside the package`);
  }
}

/** Lists the entries from the central directory, checking every declared size against `maxBytes`. */
export function readCentralDirectory(zip: Uint8Array, maxBytes: number, maxEntries = 100_000): Entry[] {
  const b = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (b.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a zip file (no end of central directory record)');
  const count = b.readUInt16LE(eocd + 10);
  const cdSize = b.readUInt32LE(eocd + 12);
  const cdOffset = b.readUInt32LE(eocd + 16);
  if (b.readUInt16LE(eocd + 4) !== 0 || b.readUInt16LE(eocd + 6) !== 0) throw new ZipError('multi-disk zip files are not supported');
  if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) throw new ZipError('ZIP64 archives are not supported (a Lambda package is at most 250 MB unzipped)');
  if (cdOffset + cdSize > eocd) throw new ZipError('central directory runs past its end record');
  if (count > maxEntries) throw new ZipError(`${count} entries: more than ${maxEntries}`);
  const entries: Entry[] = [];
  let total = 0;
  let o = cdOffset;
  for (let i = 0; i < count; i++) {
    if (o + 46 > eocd || b.readUInt32LE(o) !== CDH_SIG) throw new ZipError(`central directory entry ${i} is corrupt`);
    const flags = b.readUInt16LE(o + 8);
    const method = b.readUInt16LE(o + 10);
    const nameLen = b.readUInt16LE(o + 28);
    const extraLen = b.readUInt16LE(o + 30);
    const commentLen = b.readUInt16LE(o + 32);
    const entry: Entry = {
      name: b.toString('utf8', o + 46, o + 46 + nameLen),
      method,
      crc: b.readUInt32LE(o + 16),
      compressedSize: b.readUInt32LE(o + 20),
      size: b.readUInt32LE(o + 24),
      localOffset: b.readUInt32LE(o + 42),
    };
    if (o + 46 + nameLen > eocd) throw new ZipError(`central directory entry ${i} is corrupt`);
    checkName(entry.name);
    if (flags & 1) throw new ZipError(`entry ${entry.name} is encrypted`);
    if (method !== 0 && method !== 8) throw new ZipError(`entry ${entry.name} uses compression method ${method} (only stored and deflated are supported)`);
    if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff || entry.localOffset === 0xffffffff) throw new ZipError(`entry ${entry.name} is ZIP64`);
    total += entry.size;
    if (total > maxBytes) throw new ZipError(`Unzipped size must be smaller than ${maxBytes} bytes (the entries declare more)`);
    entries.push(entry);
    o += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Extracts `zip` into `dir` (which must not exist yet). Throws ZipError and removes `dir` on any failure. */
export function extractZip(zip: Uint8Array, dir: string, maxBytes: number): void {
  const entries = readCentralDirectory(zip, maxBytes);
  const b = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  fs.mkdirSync(dir, { recursive: false });
  let written = 0;
  try {
    for (const entry of entries) {
      const target = path.join(dir, entry.name);
      if (entry.name.endsWith('/')) {
        fs.mkdirSync(target, { recursive: true });
        continue;
      }
      const lo = entry.localOffset;
      if (lo + 30 > b.length || b.readUInt32LE(lo) !== LFH_SIG) throw new ZipError(`entry ${entry.name}: local header missing`);
      const start = lo + 30 + b.readUInt16LE(lo + 26) + b.readUInt16LE(lo + 28);
      const end = start + entry.compressedSize;
      if (end > b.length) throw new ZipError(`entry ${entry.name} runs past the end of the file`);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const fd = fs.openSync(target, 'wx', 0o644);
      let size = 0;
      let crc = 0;
      const write = (chunk: Uint8Array) => {
        size += chunk.length;
        written += chunk.length;
        if (size > entry.size) throw new ZipError(`entry ${entry.name} inflates past its declared ${entry.size} bytes`);
        if (written > maxBytes) throw new ZipError(`Unzipped size must be smaller than ${maxBytes} bytes`);
        crc = crc32(chunk, crc);
        fs.writeSync(fd, chunk);
      };
      try {
        if (entry.method === 0) {
          for (let at = start; at < end; at += SLICE) write(b.subarray(at, Math.min(end, at + SLICE)));
        } else {
          const inflater = new Inflate((chunk) => write(chunk));
          for (let at = start; at < end; at += SLICE) inflater.push(b.subarray(at, Math.min(end, at + SLICE)), at + SLICE >= end);
          if (start === end) inflater.push(new Uint8Array(0), true);
        }
      } finally {
        fs.closeSync(fd);
      }
      if (size !== entry.size) throw new ZipError(`entry ${entry.name} holds ${size} bytes, not the ${entry.size} its header declares`);
      if (crc >>> 0 !== entry.crc) throw new ZipError(`entry ${entry.name} fails its CRC-32 check`);
    }
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    if (error instanceof ZipError) throw error;
    throw new ZipError((error as Error)?.message ?? String(error));
  }
}
