// CSV with a header row (`,`, `;`, tab or `|` separated: detected from the header; quoted fields may
// span lines). The label column is found by name (`labelColumn`, default: the first of label, target,
// y, class, click, clicked), by 0-based position, or by a `label` override.
//
// Every other column gets a role in the counting pass, from its values (docs/datasets.md):
//   constant     one value (or always missing)                          -> ignored
//   timestamp    ISO dates, or integers named like a time holding epoch seconds/ms or YYMMDDHH
//                                                                       -> ignored (or, set by hand, expanded
//                                                                          into hashed hour-of-day and day-of-week)
//   id           nearly one distinct value per row (strings or integers) -> ignored, with a warning
//   categorical  other strings; integer codes (few values, or a dense range of repeated values) -> hashed
//   numeric      other numbers                                          -> feature position + 1, scaled
// Distinct values are counted exactly up to 64 and with a HyperLogLog sketch above (constant memory).
// `columns` overrides any role. Numeric columns are scaled from the training rows' statistics:
// heavy-tailed integer counts by log1p (as Criteo's; sign kept), others standardised; scaling 'none'
// keeps raw values. The transforms are in the schema, so evaluation and `cirrus predict` apply the same.
//
// Feature layout: 0 is the bias; numeric column j (position among the non-label columns) is feature
// j + 1; hashed values go to 1 + columns + csvBucket(value, j).
import { RowError, quote } from '../errors';
import { DEFAULT_HASH_BITS, checkHashBits, fnv1a, hashMask } from '../hashing';
import { LabelSet } from '../labels';
import type { ColumnReport, ColumnTransform, DatasetSchema, FeatureStats, SchemaColumn } from '../manifest';
import type { SparseRow } from '../rows';
import { HyperLogLog } from '../sketch';
import { PrefixStats, RunningStats } from '../stats';
import { parseNumber, type ColumnOverride, type ReaderOptions, type SampleReader } from './types';
import { UnterminatedQuote, detectDelimiter, splitCsvLine } from '../csv-fields';

export { detectDelimiter, splitCsvLine };

const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', '?']);
const LABEL_NAMES = ['label', 'target', 'y', 'class', 'click', 'clicked'];
const EXACT_DISTINCT = 64; // distinct values counted exactly up to this many
/** At least this many values before a column can be called an id (a small file says little). */
const MIN_ROWS_FOR_ID = 50;
const ID_SHARE = 0.95; // distinct / present at or above this: an id
const FEW_CODES = 20; // integer columns with at most this many values are codes (categorical)
const HEAVY_TAIL_SIGMAS = 5; // max beyond mean + 5 standard deviations: heavy-tailed
const MAX_PENDING_CHARS = 16 * 2 ** 20;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const TIME_NAME = /time|date|hour|stamp|^ts$|_ts$|^dt$/i;
const INTEGER = /^[+-]?\d+$/;

function isMissing(value: string): boolean {
  return value.length <= 4 && MISSING.has(value.toLowerCase());
}

/** The hash bucket of value `value` of feature column j. The column's seed is spread over the high
 *  bits: FNV-1a xors the seed and the first character into the same low byte, so seeds 0, 1, 2 ...
 *  made "1" in one column collide with "0" in the next (integer codes collided in every row). */
export function csvBucket(value: string, column: number, mask: number): number {
  return (fnv1a(value, Math.imul(column + 1, 0x9e3779b1)) & mask) >>> 0;
}

/** Milliseconds since 1970 of a timestamp value (ISO date, epoch seconds or ms, YYMMDDHH), else NaN. */
export function parseTimestamp(value: string): number {
  if (ISO_DATE.test(value)) return Date.parse(value.length === 10 ? value + 'T00:00:00Z' : /Z|[+-]\d{2}:?\d{2}$/.test(value) ? value : value.replace(' ', 'T') + 'Z');
  if (!INTEGER.test(value)) return NaN;
  const x = Number(value);
  if (value.length === 8) {
    // YYMMDDHH (Avazu's `hour`)
    const [yy, mm, dd, hh] = [0, 2, 4, 6].map((k) => Number(value.slice(k, k + 2)));
    if (mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31 && hh <= 23) return Date.UTC(2000 + yy, mm - 1, dd, hh);
  }
  if (x >= 1e9 && x < 4e9) return x * 1000; // epoch seconds (2001 to 2096)
  if (x >= 1e12 && x < 4e12) return x; // epoch milliseconds
  return NaN;
}

