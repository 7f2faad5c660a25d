// Every malformed-input kind of docs/bad-input.md, deployed for real to an embedded S3: each gets its
// error (file:line: reason where a line is to blame) and leaves nothing under the dataset's prefix.
// Run configs that would train on labels the model cannot hold, and invalid run configs, are refused
// naming the field.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import type { RunConfig } from '../../runtime/config/run-config';
import { ConfigError, validateRunConfig } from '../../runtime/config/validate';
import { resolveRunConfig } from '../../runtime/config/resolve';
import { deployDataset } from '../../runtime/data/deploy';
import type { DatasetFormat } from '../../runtime/data/manifest';
import { modelTables } from '../../runtime/driver/models';
import { listKeys } from '../../runtime/storage/s3';
import { tmpDir, withEmbeddedS3, writeFixture, type S3Fixture } from './fixtures';

const dir = tmpDir('bad-input');
let s3: S3Fixture;
const ready = withEmbeddedS3(after).then((f) => (s3 = f));
before(() => ready);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const CRITEO_OK = ['0', ...Array(13).fill('1'), ...Array(26).fill('68fd1e64')].join('\t');
const criteoWith = (label: string, i1 = '1') => [label, i1, ...Array(12).fill('1'), ...Array(26).fill('68fd1e64')].join('\t');

interface Case {
  kind: string;
  format: DatasetFormat | string;
  name: string;
  content: () => string | Buffer; // the file, or written by `write`
  write?: (file: string) => void;
  error: RegExp;
  /** CSV column roles set by hand (dataset.columns). */
  columns?: Record<string, 'numeric' | 'categorical' | 'ignore' | 'label' | 'timestamp'>;
}

const gzipCut = () => {
  const whole = zlib.gzipSync(Buffer.from(`${CRITEO_OK}\n`.repeat(2000)));
  return whole.subarray(0, Math.floor(whole.length / 2));
};

