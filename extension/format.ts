// Number formatting shared by the trees, the status bar and messages.

export function fmtLoss(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toPrecision(4);
}

export function fmtUSD(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '$–';
  // Small runs cost fractions of a cent: keep enough digits to see them move.
  return x < 0.01 ? `$${x.toFixed(5)}` : x < 10 ? `$${x.toFixed(3)}` : `$${x.toFixed(2)}`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function fmtSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