/** What the counting pass learns about one column. */
class ColumnProfile {
  present = 0;
  missing = 0;
  numeric = true;
  integer = true;
  dateLike = true; // every value an ISO date
  epochLike = true; // every value an integer timestamp
  min = Infinity;
  max = -Infinity;
  private exact = new Set<string>();
  private sketch: HyperLogLog | undefined;

  learn(value: string): number {
    if (isMissing(value)) {
      this.missing++;
      return NaN;
    }
    this.present++;
    if (this.sketch) this.sketch.add(value);
    else if (!this.exact.has(value)) {
      this.exact.add(value);
      if (this.exact.size > EXACT_DISTINCT) {
        this.sketch = new HyperLogLog();
        for (const v of this.exact) this.sketch.add(v);
        this.exact.clear();
      }
    }
    if (this.dateLike && !ISO_DATE.test(value)) this.dateLike = false;
    let x = NaN;
    if (this.numeric) {
      x = parseNumber(value);
      if (!Number.isFinite(x)) this.numeric = false;
      else {
        if (this.integer && !INTEGER.test(value)) this.integer = false;
        if (this.epochLike && !(this.integer && Number.isFinite(parseTimestamp(value)))) this.epochLike = false;
        if (x < this.min) this.min = x;
        if (x > this.max) this.max = x;
      }
    }
    return this.numeric ? x : NaN;
  }

  get distinct(): number {
    return this.sketch ? Math.min(this.present, Math.max(this.sketch.estimate(), EXACT_DISTINCT + 1)) : this.exact.size;
  }

  get onlyValue(): string | undefined {
    return this.exact.size === 1 ? [...this.exact][0] : undefined;
  }
}

type Role = { role: ColumnReport['role']; reason: string; expanded?: boolean };

/** The role of a column from what the counting pass saw (docs/datasets.md). */
export function inferRole(name: string, p: ColumnProfile): Role {
  const distinct = p.distinct;
  if (p.present === 0) return { role: 'constant', reason: 'always missing' };
  // One value and never missing says nothing (one value or missing still says whether it is there).
  if (distinct === 1 && p.missing === 0) return { role: 'constant', reason: `one value (${quote(p.onlyValue ?? '')})` };
  if (!p.numeric && p.dateLike) return { role: 'timestamp', reason: 'dates: ignored (set it to "timestamp" for hour-of-day and day-of-week)' };
  if (p.numeric && p.integer && p.epochLike && TIME_NAME.test(name)) {
    return { role: 'timestamp', reason: 'a time stamp (by its name and values): ignored (set it to "timestamp" for hour-of-day and day-of-week)' };
  }
  const nearlyUnique = p.present >= MIN_ROWS_FOR_ID && distinct >= ID_SHARE * p.present;
  if (!p.numeric) {
    if (nearlyUnique) return { role: 'id', reason: `about ${distinct} distinct values in ${p.present} rows: an id, ignored` };
    return { role: 'categorical', reason: 'text values' };
  }
  if (!p.integer) return { role: 'numeric', reason: 'numbers' };
  if (nearlyUnique) return { role: 'id', reason: `about ${distinct} distinct integers in ${p.present} rows: an id, ignored` };
  // Codes are few and repeat (a value every other row at most), or cover a dense range (0..n-1 by rank).
  const repeated = distinct <= p.present / 2;
  if (repeated && distinct <= FEW_CODES) return { role: 'categorical', reason: `integer codes: ${distinct} distinct values` };
  if (distinct < p.present && p.max - p.min + 1 <= 2 * distinct) return { role: 'categorical', reason: `integer codes: about ${distinct} distinct values over ${p.min}..${p.max}` };
  return { role: 'numeric', reason: 'integers over a sparse range' };
}

