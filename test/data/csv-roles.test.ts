// Bring your own data: CSV column roles from the counting pass, overrides, scaling from the training
// rows, delimiters, quoted fields over lines, labels by position or as words; LIBSVM label spellings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatColumnTable } from '../../runtime/data/column-table';
import { inspectFile, readAllRows, forEachRow } from '../../runtime/data/read';
import { createReader } from '../../runtime/data/readers';
import { applyTransform, parseTimestamp } from '../../runtime/data/readers/csv';
import { HyperLogLog } from '../../runtime/data/sketch';
import { tmpDir, writeFixture } from './fixtures';

const dir = tmpDir('csv-roles');

/** A click log of n rows: a unique id, a constant, a date, small codes, rank codes, amounts, heavy-tailed counts, cities. */
function clickLog(n: number, delimiter = ','): string[] {
  const lines = [['id', 'source', 'day', 'device', 'site', 'amount', 'views', 'city', 'clicked'].join(delimiter)];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < n; i++) {
    const site = Math.floor(rand() * rand() * 60); // 0..59, repeated, dense
    const views = Math.floor(Math.exp(rand() * 9)); // 1 .. 8000: heavy-tailed
    const row = [
      String(900_000 + i * 37),
      'web',
      `2024-03-${String(1 + (i % 28)).padStart(2, '0')}`,
      String(i % 4),
      String(site),
      (rand() * 100).toFixed(2),
      String(views),
      ['Paris', 'Rome', 'Oslo'][i % 3],
      rand() < 0.3 ? 'yes' : 'no',
    ];
    lines.push(row.join(delimiter));
  }
  return lines;
}

test('csv roles: id, constant, timestamp, codes, numeric and text columns from their values; the table shows them', async () => {
  const file = writeFixture(dir, 'clicks.csv', clickLog(400));
  const info = await inspectFile(file, 'csv');
  const roles = Object.fromEntries(info.columns!.map((c) => [c.name, c.role]));
  assert.deepEqual(roles, {
    id: 'id',
    source: 'constant',
    day: 'timestamp',
    device: 'categorical',
    site: 'categorical',
    amount: 'numeric',
    views: 'numeric',
    city: 'categorical',
    clicked: 'label', // found by name without labelColumn
  });
  const byName = Object.fromEntries(info.schema.columns!.map((c) => [c.name, c]));
  assert.equal(byName.id.kind, 'ignored');
  assert.equal(byName.day.kind, 'ignored');
  assert.equal(byName.amount.transform?.type, 'standardize');
  assert.equal(byName.views.transform?.type, 'log1p');
  assert.deepEqual(info.schema.labelNames, ['no', 'yes']); // "yes" is class 1
  const report = Object.fromEntries(info.columns!.map((c) => [c.name, c]));
  assert.equal(report.id.distinct >= 380 && report.id.distinct <= 400, true, `id distinct ${report.id.distinct}`);
  assert.equal(report.device.distinct, 4);
  assert.match(report.id.reason, /an id, ignored/);
  const table = formatColumnTable(info.columns!);
  assert.match(table, /^column\s+role\s+distinct\s+missing\s+range/);
  assert.match(table, /\nviews\s+numeric\s+\S+\s+0%\s+1\.\.\d+\s+log1p/);
  // Only the kept columns reach the rows: the bias, amount, views and the hashed device, site and city.
  const rows = await readAllRows(file, 'csv');
  assert.ok(rows.every((r) => 'indices' in r && r.indices.length <= 6));
});

