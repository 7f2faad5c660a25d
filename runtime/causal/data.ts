// The data of a causal estimate: an outcome, a treatment and covariates, dense and in Float64.
//
// Read from a CSV with a header (the same line splitting, number syntax, missing-value spellings and
// feature hashing as the CSV reader of runtime/data): numeric covariate columns are kept as they are;
// a column with any non-numeric value is categorical and one-hot hashed into a shared block of
// 2^hashBits buckets (fnv1a(value, column) & mask, as the CSV reader does), of which only the buckets
// some row uses become columns. Two streaming passes (column kinds, then values), as a deploy does.
//
// Stored in S3 as one object the workers read (format "CDM1", little-endian):
//   0  4  magic "CDM1"     4  4  version (1)     8  4  header bytes H     12  4  CRC-32 of bytes [16, end)
//   16 H  JSON header { n, p, outcome, treatment, covariates }, space-padded to a multiple of 8
//   then Float64 y[n], d[n], x[n * p] (row-major)
import { DataFormatError, quote } from '../data/errors';
import { fnv1a, hashMask } from '../data/hashing';
import { readLineBatches } from '../data/lines';
import { splitCsvLine } from '../data/csv-fields';
import { parseNumber } from '../data/readers/types';
import { crc32 } from '../util/crc32';

export interface CausalData {
  n: number;
  p: number;
  y: Float64Array;
  d: Float64Array;
  /** Row-major n x p. */
  x: Float64Array;
  outcome: string;
  treatment: string;
  /** Name of each of the p covariate columns (a hashed bucket is "name#bucket" for its column(s)). */
  covariates: string[];
}

export interface CausalColumns {
  outcome: string;
  treatment: string;
  /** Default: every other column. */
  covariates?: string[];
  /** Buckets of the hashed categorical block: 2^hashBits (default 8). */
  hashBits?: number;
}

export const DEFAULT_CAUSAL_HASH_BITS = 8;

const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', '?']);
const isMissing = (v: string) => v.length <= 4 && MISSING.has(v.toLowerCase());

/** A problem with the data or its settings, naming the column or setting (and file:line when a row). */
export class CausalDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CausalDataError';
  }
}

