import assert from 'node:assert/strict';
import { test } from 'node:test';
import { categoricalBucket, fnv1a, fnv1aBytes, hashMask, integerBucket, integerTransform } from '../../runtime/data/hashing';
import { readAllRows } from '../../runtime/data/read';
import { SparseRow } from '../../runtime/data/rows';
import { tmpDir, writeFixture } from './fixtures';

// FNV-1a written out the slow way (BigInt, byte by byte), independent of the code under test.
function fnvByHand(text: string, seed: number): number {
  let h = 2166136261n ^ BigInt(seed);
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 16777619n) % 2n ** 32n;
  }
  return Number(h);
}

test('FNV-1a matches the published test vectors (seed 0)', () => {
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
  assert.equal(fnv1aBytes(Buffer.from('foobar')), 0xbf9cf968);
});

test('seeded FNV-1a xors the seed into the offset basis, as refkernel.c does', () => {
  // fnv("I", 0): (0x811c9dc5 ^ 0x49) * 16777619 mod 2^32, step by step.
  assert.equal(fnv1a('I', 0), Number(((0x811c9dc5n ^ 0x49n) * 16777619n) % 2n ** 32n));
  for (const [text, seed] of [['I', 5], ['68fd1e64', 13], ['ünïcødé', 38], ['', 7]] as const) {
    assert.equal(fnv1a(text, seed), fnvByHand(text, seed), `${text} seed ${seed}`);
  }
  // Values printed by the reference kernel's own fnv() (compiled from ../shared/reference/refkernel.c).
  assert.equal(fnv1a('68fd1e64', 13), 3252833196);
  const mask = hashMask(20);
  assert.deepEqual(
    Array.from({ length: 13 }, (_, c) => integerBucket(c, mask)),
    [787300, 787703, 788106, 788509, 785688, 786091, 786494, 786897, 784076, 784479, 784882, 785285, 782464],
  );
  assert.equal(categoricalBucket('68fd1e64', 13, mask), 3252833196 & mask);
});

test('integer transform is log1p(max(x, 0))', () => {
  assert.equal(integerTransform(0), 0);
  assert.equal(integerTransform(-3), 0);
  assert.equal(integerTransform(9), Math.log1p(9));
});

test('SparseRow sorts, sums collisions into one pair and drops zeros', () => {
  const row = new SparseRow();
  for (const [i, v] of [[9, 1], [0, 1], [4, 0.5], [9, 2], [4, -0.5], [2, 3]]) row.push(i, v);
  row.finish();
  assert.deepEqual(Array.from(row.idx.subarray(0, row.n)), [0, 2, 9]);
  assert.deepEqual(Array.from(row.val.subarray(0, row.n)), [1, 3, 3]);
  // Long rows take the other sorting path.
  row.clear();
  for (let k = 0; k < 200; k++) row.push((k * 37) % 101, 1);
  row.finish();
  const idx = Array.from(row.idx.subarray(0, row.n));
  assert.equal(idx.length, 101);
  assert.deepEqual(idx, [...idx].sort((a, b) => a - b));
  assert.equal(Array.from(row.val.subarray(0, row.n)).reduce((a, b) => a + b, 0), 200);
});

const CRITEO_ROW = ['1', '5', '-1', '', '0', '1382', '4', '15', '2', '181', '1', '2', '', '2',
  '68fd1e64', '80e26c9b', 'fb936136', '7b4723c4', '25c83c98', '7e0ccccf', 'de7995b8', '1f89b562', 'a73ee510', 'a8cd5504',
  'b2cb9c98', '37c9c164', '2824a5f6', '1adce6ef', '8ba8b39a', '891b62e7', 'e5ba7672', 'f54016b9', '21ddcdc9', 'b1252a9d',
  '07b5194c', '', '3a171ecb', 'c5c50484', 'e8b83407', '9727dd16'].join('\t');

/** The features of one Criteo row computed from the reference scheme directly. */
function expectedCriteoFeatures(fields: string[], bits: number): Map<number, number> {
  const mask = 2 ** bits - 1;
  const out = new Map<number, number>([[0, 1]]);
  const add = (i: number, v: number) => out.set(i, (out.get(i) ?? 0) + v);
  for (let c = 0; c < 39; c++) {
    const f = fields[1 + c];
    if (f === '') continue;
    if (c < 13) add(fnvByHand('I', c) & mask, Math.log1p(Math.max(Number(f), 0)));
    else add(fnvByHand(f, c) & mask, 1);
  }
  for (const [k, v] of out) if (v === 0) out.delete(k);
  return out;
}

for (const bits of [20, 4, 1]) {
  test(`a Criteo row hashes as the reference scheme says (hashBits ${bits})`, async () => {
    const file = writeFixture(tmpDir('hash'), 'row.tsv', [CRITEO_ROW]);
    const [row] = await readAllRows(file, 'criteo', { hashBits: bits });
    assert.ok('label' in row);
    assert.equal(row.label, 1);
    const expected = expectedCriteoFeatures(CRITEO_ROW.split('\t'), bits);
    assert.deepEqual(row.indices, [...expected.keys()].sort((a, b) => a - b), 'sorted unique indices');
    for (let k = 0; k < row.indices.length; k++) assert.ok(Math.abs(row.values[k] - expected.get(row.indices[k])!) < 1e-9);
    if (bits === 1) assert.ok(row.indices.length <= 2, 'two buckets at most: collisions were merged');
  });
}