test('csv overrides: roles set by hand, a label by override or position, an unknown column names the real ones', async () => {
  const file = writeFixture(dir, 'o.csv', clickLog(200));
  await assert.rejects(inspectFile(file, 'csv', { columns: { sight: 'categorical' } }), (err: Error) => {
    assert.equal(err.message, `${file}:1: dataset.columns names "sight", which is not a column (columns: id, source, day, device, site, amount, views, city, clicked)`);
    return true;
  });
  const info = await inspectFile(file, 'csv', { columns: { id: 'numeric', site: 'ignore', day: 'timestamp', views: 'categorical' } });
  const kinds = Object.fromEntries(info.schema.columns!.map((c) => [c.name, c.kind]));
  assert.deepEqual([kinds.id, kinds.site, kinds.day, kinds.views], ['numeric', 'ignored', 'timestamp', 'categorical']);
  assert.equal(info.columns!.find((c) => c.name === 'site')!.reason, 'set in dataset.columns');
  // The timestamp adds hour-of-day and day-of-week: two hashed features.
  const withDay = await readAllRows(file, 'csv', { columns: { day: 'timestamp' } });
  const without = await readAllRows(file, 'csv');
  assert.equal((withDay[0] as { indices: number[] }).indices.length, (without[0] as { indices: number[] }).indices.length + 2);
  await assert.rejects(inspectFile(file, 'csv', { columns: { city: 'numeric' } }), /dataset\.columns sets "city" numeric, but it holds values that are not numbers/);
  // The label by override, and by 0-based position.
  const byOverride = await inspectFile(file, 'csv', { columns: { device: 'label' } });
  assert.equal(byOverride.schema.labelColumn, 'device');
  assert.equal(byOverride.schema.classes, 4);
  const byPosition = await inspectFile(file, 'csv', { labelColumn: '8' });
  assert.equal(byPosition.schema.labelColumn, 'clicked');
});

test('csv scaling: statistics of the training rows only; none keeps raw values; the same transform in predict', async () => {
  // The last 10 rows (the held-out tail) have huge amounts: they must not move the scaling.
  const lines = ['x,label'];
  for (let i = 0; i < 90; i++) lines.push(`${(i % 10) + 0.5},${i % 2}`);
  for (let i = 0; i < 10; i++) lines.push(`${1e6 + i}.5,${i % 2}`);
  const file = writeFixture(dir, 'tail.csv', lines);
  const reader = createReader('csv');
  await forEachRow(reader, file, 'train', {}, () => reader.learn());
  reader.finishLearning(90);
  const t = reader.schema().columns![0].transform;
  assert.equal(t?.type, 'standardize');
  assert.ok(t?.type === 'standardize' && Math.abs(t.mean - 5) < 1e-9 && Math.abs(t.std - Math.sqrt(8.25)) < 1e-9, JSON.stringify(t));
  assert.ok(Math.abs(applyTransform(t, 5)) < 1e-12);
  const raw = await inspectFile(file, 'csv', { scaling: 'none' });
  assert.equal(raw.schema.columns![0].transform, undefined);
  // predict reads with the schema: the transform is the deployed one, not learnt again from its file.
  const again = createReader('csv', { schema: reader.schema() });
  const other = writeFixture(dir, 'other.csv', ['x,label', '100.5,1']);
  const rows: number[][] = [];
  await forEachRow(again, other, 'test', {}, () => again.learn());
  again.finishLearning();
  const { SparseRow } = await import('../../runtime/data/rows');
  const sparse = new SparseRow();
  await forEachRow(again, other, 'test', {}, () => {
    if (again.kind === 'samples') again.toSample(sparse, false);
    rows.push(Array.from(sparse.val.subarray(0, sparse.n)));
  });
  assert.equal(rows.length, 1);
  assert.equal(rows[0][0], 1);
  assert.ok(Math.abs(rows[0][1] - (100.5 - 5) / Math.sqrt(8.25)) < 1e-9, String(rows[0][1]));
});