const cases: Case[] = [
  { kind: 'wrong column count (Criteo)', format: 'criteo', name: 'cols.txt', content: () => `${CRITEO_OK}\n0\t1\t2\n`, error: /cols\.txt:2: expected 40 tab-separated fields .* found 3$/ },
  { kind: 'wrong column count (CSV)', format: 'csv', name: 'cols.csv', content: () => 'label,a,b\n1,2,3\n0,1\n', error: /cols\.csv:3: expected 3 fields as in the header, found 2$/ },
  { kind: 'non-numeric label (Criteo)', format: 'criteo', name: 'label-text.txt', content: () => `${CRITEO_OK}\n${criteoWith('yes')}\n`, error: /label-text\.txt:2: label "yes" is not a number$/ },
  { kind: 'non-numeric label (LIBSVM)', format: 'libsvm', name: 'label-text.svm', content: () => '1 1:0.5\nabc 2:1\n', error: /label-text\.svm:2: label "abc" is not a finite number$/ },
  { kind: 'label outside the allowed set (Criteo: 0 or 1)', format: 'criteo', name: 'label-3.txt', content: () => `${CRITEO_OK}\n${criteoWith('3')}\n`, error: /label-3\.txt:2: label "3" must be 0 or 1$/ },
  { kind: 'missing label (CSV)', format: 'csv', name: 'no-label.csv', content: () => 'label,a\n1,2\n,3\n', error: /no-label\.csv:3: .*label/ },
  { kind: 'no label column (CSV header)', format: 'csv', name: 'no-label-column.csv', content: () => 'a,b\n1,2\n', error: /no-label-column\.csv:1: .*label/ },
  { kind: 'feature index 0 (LIBSVM, 1-based)', format: 'libsvm', name: 'index-0.svm', content: () => '1 1:0.5\n-1 0:1\n', error: /index-0\.svm:2: feature index 0: indices are 1-based$/ },
  { kind: 'feature index out of range (LIBSVM, > 2^32 - 2)', format: 'libsvm', name: 'index-big.svm', content: () => '1 1:0.5\n-1 99999999999:1\n', error: /index-big\.svm:2: feature index 99999999999 is too large$/ },
  { kind: 'NaN value (LIBSVM)', format: 'libsvm', name: 'nan.svm', content: () => '1 1:0.5\n-1 2:nan\n', error: /nan\.svm:2: value "nan" of feature 2 is not a finite number$/ },
  { kind: 'Inf value (LIBSVM)', format: 'libsvm', name: 'inf.svm', content: () => '1 1:0.5\n-1 2:inf\n', error: /inf\.svm:2: value "inf" of feature 2 is not a finite number$/ },
  { kind: 'overflowing value 1e999 (LIBSVM)', format: 'libsvm', name: 'overflow.svm', content: () => '1 1:0.5\n-1 2:1e999\n', error: /overflow\.svm:2: value "1e999" of feature 2 is not a finite number$/ },
  { kind: 'NaN label (LIBSVM)', format: 'libsvm', name: 'nan-label.svm', content: () => '1 1:0.5\nnan 2:1\n', error: /nan-label\.svm:2: label "nan" is not a finite number$/ },
  { kind: 'NaN integer (Criteo)', format: 'criteo', name: 'nan.txt', content: () => `${CRITEO_OK}\n${criteoWith('0', 'nan')}\n`, error: /nan\.txt:2: I1 "nan" is not an integer$/ },
  { kind: 'duplicate index (LIBSVM)', format: 'libsvm', name: 'dup.svm', content: () => '1 1:0.5\n-1 3:1 3:2\n', error: /dup\.svm:2: feature index 3 appears twice$/ },
  { kind: 'indices out of order (LIBSVM)', format: 'libsvm', name: 'order.svm', content: () => '1 1:0.5\n-1 5:1 3:2\n', error: /order\.svm:2: .*3.*5/ },
  { kind: 'bad rating row (ratings)', format: 'ratings', name: 'bad.data', content: () => '1\t2\t5\t881250949\n1\tx\t5\t881250949\n', error: /bad\.data:2: / },
  { kind: 'empty file', format: 'criteo', name: 'empty.txt', content: () => '', error: /empty\.txt: the file is empty$/ },
  { kind: 'only blank lines', format: 'libsvm', name: 'blank.svm', content: () => '\n\n\n', error: /blank\.svm: the file holds no rows$/ },
  { kind: 'truncated gzip', format: 'criteo', name: 'cut.txt.gz', content: gzipCut, error: /cut\.txt\.gz: not a valid gzip file \(unexpected end of file\)$/ },
  { kind: 'not gzip at all but named .gz', format: 'criteo', name: 'plain.txt.gz', content: () => `${CRITEO_OK}\n`, error: /plain\.txt\.gz: not a valid gzip file/ },
  { kind: 'wrong encoding: UTF-16', format: 'criteo', name: 'utf16.txt', content: () => Buffer.from(`\ufeff${CRITEO_OK}\n`, 'utf16le'), error: /utf16\.txt:1: a NUL byte: not a text file .*UTF-16/ },
  { kind: 'wrong encoding: Latin-1', format: 'csv', name: 'latin1.csv', content: () => Buffer.from('label,city\n1,Bern\n0,Z\xfcrich\n', 'latin1'), error: /latin1\.csv:3: not valid UTF-8 text/ },
  { kind: 'binary file', format: 'libsvm', name: 'binary.svm', content: () => Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 10]), error: /binary\.svm:1: a NUL byte: not a text file/ },
  {
    kind: 'a 100 MB line',
    format: 'libsvm',
    name: 'long-line.svm',
    content: () => '',
    write: (file) => {
      const fd = fs.openSync(file, 'w');
      fs.writeSync(fd, '1 1:0.5\n1 ');
      const chunk = Buffer.from('2:1 '.repeat(2 ** 18)); // 1 MiB
      for (let i = 0; i < 100; i++) fs.writeSync(fd, chunk);
      fs.writeSync(fd, '\n');
      fs.closeSync(fd);
    },
    error: /long-line\.svm:2: line longer than 16 MiB/,
  },
  { kind: 'a column override naming no column (CSV)', format: 'csv', name: 'visits.csv', content: () => 'label,country\n1,fr\n0,it\n', columns: { contry: 'categorical' }, error: /visits\.csv:1: dataset\.columns names "contry", which is not a column \(columns: label, country\)$/ },
  { kind: 'a quoted field never closed (CSV)', format: 'csv', name: 'open.csv', content: () => 'a,label\n1,0\n"never closed,1\n2,1\n', error: /open\.csv:3: unterminated quoted field \(the file ends inside it\)$/ },
  { kind: 'unknown format', format: 'parquet', name: 'data.parquet', content: () => 'PAR1', error: /unknown dataset format "parquet" \(expected criteo, libsvm, csv or ratings\)/ },
];

