// Criteo display-advertising TSV: label, I1..I13 (integer counts, may be negative), C1..C26
// (categorical, hex strings). An empty field is a missing value. Hashed as in hashing.ts.
import { RowError, quote } from '../errors';
import { DEFAULT_HASH_BITS, categoricalBucket, checkHashBits, hashMask, integerBucket, integerTransform } from '../hashing';
import type { DatasetSchema, FeatureStats } from '../manifest';
import type { SparseRow } from '../rows';
import { RunningStats } from '../stats';
import { parseInteger, type ReaderOptions, type SampleReader } from './types';

export const CRITEO_INTEGER_COLUMNS = 13;
export const CRITEO_CATEGORICAL_COLUMNS = 26;
const FIELDS = 1 + CRITEO_INTEGER_COLUMNS + CRITEO_CATEGORICAL_COLUMNS;

export class CriteoReader implements SampleReader {
  readonly kind = 'samples';
  private readonly hashBits: number;
  private readonly mask: number;
  private readonly intBuckets: number[];
  private label = 0;
  private ints = new Float64Array(CRITEO_INTEGER_COLUMNS); // NaN = missing
  private fields: string[] = []; // the row's fields; C1 is fields[14]
  private intStats = Array.from({ length: CRITEO_INTEGER_COLUMNS }, () => new RunningStats());
  private catStats = Array.from({ length: CRITEO_CATEGORICAL_COLUMNS }, () => new RunningStats());

  constructor(opts: ReaderOptions = {}) {
    this.hashBits = opts.hashBits ?? DEFAULT_HASH_BITS;
    checkHashBits(this.hashBits);
    this.mask = hashMask(this.hashBits);
    this.intBuckets = Array.from({ length: CRITEO_INTEGER_COLUMNS }, (_, c) => integerBucket(c, this.mask));
  }

  beginFile(): void {}

  parse(line: string): boolean {
    if (line.length === 0) return false;
    const fields = line.split('\t');
    if (fields.length !== FIELDS) throw new RowError(`expected ${FIELDS} tab-separated fields (label, 13 integer, 26 categorical), found ${fields.length}`);
    const label = fields[0];
    if (label === '1') this.label = 1;
    else if (label === '0') this.label = 0;
    else if (label === '' || Number.isNaN(Number(label))) throw new RowError(`label ${quote(label)} is not a number`);
    else throw new RowError(`label ${quote(label)} must be 0 or 1`);
    for (let c = 0; c < CRITEO_INTEGER_COLUMNS; c++) {
      const f = fields[1 + c];
      if (f === '') this.ints[c] = NaN;
      else {
        const x = parseInteger(f);
        if (Number.isNaN(x)) throw new RowError(`I${c + 1} ${quote(f)} is not an integer`);
        this.ints[c] = x;
      }
    }
    this.fields = fields;
    return true;
  }

  learn(): void {}
  finishLearning(): void {}

  toSample(row: SparseRow, observe: boolean): number {
    row.clear();
    row.push(0, 1); // bias
    for (let c = 0; c < CRITEO_INTEGER_COLUMNS; c++) {
      const x = this.ints[c];
      if (Number.isNaN(x)) {
        if (observe) this.intStats[c].missing++;
        continue;
      }
      if (observe) this.intStats[c].add(x);
      row.push(this.intBuckets[c], integerTransform(x));
    }
    for (let k = 0; k < CRITEO_CATEGORICAL_COLUMNS; k++) {
      const value = this.fields[1 + CRITEO_INTEGER_COLUMNS + k];
      if (value === '') {
        if (observe) this.catStats[k].missing++;
        continue;
      }
      if (observe) this.catStats[k].count++;
      row.push(categoricalBucket(value, CRITEO_INTEGER_COLUMNS + k, this.mask), 1);
    }
    row.finish();
    return this.label;
  }

  schema(): DatasetSchema {
    return {
      kind: 'samples',
      format: 'criteo',
      featureCount: 2 ** this.hashBits,
      hashBits: this.hashBits,
      bias: true,
      integerTransform: 'log1p',
      classes: 2,
      labelNames: ['0', '1'],
    };
  }

  featureStats(): FeatureStats[] {
    return [
      ...this.intStats.map((s, c) => s.toStats(`I${c + 1}`)),
      ...this.catStats.map((s, k) => s.toStats(`C${k + 1}`, 'categorical')),
    ];
  }
}
