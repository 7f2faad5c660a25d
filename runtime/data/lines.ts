// Streaming line reader: constant memory whatever the file size, gunzips files ending in .gz, and
// yields lines in batches (one promise per batch, not per line: parsing speed matters here).
import * as fs from 'node:fs';
import { Transform, pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import * as zlib from 'node:zlib';

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
      carry = lines.pop()!;
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
  if (last.length > 0) yield { lines: [last.endsWith('\r') ? last.slice(0, -1) : last], firstLine: lineNo };
}