export async function readCausalCsv(file: string, columns: CausalColumns, signal?: AbortSignal): Promise<CausalData> {
  const hashBits = columns.hashBits ?? DEFAULT_CAUSAL_HASH_BITS;
  let header: string[] | undefined;
  let delimiter = ',';
  let yAt = -1;
  let dAt = -1;
  let covAt: number[] = [];
  let categorical: boolean[] = [];
  let rows = 0;

  const locate = (name: string, setting: string): number => {
    const at = header!.indexOf(name);
    if (at < 0) throw new CausalDataError(`${file}: no column ${quote(name)} (${setting}) in the header; the columns are ${header!.join(', ')}`);
    return at;
  };
  const readHeader = (line: string) => {
    delimiter = !line.includes(',') && line.includes('\t') ? '\t' : ',';
    header = splitCsvLine(line, delimiter);
    yAt = locate(columns.outcome, 'data.outcome');
    dAt = locate(columns.treatment, 'data.treatment');
    if (yAt === dAt) throw new CausalDataError(`data.outcome and data.treatment name the same column ${quote(columns.outcome)}`);
    const names = columns.covariates ?? header.filter((_, i) => i !== yAt && i !== dAt);
    if (names.length === 0) throw new CausalDataError(`${file}: no covariate columns (data.covariates)`);
    covAt = names.map((name) => locate(name, 'data.covariates'));
    for (const at of covAt) if (at === yAt || at === dAt) throw new CausalDataError(`data.covariates lists ${quote(header[at])}, which is the ${at === yAt ? 'outcome' : 'treatment'}`);
    if (new Set(covAt).size !== covAt.length) throw new CausalDataError('data.covariates names a column twice');
    categorical = covAt.map(() => false);
  };

  /** Every data row's fields, with its line number. */
  async function* dataRows(): AsyncGenerator<{ fields: string[]; line: number }> {
    let first = true;
    for await (const { lines, firstLine } of readLineBatches(file)) {
      signal?.throwIfAborted();
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        if (line.trim().length === 0) continue;
        if (first) {
          first = false;
          if (!header) readHeader(line);
          continue;
        }
        const fields = splitCsvLine(line, delimiter);
        if (fields.length !== header!.length) throw new DataFormatError(file, firstLine + i, `expected ${header!.length} fields as in the header, found ${fields.length}`);
        yield { fields, line: firstLine + i };
      }
    }
  }
  const number = (fields: string[], at: number, line: number, role: string): number => {
    const v = fields[at];
    if (isMissing(v)) throw new DataFormatError(file, line, `the ${role} (column ${quote(header![at])}) is missing`);
    const x = parseNumber(v);
    if (!Number.isFinite(x)) throw new DataFormatError(file, line, `the ${role} (column ${quote(header![at])}) must be a number, found ${quote(v)}`);
    return x;
  };

  // Pass 1: the column kinds and the row count (and every row checked).
  for await (const { fields, line } of dataRows()) {
    number(fields, yAt, line, 'outcome');
    number(fields, dAt, line, 'treatment');
    covAt.forEach((at, c) => {
      const v = fields[at];
      if (isMissing(v)) throw new DataFormatError(file, line, `covariate ${quote(header![at])} is missing (double machine learning needs complete covariates: impute or drop the row)`);
      if (!categorical[c] && !Number.isFinite(parseNumber(v))) categorical[c] = true;
    });
    rows++;
  }
  if (!header) throw new CausalDataError(`${file} is empty (it needs a header row and data rows)`);

  // Pass 2: the values; categorical columns as hashed buckets, kept only where some row uses them.
  const numericCols = covAt.map((_, c) => c).filter((c) => !categorical[c]);
  const mask = hashMask(hashBits);
  const y = new Float64Array(rows);
  const d = new Float64Array(rows);
  const numeric = new Float64Array(rows * numericCols.length);
  const buckets: Int32Array[] = covAt.map((_, c) => (categorical[c] ? new Int32Array(rows) : new Int32Array(0)));
  const distinct = covAt.map(() => new Set<string>());
  let r = 0;
  for await (const { fields, line } of dataRows()) {
    y[r] = number(fields, yAt, line, 'outcome');
    d[r] = number(fields, dAt, line, 'treatment');
    numericCols.forEach((c, j) => (numeric[r * numericCols.length + j] = parseNumber(fields[covAt[c]])));
    covAt.forEach((at, c) => {
      if (!categorical[c]) return;
      const v = fields[at];
      if (distinct[c].size < 2) distinct[c].add(v);
      buckets[c][r] = (fnv1a(v, c) & mask) >>> 0;
    });
    r++;
  }

  // A covariate that never varies carries no information and makes the fit ill-posed: refuse it by name.
  numericCols.forEach((c, j) => {
    const first = numeric[j];
    let constant = true;
    for (let i = 1; i < rows && constant; i++) constant = numeric[i * numericCols.length + j] === first;
    if (constant && rows > 0) throw new CausalDataError(`covariate ${quote(header![covAt[c]])} is constant (every row has ${first}): remove it from data.covariates`);
  });
  covAt.forEach((at, c) => {
    if (categorical[c] && distinct[c].size < 2 && rows > 0) throw new CausalDataError(`covariate ${quote(header![at])} is constant (every row has ${quote([...distinct[c]][0])}): remove it from data.covariates`);
  });

  const used = new Map<number, string[]>(); // bucket -> the columns hashed into it
  covAt.forEach((at, c) => {
    if (!categorical[c]) return;
    for (const b of buckets[c]) {
      const list = used.get(b) ?? [];
      if (!list.includes(header![at])) list.push(header![at]);
      used.set(b, list);
    }
  });
  const bucketList = [...used.keys()].sort((a, b) => a - b);
  const bucketColumn = new Map(bucketList.map((b, i) => [b, numericCols.length + i]));
  const p = numericCols.length + bucketList.length;
  const x = new Float64Array(rows * p);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < numericCols.length; j++) x[i * p + j] = numeric[i * numericCols.length + j];
    covAt.forEach((_, c) => {
      if (categorical[c]) x[i * p + bucketColumn.get(buckets[c][i])!] += 1;
    });
  }
  const covariates = [...numericCols.map((c) => header![covAt[c]]), ...bucketList.map((b) => `${used.get(b)!.join('+')}#${b}`)];
  return { n: rows, p, y, d, x, outcome: columns.outcome, treatment: columns.treatment, covariates };
}

const MAGIC = 0x314d4443; // "CDM1" read as a little-endian u32

export function encodeCausalData(data: CausalData): Buffer {
  let json = JSON.stringify({ n: data.n, p: data.p, outcome: data.outcome, treatment: data.treatment, covariates: data.covariates });
  while (Buffer.byteLength(json) % 8 !== 0) json += ' ';
  const head = Buffer.from(json, 'utf8');
  const buffer = Buffer.alloc(16 + head.length + 8 * (2 * data.n + data.n * data.p));
  buffer.writeUInt32LE(MAGIC, 0);
  buffer.writeUInt32LE(1, 4);
  buffer.writeUInt32LE(head.length, 8);
  head.copy(buffer, 16);
  let offset = 16 + head.length;
  for (const array of [data.y, data.d, data.x]) {
    buffer.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), offset);
    offset += array.byteLength;
  }
  buffer.writeUInt32LE(crc32(buffer.subarray(16)), 12);
  return buffer;
}

export function decodeCausalData(bytes: Uint8Array, source: string): CausalData {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 16 || buffer.readUInt32LE(0) !== MAGIC) throw new Error(`${source}: not a causal data object (bad magic)`);
  if (crc32(buffer.subarray(16)) !== buffer.readUInt32LE(12)) throw new Error(`${source}: checksum mismatch (corrupt or replaced object)`);
  const headLength = buffer.readUInt32LE(8);
  const head = JSON.parse(buffer.subarray(16, 16 + headLength).toString('utf8')) as Omit<CausalData, 'y' | 'd' | 'x'>;
  // Copy into fresh, aligned arrays (the object's bytes may sit at any offset).
  let offset = 16 + headLength;
  const take = (count: number) => {
    const out = new Float64Array(count);
    new Uint8Array(out.buffer).set(buffer.subarray(offset, offset + 8 * count));
    offset += 8 * count;
    return out;
  };
  const y = take(head.n);
  const d = take(head.n);
  const x = take(head.n * head.p);
  return { ...head, y, d, x };
}
