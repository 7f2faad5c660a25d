// CRC-32 (IEEE, as zlib and zip use). Every partition a deploy writes and a worker reads goes through
// here, so speed matters: zlib.crc32 (native, several GB/s) where the runtime has it (Node >= 20.15),
// else a table version, slicing-by-8 (eight tables, eight bytes a step), so the partition format stays
// readable everywhere (older Node builds, Electron builds without it).
import * as zlib from 'node:zlib';

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const TABLES = (() => {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function crc32(data: Uint8Array, previous = 0): number {
  return nativeCrc32 ? nativeCrc32(data, previous) : crc32Table(data, previous);
}

/** The table version (exported for the tests: it must agree with zlib's). */
export function crc32Table(data: Uint8Array, previous = 0): number {
  const T = TABLES;
  let c = ~previous;
  const n = data.length;
  let i = 0;
  if (LITTLE_ENDIAN && (data.byteOffset & 3) === 0 && n >= 64) {
    // Whole 4-byte words straight from memory (partitions are 4-byte aligned).
    const words = new Int32Array(data.buffer, data.byteOffset, n >>> 2);
    const pairs = words.length & ~1;
    for (let w = 0; w < pairs; w += 2) {
      const a = c ^ words[w];
      const b = words[w + 1];
      c =
        T[1792 + (a & 0xff)] ^
        T[1536 + ((a >>> 8) & 0xff)] ^
        T[1280 + ((a >>> 16) & 0xff)] ^
        T[1024 + (a >>> 24)] ^
        T[768 + (b & 0xff)] ^
        T[512 + ((b >>> 8) & 0xff)] ^
        T[256 + ((b >>> 16) & 0xff)] ^
        T[b >>> 24];
    }
    i = pairs * 4;
  }
  for (const stop = n - 8; i <= stop; i += 8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    const b = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    c =
      T[1792 + (a & 0xff)] ^
      T[1536 + ((a >>> 8) & 0xff)] ^
      T[1280 + ((a >>> 16) & 0xff)] ^
      T[1024 + (a >>> 24)] ^
      T[768 + (b & 0xff)] ^
      T[512 + ((b >>> 8) & 0xff)] ^
      T[256 + ((b >>> 16) & 0xff)] ^
      T[b >>> 24];
  }
  for (; i < n; i++) c = T[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
