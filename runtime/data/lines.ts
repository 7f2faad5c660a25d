// Streaming line reader: constant memory whatever the file size, gunzips files ending in .gz, and
// yields lines in batches (one promise per batch, not per line: parsing speed matters here).
import * as fs from 'node:fs';
import { Transform, pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import * as zlib from 'node:zlib';
import { DataFormatError } from './errors';

/** Longer lines are refused: no format has rows this long, and an unbounded line would grow memory
 *  (and re-scanning it each chunk) without limit. A file without line breaks stops here. */
export const MAX_LINE_CHARS = 16 * 2 ** 20;

// A NUL byte means binary or UTF-16 data; U+FFFD is what the decoder makes of bytes that are not UTF-8.
const NOT_UTF8_TEXT = /[\u0000\uFFFD]/;

export interface LineBatch {
  lines: string[];
  /** 1-based line number of lines[0] in the (decompressed) file. */
  firstLine: number;
}

export interface LineReadOptions {
  /** Called with each raw chunk as read from disk (compressed bytes for .gz): progress and checksums. */
  onRaw?: (chunk: Buffer) => void;
}

export function isGzipFile(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

function openText(file: string, opts: LineReadOptions): Readable {
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  if (!opts.onRaw && !isGzipFile(file)) return raw;
  const onRaw = opts.onRaw ?? (() => {});
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onRaw(chunk);
      done(null, chunk);
    },
  });
  // pipeline() destroys every stage on an error, so a corrupt .gz surfaces in the for-await below.
  if (isGzipFile(file)) return pipeline(raw, tap, zlib.createGunzip(), () => {});
  return pipeline(raw, tap, () => {});
}

export async function* readLineBatches(file: string, opts: LineReadOptions = {}): AsyncGenerator<LineBatch> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 1;
  const stream = openText(file, opts);
  try {
    for await (const chunk of stream) {
      const text = carry + decoder.write(chunk as Buffer);
      const lines = text.split('\n');
      if (NOT_UTF8_TEXT.test(text)) throw notText(file, lineNo, lines);
      carry = lines.pop()!;
      if (carry.length > MAX_LINE_CHARS) {
        throw new DataFormatError(file, lineNo + lines.length, `line longer than ${MAX_LINE_CHARS / 2 ** 20} MiB: not a row of any supported format (wrong format, or no line breaks?)`);
      }
      if (lines.length === 0) continue;
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i];
        if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1); // CRLF
      }
      yield { lines, firstLine: lineNo };
      lineNo += lines.length;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') throw new Error(`${file}: not a valid gzip file (${e.message})`);
    if (e.code === 'ENOENT') throw new Error(`${file}: no such file`);
    throw err;
  } finally {
    stream.destroy();
  }
  const last = carry + decoder.end();
  if (NOT_UTF8_TEXT.test(last)) throw notText(file, lineNo, [last]);
  if (last.length > 0) yield { lines: [last.endsWith('\r') ? last.slice(0, -1) : last], firstLine: lineNo };
}

function notText(file: string, firstLine: number, lines: string[]): DataFormatError {
  const i = Math.max(0, lines.findIndex((l) => NOT_UTF8_TEXT.test(l)));
  const reason = lines[i].includes('\u0000')
    ? 'a NUL byte: not a text file (binary data, or UTF-16 text: save it as UTF-8)'
    : 'not valid UTF-8 text (another encoding, such as Latin-1 or UTF-16? convert it to UTF-8, e.g. with iconv)';
  return new DataFormatError(file, firstLine + i, reason);
}
