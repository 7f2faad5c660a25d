// Errors of the data readers. A bad row is reported as `FILE:LINE: what is wrong`.

/** Thrown by a reader's parse() for a bad row; the caller adds the file and line. `fatal` errors
 *  (a bad header: every row after it would be misread) stop the read even under skipBad. */
export class RowError extends Error {
  constructor(readonly reason: string, readonly fatal = false) {
    super(reason);
    this.name = 'RowError';
  }
}

export class DataFormatError extends Error {
  constructor(readonly file: string, readonly line: number | undefined, readonly reason: string) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
    this.name = 'DataFormatError';
  }
}

/** Shortens a bad value for an error message. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
}
