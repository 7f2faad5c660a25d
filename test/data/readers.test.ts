import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { inspectFile, readAllRows, type ReadRow } from '../../runtime/data/read';
import { csvBucket, splitCsvLine } from '../../runtime/data/readers/csv';
import { fnv1a } from '../../runtime/data/hashing';
import { tmpDir, writeFixture } from './fixtures';

const dir = tmpDir('readers');

function criteoLine(label: string, ints: string[] = [], cats: string[] = []): string {
  const I = Array.from({ length: 13 }, (_, i) => ints[i] ?? String(i));
  const C = Array.from({ length: 26 }, (_, i) => cats[i] ?? (0xa0000000 + i).toString(16));
  return [label, ...I, ...C].join('\t');
}

function samples(rows: ReadRow[]): Array<{ label: number; indices: number[]; values: number[] }> {
  return rows.map((r) => {
    assert.ok('label' in r);
    return r;
  });
}

async function rejectsWith(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.equal(err.message, message);
    return true;
  });
}

// ---- Criteo ----

test('criteo: reads labels, negative integers and missing values', async () => {
  const file = writeFixture(dir, 'ok.tsv', [criteoLine('0', ['-2', '', '7']), criteoLine('1', [], Array(26).fill(''))]);
  const rows = samples(await readAllRows(file, 'criteo'));
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((r) => r.label), [0, 1]);
  // Row 2: bias + 13 integer columns (I1 = 0 gives log1p(0) = 0, dropped) and no categorical ones.
  assert.equal(rows[1].indices.length, 1 + 12);
  const info = await inspectFile(file, 'criteo');
  assert.equal(info.rows, 2);
  assert.equal(info.schema.featureCount, 2 ** 20);
});

test('criteo: bad rows name file:line and what is wrong', async () => {
  const cases: Array<[string, string]> = [
    [criteoLine('0').split('\t').slice(0, 30).join('\t'), 'expected 40 tab-separated fields (label, 13 integer, 26 categorical), found 30'],
    [criteoLine('x'), 'label "x" is not a number'],
    [criteoLine('2'), 'label "2" must be 0 or 1'],
    [criteoLine('1', ['1', '2', '3.5']), 'I3 "3.5" is not an integer'],
    [criteoLine('1', ['abc']), 'I1 "abc" is not an integer'],
  ];
  for (const [bad, reason] of cases) {
    const file = writeFixture(dir, 'bad.tsv', [criteoLine('0'), criteoLine('1'), bad, criteoLine('0')]);
    await rejectsWith(readAllRows(file, 'criteo'), `${file}:3: ${reason}`);
  }
});

test('criteo: skipBad skips and counts the bad rows', async () => {
  const file = writeFixture(dir, 'skip.tsv', [criteoLine('0'), criteoLine('7'), criteoLine('1'), 'garbage', criteoLine('1')]);
  const info = await inspectFile(file, 'criteo', { skipBad: true });
  assert.equal(info.rows, 3);
  assert.equal(info.skippedRows, 2);
  assert.deepEqual(info.skipped, [`${file}:2: label "7" must be 0 or 1`, `${file}:4: expected 40 tab-separated fields (label, 13 integer, 26 categorical), found 1`]);
  assert.equal((await readAllRows(file, 'criteo', { skipBad: true })).length, 3);
});

test('criteo: a .gz file reads the same as the plain file', async () => {
  const lines = Array.from({ length: 500 }, (_, i) => criteoLine(String(i % 2), [String(i)], [(i * 7919).toString(16)]));
  const plain = await readAllRows(writeFixture(dir, 'many.tsv', lines), 'criteo');
  const gz = await readAllRows(writeFixture(dir, 'many.tsv.gz', lines), 'criteo');
  assert.equal(plain.length, 500);
  assert.deepEqual(gz, plain);
});

test('a corrupt .gz file is a clear error', async () => {
  const file = `${dir}/corrupt.tsv.gz`;
  fs.writeFileSync(file, Buffer.from('this is not gzip at all'));
  await assert.rejects(readAllRows(file, 'criteo'), /corrupt\.tsv\.gz: not a valid gzip file/);
});

test('CRLF line endings and a missing final newline are accepted', async () => {
  const file = writeFixture(dir, 'crlf.svm', '+1 1:1 3:2\r\n-1 2:1\r\n+1 4:1');
  const rows = samples(await readAllRows(file, 'libsvm'));
  assert.deepEqual(rows.map((r) => r.label), [1, 0, 1]);
  assert.deepEqual(rows[2].indices, [0, 4]);
});

// ---- LIBSVM ----

