// Streaming line reader: constant memory whatever the file size, gunzips files ending in .gz, and
// hands out lines in batches (one promise per batch, not per line: parsing speed matters here).
//
// The core (readByteBatches) works on the raw bytes: each batch is a run of complete lines inside
// one chunk as read (no copy, no string); only a line split across two chunks is copied into a
// buffer of its own. Byte-level readers (Criteo, LIBSVM) parse those bytes directly; the others get
// strings from readLineBatches.
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { Transform, pipeline, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { DataFormatError } from './errors';

/** Longer lines are refused: no format has rows this long, and an unbounded line would grow memory
 *  without limit. A file without line breaks stops here. (Counted in bytes: characters for ASCII.) */
export const MAX_LINE_CHARS = 16 * 2 ** 20;

// A NUL byte means binary or UTF-16 data; U+FFFD is what a decoder makes of bytes that are not UTF-8
// (text holding U+FFFD itself was mangled that way before, and is refused the same).
const NOT_UTF8_TEXT = /[\u0000\uFFFD]/;
const REPLACEMENT_CHAR = Buffer.from('\uFFFD', 'utf8');

export interface LineBatch {
  lines: string[];
  /** 1-based line number of lines[0] in the (decompressed) file. */
  firstLine: number;
}

/** Complete lines: bytes [start, end) of buf, each ended by '\n' (possibly preceded by '\r'), except
 *  the file's last line when the file does not end with a line break. Valid UTF-8 without NUL bytes. */
export interface ByteBatch {
  buf: Buffer;
  start: number;
  end: number;
  /** 1-based line number of the batch's first line in the (decompressed) file. */
  firstLine: number;
  /** Set by the consumer before asking for the next batch: how many lines this batch held. */
  lines: number;
}

export interface LineReadOptions {
  /** Called with each raw chunk as read from disk (compressed bytes for .gz): progress and checksums.
   *  The chunk's memory is reused afterwards: copy what must outlive the call. */
  onRaw?: (chunk: Buffer) => void;
}

export function isGzipFile(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

const CHUNK_BYTES = 1 << 20;

/** A file's raw chunks (not gunzipped), read into two buffers in turn: while the caller parses one chunk,
 *  the next is read into the other (the read runs on libuv's thread pool, so it overlaps the parsing), and
 *  no fresh memory is touched per chunk. A chunk is valid until the next but one is asked for. */
export async function* readFileChunks(file: string, onRaw?: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  const buffers = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)];
  let which = 0;
  let reading = handle.read(buffers[which], 0, CHUNK_BYTES, null);
  try {
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) return;
      which ^= 1;
      reading = handle.read(buffers[which], 0, CHUNK_BYTES, null);
      const chunk = buffer.subarray(0, bytesRead);
      onRaw?.(chunk);
      yield chunk;
    }
  } finally {
    await reading.catch(() => {}); // the read ahead, when the caller stops early
    await handle.close();
  }
}

function openText(file: string, opts: LineReadOptions): Readable | AsyncGenerator<Buffer> {
  if (!isGzipFile(file)) return readFileChunks(file, opts.onRaw);
  const raw = fs.createReadStream(file, { highWaterMark: CHUNK_BYTES });
  const onRaw = opts.onRaw ?? (() => {});
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onRaw(chunk);
      done(null, chunk);
    },
  });
  // pipeline() destroys every stage on an error, so a corrupt .gz surfaces in the for-await below.
  return pipeline(raw, tap, zlib.createGunzip(), () => {});
}

/** The file's lines as byte batches. The consumer must set `batch.lines` (the number of lines it
 *  found in the batch) before asking for the next one: line numbers of later errors depend on it. */
export async function* readByteBatches(file: string, opts: LineReadOptions = {}): AsyncGenerator<ByteBatch> {
  let pending: Buffer[] = []; // the start of a line that continues in the next chunk
  let pendingBytes = 0;
  let lineNo = 1;
  const stream = openText(file, opts);
  const tooLong = () =>
    new DataFormatError(file, lineNo, `line longer than ${MAX_LINE_CHARS / 2 ** 20} MiB: not a row of any supported format (wrong format, or no line breaks?)`);
  const emit = (buf: Buffer, start: number, end: number): ByteBatch => {
    checkText(file, buf, start, end, lineNo);
    return { buf, start, end, firstLine: lineNo, lines: -1 };
  };
  const advance = (batch: ByteBatch) => {
    if (batch.lines < 0) throw new Error('readByteBatches: the consumer did not count the lines of a batch');
    lineNo += batch.lines;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      if (pendingBytes > 0) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          pending.push(Buffer.from(chunk)); // a copy: the chunk's buffer is reused
          pendingBytes += chunk.length;
          if (pendingBytes > MAX_LINE_CHARS) throw tooLong();
          continue;
        }
        pending.push(chunk.subarray(0, nl + 1));
        const line = Buffer.concat(pending, pendingBytes + nl + 1);
        pending = [];
        pendingBytes = 0;
        const batch = emit(line, 0, line.length);
        yield batch;
        advance(batch);
        from = nl + 1;
      }
      const last = chunk.lastIndexOf(10);
      if (last >= from) {
        const batch = emit(chunk, from, last + 1);
        yield batch;
        advance(batch);
        from = last + 1;
      }
      if (from < chunk.length) {
        pending.push(Buffer.from(chunk.subarray(from))); // a copy: the chunk's buffer is reused
        pendingBytes += chunk.length - from;
        if (pendingBytes > MAX_LINE_CHARS) throw tooLong();
      }
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') throw new Error(`${file}: not a valid gzip file (${e.message})`);
    if (e.code === 'ENOENT') throw new Error(`${file}: no such file`);
    throw err;
  } finally {
    if ('destroy' in stream) stream.destroy();
    else await stream.return(undefined);
  }
  if (pendingBytes > 0) {
    const line = Buffer.concat(pending, pendingBytes);
    yield emit(line, 0, line.length);
  }
}

/** The file's lines as strings (without the line break), in batches. */
export async function* readLineBatches(file: string, opts: LineReadOptions = {}): AsyncGenerator<LineBatch> {
  for await (const batch of readByteBatches(file, opts)) {
    const lines = batch.buf.toString('utf8', batch.start, batch.end).split('\n');
    if (batch.buf[batch.end - 1] === 10) lines.pop(); // the empty string after the last '\n'
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1); // CRLF
    }
    batch.lines = lines.length;
    yield { lines, firstLine: batch.firstLine };
  }
}

/** Refuses bytes that are not UTF-8 text (NUL bytes, invalid sequences) with the first such line. */
function checkText(file: string, buf: Buffer, start: number, end: number, firstLine: number): void {
  const region = buf.subarray(start, end);
  if (region.indexOf(0) < 0 && isUtf8(region) && region.indexOf(REPLACEMENT_CHAR) < 0) return;
  const lines = region.toString('utf8').split('\n');
  const i = Math.max(0, lines.findIndex((l) => NOT_UTF8_TEXT.test(l)));
  const reason = lines[i].includes('\u0000')
    ? 'a NUL byte: not a text file (binary data, or UTF-16 text: save it as UTF-8)'
    : 'not valid UTF-8 text (another encoding, such as Latin-1 or UTF-16? convert it to UTF-8, e.g. with iconv)';
  throw new DataFormatError(file, firstLine + i, reason);
}
