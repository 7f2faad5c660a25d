// Criteo display-advertising TSV: label, I1..I13 (integer counts, may be negative), C1..C26
// (categorical, hex strings). An empty field is a missing value. Hashed as in hashing.ts.
//
// Speed matters here (a deploy reads every row twice): parseBytes() works on the file's bytes in one
// pass per row, parsing the integers and hashing the categorical values (FNV-1a over their bytes,
// as hashing.ts does over UTF-8) without making strings; anything unusual (a bad row) goes to the
// string parser, which finds the error to report. toSample() then only sorts the 26 categorical
// buckets (a branch-free sorting network, sort26.ts) and merges them with the integer columns'
// buckets, sorted once in the constructor.
import { RowError, quote } from '../errors';
import { DEFAULT_HASH_BITS, categoricalBucket, checkHashBits, hashMask, integerBucket } from '../hashing';
import type { DatasetSchema, FeatureStats } from '../manifest';
import type { SampleBuilder, SparseRow } from '../rows';
import { ColumnStats } from '../stats';
import { SORT26_LIMIT, sort26 } from './sort26';
import { parseInteger, type ReaderOptions, type SampleReader } from './types';

export const CRITEO_INTEGER_COLUMNS = 13;
export const CRITEO_CATEGORICAL_COLUMNS = 26;
const FIELDS = 1 + CRITEO_INTEGER_COLUMNS + CRITEO_CATEGORICAL_COLUMNS;
const TAB = 9;
const LF = 10;
const CR = 13;
const CAT_VALUE = 15; // index of the 1 in intValues (a power of two minus 1, above the 13 integer pairs)
const sortNetwork = sort26; // a plain function: no module-binding lookup per call
const FNV_OFFSET = 2166136261;
const FNV_PRIME = 16777619;
/** log1p(x) of the small counts that make up most integer values (the same numbers, looked up). */
const LOG1P_TABLE_SIZE = 4096;
const LOG1P = Float64Array.from({ length: LOG1P_TABLE_SIZE }, (_, x) => Math.log1p(x));

export class CriteoReader implements SampleReader {
  readonly kind = 'samples';
  private readonly hashBits: number;
  private readonly mask: number;
  private readonly intBuckets: Int32Array;
  /** Integer columns ordered by bucket (ties by column): the order a stable sort puts them in. */
  private readonly intOrder: Int32Array;
  /** FNV-1a start value of each categorical column (offset basis xor its seed, 13 + k). */
  private readonly catSeeds: Int32Array;
  private label = 0;
  private readonly ints = new Float64Array(CRITEO_INTEGER_COLUMNS); // NaN = missing
  /** The categorical buckets by column (missing: missingBucket), then an end marker SORT26_LIMIT. */
  private readonly cats = new Int32Array(CRITEO_CATEGORICAL_COLUMNS + 1).fill(SORT26_LIMIT);
  /** Bit k set: C(k+1) is missing in the row. */
  private missingCats = 0;
  /** SORT26_LIMIT (sorts after every bucket) when buckets are below 2^30, else -1. */
  private readonly missingBucket: number;
  private readonly sorted = new Int32Array(CRITEO_CATEGORICAL_COLUMNS);
  private readonly intKeys = new Int32Array(CRITEO_INTEGER_COLUMNS + 1);
  private readonly intValues = new Float64Array(CAT_VALUE + 1).fill(1);
  private readonly intStats = new ColumnStats(CRITEO_INTEGER_COLUMNS);
  private readonly catStats = new ColumnStats(CRITEO_CATEGORICAL_COLUMNS); // counts only
  private observedRows = 0;

  constructor(opts: ReaderOptions = {}) {
    this.hashBits = opts.hashBits ?? DEFAULT_HASH_BITS;
    checkHashBits(this.hashBits); // at most 31 bits: buckets fit an Int32Array
    this.mask = hashMask(this.hashBits);
    this.missingBucket = this.hashBits <= 30 ? SORT26_LIMIT : -1;
    this.intBuckets = Int32Array.from({ length: CRITEO_INTEGER_COLUMNS }, (_, c) => integerBucket(c, this.mask));
    const order = Array.from({ length: CRITEO_INTEGER_COLUMNS }, (_, c) => c).sort((a, b) => this.intBuckets[a] - this.intBuckets[b] || a - b);
    this.intOrder = Int32Array.from(order);
    this.catSeeds = Int32Array.from({ length: CRITEO_CATEGORICAL_COLUMNS }, (_, k) => (FNV_OFFSET ^ (CRITEO_INTEGER_COLUMNS + k)) | 0);
  }

