// The one set of formatters for what users read: money, time, counts, losses, sizes. Shared by the CLI,
// the VS Code trees and messages, and the dashboard panel (which bundles this file through
// runtime/api.ts), so a figure reads the same everywhere. Pure: no imports (checked by
// .dependency-cruiser.cjs), it runs in the browser too. A missing or non-finite value reads '–'.

type Maybe = number | null | undefined;
const MISSING = '–';
const known = (v: Maybe): v is number => v !== null && v !== undefined && Number.isFinite(v);

/** Dollars. Small runs cost fractions of a cent: enough digits to see them move. */
export function fmtUSD(v: Maybe): string {
  if (!known(v)) return MISSING;
  const a = Math.abs(v);
  return '$' + (a < 0.01 ? v.toFixed(5) : a < 10 ? v.toFixed(3) : v.toFixed(2));
}

/** A loss or error metric: four significant digits (0.5200, 1.235). */
export function fmtLoss(v: Maybe): string {
  return known(v) ? v.toPrecision(4) : MISSING;
}

/** A general figure (GB-seconds, rates): up to `digits` significant digits, exponent form when very large or small. */
export function fmtNum(v: Maybe, digits = 4): string {
  if (!known(v)) return MISSING;
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

/** A whole count with thousands separators: 1,234,567. */
export function fmtCount(v: Maybe): string {
  return known(v) ? Math.round(v).toLocaleString('en-US') : MISSING;
}

/** A duration: 4.2 s, 2 min 05 s, 1 h 02 min. */
export function fmtSeconds(v: Maybe): string {
  if (!known(v)) return MISSING;
  if (v < 60) return `${v.toFixed(1)} s`;
  const total = Math.round(v);
  if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`;
  return `${Math.floor(total / 3600)} h ${String(Math.floor((total % 3600) / 60)).padStart(2, '0')} min`;
}

/** A fraction as a percentage: 0.123 -> 12.3 %. */
export function fmtPercent(v: Maybe): string {
  return known(v) ? `${(v * 100).toFixed(1)} %` : MISSING;
}

/** A size in bytes: 512 B, 1.5 MB (binary units). */
export function fmtBytes(v: Maybe): string {
  if (!known(v)) return MISSING;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = v;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** Compact form for chart ticks: 12k, 1.5M. */
export function fmtCompact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return Number(v.toPrecision(4)).toString();
}

const ACRONYMS = new Set(['s3', 'ec2', 'ps', 'gb', 'api']);

/** A cost model key in words: `lambdaCompute` -> `Lambda compute`, `s3Requests` -> `S3 requests` (estimate dialog, dashboard). */
export function fmtCostComponent(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[\s_-]+/).filter(Boolean).map((w) => w.toLowerCase());
  const text = words.map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w)).join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Dollars for a breakdown line: an amount too small to show at five decimals reads `under $0.00001`, not `$0.00000`. */
export function fmtUSDShare(v: Maybe): string {
  return known(v) && v > 0 && v < 0.000005 ? 'under $0.00001' : fmtUSD(v);
}
