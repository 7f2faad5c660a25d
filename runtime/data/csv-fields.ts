// Splitting CSV text into fields, and finding a header's separator: shared by the CSV reader, the
// causal data and the VS Code deploy command (through runtime/api.ts: a pure module, no Node).
import { RowError, quote } from './errors';

const DELIMITERS = [',', ';', '\t', '|'];

/** A quoted field not closed on the text given (CsvReader then joins the next line). */
export class UnterminatedQuote extends RowError {}

/** Splits one CSV record (RFC 4180 quoting: "a, b" and "" for a quote inside quotes; a quoted field
 *  may hold line breaks when the caller joins the lines: CsvReader does). */
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
        // Callers reading single lines (the causal data) keep this message; CsvReader goes on to the next line.
        if (q < 0) throw new UnterminatedQuote('unterminated quoted field (fields may not span lines)');
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

/** The separator a header line uses most (outside quotes): ',', ';', tab or '|'. */
export function detectDelimiter(header: string): string {
  const outside = header.replace(/"[^"]*"/g, '');
  let best = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const count = outside.split(d).length - 1;
    if (count > bestCount) [best, bestCount] = [d, count];
  }
  return best;
}

