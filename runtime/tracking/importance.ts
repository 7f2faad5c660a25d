// Which sweep parameters the metric depends on: for a numeric parameter the absolute Spearman rank
// correlation with the metric (monotone effects, whatever the scale: a learning rate on a log grid
// counts the same as on a linear one), for any other the correlation ratio (eta: the share of the
// metric's spread explained by the parameter's groups). Both lie in [0, 1]. Pure: the panel runs it.

export interface Importance {
  param: string;
  /** 0 (the metric does not follow it) to 1 (it decides the metric). */
  score: number;
  method: 'spearman' | 'eta';
  /** Spearman only: +1 when a larger value gives a larger metric, -1 when smaller. */
  direction?: 1 | -1;
  /** Trials the score rests on (those with both a value and a metric). */
  n: number;
}

/** Average ranks (ties share their mean rank), 0-based. */
export function ranks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const mean = (i + j) / 2;
    for (let k = i; k <= j; k++) out[order[k][1]] = mean;
    i = j + 1;
  }
  return out;
}

function pearson(x: number[], y: number[]): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

function eta(groups: string[], y: number[]): number {
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const by = new Map<string, { sum: number; n: number }>();
  groups.forEach((g, i) => {
    const s = by.get(g) ?? { sum: 0, n: 0 };
    s.sum += y[i];
    s.n++;
    by.set(g, s);
  });
  let between = 0;
  for (const s of by.values()) between += s.n * (s.sum / s.n - mean) ** 2;
  let total = 0;
  for (const v of y) total += (v - mean) ** 2;
  return total > 0 ? Math.sqrt(between / total) : 0;
}

/** Importance of each parameter for `metric` (trials whose metric is null or not finite are left out), highest first. */
export function paramImportance(trials: Array<{ params: Record<string, number | string | boolean>; metric: number | null }>, params: string[]): Importance[] {
  const usable = trials.filter((t): t is { params: Record<string, number | string | boolean>; metric: number } => t.metric !== null && Number.isFinite(t.metric));
  const out: Importance[] = params.map((param) => {
    const rows = usable.filter((t) => t.params[param] !== undefined);
    const y = rows.map((t) => t.metric);
    const values = rows.map((t) => t.params[param]);
    if (rows.length < 3) return { param, score: 0, method: 'eta', n: rows.length };
    if (values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      const r = pearson(ranks(values as number[]), ranks(y));
      return { param, score: Math.abs(r), method: 'spearman', direction: r < 0 ? -1 : 1, n: rows.length };
    }
    return { param, score: eta(values.map(String), y), method: 'eta', n: rows.length };
  });
  return out.sort((a, b) => b.score - a.score || a.param.localeCompare(b.param));
}
