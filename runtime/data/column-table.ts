// The deploy summary's table of CSV columns (CLI and VS Code): what the model will see of each column.
import type { ColumnReport } from './manifest';

function num(x: number | undefined): string {
  if (x === undefined) return '';
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  return Math.abs(x) >= 1e6 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}

/** One line per column: name, role, distinct values, missing share, range, scaling and the reason. */
export function formatColumnTable(columns: ColumnReport[]): string {
  const rows = [
    ['column', 'role', 'distinct', 'missing', 'range', 'scaling', 'why'],
    ...columns.map((c) => [
      c.name,
      c.role === 'timestamp' && c.expanded ? 'timestamp (hour, weekday)' : c.role,
      (c.distinct > 64 ? '~' : '') + String(c.distinct),
      `${(100 * c.missingShare).toFixed(c.missingShare > 0 && c.missingShare < 0.01 ? 2 : 0)}%`,
      c.min !== undefined ? `${num(c.min)}..${num(c.max)}` : '',
      c.scaling ?? '',
      c.reason,
    ]),
  ];
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
  return rows.map((r) => r.map((cell, k) => (k === r.length - 1 ? cell : cell.padEnd(widths[k]))).join('  ')).join('\n');
}

/** Warnings a user should read before training: ids and constants ignored. */
export function columnWarnings(columns: ColumnReport[]): string[] {
  return columns.filter((c) => c.role === 'id').map((c) => `column "${c.name}" looks like an id (${c.reason}); set dataset.columns to keep it`);
}
