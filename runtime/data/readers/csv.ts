// CSV with a header row and a named label column (default `label`). The other columns are features:
// a column whose values are all numbers (or missing) is numeric and becomes feature index
// position + 1 (position among the non-label columns; 0 is the bias); any other column is
// categorical and hashed into a block after the numeric ones: 1 + columns + (fnv(value, position) & mask).
// Column kinds are decided in the counting pass, over the training and test files together.
import { RowError, quote } from '../errors';
import { DEFAULT_HASH_BITS, checkHashBits, fnv1a, hashMask } from '../hashing';
import { LabelSet } from '../labels';
import type { DatasetSchema, FeatureStats } from '../manifest';
import type { SparseRow } from '../rows';
import { RunningStats } from '../stats';
import { parseNumber, type ReaderOptions, type SampleReader } from './types';

const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', '?']);

function isMissing(value: string): boolean {
  return value.length <= 4 && MISSING.has(value.toLowerCase());
}

/** Splits one CSV line (RFC 4180 quoting: "a, b" and "" for a quote inside quotes; no line breaks inside fields). */
export function splitCsvLine(line: string, delimiter = ','): string[] {
  if (!line.includes('"')) return line.split(delimiter).map((f) => f.trim());
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ') i++;
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new RowError('unterminated quoted field (fields may not span lines)');
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      while (line[i] === ' ') i++;
      if (i < line.length && line[i] !== delimiter) throw new RowError(`unexpected text after the quoted field ${quote(field)}`);
    } else {
      const end = line.indexOf(delimiter, i);
      field = (end < 0 ? line.slice(i) : line.slice(i, end)).trim();
      i = end < 0 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the delimiter
  }
}

export class CsvReader implements SampleReader {
  readonly kind = 'samples';
  private readonly labelColumn: string;
  private readonly requestedHashBits?: number;
  private hashBits = DEFAULT_HASH_BITS;
  private mask = 0;
  private readonly labels = new LabelSet();
  private header?: string[];
  private delimiter = ',';
  private labelAt = -1;
  private inHeader = true;
  private fields: string[] = [];
  // Per feature column (the columns other than the label, in order):
  private names: string[] = [];
  private categorical: boolean[] = [];
  private stats: RunningStats[] = [];

  constructor(opts: ReaderOptions = {}) {
    this.labelColumn = opts.labelColumn ?? 'label';
    this.requestedHashBits = opts.hashBits;
    if (opts.hashBits !== undefined) checkHashBits(opts.hashBits);
  }

  beginFile(): void {
    this.inHeader = true;
  }

  parse(line: string): boolean {
    if (line.trim().length === 0) return false;
    if (this.inHeader) {
      this.readHeader(line);
      this.inHeader = false;
      return false;
    }
    const fields = splitCsvLine(line, this.delimiter);
    if (fields.length !== this.header!.length) throw new RowError(`expected ${this.header!.length} fields as in the header, found ${fields.length}`);
    const label = fields[this.labelAt];
    if (isMissing(label)) throw new RowError(`the label (column ${quote(this.labelColumn)}) is missing`);
    this.fields = fields;
    return true;
  }

  private readHeader(line: string): void {
    // A header without commas but with tabs: a tab-separated file with a header.
    const delimiter = !line.includes(',') && line.includes('\t') ? '\t' : ',';
    const header = splitCsvLine(line, delimiter);
    if (this.header) {
      // A second file (the test file) must have the same columns in the same order.
      if (header.join('\u0000') !== this.header.join('\u0000')) {
        throw new RowError(`the header differs from the training file's (${this.header.join(', ')})`, true);
      }
      return;
    }
    this.delimiter = delimiter;
    const labelAt = header.indexOf(this.labelColumn);
    if (labelAt < 0) throw new RowError(`no column ${quote(this.labelColumn)} in the header (columns: ${header.join(', ')}); set labelColumn`, true);
    this.header = header;
    this.labelAt = labelAt;
    this.names = header.filter((_, i) => i !== labelAt);
    this.categorical = this.names.map(() => false);
    this.stats = this.names.map(() => new RunningStats());
  }

  learn(): void {
    this.labels.learn(this.fields[this.labelAt]);
    for (let j = 0; j < this.names.length; j++) {
      if (this.categorical[j]) continue;
      const value = this.field(j);
      if (!isMissing(value) && !Number.isFinite(parseNumber(value))) this.categorical[j] = true;
    }
  }

  /** Feature column j's field (skipping the label's). */
  private field(j: number): string {
    return this.fields[j < this.labelAt ? j : j + 1];
  }

  finishLearning(): void {
    if (!this.header) return;
    this.labels.finish();
    if (this.categorical.some(Boolean)) {
      this.hashBits = this.requestedHashBits ?? DEFAULT_HASH_BITS;
      this.mask = hashMask(this.hashBits);
    }
  }

  private get hashed(): boolean {
    return this.categorical.some(Boolean);
  }

  toSample(row: SparseRow, observe: boolean): number {
    row.clear();
    row.push(0, 1); // bias
    const offset = 1 + this.names.length;
    for (let j = 0; j < this.names.length; j++) {
      const value = this.field(j);
      if (isMissing(value)) {
        if (observe) this.stats[j].missing++;
        continue;
      }
      if (this.categorical[j]) {
        if (observe) this.stats[j].count++;
        row.push(offset + ((fnv1a(value, j) & this.mask) >>> 0), 1);
      } else {
        const x = parseNumber(value);
        if (observe) this.stats[j].add(x);
        row.push(j + 1, x);
      }
    }
    row.finish();
    return this.labels.classOf(this.fields[this.labelAt]);
  }

  schema(): DatasetSchema {
    const n = this.names.length;
    return {
      kind: 'samples',
      format: 'csv',
      featureCount: 1 + n + (this.hashed ? 2 ** this.hashBits : 0),
      hashBits: this.hashed ? this.hashBits : undefined,
      bias: true,
      labelColumn: this.labelColumn,
      columns: this.names.map((name, j) => (this.categorical[j] ? { name, kind: 'categorical' as const } : { name, kind: 'numeric' as const, index: j + 1 })),
      classes: this.labels.classes,
      labelNames: this.labels.labelNames,
    };
  }

  featureStats(): FeatureStats[] {
    return this.names.map((name, j) => this.stats[j].toStats(name, this.categorical[j] ? 'categorical' : 'numeric'));
  }
}