for (const c of cases) {
  test(`bad input: ${c.kind}`, async () => {
    const file = path.join(dir, c.name);
    if (c.write) c.write(file);
    else fs.writeFileSync(file, c.content());
    const prefix = `bad/${c.name}`;
    const started = Date.now();
    await assert.rejects(
      deployDataset({ file, format: c.format as DatasetFormat, testFraction: 0.5, bucket: s3.bucket, prefix, client: s3.client, columns: c.columns }),
      (err: Error) => {
        assert.match(err.message, c.error);
        if (process.env.CIRRUS_PRINT_ERRORS) console.log(`| ${c.kind} | ${c.format} | \`${err.message.replace(dir + path.sep, '')}\` |`);
        return true;
      },
    );
    assert.ok(Date.now() - started < 20_000, 'refused promptly');
    const stored: string[] = [];
    for await (const { key } of listKeys(s3.client, s3.bucket, prefix + '/')) stored.push(key);
    assert.deepEqual(stored, [], 'nothing stored for a refused file');
    if (c.write) fs.rmSync(file);
  });
}

test('skipBad skips bad rows but not errors that make the file unreadable', async () => {
  const rows = writeFixture(dir, 'mixed.svm', ['1 1:0.5', '-1 0:1', '1 2:nan', '-1 3:1 3:2', '1 4:1']);
  const result = await deployDataset({ file: rows, format: 'libsvm', bucket: s3.bucket, prefix: 'bad/mixed', client: s3.client, skipBad: true });
  assert.equal(result.manifest.counts.skippedRows, 3);
  assert.equal(result.manifest.counts.trainRows, 2);
  const latin = path.join(dir, 'latin-skip.csv');
  fs.writeFileSync(latin, Buffer.from('label,city\n1,Bern\n0,Z\xfcrich\n', 'latin1'));
  await assert.rejects(deployDataset({ file: latin, format: 'csv', bucket: s3.bucket, prefix: 'bad/latin-skip', client: s3.client, skipBad: true }), /not valid UTF-8/);
});

test('labels the model cannot hold are refused before training', async () => {
  const three = writeFixture(dir, 'three.svm', ['1 1:1', '2 2:1', '3 3:1', '1 1:1']);
  const { manifest } = await deployDataset({ file: three, format: 'libsvm', testFraction: 0.25, bucket: s3.bucket, prefix: 'bad/three', client: s3.client });
  const config = (model: RunConfig['model']): RunConfig => ({
    dataset: { path: three, format: 'libsvm', testFraction: 0.25 },
    model,
    optimizer: { type: 'sgd', learningRate: 0.1 },
    training: { workers: 1, minibatch: 1, maxSeconds: 1 },
  });
  assert.throws(() => modelTables(resolveRunConfig(config({ type: 'logistic' })).config, manifest), /"logistic" needs 2 labels, the dataset has 3/);
  assert.throws(() => modelTables(resolveRunConfig(config({ type: 'softmax', classes: 2 })).config, manifest), /model\.classes is 2, but the dataset has 3 labels/);
  assert.equal(modelTables(resolveRunConfig(config({ type: 'softmax' })).config, manifest)[0].width, 3);
});

test('invalid run configs: schema errors name the field', () => {
  const base = {
    dataset: { path: 'x.txt', format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic' },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    training: { workers: 2, minibatch: 20, maxSeconds: 10 },
  };
  const bad: Array<[string, (c: any) => void, RegExp]> = [
    ['negative learning rate', (c) => (c.optimizer.learningRate = -1), /optimizer\.learningRate: must be > 0/],
    ['workers not an integer', (c) => (c.training.workers = 1.5), /training\.workers: must be integer/],
    ['unknown format', (c) => (c.dataset.format = 'parquet'), /dataset\.format: must be one of "criteo", "libsvm", "csv", "ratings"/],
    ['misspelt setting', (c) => (c.training.maxSecond = 5), /training\.maxSecond: is not a known setting/],
    ['kill fraction above 1', (c) => (c.faults = { killWorkerFraction: 1.5 }), /faults\.killWorkerFraction: must be <= 1/],
    // (optimizer and training are optional since they have defaults: the one required setting is the dataset's path)
    ['missing dataset path', (c) => delete c.dataset.path, /dataset\.path: is required/],
    ['testFraction 1', (c) => (c.dataset.testFraction = 1), /dataset\.testFraction: must be < 1/],
  ];
  for (const [what, change, message] of bad) {
    const config = structuredClone(base) as any;
    change(config);
    assert.throws(() => validateRunConfig(config, 'bad.cirrus.json'), (err: Error) => err instanceof ConfigError && message.test(err.message), what);
  }
});