export class CsvReader implements SampleReader {
  readonly kind = 'samples';
  private readonly opts: ReaderOptions;
  private hashBits = DEFAULT_HASH_BITS;
  private mask = 0;
  private readonly labels = new LabelSet();
  private header?: string[];
  private delimiter = ',';
  private labelAt = -1;
  private labelName = '';
  private inHeader = true;
  private fields: string[] = [];
  private pending: string | undefined; // a record whose quoted field goes on past this line
  private pendingLine = 0;
  private fileRole: 'train' | 'test' = 'train';
  // Per feature column (the columns other than the label, in order):
  private names: string[] = [];
  private profiles: ColumnProfile[] = [];
  private prefix?: PrefixStats; // training file values, for scaling
  private columns: SchemaColumn[] = [];
  private roles: Role[] = [];
  private stats: RunningStats[] = [];
  private hashed = false;

  constructor(opts: ReaderOptions = {}) {
    this.opts = opts;
    if (opts.hashBits !== undefined) checkHashBits(opts.hashBits);
    if (opts.schema?.columns) {
      // Read as the deployed dataset was: roles and transforms from its schema.
      this.columns = opts.schema.columns;
      this.hashed = opts.schema.hashBits !== undefined;
      this.hashBits = opts.schema.hashBits ?? DEFAULT_HASH_BITS;
      this.mask = hashMask(this.hashBits);
    }
  }

  beginFile(_file?: string, role: 'train' | 'test' = 'train'): void {
    this.inHeader = true;
    this.pending = undefined;
    this.fileRole = role;
  }

  endFile(): { line: number; reason: string } | undefined {
    if (this.pending === undefined) return undefined;
    this.pending = undefined;
    return { line: this.pendingLine, reason: 'unterminated quoted field (the file ends inside it)' };
  }

  parse(line: string, lineNo = 0): boolean {
    if (this.pending !== undefined) {
      line = this.pending + '\n' + line;
      this.pending = undefined;
    } else {
      if (line.trim().length === 0) return false;
      this.pendingLine = lineNo;
    }
    if (this.inHeader) {
      this.readHeader(line);
      this.inHeader = false;
      return false;
    }
    let fields: string[];
    try {
      fields = splitCsvLine(line, this.delimiter);
    } catch (err) {
      if (!(err instanceof UnterminatedQuote) || line.length > MAX_PENDING_CHARS) throw err;
      this.pending = line; // the quoted field goes on over the next line
      return false;
    }
    if (fields.length !== this.header!.length) throw new RowError(`expected ${this.header!.length} fields as in the header, found ${fields.length}`);
    const label = fields[this.labelAt];
    if (isMissing(label)) throw new RowError(`the label (column ${quote(this.labelName)}) is missing`);
    this.fields = fields;
    return true;
  }

  private readHeader(line: string): void {
    const delimiter = this.header ? this.delimiter : detectDelimiter(line);
    const header = splitCsvLine(line, delimiter);
    if (this.header) {
      // A second file (the test file) must have the same columns in the same order.
      if (header.join('\u0000') !== this.header.join('\u0000')) {
        throw new RowError(`the header differs from the training file's (${this.header.join(', ')})`, true);
      }
      return;
    }
    this.delimiter = delimiter;
    const list = header.join(', ');
    const overrides = this.opts.columns ?? {};
    for (const name of Object.keys(overrides)) {
      if (!header.includes(name)) throw new RowError(`dataset.columns names ${quote(name)}, which is not a column (columns: ${list})`, true);
    }
    const labelAt = this.findLabel(header);
    this.header = header;
    this.labelAt = labelAt;
    this.labelName = header[labelAt];
    this.names = header.filter((_, i) => i !== labelAt);
    if (this.opts.schema?.columns) {
      if (this.names.join('\u0000') !== this.columns.map((c) => c.name).join('\u0000')) {
        throw new RowError(`the columns differ from the training data's (${this.columns.map((c) => c.name).join(', ')})`, true);
      }
    } else {
      this.profiles = this.names.map(() => new ColumnProfile());
      this.prefix = new PrefixStats(this.names.length);
    }
    this.stats = this.names.map(() => new RunningStats());
  }

