// LIBSVM / SVMlight: `label index:value index:value ... [# comment]`, indices 1-based and increasing.
// Labels -1/+1 or 0/1 are stored as 0/1; other labels are classes 0..K-1 (multiclass).
// Without hashBits the indices are kept (index 0 is the bias); with it, each index's decimal string
// is hashed with seed 0 (hashing.ts), which bounds the feature space of very wide data.
import { RowError, quote } from '../errors';
import { checkHashBits, fnv1a, hashMask } from '../hashing';
import { LabelSet } from '../labels';
import type { DatasetSchema, FeatureStats } from '../manifest';
import type { SparseRow } from '../rows';
import { RunningStats } from '../stats';
import { parseNumber, type ReaderOptions, type SampleReader } from './types';

/** Per-index statistics are kept only up to this many features (the manifest would grow too big). */
export const LIBSVM_STATS_MAX_FEATURES = 10_000;
const MAX_INDEX = 0xfffffffe; // so that featureCount = index + 1 still fits in a u32

export class LibsvmReader implements SampleReader {
  readonly kind = 'samples';
  private readonly hashBits?: number;
  private readonly mask: number;
  private readonly labels = new LabelSet();
  private label = '';
  private idx: number[] = [];
  private val: number[] = [];
  private n = 0;
  private maxIndex = 0;
  private stats?: RunningStats[];
  private observedRows = 0;

  constructor(opts: ReaderOptions = {}) {
    this.hashBits = opts.hashBits;
    if (this.hashBits !== undefined) checkHashBits(this.hashBits);
    this.mask = this.hashBits === undefined ? 0 : hashMask(this.hashBits);
  }

  beginFile(): void {}

  parse(line: string): boolean {
    const hash = line.indexOf('#');
    const text = (hash >= 0 ? line.slice(0, hash) : line).trim();
    if (text.length === 0) return false;
    const tokens = text.split(/\s+/);
    const label = tokens[0];
    if (label.includes(':')) throw new RowError(`the line starts with ${quote(label)}: a label must come first`);
    if (!Number.isFinite(parseNumber(label))) throw new RowError(`label ${quote(label)} is not a finite number`);
    this.label = label;
    this.n = 0;
    let previous = 0;
    for (let t = 1; t < tokens.length; t++) {
      const token = tokens[t];
      const colon = token.indexOf(':');
      if (colon <= 0) throw new RowError(`${quote(token)} is not index:value`);
      const indexText = token.slice(0, colon);
      if (indexText === 'qid') continue; // SVMlight ranking query id: not a feature
      if (!/^\d+$/.test(indexText)) throw new RowError(`feature index ${quote(indexText)} is not a positive integer`);
      const index = Number(indexText);
      if (index === 0) throw new RowError('feature index 0: indices are 1-based');
      if (index > MAX_INDEX) throw new RowError(`feature index ${indexText} is too large`);
      if (index === previous) throw new RowError(`feature index ${index} appears twice`);
      if (index < previous) throw new RowError(`feature index ${index} after ${previous}: indices must increase`);
      const valueText = token.slice(colon + 1);
      const value = parseNumber(valueText);
      if (!Number.isFinite(value)) throw new RowError(`value ${quote(valueText)} of feature ${index} is not a finite number`);
      this.idx[this.n] = index;
      this.val[this.n] = value;
      this.n++;
      previous = index;
    }
    return true;
  }

  learn(): void {
    this.labels.learn(this.label);
    if (this.n > 0 && this.idx[this.n - 1] > this.maxIndex) this.maxIndex = this.idx[this.n - 1];
  }

  finishLearning(): void {
    this.labels.finish();
    if (this.hashBits === undefined && this.maxIndex <= LIBSVM_STATS_MAX_FEATURES) {
      this.stats = Array.from({ length: this.maxIndex + 1 }, () => new RunningStats());
    }
  }

  toSample(row: SparseRow, observe: boolean): number {
    row.clear();
    row.push(0, 1); // bias
    for (let i = 0; i < this.n; i++) {
      const index = this.hashBits === undefined ? this.idx[i] : (fnv1a(String(this.idx[i]), 0) & this.mask) >>> 0;
      row.push(index, this.val[i]);
      if (observe && this.stats) this.stats[this.idx[i]]?.add(this.val[i]);
    }
    if (observe) this.observedRows++;
    row.finish();
    return this.labels.classOf(this.label);
  }

  schema(): DatasetSchema {
    return {
      kind: 'samples',
      format: 'libsvm',
      // Unhashed: the largest index of the training AND test files (so no test index falls outside).
      featureCount: this.hashBits === undefined ? this.maxIndex + 1 : 2 ** this.hashBits,
      hashBits: this.hashBits,
      bias: true,
      classes: this.labels.classes,
      labelNames: this.labels.labelNames,
    };
  }

  /** Unhashed and at most LIBSVM_STATS_MAX_FEATURES features: one entry per index present in training,
   *  over the rows that hold it; `missing` counts the training rows without it (an implicit 0). */
  featureStats(): FeatureStats[] {
    if (!this.stats) return [];
    const out: FeatureStats[] = [];
    for (let i = 1; i < this.stats.length; i++) {
      const s = this.stats[i];
      if (s.count === 0) continue;
      s.missing = this.observedRows - s.count;
      out.push(s.toStats(String(i)));
    }
    return out;
  }
}
