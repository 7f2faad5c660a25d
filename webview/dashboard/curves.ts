// Pure transforms of a chart's points (no DOM, so node tests check them): smoothing, the best value so
// far, and the CSV a chart exports.
import type { Point } from './model';

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled towards 0).
 * `weight` in [0, 1): 0 returns the points unchanged; 0.9 averages over roughly the last ten points.
 */
export function ema(points: Point[], weight: number): Point[] {
  if (!(weight > 0) || points.length < 2) return points;
  const w = Math.min(weight, 0.999);
  let acc = 0;
  let n = 0;
  return points.map((p) => {
    acc = acc * w + (1 - w) * p.y;
    n++;
    return { x: p.x, y: acc / (1 - Math.pow(w, n)) };
  });
}

/** The lowest y up to each point: the "best so far" line of a loss. */
export function bestSoFar(points: Point[]): Point[] {
  let best = Infinity;
  return points.map((p) => {
    best = Math.min(best, p.y);
    return { x: p.x, y: best };
  });
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per point of every series: `series,x,y` under a header naming the axes. */
export function seriesCsv(xTitle: string, yTitle: string, series: Array<{ label: string; points: Point[] }>): string {
  const lines = [['series', xTitle, yTitle].map(csvCell).join(',')];
  for (const s of series) for (const p of s.points) lines.push([s.label, p.x, p.y].map(csvCell).join(','));
  return lines.join('\n') + '\n';
}
