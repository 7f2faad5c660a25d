// Format sniffing for Deploy Dataset, on made-up lines and on the shared real datasets' first lines.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { detectFormat, firstLines } from '../../extension/deploy/detect-format';
import { sharedDataset } from '../helpers/shared';

test('detects each format from its first line', () => {
  const criteo = ['1', ...Array(13).fill('5'), ...Array(26).fill('68fd1e64')].join('\t');
  assert.equal(detectFormat('train.txt', [criteo]), 'criteo');
  assert.equal(detectFormat('x.txt', [['0', '', '3', ...Array(37).fill('')].join('\t')]), 'criteo', 'empty fields count');
  assert.equal(detectFormat('a9a', ['-1 3:1 11:1 14:1 19:1']), 'libsvm');
  assert.equal(detectFormat('d.txt', ['+1 1:0.5 7:-2e-3 ']), 'libsvm');
  assert.equal(detectFormat('u.data', ['196\t242\t3\t881250949']), 'ratings');
  assert.equal(detectFormat('ratings.dat', ['1::1193::5::978300760']), 'ratings');
  assert.equal(detectFormat('iris.csv', ['sepal_length,sepal_width,species', '5.1,3.5,setosa']), 'csv');
  assert.equal(detectFormat('empty.svm', []), 'libsvm', 'extension decides when there is no line');
});

test('undecidable files return undefined (the user is asked)', () => {
  assert.equal(detectFormat('numbers.csv', ['1,2,3']), undefined, 'no header');
  assert.equal(detectFormat('notes.txt', ['hello world']), undefined);
  assert.equal(detectFormat('x.dat', []), undefined);
});

const real: Array<[string, string]> = [
  ['criteo-kaggle-head10k/train_head10000.txt', 'criteo'],
  ['libsvm-a9a/a9a', 'libsvm'],
  ['movielens-100k/u.data', 'ratings'],
];
for (const [file, format] of real) {
  test(`real data: ${path.basename(file)} is ${format}`, (t) => {
    const f = sharedDataset(t, file);
    if (f) assert.equal(detectFormat(f, firstLines(f)), format);
  });
}
