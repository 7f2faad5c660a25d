// The six charts of the dashboard: what each plots (its lines or bars per run, axes, summary text),
// built on the chart cards of ./charts.ts (which know nothing of losses, workers or dollars).
import type { StageName } from '../../runtime/api';
import { fmtCompact, fmtCostComponent, fmtNum, fmtUSD } from '../../runtime/api';
import { BarChartCard, LineChartCard, STAGE_ORDER, type ChartCard, type LineDef, type LossView, type RunLabel } from './charts';
import { bestSoFar, ema } from './curves';
import { SPENT_SO_FAR, type Point, type RunModel } from './model';
import { withAlpha, type Theme } from './theme';

const seconds = (v: number) => fmtCompact(v);
const dollars = (v: number) => fmtUSD(v);

function latest(runs: RunModel[], label: RunLabel, pick: (r: RunModel) => string | null): string {
  const parts = runs.map((r) => {
    const v = pick(r);
    return v === null ? null : `${label(r)}: ${v}`;
  }).filter((p): p is string => p !== null);
  return parts.length ? `Latest: ${parts.join('; ')}.` : 'No data yet.';
}

/** The cost model's keys as words (`lambdaCompute` -> `Lambda compute`); the running total has its own. */
export function componentName(key: string): string {
  return key === SPENT_SO_FAR ? 'Spent so far (split when the run ends)' : fmtCostComponent(key);
}

/** The run's cost split as shares, largest first: small components are invisible as bars. */
function costShares(run: RunModel): string {
  const entries = Object.entries(run.costBreakdown).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((s, [, v]) => s + v, 0) || 1;
  return entries.map(([k, v]) => `${componentName(k)} ${((v / total) * 100).toFixed(1)} %`).join(', ');
}

const X_AXES: Record<LossView['xAxis'], { title: string; format: (v: number) => string }> = {
  time: { title: 'Time (s)', format: seconds },
  samples: { title: 'Samples', format: fmtCompact },
  cost: { title: 'Cost ($)', format: dollars },
};

/** The latest time of the runs shown: time charts all end there, so a quiet chart (workers) keeps pace. */
const latestTime = (runs: RunModel[]) => runs.reduce((m, r) => Math.max(m, r.elapsed), 0);