test('libsvm: -1/+1 labels become 0/1, indices kept, trailing spaces and comments allowed', async () => {
  const file = writeFixture(dir, 'a.svm', ['-1 3:1 11:1 14:0.5 ', '+1 1:2 5:-1 # a comment', '', '-1 123:1  ']);
  const rows = samples(await readAllRows(file, 'libsvm'));
  assert.deepEqual(rows.map((r) => r.label), [0, 1, 0]);
  assert.deepEqual(rows[0], { label: 0, indices: [0, 3, 11, 14], values: [1, 1, 1, 0.5] });
  assert.deepEqual(rows[1].values, [1, 2, -1]);
  const info = await inspectFile(file, 'libsvm');
  assert.equal(info.schema.featureCount, 124);
  assert.deepEqual(info.schema.labelNames, ['-1', '+1']);
  assert.equal(info.schema.classes, 2);
});

test('libsvm: 0/1 labels stay, multiclass labels map to 0..K-1 in numeric order', async () => {
  const binary = samples(await readAllRows(writeFixture(dir, 'b.svm', ['1 1:1', '0 2:1']), 'libsvm'));
  assert.deepEqual(binary.map((r) => r.label), [1, 0]);
  const file = writeFixture(dir, 'multi.svm', ['10 1:1', '2 1:1', '3 2:1', '2 3:1']);
  assert.deepEqual(samples(await readAllRows(file, 'libsvm')).map((r) => r.label), [2, 0, 1, 0]);
  const info = await inspectFile(file, 'libsvm');
  assert.equal(info.schema.classes, 3);
  assert.deepEqual(info.schema.labelNames, ['2', '3', '10']);
});

test('libsvm: hashBits hashes each index string with seed 0', async () => {
  const file = writeFixture(dir, 'h.svm', ['+1 7:1 1000:2']);
  const [row] = samples(await readAllRows(file, 'libsvm', { hashBits: 8 }));
  const expected = new Map([[0, 1]]);
  for (const [i, v] of [[7, 1], [1000, 2]]) {
    const b = fnv1a(String(i), 0) & 255;
    expected.set(b, (expected.get(b) ?? 0) + v);
  }
  assert.deepEqual(row.indices, [...expected.keys()].sort((a, b) => a - b));
  assert.equal((await inspectFile(file, 'libsvm', { hashBits: 8 })).schema.featureCount, 256);
});

test('libsvm: bad rows name file:line and what is wrong', async () => {
  const cases: Array<[string, string]> = [
    ['+1 0:1 2:1', 'feature index 0: indices are 1-based'],
    ['+1 5:1 3:1', 'feature index 3 after 5: indices must increase'],
    ['+1 3:1 3:1', 'feature index 3 appears twice'],
    ['+1 3:nan', 'value "nan" of feature 3 is not a finite number'],
    ['+1 3:inf', 'value "inf" of feature 3 is not a finite number'],
    ['+1 3:1e999', 'value "1e999" of feature 3 is not a finite number'],
    ['yes 3:1', 'label "yes" is not a finite number'],
    ['+1 3', '"3" is not index:value'],
    ['+1 x:1', 'feature index "x" is not a positive integer'],
    ['3:1 4:1', 'the line starts with "3:1": a label must come first'],
  ];
  for (const [bad, reason] of cases) {
    const file = writeFixture(dir, 'bad.svm', ['+1 1:1', bad]);
    await rejectsWith(readAllRows(file, 'libsvm'), `${file}:2: ${reason}`);
  }
  const file = writeFixture(dir, 'skip.svm', ['+1 1:1', '+1 0:1', '-1 2:1', '-1 2:x']);
  const info = await inspectFile(file, 'libsvm', { skipBad: true });
  assert.deepEqual([info.rows, info.skippedRows], [2, 2]);
});

// ---- CSV ----

test('csv: numeric columns at position + 1, categorical columns hashed after them, label by name', async () => {
  const file = writeFixture(dir, 'd.csv', ['age,city,label,income', '30,Paris,yes,1000', '40,"Rome, IT",no,', '50,Paris,yes,3000.5']);
  const rows = samples(await readAllRows(file, 'csv', { hashBits: 4, scaling: 'none' }));
  assert.deepEqual(rows.map((r) => r.label), [1, 0, 1]); // labels sorted by name: no = 0, yes = 1
  const paris = 1 + 3 + csvBucket('Paris', 1, 15);
  const rome = 1 + 3 + csvBucket('Rome, IT', 1, 15);
  const byIndex = (r: { indices: number[]; values: number[] }) => Object.fromEntries(r.indices.map((i, k) => [i, r.values[k]]));
  assert.deepEqual(byIndex(rows[0]), { 0: 1, 1: 30, 3: 1000, [paris]: 1 });
  assert.deepEqual(byIndex(rows[1]), { 0: 1, 1: 40, [rome]: 1 }); // income missing
  const info = await inspectFile(file, 'csv', { hashBits: 4, scaling: 'none' });
  assert.equal(info.schema.featureCount, 1 + 3 + 16);
  assert.deepEqual(info.schema.columns, [
    { name: 'age', kind: 'numeric', index: 1 },
    { name: 'city', kind: 'categorical' },
    { name: 'income', kind: 'numeric', index: 3 },
  ]);
});

