// The interface every input-format reader implements. A deploy reads each file twice:
//   pass 1 (count): parse() + learn() on every row: validates, counts, learns labels and dimensions;
//   finishLearning() fixes the schema;
//   pass 2 (convert): parse() + toSample()/toRating() on every row, statistics on training rows.
// parse() (or parseBytes()) keeps the parsed row inside the reader (no allocation per row) and throws RowError for a bad row.
import type { ColumnReport, DatasetSchema, FeatureStats } from '../manifest';
import type { SampleBuilder, SparseRow } from '../rows';

/** `dataset.columns`: a CSV column's role set by hand (column name -> role). */
export type ColumnOverride = 'numeric' | 'categorical' | 'ignore' | 'label' | 'timestamp';

export interface ReaderOptions {
  hashBits?: number;
  /** csv: the label column's name, or its 0-based position as a number. */
  labelColumn?: string;
  /** csv: roles set by hand, over the ones the counting pass infers. */
  columns?: Record<string, ColumnOverride>;
  /** csv: 'auto' (default) standardises numeric columns (log1p for heavy-tailed counts); 'none' keeps raw values. */
  scaling?: 'auto' | 'none';
  /** Read as a deployed dataset was (predict): its column roles and transforms, not learnt again. */
  schema?: DatasetSchema;
}

interface ReaderBase {
  /** Called before each file's lines (per-file header and separator detection). */
  beginFile(file: string, role: 'train' | 'test'): void;
  /** Parses one line. False when the line holds no row (blank, header). */
  parse(line: string, lineNo: number): boolean;
  /** Optional byte-level parse of one line: bytes [start, end) of buf, without the line break (valid
   *  UTF-8, no NUL). When present, forEachRow calls it instead of parse() and makes no string per
   *  line. The reader must not keep `buf`: it is reused once the row's visit has returned. */
  parseBytes?(buf: Buffer, start: number, end: number): boolean;
  /** Optional, faster still: parses the line that starts at `start` of buf, finding its end itself (the
   *  next '\n', or `limit`, the end of the batch of lines), and returns where the next line starts
   *  (`limit` or beyond after the last line), or the bitwise not (~next) of that when the line holds no
   *  row. A trailing '\r' before the line's end is not part of the line. Throws RowError as parse() does. */
  scanRow?(buf: Buffer, start: number, limit: number): number;
  /** Called after each file's last line: a row still open there (a quoted field never closed) is
   *  returned as the bad line it started on. */
  endFile?(): { line: number; reason: string } | undefined;
  /** Pass 1: learn from the row just parsed. */
  learn(): void;
  /** trainRows: how many of the first file's rows are training rows (the rest is the held-out tail),
   *  so statistics used for scaling describe training rows only. */
  finishLearning(trainRows?: number): void;
  schema(): DatasetSchema;
  featureStats(): FeatureStats[];
  /** csv: each column's role and why. */
  columnReport?(): ColumnReport[];
}

export interface SampleReader extends ReaderBase {
  readonly kind: 'samples';
  /** Pass 2: writes the parsed row's features into `row` (finished: sorted, unique) and returns its
   *  stored label; `observe` adds the row to the feature statistics (training rows only). */
  toSample(row: SparseRow, observe: boolean): number;
  /** Optional, the same as builder.add(toSample(row, observe), row) without the copy: the row goes
   *  straight into the builder's arrays (beginRow, then endRow). */
  toSampleInto?(builder: SampleBuilder, observe: boolean): void;
}

export interface RatingReader extends ReaderBase {
  readonly kind: 'ratings';
  toRating(observe: boolean): { user: number; item: number; rating: number };
}

export type FormatReader = SampleReader | RatingReader;

/** Strict decimal number (no hex, no "Infinity", no empty string, which Number() would all accept). */
export function parseNumber(token: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) return NaN;
  return Number(token);
}

/** A decimal integer such as "-12" (NaN for anything else). A loop, not a regex: it runs 13 times a Criteo row. */
export function parseInteger(text: string): number {
  let i = text.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (i === text.length) return NaN;
  let x = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    x = x * 10 + d;
  }
  return text.charCodeAt(0) === 45 ? -x : x;
}