  beginFile(): void {}

  parse(line: string): boolean {
    if (line.length === 0) return false;
    const bytes = Buffer.from(line, 'utf8');
    return this.parseBytes(bytes, 0, bytes.length);
  }

  parseBytes(buf: Buffer, start: number, end: number): boolean {
    if (start === end) return false;
    // The line's own end is `end`: a '\r' there is data (its CRLF's '\r' is gone), which scanRow
    // would take for a line break.
    if (buf[end - 1] === CR) return this.parseSlow(buf, start, end);
    return this.scanRow(buf, start, end) >= 0;
  }

  /** Parses the line at `start` (ended by '\n', '\r\n' or `limit`) and returns where the next line
   *  starts, or its bitwise not when the line is blank. Fields are found in the same pass as the
   *  values; a row with anything unusual is handed to parseSlow. */
  scanRow(buf: Buffer, start: number, limit: number): number {
    let p = start;
    const b0 = buf[p];
    if (b0 === LF || p === limit) return ~(p + 1);
    if (b0 === CR && (p + 1 === limit || buf[p + 1] === LF)) return ~(p + 2);
    if ((b0 !== 48 && b0 !== 49) || p + 1 >= limit || buf[p + 1] !== TAB) return this.slowRow(buf, start, limit);
    this.label = b0 - 48;
    p += 2;
    const ints = this.ints;
    for (let c = 0; c < CRITEO_INTEGER_COLUMNS; c++) {
      if (p >= limit) return this.slowRow(buf, start, limit);
      let b = buf[p];
      if (b === TAB) {
        ints[c] = NaN;
        p++;
        continue;
      }
      const negative = b === 45; /* - */
      if (negative) p++;
      const first = p;
      let x = 0;
      while (p < limit) {
        b = buf[p];
        const d = b - 48;
        if (d < 0 || d > 9) break;
        x = x * 10 + d;
        p++;
      }
      if (p === first || p >= limit || buf[p] !== TAB) return this.slowRow(buf, start, limit);
      ints[c] = negative ? -x : x;
      p++;
    }
    const cats = this.cats;
    const seeds = this.catSeeds;
    const mask = this.mask;
    let missing = 0;
    for (let k = 0; k < CRITEO_CATEGORICAL_COLUMNS; k++) {
      // The usual Criteo values are 8 bytes (hex digits): two such fields in a row are hashed
      // together, unrolled, so the two FNV multiply chains overlap and no branch per byte is needed.
      if (k < CRITEO_CATEGORICAL_COLUMNS - 1 && p + 17 < limit) {
        const a0 = buf[p];
        const a1 = buf[p + 1];
        const a2 = buf[p + 2];
        const a3 = buf[p + 3];
        const a4 = buf[p + 4];
        const a5 = buf[p + 5];
        const a6 = buf[p + 6];
        const a7 = buf[p + 7];
        const c0 = buf[p + 9];
        const c1 = buf[p + 10];
        const c2 = buf[p + 11];
        const c3 = buf[p + 12];
        const c4 = buf[p + 13];
        const c5 = buf[p + 14];
        const c6 = buf[p + 15];
        const c7 = buf[p + 16];
        // Both fields 8 bytes of 14 or more (no tab, no line break), a tab between, an end after.
        if (
          ((a0 - 14) | (a1 - 14) | (a2 - 14) | (a3 - 14) | (a4 - 14) | (a5 - 14) | (a6 - 14) | (a7 - 14) |
            (c0 - 14) | (c1 - 14) | (c2 - 14) | (c3 - 14) | (c4 - 14) | (c5 - 14) | (c6 - 14) | (c7 - 14)) >= 0 &&
          buf[p + 8] === TAB &&
          buf[p + 17] <= CR
        ) {
          let h = seeds[k];
          let g = seeds[k + 1];
          h = Math.imul(h ^ a0, FNV_PRIME);
          g = Math.imul(g ^ c0, FNV_PRIME);
          h = Math.imul(h ^ a1, FNV_PRIME);
          g = Math.imul(g ^ c1, FNV_PRIME);
          h = Math.imul(h ^ a2, FNV_PRIME);
          g = Math.imul(g ^ c2, FNV_PRIME);
          h = Math.imul(h ^ a3, FNV_PRIME);
          g = Math.imul(g ^ c3, FNV_PRIME);
          h = Math.imul(h ^ a4, FNV_PRIME);
          g = Math.imul(g ^ c4, FNV_PRIME);
          h = Math.imul(h ^ a5, FNV_PRIME);
          g = Math.imul(g ^ c5, FNV_PRIME);
          h = Math.imul(h ^ a6, FNV_PRIME);
          g = Math.imul(g ^ c6, FNV_PRIME);
          h = Math.imul(h ^ a7, FNV_PRIME);
          g = Math.imul(g ^ c7, FNV_PRIME);
          cats[k] = h & mask;
          cats[k + 1] = g & mask;
          p += 17; // at the end of field k + 1
          k++;
          if (k < CRITEO_CATEGORICAL_COLUMNS - 1) {
            if (buf[p] !== TAB) return this.slowRow(buf, start, limit);
            p++;
          }
          continue;
        }
      }
      const first = p;
      let h = seeds[k];
      // A field ends at a tab or the line's end; every other byte below 14 (rare) goes to slowRow.
      while (p < limit) {
        const b = buf[p];
        if (b <= CR) break;
        h = Math.imul(h ^ b, FNV_PRIME);
        p++;
      }
      if (p === first) {
        cats[k] = this.missingBucket;
        missing |= 1 << k;
      } else cats[k] = h & mask;
      if (k < CRITEO_CATEGORICAL_COLUMNS - 1) {
        if (p >= limit || buf[p] !== TAB) return this.slowRow(buf, start, limit); // too few fields
        p++;
      }
    }
    this.missingCats = missing;
    // The 40th field ends the line: at '\n', '\r\n' or the limit.
    if (p >= limit) return limit;
    const b = buf[p];
    if (b === LF) return p + 1;
    if (b === CR && (p + 1 === limit || buf[p + 1] === LF)) return p + 2;
    return this.slowRow(buf, start, limit);
  }