test('csv formats: ; and tab delimiters, quoted fields spanning lines, gzip, words as labels', async () => {
  const semi = await inspectFile(writeFixture(dir, 's.csv', clickLog(100, ';')), 'csv');
  assert.equal(semi.schema.delimiter, ';');
  assert.equal(semi.columns!.find((c) => c.name === 'views')!.role, 'numeric');
  const tab = await inspectFile(writeFixture(dir, 't.tsv.gz', clickLog(100, '\t')), 'csv');
  assert.equal(tab.schema.delimiter, '\t');
  assert.equal(tab.rows, 100);
  const multi = writeFixture(dir, 'm.csv', ['note,score,target', '"a note\nover two lines",1,clicked', 'plain,2,not clicked', '"x ""y""\n\nz",3,clicked']);
  const rows = await readAllRows(multi, 'csv', { scaling: 'none' });
  assert.equal(rows.length, 3);
  const info = await inspectFile(multi, 'csv');
  assert.deepEqual(info.schema.labelNames, ['not clicked', 'clicked']); // "clicked" is the positive class
  const open = writeFixture(dir, 'open.csv', ['a,label', '1,0', '"never closed,1', '2,1']);
  await assert.rejects(readAllRows(open, 'csv'), (err: Error) => err.message === `${open}:3: unterminated quoted field (the file ends inside it)`);
});

test('libsvm: labels 0/1, -1/+1 and 1/2 are binary; CRLF line ends', async () => {
  for (const [a, b] of [['0', '1'], ['-1', '+1'], ['1', '2']]) {
    const file = writeFixture(dir, `l${a}.svm`, `${a} 1:1 3:0.5\r\n${b} 2:1\r\n`);
    const rows = await readAllRows(file, 'libsvm');
    assert.deepEqual(rows.map((r) => ('label' in r ? r.label : -1)), [0, 1], `${a}/${b}`);
    assert.deepEqual((rows[0] as { values: number[] }).values, [1, 1, 0.5]);
  }
});

test('timestamps and the distinct-count sketch', () => {
  assert.equal(new Date(parseTimestamp('2024-03-05 13:20:00')).getUTCHours(), 13);
  assert.equal(new Date(parseTimestamp('14102113')).getUTCHours(), 13); // YYMMDDHH
  assert.equal(new Date(parseTimestamp('1414368000')).toISOString(), '2014-10-27T00:00:00.000Z');
  assert.ok(Number.isNaN(parseTimestamp('12')));
  for (const n of [50, 5_000, 200_000]) {
    const hll = new HyperLogLog();
    for (let i = 0; i < n; i++) hll.add(`v${i}`);
    for (let i = 0; i < n; i++) hll.add(`v${i}`); // repeats do not count
    const e = hll.estimate();
    assert.ok(Math.abs(e - n) / n < 0.05, `${n} distinct estimated as ${e}`);
  }
});

test('ratings: a header and sparse ids are re-indexed, the original ids kept in the schema; dense ids stay as given', async () => {
  const file = writeFixture(dir, 'r.csv', ['user,item,rating', '1000003,77777777,4', '42,77777777,3', '1000003,5,5']);
  const rows = await readAllRows(file, 'ratings');
  assert.deepEqual(rows, [{ user: 0, item: 0, rating: 4 }, { user: 1, item: 0, rating: 3 }, { user: 0, item: 1, rating: 5 }]);
  const info = await inspectFile(file, 'ratings');
  assert.deepEqual([info.schema.maxUser, info.schema.maxItem, info.schema.userIds, info.schema.itemIds], [1, 1, [1000003, 42], [77777777, 5]]);
  // Read as the deployed data (predict): original ids map to the stored indices; an unseen id to none.
  const reader = createReader('ratings', { schema: info.schema });
  const other = writeFixture(dir, 'r2.csv', ['user,item,rating', '42,5,1', '9,5,2']);
  const seen: number[][] = [];
  await forEachRow(reader, other, 'test', {}, () => {
    if (reader.kind === 'ratings') seen.push([reader.toRating(false).user, reader.toRating(false).item]);
  });
  assert.deepEqual(seen, [[1, 1], [0xffffffff, 1]]);
  const dense = await inspectFile(writeFixture(dir, 'd.data', ['1\t1\t5', '3\t2\t4', '2\t3\t1']), 'ratings');
  assert.deepEqual([dense.schema.maxUser, dense.schema.userIds], [3, undefined]);
});
