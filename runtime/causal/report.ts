// The readable summary of an estimate: text for the CLI, Markdown with an SVG per-fold plot for the
// run folder (VS Code opens it in its Markdown preview: no webview, no script).
import type { DoubleMLEstimate } from './estimate';
import type { DoubleMLSummary } from './run';

const g = (x: number, digits = 4) => (Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : '-');
const usd = (x: number) => `$${x.toFixed(6)}`;

function metric(q: DoubleMLEstimate['nuisance'][number]): string {
  return q.metric === 'r2' ? `R² ${g(q.value, 3)}` : `log-loss ${g(q.value, 3)}`;
}

/** A few lines: the estimate, its interval and test, the nuisance quality, time and cost. */
export function describeDoubleML(s: DoubleMLSummary): string {
  if (!s.estimate) return `double ML ${s.status}: ${s.reason} (run folder ${s.runFolder})`;
  const e = s.estimate;
  const lines = [
    `${e.model.toUpperCase()} effect of ${s.config.data.treatment} on ${s.config.data.outcome}: theta = ${g(e.theta, 6)}  SE ${g(e.se)}  95 % CI [${g(e.ci95[0], 5)}, ${g(e.ci95[1], 5)}]  t ${g(e.tStat)}  p ${g(e.pValue, 3)}`,
    `  ${e.n} rows, ${e.folds} folds x ${e.repetitions} repetitions (seed ${s.folds.seed})${e.repetitions > 1 ? ': median over repetitions, DoubleML-adjusted SE' : ''}`,
    `  per repetition: ${e.perRepetition.map((r) => g(r.theta, 5)).join(', ')}`,
    `  nuisances (out of fold): ${e.nuisance.map((q) => `${q.name} ${q.learner} ${metric(q)}`).join('; ')}${e.trimmed ? `; ${e.trimmed} propensities trimmed` : ''}`,
    `  ${s.tasks.invocations} invocations for ${s.tasks.total} fold tasks (${s.tasks.failedAttempts} failed attempts retried), ${s.seconds.toFixed(1)} s, ${usd(s.costUSD)}: ` +
      s.stages.map((st) => `${st.stage} ${st.seconds.toFixed(1)} s ${usd(st.costUSD)}`).join(', '),
  ];
  return lines.join('\n');
}

/** Per-fold (small dots) and per-repetition (large dots) estimates, the estimate (line) and its 95 % interval (band). */
export function foldPlotSvg(e: DoubleMLEstimate): string {
  const width = 640;
  const rowHeight = 22;
  const top = 30;
  const left = 60;
  const right = 20;
  const height = top + rowHeight * e.perRepetition.length + 40;
  const values = [...e.perRepetition.flatMap((r) => [r.theta, ...r.perFold]), ...e.ci95];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const pad = (hi - lo) * 0.08 || Math.abs(e.theta) * 0.1 || 1;
  lo -= pad;
  hi += pad;
  const x = (v: number) => left + ((v - lo) / (hi - lo)) * (width - left - right);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<rect x="${x(e.ci95[0]).toFixed(1)}" y="${top - 10}" width="${(x(e.ci95[1]) - x(e.ci95[0])).toFixed(1)}" height="${rowHeight * e.perRepetition.length + 10}" fill="#4a90d9" fill-opacity="0.15"/>`,
    `<line x1="${x(e.theta).toFixed(1)}" x2="${x(e.theta).toFixed(1)}" y1="${top - 10}" y2="${top + rowHeight * e.perRepetition.length}" stroke="#1f5fa8" stroke-width="2"/>`,
    `<text x="${left}" y="16" fill="#333">theta ${g(e.theta, 5)}, 95 % CI [${g(e.ci95[0], 4)}, ${g(e.ci95[1], 4)}]: per fold (small), per repetition (large)</text>`,
  ];
  e.perRepetition.forEach((r, i) => {
    const y = top + rowHeight * i + rowHeight / 2;
    parts.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end" fill="#555">rep ${r.repetition + 1}</text>`);
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    for (const f of r.perFold) parts.push(`<circle cx="${x(f).toFixed(1)}" cy="${y}" r="3" fill="#888"/>`);
    parts.push(`<circle cx="${x(r.theta).toFixed(1)}" cy="${y}" r="5.5" fill="#d9534f"/>`);
  });
  const axisY = top + rowHeight * e.perRepetition.length + 14;
  for (let t = 0; t <= 4; t++) {
    const v = lo + ((hi - lo) * t) / 4;
    parts.push(`<text x="${x(v).toFixed(1)}" y="${axisY + 12}" text-anchor="middle" fill="#555">${g(v, 3)}</text>`);
    parts.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${axisY - 4}" y2="${axisY}" stroke="#555"/>`);
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function reportMarkdown(s: DoubleMLSummary, plotFile: string): string {
  const e = s.estimate!;
  const rows = (cells: Array<Array<string | number>>) => cells.map((c) => `| ${c.join(' | ')} |`).join('\n');
  return [
    `# ${s.name}: ${e.model.toUpperCase()} estimate`,
    '',
    `Effect of **${s.config.data.treatment}** on **${s.config.data.outcome}**, ${e.n} rows, ${e.folds} folds x ${e.repetitions} repetitions, seed ${s.folds.seed}.`,
    '',
    rows([
      ['theta', 'SE', '95 % CI', 't', 'p-value'],
      ['---', '---', '---', '---', '---'],
      [g(e.theta, 6), g(e.se), `[${g(e.ci95[0], 5)}, ${g(e.ci95[1], 5)}]`, g(e.tStat), g(e.pValue, 3)],
    ]),
    '',
    `![per-fold and per-repetition estimates](${plotFile})`,
    '',
    '## Per repetition',
    '',
    rows([['repetition', 'theta', 'SE', 'per fold'], ['---', '---', '---', '---'], ...e.perRepetition.map((r) => [r.repetition + 1, g(r.theta, 6), g(r.se), r.perFold.map((f) => g(f, 4)).join(', ')])]),
    '',
    '## Nuisance models (out-of-fold quality)',
    '',
    rows([['nuisance', 'learner', 'target', 'quality', 'RMSE'], ['---', '---', '---', '---', '---'], ...e.nuisance.map((q) => [q.name, q.learner, q.target, metric(q), g(q.rmse)])]),
    ...(e.trimmed ? ['', `${e.trimmed} propensities were clipped to [${s.config.trimming}, ${1 - s.config.trimming}].`] : []),
    '',
    '## Time and cost',
    '',
    rows([['stage', 'seconds', 'GB-s', 'cost'], ['---', '---', '---', '---'], ...s.stages.map((st) => [st.stage, st.seconds.toFixed(2), st.gbSeconds.toFixed(3), usd(st.costUSD)]), ['total', s.seconds.toFixed(2), '', usd(s.costUSD)]]),
    '',
    `${s.tasks.invocations} invocations for ${s.tasks.total} fold tasks (${s.tasks.failedAttempts} failed attempts retried). Folds sha256 ${s.folds.sha256}.`,
    '',
  ].join('\n');
}
