// What is wrong with a run configuration, named by file, line and field.

export interface ConfigProblem {
  field: string; // dotted path, e.g. "optimizer.learningRate"
  message: string;
  line?: number; // 1-based, when the source text is known
}

export function formatProblem(file: string | undefined, p: ConfigProblem): string {
  return `${file ?? 'run config'}${p.line ? `:${p.line}` : ''}: ${p.field || '(top level)'}: ${p.message}`;
}

export class ConfigError extends Error {
  constructor(readonly file: string | undefined, readonly problems: ConfigProblem[]) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Edit distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** The candidate nearest to `given` (case-insensitive), when it is near enough to be a likely typo. */
export function nearest(given: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(given.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(given.length / 3)) ? best : undefined;
}
