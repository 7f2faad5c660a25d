// Reading a data file row by row with a FormatReader: the loop shared by deploy (both passes) and by
// callers that only want to check or look at a file (inspectFile, readRows).
import { DataFormatError, RowError } from './errors';
import { readByteBatches, readLineBatches } from './lines';
import type { ColumnReport, DatasetFormat, DatasetSchema } from './manifest';
import { createReader, type FormatReader, type ReaderOptions } from './readers';
import { SparseRow } from './rows';

export interface RowLoopOptions {
  /** Skip bad rows (reported to onSkip) instead of throwing `file:line: reason`. */
  skipBad?: boolean;
  onSkip?(file: string, line: number, reason: string): void;
  /** Each raw chunk read from disk (compressed bytes for .gz). */
  onRaw?(chunk: Buffer): void;
  signal?: AbortSignal;
}

/** Parses every line of `file`, calling `visit` after each row the reader accepts. Bad rows throw a
 *  DataFormatError (`file:line: reason`) or, under skipBad, go to onSkip. Returns the rows visited. */
export async function forEachRow(
  reader: FormatReader,
  file: string,
  role: 'train' | 'test',
  opts: RowLoopOptions,
  visit: () => void | Promise<void>,
): Promise<number> {
  reader.beginFile(file, role);
  const rows = reader.scanRow || reader.parseBytes ? await forEachRowBytes(reader, file, opts, visit) : await forEachRowLines(reader, file, opts, visit);
  // A row left open at the end of the file (a quoted field never closed) is a bad row too.
  const open = reader.endFile?.();
  if (open) {
    if (!opts.skipBad) throw new DataFormatError(file, open.line, open.reason);
    opts.onSkip?.(file, open.line, open.reason);
  }
  return rows;
}

async function forEachRowLines(reader: FormatReader, file: string, opts: RowLoopOptions, visit: () => void | Promise<void>): Promise<number> {
  let rows = 0;
  for await (const { lines, firstLine } of readLineBatches(file, { onRaw: opts.onRaw })) {
    opts.signal?.throwIfAborted();
    for (let i = 0; i < lines.length; i++) {
      let ok: boolean;
      try {
        ok = reader.parse(lines[i], firstLine + i);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        if (!opts.skipBad || err.fatal) throw new DataFormatError(file, firstLine + i, err.reason);
        opts.onSkip?.(file, firstLine + i, err.reason);
        continue;
      }
      if (!ok) continue;
      rows++;
      try {
        const pending = visit();
        if (pending) await pending;
      } catch (err) {
        // A row can be well-formed yet break a whole-file rule (e.g. too many distinct labels).
        if (err instanceof RowError) throw new DataFormatError(file, firstLine + i, err.reason);
        throw err;
      }
    }
  }
  return rows;
}

/** forEachRow for readers that parse bytes: no string per line. */
async function forEachRowBytes(reader: FormatReader, file: string, opts: RowLoopOptions, visit: () => void | Promise<void>): Promise<number> {
  let rows = 0;
  for await (const batch of readByteBatches(file, { onRaw: opts.onRaw })) {
    opts.signal?.throwIfAborted();
    const { buf, end } = batch;
    let start = batch.start;
    let lineNo = batch.firstLine;
    if (reader.scanRow) {
      while (start < end) {
        const line = lineNo++;
        let next: number;
        try {
          next = reader.scanRow(buf, start, end);
        } catch (err) {
          if (!(err instanceof RowError)) throw err;
          if (!opts.skipBad || err.fatal) throw new DataFormatError(file, line, err.reason);
          opts.onSkip?.(file, line, err.reason);
          const nl = buf.indexOf(10, start);
          start = nl < 0 || nl >= end ? end : nl + 1;
          continue;
        }
        if (next < 0) {
          start = ~next;
          continue;
        }
        start = next;
        rows++;
        try {
          const pending = visit();
          if (pending) await pending;
        } catch (err) {
          if (err instanceof RowError) throw new DataFormatError(file, line, err.reason);
          throw err;
        }
      }
      batch.lines = lineNo - batch.firstLine;
      continue;
    }
    while (start < end) {
      let next = buf.indexOf(10, start);
      if (next < 0 || next >= end) next = end;
      const lineEnd = next > start && buf[next - 1] === 13 ? next - 1 : next; // CRLF
      const line = lineNo++;
      const lineStart = start;
      start = next + 1;
      let ok: boolean;
      try {
        ok = reader.parseBytes!(buf, lineStart, lineEnd);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        if (!opts.skipBad || err.fatal) throw new DataFormatError(file, line, err.reason);
        opts.onSkip?.(file, line, err.reason);
        continue;
      }
      if (!ok) continue;
      rows++;
      try {
        const pending = visit();
        if (pending) await pending;
      } catch (err) {
        if (err instanceof RowError) throw new DataFormatError(file, line, err.reason);
        throw err;
      }
    }
    batch.lines = lineNo - batch.firstLine;
  }
  return rows;
}

export interface InspectResult {
  rows: number;
  skippedRows: number;
  /** The first 100 bad rows as `file:line: reason` (skipBad only). */
  skipped: string[];
  schema: DatasetSchema;
  /** csv: each column's role and why. */
  columns?: ColumnReport[];
}

/** Checks a whole file (the counting pass of a deploy, without uploading anything). */
export async function inspectFile(file: string, format: DatasetFormat, opts: ReaderOptions & RowLoopOptions = {}): Promise<InspectResult> {
  const reader = createReader(format, opts);
  const skipped: string[] = [];
  let skippedRows = 0;
  const rows = await forEachRow(
    reader,
    file,
    'train',
    {
      ...opts,
      onSkip(f, line, reason) {
        skippedRows++;
        if (skipped.length < 100) skipped.push(`${f}:${line}: ${reason}`);
        opts.onSkip?.(f, line, reason);
      },
    },
    () => reader.learn(),
  );
  reader.finishLearning();
  return { rows, skippedRows, skipped, schema: reader.schema(), columns: reader.columnReport?.() };
}

export type ReadRow =
  | { label: number; indices: number[]; values: number[] }
  | { user: number; item: number; rating: number };

/** Every row of a file as a deploy would store it (bad rows throw, or are skipped under skipBad).
 *  Holds all rows in memory: for checks, tests and small files, not for deploying big ones. */
export async function readAllRows(file: string, format: DatasetFormat, opts: ReaderOptions & { skipBad?: boolean } = {}): Promise<ReadRow[]> {
  const reader = createReader(format, opts);
  await forEachRow(reader, file, 'train', { skipBad: opts.skipBad }, () => reader.learn());
  reader.finishLearning();
  const row = new SparseRow();
  const rows: ReadRow[] = [];
  await forEachRow(reader, file, 'train', { skipBad: opts.skipBad }, () => {
    if (reader.kind === 'samples') {
      const label = reader.toSample(row, true);
      rows.push({ label, indices: Array.from(row.idx.subarray(0, row.n)), values: Array.from(row.val.subarray(0, row.n)) });
    } else {
      rows.push({ ...reader.toRating(true) });
    }
  });
  return rows;
}