  /** scanRow's way out: the string parser on the whole line. */
  private slowRow(buf: Buffer, start: number, limit: number): number {
    let next = buf.indexOf(LF, start);
    if (next < 0 || next >= limit) next = limit;
    this.parseSlow(buf, start, next > start && buf[next - 1] === CR ? next - 1 : next);
    return next + 1;
  }

  /** The string parser: slow, and the one place that words the errors. */
  private parseSlow(buf: Buffer, start: number, end: number): boolean {
    const fields = buf.toString('utf8', start, end).split('\t');
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
    let missing = 0;
    for (let k = 0; k < CRITEO_CATEGORICAL_COLUMNS; k++) {
      const value = fields[1 + CRITEO_INTEGER_COLUMNS + k];
      if (value === '') {
        this.cats[k] = this.missingBucket;
        missing |= 1 << k;
      } else this.cats[k] = categoricalBucket(value, CRITEO_INTEGER_COLUMNS + k, this.mask);
    }
    this.missingCats = missing;
    return true;
  }

  learn(): void {}
  finishLearning(): void {}

  /** The row as SparseRow.finish() would leave it after pushing the bias, I1..I13 (bucket,
   *  log1p(max(x, 0))) and C1..C26 (bucket, 1): sorted by bucket (a stable sort: equal buckets in
   *  that order), values of equal buckets summed, zero sums dropped. */
  toSample(row: SparseRow, observe: boolean): number {
    if (observe) this.observe();
    row.reserve(FIELDS);
    row.n = this.writePairs(row.idx, row.val, 0);
    return this.label;
  }

  /** toSample straight into the partition's arrays (no SparseRow, no copy). */
  toSampleInto(builder: SampleBuilder, observe: boolean): void {
    if (observe) this.observe();
    builder.beginRow(FIELDS);
    builder.endRow(this.label, this.writePairs(builder.indices, builder.values, builder.nnz));
  }

  private observe(): void {
    const ints = this.ints;
    const intStats = this.intStats;
    for (let c = 0; c < CRITEO_INTEGER_COLUMNS; c++) {
      const x = ints[c];
      if (x !== x) intStats.missing[c]++;
      else intStats.add(c, x);
    }
    // Categorical columns: only the missing ones are counted here (count = rows - missing).
    this.observedRows++;
    const catMissing = this.catStats.missing;
    for (let missing = this.missingCats; missing !== 0; missing &= missing - 1) catMissing[31 - Math.clz32(missing & -missing)]++;
  }