export function createCharts(theme: Theme, view: LossView, label: RunLabel): ChartCard[] {
  return [
    new LineChartCard({
      id: 'loss-time',
      title: 'Loss',
      description: 'Line chart of test loss (solid, dots at evaluations), its best value so far (dotted), the best evaluation (large dot) and train loss (dashed), one colour per run',
      xTitle: 'Time (s)', yTitle: 'Loss', xFormat: seconds, yFormat: (v) => fmtNum(v, 3),
      xFor: (v) => X_AXES[v.xAxis],
      logScalable: true,
      xMax: (runs, v) => (v.xAxis === 'time' ? latestTime(runs) : undefined),
      lines: (run, color, v, name) => {
        const { test, train } = run.lossSeries(v.xAxis);
        const smooth = v.smoothing > 0 ? (pts: Point[]) => ema(pts, v.smoothing) : undefined;
        const best = run.best;
        const bestX = best ? (v.xAxis === 'time' ? best.t : v.xAxis === 'samples' ? best.samples : best.costUSD) : 0;
        const lines: LineDef[] = [
          { key: `${run.runId}:test`, label: `${name(run)} test`, series: test, color, markers: true, transform: smooth },
          { key: `${run.runId}:best`, label: `${name(run)} best so far`, series: test, color, dotted: true, transform: bestSoFar, stepped: true },
          { key: `${run.runId}:train`, label: `${name(run)} train`, series: train, color: withAlpha(color, 0.75), dashed: true, transform: smooth },
        ];
        const baseline = run.baselineLoss;
        if (baseline !== null) {
          // Across the run's evaluations: a model under this line beats always predicting the base rate / mean rating.
          lines.push({
            key: `${run.runId}:baseline`, label: `${name(run)} baseline (constant prediction)`, series: test, color: withAlpha(color, 0.45), dashed: true,
            transform: (pts) => (pts.length ? [{ x: pts[0].x, y: baseline }, { x: pts[pts.length - 1].x, y: baseline }] : []),
          });
        }
        if (best) {
          lines.push({
            key: `${run.runId}:best-eval`, label: `${name(run)} best evaluation`, series: test, color, pointsOnly: true, pointRadius: 5,
            transform: () => [{ x: bestX, y: best.testLoss }],
          });
        }
        return lines;
      },
      summary: (runs, name) => latest(runs, name, (r) => (r.latestTestLoss === null ? null : `test loss ${fmtNum(r.latestTestLoss)} at ${fmtNum(r.testLoss.last!.x, 3)} s${r.best ? `, best ${fmtNum(r.best.testLoss)} at ${fmtNum(r.best.t, 3)} s` : ''}`)),
    }, theme, view, label),
    new LineChartCard({
      id: 'loss-cost',
      title: 'Test loss against cost',
      description: 'Line chart of test loss against dollars spent, one line per run',
      xTitle: 'Cost ($)', yTitle: 'Test loss', xFormat: dollars, yFormat: (v) => fmtNum(v, 3), xKind: 'cost',
      lines: (run, color, _v, name) => [{ key: `${run.runId}:loss-cost`, label: name(run), series: run.lossByCost, color, markers: true }],
      summary: (runs, name) => latest(runs, name, (r) => (r.lossByCost.last ? `test loss ${fmtNum(r.lossByCost.last.y)} after ${fmtUSD(r.lossByCost.last.x)}` : null)),
    }, theme, view, label),
    new LineChartCard({
      id: 'throughput',
      title: 'Throughput',
      description: 'Line chart of training samples per second summed over workers (solid, left axis) and parameter-server updates per second (dashed, right axis) against time',
      xTitle: 'Time (s)', yTitle: 'Samples/s', y2Title: 'PS updates/s', xFormat: seconds, yFormat: fmtCompact, y2Format: fmtCompact, yBeginAtZero: true,
      xMax: latestTime,
      lines: (run, color, _v, name) => [
        { key: `${run.runId}:samples`, label: `${name(run)} samples/s`, series: run.samplesPerSecond, color },
        { key: `${run.runId}:updates`, label: `${name(run)} PS updates/s`, series: run.updatesPerSecond, color: withAlpha(color, 0.7), dashed: true, axis: 'y2' },
      ],
      summary: (runs, name) => latest(runs, name, (r) => (r.samplesPerSecond.last ? `${fmtCompact(r.samplesPerSecond.last.y)} samples/s, ${fmtCompact(r.updatesPerSecond.last?.y ?? 0)} updates/s` : null)),
    }, theme, view, label),
    new LineChartCard({
      id: 'workers',
      title: 'Workers running',
      description: 'Step chart of the number of Lambda workers running against time; with adaptive sizing also the workers the driver allows (dashed) and a dot at each re-plan',
      xTitle: 'Time (s)', yTitle: 'Workers', xFormat: seconds, yFormat: (v) => (Number.isInteger(v) ? String(v) : ''), yBeginAtZero: true,
      xMax: latestTime,
      lines: (run, color, _v, name) => [
        { key: `${run.runId}:workers`, label: name(run), series: run.workersRunning, color, stepped: true, holdUntil: run.elapsed },
        ...(run.resizes.length
          ? [
              { key: `${run.runId}:target`, label: `${name(run)} adaptive: allowed`, series: run.workersTarget, color: withAlpha(color, 0.7), stepped: true, dashed: true, holdUntil: run.elapsed },
              { key: `${run.runId}:decisions`, label: `${name(run)} re-plans`, series: run.workersTarget, color, pointsOnly: true, pointRadius: 4 },
            ]
          : []),
      ],
      // The latest decision's reason: each re-plan is also a line in the run's log and event stream.
      summary: (runs, name) => latest(runs, name, (r) => {
        const running = r.workersRunning.last ? `${r.workersRunning.last.y} workers running` : null;
        const d = r.resizes[r.resizes.length - 1];
        if (!d) return running;
        const memory = d.memoryMB !== d.previousMemoryMB ? `, ${d.memoryMB} MB` : '';
        return `${running ?? '0 workers running'}; adaptive (${r.resizes.length} re-plan${r.resizes.length === 1 ? '' : 's'}): ${d.workers} allowed${memory} at ${fmtNum(d.t, 3)} s: ${d.reason}`;
      }),
    }, theme, view, label),
    new BarChartCard({
      id: 'stages',
      title: 'Memory per stage',
      description: 'Bar chart per stage of the memory configured per worker (outlined) against the peak memory used (filled), in MB',
      xTitle: 'Stage', yTitle: 'Memory (MB)', yFormat: fmtCompact,
      labels: (runs) => STAGE_ORDER.filter((s) => runs.some((r) => r.stages.has(s))),
      bars: (run, labels, color, name) => [
        { key: `${run.runId}:configured`, label: `${name(run)} configured`, values: labels.map((s) => run.stages.get(s as StageName)?.memoryMB ?? null), color, outline: true },
        { key: `${run.runId}:peak`, label: `${name(run)} peak used`, values: labels.map((s) => run.stages.get(s as StageName)?.peakMemoryMB ?? null), color },
      ],
      summary: (runs, name) => latest(runs, name, (r) => {
        const rows = [...r.stages.values()];
        return rows.length ? rows.map((s) => `${s.stage} ${fmtNum(s.peakMemoryMB)} of ${s.memoryMB} MB`).join(', ') : null;
      }),
    }, theme, label),
    new BarChartCard({
      id: 'cost',
      title: 'Cost by component',
      description: 'Bar chart of dollars spent per component (Lambda compute, requests, S3, parameter server), one bar per run; while a run trains, its total so far',
      xTitle: 'Component', yTitle: 'Cost ($)', yFormat: dollars,
      labels: (runs) => [...new Set(runs.flatMap((r) => Object.keys(r.costBreakdown)))].map(componentName),
      bars: (run, labels, color, name) => {
        const byName = new Map(Object.entries(run.costBreakdown).map(([k, v]) => [componentName(k), v]));
        return [{ key: `${run.runId}:cost`, label: name(run), values: labels.map((c) => byName.get(c) ?? null), color }];
      },
      summary: (runs, name) => latest(runs, name, (r) => (Object.keys(r.costBreakdown).length ? `total ${fmtUSD(r.costUSD)}; ${costShares(r)}` : null)),
      note: (runs, name) => runs.filter((r) => Object.keys(r.costBreakdown).length).map((r) => `${name(r)}: ${fmtUSD(r.costUSD)} (${costShares(r)})`),
    }, theme, label),
  ];
}