test('csv: labelColumn option, numeric labels, no categorical columns means no hashing', async () => {
  const file = writeFixture(dir, 'n.csv', ['x1,x2,y', '1,2,-1', '3,,1']);
  const rows = samples(await readAllRows(file, 'csv', { labelColumn: 'y', scaling: 'none' }));
  assert.deepEqual(rows, [{ label: 0, indices: [0, 1, 2], values: [1, 1, 2] }, { label: 1, indices: [0, 1], values: [1, 3] }]);
  const info = await inspectFile(file, 'csv', { labelColumn: 'y' });
  assert.equal(info.schema.featureCount, 3);
  assert.equal(info.schema.hashBits, undefined);
});

test('csv: bad header and bad rows', async () => {
  const noLabel = writeFixture(dir, 'nl.csv', ['a,b', '1,2']);
  await rejectsWith(readAllRows(noLabel, 'csv'), `${noLabel}:1: no column "label" in the header (columns: a, b); set labelColumn`);
  // A bad header is fatal even when skipping bad rows.
  await assert.rejects(inspectFile(noLabel, 'csv', { skipBad: true }), /nl\.csv:1: no column "label"/);
  const bad = writeFixture(dir, 'br.csv', ['a,label', '1,0', '1,2,3', '4,', '"x,1']);
  await rejectsWith(readAllRows(bad, 'csv'), `${bad}:3: expected 2 fields as in the header, found 3`);
  const info = await inspectFile(bad, 'csv', { skipBad: true });
  assert.equal(info.rows, 1);
  assert.deepEqual(info.skipped, [
    `${bad}:3: expected 2 fields as in the header, found 3`,
    `${bad}:4: the label (column "label") is missing`,
    `${bad}:5: unterminated quoted field (the file ends inside it)`, // quoted fields may span lines, not end the file
  ]);
});

test('csv: quoted fields', () => {
  assert.deepEqual(splitCsvLine('a,"b,c","say ""hi""", d '), ['a', 'b,c', 'say "hi"', 'd']);
  assert.deepEqual(splitCsvLine('"",x,'), ['', 'x', '']);
});

// ---- Ratings ----

test('ratings: u.data tabs, :: separators (also gzipped) and a comma file with a header', async () => {
  const tab = await readAllRows(writeFixture(dir, 'u.data', ['196\t242\t3\t881250949', '186\t302\t3.5\t891717742']), 'ratings');
  assert.deepEqual(tab, [{ user: 196, item: 242, rating: 3 }, { user: 186, item: 302, rating: 3.5 }]);
  const colons = await readAllRows(writeFixture(dir, 'r.dat.gz', ['1::1193::5::978300760', '1::661::3::978302109']), 'ratings');
  assert.deepEqual(colons, [{ user: 1, item: 1193, rating: 5 }, { user: 1, item: 661, rating: 3 }]);
  const csv = await readAllRows(writeFixture(dir, 'r.csv', ['userId,movieId,rating,timestamp', '1,31,2.5,1260759144']), 'ratings');
  assert.deepEqual(csv, [{ user: 1, item: 31, rating: 2.5 }]);
  const info = await inspectFile(`${dir}/u.data`, 'ratings');
  assert.deepEqual([info.schema.maxUser, info.schema.maxItem, info.schema.ratingMin, info.schema.ratingMax], [196, 302, 3, 3.5]);
});

test('ratings: bad rows', async () => {
  const cases: Array<[string, string]> = [
    ['1\t2', 'expected user, item, rating and an optional timestamp, found 2 fields'],
    ['x\t2\t3', 'user id "x" is not a non-negative integer'],
    ['1\t-2\t3', 'item id "-2" is not a non-negative integer'],
    ['1\t2\tgood', 'rating "good" is not a number'],
  ];
  for (const [bad, reason] of cases) {
    const file = writeFixture(dir, 'bad.data', ['1\t1\t5\t0', bad]);
    await rejectsWith(readAllRows(file, 'ratings'), `${file}:2: ${reason}`);
  }
});

test('an empty file has no rows and a missing file is a clear error', async () => {
  const empty = writeFixture(dir, 'empty.tsv', '');
  assert.equal((await inspectFile(empty, 'criteo')).rows, 0);
  await assert.rejects(readAllRows(`${dir}/nope.tsv`, 'criteo'), /nope\.tsv: no such file/);
});