  /** Writes the row's pairs at idx/val[at ..] (room for FIELDS pairs needed) and returns how many. */
  private writePairs(idx: Uint32Array, val: Float64Array | Float32Array, at: number): number {
    // The integer columns present, in bucket order (stable: ties by column), with their values.
    const ints = this.ints;
    const order = this.intOrder;
    const intBuckets = this.intBuckets;
    const intKeys = this.intKeys;
    const intValues = this.intValues;
    let n = 0;
    for (let t = 0; t < CRITEO_INTEGER_COLUMNS; t++) {
      const c = order[t];
      const x = ints[c];
      if (x !== x) continue; // missing
      intKeys[n] = intBuckets[c];
      intValues[n] = x < LOG1P_TABLE_SIZE ? (x > 0 ? LOG1P[x] : 0) : Math.log1p(x);
      n++;
    }
    if (this.hashBits <= 30) return this.mergeFast(idx, val, at, n);
    // 31-bit buckets: an insertion sort and a plain merge.
    const cats = this.cats;
    const sorted = this.sorted;
    let m = 0;
    for (let k = 0; k < CRITEO_CATEGORICAL_COLUMNS; k++) {
      if ((this.missingCats >>> k) & 1) continue;
      const b = cats[k];
      let j = m - 1;
      while (j >= 0 && sorted[j] > b) {
        sorted[j + 1] = sorted[j];
        j--;
      }
      sorted[j + 1] = b;
      m++;
    }
    let out = at;
    let key = 0; // the bias: bucket 0 is the smallest, and it comes first among equals
    let sum = 1;
    for (let i = 0, j = 0; i < n || j < m; ) {
      let k: number;
      let v: number;
      if (i < n && (j >= m || intKeys[i] <= sorted[j])) {
        k = intKeys[i];
        v = intValues[i++];
      } else {
        k = sorted[j++];
        v = 1;
      }
      if (k === key) sum += v;
      else {
        idx[out] = key; // kept only when the sum is not 0 (out moves on)
        val[out] = sum;
        out += +(sum !== 0);
        key = k;
        sum = 0 + v;
      }
    }
    if (sum !== 0) {
      idx[out] = key;
      val[out] = sum;
      out++;
    }
    return out - at;
  }

  /** writePairs for buckets below 2^30: the categorical buckets go through the sorting network, and
   *  the merge with the n integer pairs (intKeys/intValues) picks each next pair without branches. */
  private mergeFast(idx: Uint32Array, val: Float64Array | Float32Array, at: number, n: number): number {
    // Sorted in place (missing buckets are SORT26_LIMIT, above every bucket: they sort to the end;
    // sorted[26] stays SORT26_LIMIT, the end marker when all 26 are present).
    const sorted = this.cats;
    sortNetwork(sorted);
    const m = CRITEO_CATEGORICAL_COLUMNS - bitCount(this.missingCats);
    const intKeys = this.intKeys;
    const intValues = this.intValues; // intValues[CAT_VALUE] = 1: a categorical pair's value
    intKeys[n] = SORT26_LIMIT + 1; // the end marker: above every categorical bucket
    let out = at;
    let key = 0; // the bias: bucket 0 is the smallest, and it comes first among equals
    let sum = 1;
    let i = 0;
    let j = 0;
    for (let t = n + m; t > 0; t--) {
      const ki = intKeys[i];
      const kc = sorted[j];
      const cat = (kc - ki) >> 31; // -1 when the categorical bucket is smaller; ties take the integer
      const k = ki + ((kc - ki) & cat);
      const v = intValues[(i & ~cat) | (CAT_VALUE & cat)];
      i += 1 + cat;
      j -= cat;
      if (k === key) sum += v;
      else {
        // Written in any case, kept only when the sum is not 0 (out moves on). A Float32Array
        // rounds the float64 sum once, as copying it from a SparseRow would.
        idx[out] = key;
        val[out] = sum;
        out += +(sum !== 0);
        key = k;
        sum = 0 + v;
      }
    }
    if (sum !== 0) {
      idx[out] = key;
      val[out] = sum;
      out++;
    }
    return out - at;
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
    for (let k = 0; k < CRITEO_CATEGORICAL_COLUMNS; k++) this.catStats.count[k] = this.observedRows - this.catStats.missing[k];
    return [
      ...Array.from({ length: CRITEO_INTEGER_COLUMNS }, (_, c) => this.intStats.toStats(c, `I${c + 1}`)),
      ...Array.from({ length: CRITEO_CATEGORICAL_COLUMNS }, (_, k) => this.catStats.toStats(k, `C${k + 1}`, 'categorical')),
    ];
  }
}

function bitCount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
