// The byte-level readers (parseBytes: no string per line) against a plain reference built from the
// hashing scheme and SparseRow.finish(), across chunk boundaries, CRLF, gzip and hash collisions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { categoricalBucket, hashMask, integerBucket, integerTransform } from '../../runtime/data/hashing';
import { forEachRow, readAllRows } from '../../runtime/data/read';
import { CriteoReader } from '../../runtime/data/readers/criteo';
import { sort26, SORT26_LIMIT } from '../../runtime/data/readers/sort26';
import { SampleBuilder, SparseRow } from '../../runtime/data/rows';
import { crc32, crc32Table } from '../../runtime/util/crc32';
import { tmpDir, writeFixture } from './fixtures';

const dir = tmpDir('byte-readers');

let seed = 12345;
const rand = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
};

/** Random Criteo rows: missing fields, negative and large integers, non-ASCII categorical values. */
function criteoRows(n: number): string[] {
  const rows: string[] = [];
  for (let r = 0; r < n; r++) {
    const f = [String(rand(2))];
    for (let c = 0; c < 13; c++) f.push(rand(5) === 0 ? '' : rand(10) === 0 ? `-${rand(3)}` : String(rand(10) === 0 ? rand(1e9) : rand(100)));
    for (let k = 0; k < 26; k++) f.push(rand(6) === 0 ? '' : rand(50) === 0 ? `é${rand(99)}中` : rand(2 ** 31).toString(16).padStart(8, '0'));
    rows.push(f.join('\t'));
  }
  return rows;
}

/** What a Criteo row must become: the bias, I1..I13 and C1..C26 pushed in order, then finish(). */
function expected(line: string, hashBits: number): { label: number; indices: number[]; values: number[] } {
  const mask = hashMask(hashBits);
  const f = line.split('\t');
  const row = new SparseRow();
  row.push(0, 1);
  for (let c = 0; c < 13; c++) if (f[1 + c] !== '') row.push(integerBucket(c, mask), integerTransform(Number(f[1 + c])));
  for (let k = 0; k < 26; k++) if (f[14 + k] !== '') row.push(categoricalBucket(f[14 + k], 13 + k, mask), 1);
  row.finish();
  return { label: Number(f[0]), indices: Array.from(row.idx.subarray(0, row.n)), values: Array.from(row.val.subarray(0, row.n)) };
}

test('criteo bytes: rows across 1 MiB chunk boundaries, CRLF and gzip read as the reference', async () => {
  const lines = criteoRows(12_000); // about 2.5 MB: several read chunks, many rows split between two
  for (const hashBits of [20, 4, 31]) {
    const want = lines.map((l) => expected(l, hashBits));
    const plain = await readAllRows(writeFixture(dir, 'rows.tsv', lines), 'criteo', { hashBits });
    assert.deepEqual(plain, want, `plain, hashBits ${hashBits}`);
    // toSampleInto (deploy's path: straight into the partition) encodes the same partition as
    // toSample + SampleBuilder.add, statistics included.
    const viaRow = new CriteoReader({ hashBits });
    const viaBuilder = new CriteoReader({ hashBits });
    const a = new SampleBuilder();
    const b = new SampleBuilder();
    const row = new SparseRow();
    const file = writeFixture(dir, 'rows.tsv', lines);
    await forEachRow(viaRow, file, 'train', {}, () => a.add(viaRow.toSample(row, true), row));
    await forEachRow(viaBuilder, file, 'train', {}, () => viaBuilder.toSampleInto(b, true));
    assert.ok(a.take().equals(b.take()), `toSampleInto, hashBits ${hashBits}`);
    assert.deepEqual(viaBuilder.featureStats(), viaRow.featureStats());
    if (hashBits !== 20) continue;
    const crlf = await readAllRows(writeFixture(dir, 'rows-crlf.tsv', lines.join('\r\n')), 'criteo', { hashBits });
    assert.deepEqual(crlf, want, 'CRLF, no final line break');
    const gz = await readAllRows(writeFixture(dir, 'rows.tsv.gz', lines), 'criteo', { hashBits });
    assert.deepEqual(gz, want, 'gzip');
  }
});

test('criteo bytes: a bad row far into a big file names its line', async () => {
  const lines = criteoRows(9_000);
  lines[8_500] = lines[8_500].replace('\t', '\tx');
  const file = writeFixture(dir, 'bad-late.tsv', lines);
  await assert.rejects(readAllRows(file, 'criteo'), (err: Error) => {
    assert.match(err.message, /bad-late\.tsv:8501: I1 "x.*" is not an integer$/);
    return true;
  });
});

test('sort26 sorts any 26 values from 0 to 2^30', () => {
  const a = new Int32Array(26);
  for (let r = 0; r < 2_000; r++) {
    const range = [2, 30, 2 ** 20, SORT26_LIMIT + 1][r % 4];
    for (let i = 0; i < 26; i++) a[i] = rand(range);
    const want = Array.from(a).sort((x, y) => x - y);
    sort26(a);
    assert.deepEqual(Array.from(a), want);
  }
});

test('crc32 (zlib\'s, or slicing-by-8 without it) matches the bytewise CRC-32 at every alignment and length', () => {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c;
  });
  const bytewise = (d: Uint8Array, previous = 0) => {
    let c = ~previous;
    for (let i = 0; i < d.length; i++) c = table[(c ^ d[i]) & 0xff] ^ (c >>> 8);
    return ~c >>> 0;
  };
  const data = new Uint8Array(1000);
  for (let i = 0; i < data.length; i++) data[i] = rand(256);
  for (let offset = 0; offset < 8; offset++) {
    for (const length of [0, 1, 7, 8, 9, 63, 64, 65, 200, 991]) {
      const view = data.subarray(offset, offset + length);
      for (const previous of [0, 0x1234567, 0xffffffff]) {
        assert.equal(crc32Table(view, previous), bytewise(view, previous));
        assert.equal(crc32(view, previous), bytewise(view, previous));
      }
    }
  }
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926); // the standard check value
  assert.equal(crc32Table(Buffer.from('123456789')), 0xcbf43926);
});
