// Guesses a data file's format from its extension and first lines. Pure, so it is tested directly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatasetFormat } from '../../runtime/api';

/** Extensions the explorer menu offers Deploy on (kept in step with the `resourceExtname` when clause). */
export const DATA_EXTENSIONS = ['.tsv', '.csv', '.txt', '.libsvm', '.svm', '.data', '.dat'];

const LIBSVM_LINE = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?(\s+\d+:\S+)+\s*$/;
const NUMBER = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;

export function detectFormat(fileName: string, lines: string[]): DatasetFormat | undefined {
  const ext = path.extname(fileName).toLowerCase();
  const first = lines.find((l) => l.trim() !== '');
  if (first === undefined) return ext === '.libsvm' || ext === '.svm' ? 'libsvm' : undefined;
  const line = first.replace(/\r$/, '');
  const tabs = line.split('\t');
  // Criteo: label, 13 integer and 26 categorical fields, tab-separated (empty fields allowed).
  if (tabs.length === 40) return 'criteo';
  // MovieLens: user, item, rating, timestamp separated by `::` (ratings.dat) or tabs (u.data).
  const colons = line.split('::');
  if ((colons.length === 4 && colons.every((f) => NUMBER.test(f.trim()))) || (tabs.length === 4 && tabs.every((f) => NUMBER.test(f.trim())))) return 'ratings';
  if (LIBSVM_LINE.test(line)) return 'libsvm';
  if (ext === '.libsvm' || ext === '.svm') return 'libsvm';
  // CSV: a header line (some field not a number) with commas.
  const commas = line.split(',');
  if (commas.length >= 2 && commas.some((f) => f.trim() !== '' && !NUMBER.test(f.trim().replace(/^"|"$/g, '')))) return 'csv';
  return undefined;
}

/** The first few lines of a file, reading at most 64 KB. */
export function firstLines(file: string, count = 5): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n').slice(0, count);
  } finally {
    fs.closeSync(fd);
  }
}

/** The data files directly inside a folder (a folder deploy offers these). */
export function dataFilesIn(folder: string): string[] {
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((d) => d.isFile() && DATA_EXTENSIONS.includes(path.extname(d.name).toLowerCase()))
    .map((d) => path.join(folder, d.name))
    .sort();
}
