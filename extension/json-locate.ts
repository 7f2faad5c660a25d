// Finds where a field of a JSON document is written, so a config error can open the file at its line.
// A small scanner, tolerant of the half-written files editors hold: it walks objects and arrays,
// noting the offset of each key, and stops at the first thing it cannot read.

export interface Position {
  line: number; // 0-based, like vscode.Position
  character: number;
}

/** Splits `training.workers`, `/training/workers`, `dataset.paths[2]` into path segments. */
export function fieldPath(field: string): string[] {
  return field
    .replace(/\[(\d+)\]/g, '.$1')
    .split(/[./]/)
    .filter((s) => s !== '');
}

/**
 * The position of the deepest part of `path` that exists in `text` (the key of the field, or of its
 * closest existing parent when the field is missing), or undefined if `text` has no such object.
 */
export function locateField(text: string, path: string[]): Position | undefined {
  let i = 0;
  let best: number | undefined;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return text.slice(start + 1, i - 1);
    }
  };
  // Skips one value; when `depth` < path.length, descends looking for path[depth].
  const value = (depth: number): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      for (;;) {
        ws();
        if (text[i] === '}') return void i++;
        if (text[i] !== '"') return;
        const keyAt = i;
        const key = str();
        ws();
        if (text[i] !== ':') return;
        i++;
        const match = depth < path.length && key === path[depth];
        if (match) best = keyAt;
        value(match ? depth + 1 : Infinity);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else return;
      }
    } else if (c === '[') {
      i++;
      for (let index = 0; ; index++) {
        ws();
        if (text[i] === ']') return void i++;
        const match = depth < path.length && String(index) === path[depth];
        if (match) best = i;
        value(match ? depth + 1 : Infinity);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !/[,}\]\s]/.test(text[i])) i++;
    }
  };
  value(0);
  return best === undefined ? (text.trimStart().startsWith('{') ? positionAt(text, text.indexOf('{')) : undefined) : positionAt(text, best);
}

export function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

/** Where JSON.parse stopped: Node 20 says "at position N", newer V8 adds "(line L column C)". */
export function syntaxErrorPosition(err: unknown, text: string): Position | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) return { line: Number(lc[1]) - 1, character: Number(lc[2]) - 1 };
  const pos = /position (\d+)/.exec(msg);
  if (pos) return positionAt(text, Number(pos[1]));
  if (/end of JSON input/i.test(msg)) return positionAt(text, text.length);
  return undefined;
}
