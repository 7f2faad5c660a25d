// Guesses a data file's format from its extension and first lines. Pure, so it is tested directly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { DatasetFormat } from '../../runtime/api';

/** Extensions the explorer menu offers Deploy on (kept in step with the `resourceExtname` when clause in
 *  package.json, which also offers it on files without an extension, like LIBSVM's `a9a`): the readers'
 *  formats under their usual names, MovieLens splits (`u1.base`, `u1.test`), LIBSVM test files
 *  (`a9a.t`), and any of them gzipped. */
export const DATA_EXTENSIONS = ['.tsv', '.csv', '.txt', '.libsvm', '.svm', '.data', '.dat', '.base', '.test', '.t', '.train', '.gz'];

/** A file Deploy is offered on: a data extension, or none at all. */
export function isDataFile(file: string): boolean {
  const ext = path.extname(file).toLowerCase();
  return ext === '' || DATA_EXTENSIONS.includes(ext);
}

/** The extension that says what the data is: `.dat` for `ratings.dat.gz`. */
function dataExtension(fileName: string): string {
  const name = fileName.toLowerCase().replace(/\.gz$/, '');
  return path.extname(name);
}

/** The usual test file beside a training file, if it exists: `u1.base` -> `u1.test`, `a9a` -> `a9a.t`,
 *  `x.train` -> `x.test`, `train.csv` -> `test.csv`. Used as the default test split. */
export function siblingTestFile(file: string): string | undefined {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const candidates = [
    base.replace(/\.base$/i, '.test'),
    base.replace(/\.train$/i, '.test'),
    base.replace(/^train(?=[._-])/i, 'test'),
    ...(path.extname(base) === '' ? [`${base}.t`] : []),
  ].filter((c) => c !== base);
  return candidates.map((c) => path.join(dir, c)).find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
}

/** A format's name as the user reads it. */
export const FORMAT_NAMES: Record<DatasetFormat, string> = { criteo: 'Criteo TSV', libsvm: 'LIBSVM', csv: 'CSV', ratings: 'ratings (user, item, rating)' };

const LIBSVM_LINE = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?(\s+\d+:\S+)+\s*$/;
const NUMBER = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;

export function detectFormat(fileName: string, lines: string[]): DatasetFormat | undefined {
  const ext = dataExtension(fileName);
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

/** The first few lines of a file, reading at most 64 KB (of a `.gz` file: its first 64 KB, unpacked
 *  as far as they go); no lines when it cannot be read or unpacked. */
export function firstLines(file: string, count = 5): string[] {
  let bytes: Buffer;
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    bytes = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  if (file.toLowerCase().endsWith('.gz')) {
    try {
      // A cut-off stream: Z_SYNC_FLUSH unpacks what is there instead of failing on the missing end.
      bytes = zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return [];
    }
  }
  return bytes.toString('utf8').split('\n').slice(0, count);
}

/** The data files directly inside a folder (a folder deploy offers these). */
export function dataFilesIn(folder: string): string[] {
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.') && isDataFile(d.name))
    .map((d) => path.join(folder, d.name))
    // Without an extension (a README beside `a9a`), only what reads as LIBSVM, Criteo or ratings
    // (any prose line with a comma would pass for a CSV header).
    .filter((f) => path.extname(f) !== '' || (detectFormat(f, firstLines(f)) ?? 'csv') !== 'csv')
    .sort();
}