  private findLabel(header: string[]): number {
    const list = header.join(', ');
    const byOverride = Object.entries(this.opts.columns ?? {}).filter(([, role]) => role === 'label').map(([name]) => name);
    if (byOverride.length > 1) throw new RowError(`dataset.columns sets more than one label column (${byOverride.join(', ')})`, true);
    const asked = byOverride[0] ?? this.opts.labelColumn ?? this.opts.schema?.labelColumn;
    if (asked !== undefined) {
      const at = header.indexOf(asked);
      if (at >= 0) return at;
      if (/^\d+$/.test(asked) && Number(asked) < header.length) return Number(asked);
      throw new RowError(`no column ${quote(asked)} in the header (columns: ${list}); set labelColumn to a column name or 0-based position`, true);
    }
    const lower = header.map((h) => h.toLowerCase());
    for (const name of LABEL_NAMES) {
      const at = lower.indexOf(name);
      if (at >= 0) return at;
    }
    throw new RowError(`no column "label" in the header (columns: ${list}); set labelColumn`, true);
  }

  learn(): void {
    this.labels.learn(this.fields[this.labelAt]);
    if (!this.prefix) return; // predict: the roles are the schema's
    const train = this.fileRole === 'train';
    for (let j = 0; j < this.names.length; j++) {
      const x = this.profiles[j].learn(this.field(j));
      if (train && !Number.isNaN(x)) this.prefix.add(j, x);
    }
    if (train) this.prefix.endRow();
  }

  /** Feature column j's field (skipping the label's). */
  private field(j: number): string {
    return this.fields[j < this.labelAt ? j : j + 1];
  }

  finishLearning(trainRows?: number): void {
    if (!this.header) return;
    this.labels.finish();
    if (this.prefix) this.decideColumns(trainRows);
    if (this.columns.some((c) => c.kind === 'categorical' || c.kind === 'timestamp')) {
      this.hashed = true;
      this.hashBits = this.opts.hashBits ?? this.opts.schema?.hashBits ?? DEFAULT_HASH_BITS;
      this.mask = hashMask(this.hashBits);
    }
  }

  private decideColumns(trainRows: number | undefined): void {
    const overrides = this.opts.columns ?? {};
    const scale = (this.opts.scaling ?? 'auto') === 'auto';
    this.roles = [];
    this.columns = this.names.map((name, j) => {
      const p = this.profiles[j];
      const override: ColumnOverride | undefined = overrides[name];
      let role: Role = inferRole(name, p);
      if (override === 'numeric' && !p.numeric) throw new RowError(`dataset.columns sets ${quote(name)} numeric, but it holds values that are not numbers`, true);
      if (override === 'timestamp' && !(p.dateLike || p.epochLike)) throw new RowError(`dataset.columns sets ${quote(name)} a timestamp, but its values are not dates or time stamps`, true);
      if (override) {
        const set = { numeric: 'numeric', categorical: 'categorical', ignore: 'ignored', timestamp: 'timestamp' } as const;
        role = { role: set[override as keyof typeof set], reason: 'set in dataset.columns', expanded: override === 'timestamp' };
      }
      if (role.role === 'id') role.reason += ' (set dataset.columns to keep it)';
      this.roles.push(role);
      if (role.role === 'categorical') return { name, kind: 'categorical' };
      if (role.role === 'timestamp' && role.expanded) return { name, kind: 'timestamp' };
      if (role.role !== 'numeric') return { name, kind: 'ignored' };
      const column: SchemaColumn = { name, kind: 'numeric', index: j + 1 };
      if (scale) {
        const s = this.prefix!.at(j, trainRows);
        const transform = scalingOf(p.integer, s);
        if (transform) column.transform = transform;
      }
      return column;
    });
  }

  toSample(row: SparseRow, observe: boolean): number {
    row.clear();
    row.push(0, 1); // bias
    const offset = 1 + this.names.length;
    for (let j = 0; j < this.names.length; j++) {
      const column = this.columns[j];
      if (column.kind === 'ignored') continue;
      const value = this.field(j);
      if (isMissing(value)) {
        if (observe) this.stats[j].missing++;
        continue;
      }
      if (column.kind === 'categorical') {
        if (observe) this.stats[j].count++;
        row.push(offset + csvBucket(value, j, this.mask), 1);
      } else if (column.kind === 'timestamp') {
        const ms = parseTimestamp(value);
        if (!Number.isFinite(ms)) throw new RowError(`${quote(value)} in column ${quote(column.name)} is not a time stamp`);
        if (observe) this.stats[j].count++;
        const date = new Date(ms);
        row.push(offset + csvBucket(`hour ${date.getUTCHours()}`, j, this.mask), 1);
        row.push(offset + csvBucket(`day ${date.getUTCDay()}`, j, this.mask), 1);
      } else {
        const x = parseNumber(value);
        if (!Number.isFinite(x)) throw new RowError(`${quote(value)} in numeric column ${quote(column.name)} is not a number`);
        if (observe) this.stats[j].add(x);
        row.push(column.index!, applyTransform(column.transform, x));
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
      labelColumn: this.labelName,
      ...(this.delimiter !== ',' ? { delimiter: this.delimiter } : {}),
      columns: this.columns,
      classes: this.labels.classes,
      labelNames: this.labels.labelNames,
    };
  }

  featureStats(): FeatureStats[] {
    return this.names.map((name, j) => this.stats[j].toStats(name, this.columns[j]?.kind === 'numeric' ? 'numeric' : 'categorical'));
  }

  columnReport(): ColumnReport[] {
    if (!this.header || !this.prefix) return [];
    const rows = this.profiles[0] ? this.profiles[0].present + this.profiles[0].missing : 0;
    const report: ColumnReport[] = this.names.map((name, j) => {
      const p = this.profiles[j];
      const c = this.columns[j];
      const { role, reason, expanded } = this.roles[j];
      return {
        name,
        role,
        reason,
        distinct: p.distinct,
        missingShare: rows ? p.missing / rows : 0,
        ...(p.numeric && p.present > 0 ? { min: p.min, max: p.max } : {}),
        ...(c.kind === 'numeric' ? { scaling: c.transform?.type ?? 'none' } : {}),
        ...(expanded ? { expanded: true } : {}),
      };
    });
    report.splice(this.labelAt, 0, { name: this.labelName, role: 'label', reason: `${this.labels.classes} classes (${this.labels.labelNames.join(', ')})`, distinct: this.labels.classes, missingShare: 0 });
    return report;
  }
}

/** The transform of a numeric column from its training statistics: log1p for heavy-tailed integer
 *  counts (a maximum beyond mean + 5 standard deviations, or non-negative counts up to 100 or more
 *  whose standard deviation exceeds their mean: Criteo's integer columns), else standardisation. */
function scalingOf(integer: boolean, s: { count: number; mean: number; std: number; min: number; max: number }): ColumnTransform | undefined {
  if (s.count === 0 || !(s.std > 0)) return undefined;
  const overdispersed = s.min >= 0 && s.max >= 100 && s.std > s.mean; // counts over orders of magnitude
  if (integer && (overdispersed || s.max > s.mean + HEAVY_TAIL_SIGMAS * s.std)) return { type: 'log1p' };
  return { type: 'standardize', mean: s.mean, std: s.std };
}

export function applyTransform(t: ColumnTransform | undefined, x: number): number {
  if (!t) return x;
  if (t.type === 'log1p') return x >= 0 ? Math.log1p(x) : -Math.log1p(-x); // sign kept for the odd negative count
  return (x - t.mean) / t.std;
}
