// The dashboard's charts. Each chart is a card (title, an HTML legend that can hide a series, a canvas
// with an aria-label) whose datasets are rebuilt from the model on every coalesced render: one dataset
// per run (two where a run has two lines), so several runs overlay for comparison.
import {
  BarController, BarElement, CategoryScale, Chart, Decimation, LinearScale, LineController, LineElement,
  PointElement, Tooltip, type ChartDataset, type ChartOptions,
} from 'chart.js';
import type { StageName } from '../../runtime/api';
import { fmtCompact, fmtNum, fmtUSD } from '../../runtime/api';
import type { Point, RunModel, Series } from './model';
import { withAlpha, type Theme } from './theme';

// Register only what is used, so the bundle stays small (no Chart.js auto-registration).
Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, CategoryScale, Tooltip, Decimation);

export const STAGE_ORDER: StageName[] = ['load', 'preprocess', 'train', 'tune', 'evaluate', 'crossfit', 'aggregate'];

/** What the tests (and nothing else) read back through window.__cirrusDashboard. */
export interface ChartInfo {
  id: string;
  type: 'line' | 'bar';
  xTitle: string;
  yTitle: string;
  y2Title?: string;
  legend: string[];
  /** Points held (every point of every dataset). */
  points: number;
  /** Points drawn: fewer than held once decimation thins a long series. */
  drawn: number;
}

interface LegendEntry {
  key: string;
  label: string;
  color: string;
  dashed: boolean;
}

export function runColor(theme: Theme, index: number): string {
  return theme.series[index % theme.series.length];
}

abstract class ChartCard {
  readonly element: HTMLElement;
  protected readonly canvas: HTMLCanvasElement;
  private readonly legendList: HTMLUListElement;
  /** Series the user hid from the legend, by key, kept across rebuilds. */
  protected readonly hidden = new Set<string>();
  protected abstract chart: Chart<'line' | 'bar', unknown[], unknown>;

  constructor(readonly id: string, readonly title: string, protected readonly description: string) {
    this.element = document.createElement('figure');
    this.element.className = 'card';
    this.element.id = `chart-${id}`;
    const caption = document.createElement('figcaption');
    const h2 = document.createElement('h2');
    h2.textContent = title;
    this.legendList = document.createElement('ul');
    this.legendList.className = 'legend';
    this.legendList.setAttribute('aria-label', `${title}: series`);
    caption.append(h2, this.legendList);
    const box = document.createElement('div');
    box.className = 'chart-box';
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `${title}: ${description}`);
    // Fallback text for assistive technology that reads canvas content.
    const fallback = document.createElement('p');
    fallback.textContent = description;
    this.canvas.append(fallback);
    box.append(this.canvas);
    this.element.append(caption, box);
  }

  abstract render(runs: RunModel[], theme: Theme, themeChanged: boolean): void;
  abstract info(): ChartInfo;

  /** Rewrites the HTML legend only when its entries change (it is rebuilt from scratch on every render). */
  private legendKey = '';
  protected renderLegend(entries: LegendEntry[]): void {
    const key = JSON.stringify(entries.map((e) => [e.key, e.label, e.color, e.dashed, this.hidden.has(e.key)]));
    if (key === this.legendKey) return;
    this.legendKey = key;
    this.legendList.replaceChildren(
      ...entries.map((e) => {
        const li = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'legend-item';
        button.setAttribute('aria-pressed', String(!this.hidden.has(e.key)));
        button.title = `Show or hide ${e.label}`;
        const swatch = document.createElement('span');
        swatch.className = e.dashed ? 'swatch dashed' : 'swatch';
        // CSSOM writes are allowed by the CSP (only style attributes in markup are not).
        swatch.style.borderColor = e.color;
        if (!e.dashed) swatch.style.backgroundColor = e.color;
        const text = document.createElement('span');
        text.textContent = e.label;
        button.append(swatch, text);
        button.addEventListener('click', () => {
          if (this.hidden.has(e.key)) this.hidden.delete(e.key);
          else this.hidden.add(e.key);
          this.legendKey = '';
          this.onLegendToggle();
        });
        li.append(button);
        return li;
      }),
    );
  }

  /** Set by the dashboard: re-render after a legend click. */
  onLegendToggle: () => void = () => {};

  setSummary(text: string): void {
    this.canvas.setAttribute('aria-label', `${this.title}: ${this.description}. ${text}`);
  }

  destroy(): void {
    this.chart.destroy();
  }
}

/** The axis titles as the chart will draw them (read back from its resolved options). */
function axisTitles(chart: Chart<'line' | 'bar', unknown[], unknown>): Pick<ChartInfo, 'xTitle' | 'yTitle' | 'y2Title'> {
  const scales = chart.options.scales as Record<string, { title?: { display?: boolean; text?: string | string[] } } | undefined>;
  const title = (id: string) => (scales[id]?.title?.display ? String(scales[id]?.title?.text ?? '') : '');
  return { xTitle: title('x'), yTitle: title('y'), ...(scales.y2 ? { y2Title: title('y2') } : {}) };
}

function axisTitle(text: string, theme: Theme) {
  return { display: true, text, color: theme.foreground, font: { family: theme.fontFamily, size: theme.fontSize } };
}

function ticks(theme: Theme, format?: (v: number) => string) {
  return {
    color: theme.muted,
    font: { family: theme.fontFamily, size: Math.max(10, theme.fontSize - 2) },
    maxTicksLimit: 8,
    ...(format ? { callback: (v: number | string) => format(Number(v)) } : {}),
  };
}

function tooltip(theme: Theme) {
  return {
    backgroundColor: theme.background,
    titleColor: theme.foreground,
    bodyColor: theme.foreground,
    borderColor: theme.grid,
    borderWidth: 1,
    titleFont: { family: theme.fontFamily },
    bodyFont: { family: theme.fontFamily },
  };
}

// ---------------------------------------------------------------------------------------------
// Line charts: series against time (or dollars), parsing off, pre-shaped {x, y}, decimated.

export interface LineDef {
  key: string;
  label: string;
  series: Series;
  color: string;
  dashed?: boolean;
  axis?: 'y' | 'y2';
  stepped?: boolean;
  /** Draw small point markers (sparse series such as evaluations). */
  markers?: boolean;
  /** Extend the last value to this x (a step series holds its value until the run's latest time). */
  holdUntil?: number;
}

export interface LineSpec {
  id: string;
  title: string;
  description: string;
  xTitle: string;
  yTitle: string;
  y2Title?: string;
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  y2Format?: (v: number) => string;
  yBeginAtZero?: boolean;
  lines(run: RunModel, color: string): LineDef[];
  summary(runs: RunModel[]): string;
}

type LineDataset = ChartDataset<'line', Point[]> & { key: string };

export class LineChartCard extends ChartCard {
  protected chart: Chart<'line', Point[], unknown>;
  // Version of the series each dataset last copied, so unchanged series are not copied again.
  private copied = new Map<string, { series: Series; version: number; length: number }>();

  constructor(private readonly spec: LineSpec, theme: Theme) {
    super(spec.id, spec.title, spec.description);
    this.chart = new Chart(this.canvas, { type: 'line', data: { datasets: [] }, options: this.options(theme) });
  }

  private options(theme: Theme): ChartOptions<'line'> {
    const s = this.spec;
    const grid = { color: theme.grid, tickColor: theme.grid };
    const border = { color: theme.grid };
    const scales: Record<string, unknown> = {
      x: { type: 'linear', title: axisTitle(s.xTitle, theme), ticks: ticks(theme, s.xFormat), grid, border },
      y: { type: 'linear', position: 'left', beginAtZero: s.yBeginAtZero ?? false, title: axisTitle(s.yTitle, theme), ticks: ticks(theme, s.yFormat), grid, border },
    };
    if (s.y2Title) {
      scales.y2 = {
        type: 'linear', position: 'right', beginAtZero: true, title: axisTitle(s.y2Title, theme), ticks: ticks(theme, s.y2Format),
        grid: { ...grid, drawOnChartArea: false }, border,
      };
    }
    return {
      animation: false,
      parsing: false,
      normalized: true,
      responsive: true,
      maintainAspectRatio: false,
      spanGaps: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { point: { radius: 0, hitRadius: 4 }, line: { borderWidth: 1.5, tension: 0 } },
      // Chart.js's deep scale types reject partial literals; the shapes match its documented options.
      scales: scales as ChartOptions<'line'>['scales'],
      plugins: {
        // min-max keeps the spikes of a noisy loss; it needs a linear x axis and parsing off.
        decimation: { enabled: true, algorithm: 'min-max' },
        tooltip: tooltip(theme),
      },
      color: theme.foreground,
      font: { family: theme.fontFamily, size: theme.fontSize },
    };
  }

  render(runs: RunModel[], theme: Theme, themeChanged: boolean): void {
    if (themeChanged) this.chart.options = this.options(theme);
    const old = new Map((this.chart.data.datasets as LineDataset[]).map((d) => [d.key, d]));
    const datasets: LineDataset[] = [];
    const legend: LegendEntry[] = [];
    runs.forEach((run, i) => {
      for (const line of this.spec.lines(run, runColor(theme, i))) {
        const ds: LineDataset = old.get(line.key) ?? ({ key: line.key, data: [] } as unknown as LineDataset);
        ds.label = line.label;
        ds.borderColor = line.color;
        ds.backgroundColor = line.color;
        ds.borderDash = line.dashed ? [5, 4] : [];
        ds.borderWidth = line.dashed ? 1.25 : 1.75;
        ds.yAxisID = line.axis ?? 'y';
        // Chart.js's 'before' holds each value until the next point (a count that changes at events).
        ds.stepped = line.stepped ? 'before' : false;
        ds.pointRadius = line.markers ? 2 : 0;
        ds.hidden = this.hidden.has(line.key);
        // Re-assign (never push): with decimation active, dataset.data reads back the decimated copy.
        const last = line.series.last;
        const hold = line.holdUntil !== undefined && last && line.holdUntil > last.x;
        const seen = this.copied.get(line.key);
        const length = line.series.points.length + (hold ? 1 : 0);
        if (!seen || seen.series !== line.series || seen.version !== line.series.version || seen.length !== length || !old.has(line.key)) {
          const data = line.series.points.slice();
          if (hold && last) data.push({ x: line.holdUntil!, y: last.y });
          ds.data = data;
          this.copied.set(line.key, { series: line.series, version: line.series.version, length });
        }
        datasets.push(ds);
        legend.push({ key: line.key, label: line.label, color: line.color, dashed: !!line.dashed });
      }
    });
    this.chart.data.datasets = datasets;
    // 'none' skips animation but keeps Chart.js's shared point/bar options as they were, so a theme
    // change needs a full update to recolour markers and bars (animation is off anyway).
    this.chart.update(themeChanged ? undefined : 'none');
    this.renderLegend(legend);
    this.setSummary(this.spec.summary(runs));
  }

  info(): ChartInfo {
    const datasets = this.chart.data.datasets as LineDataset[];
    return {
      id: this.id, type: 'line', ...axisTitles(this.chart),
      legend: datasets.map((d) => String(d.label)),
      // With decimation active, dataset.data reads the decimated copy and _data holds ours.
      points: datasets.reduce((n, d) => n + ((d as unknown as { _data?: Point[] })._data ?? d.data).length, 0),
      drawn: datasets.reduce((n, d) => n + d.data.length, 0),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Bar charts: few categories (stages, cost components), so ordinary parsing of number arrays.

export interface BarDef {
  key: string;
  label: string;
  values: Array<number | null>;
  color: string;
  /** Outlined, not filled: a reference (memory configured) behind a measured value. */
  outline?: boolean;
}

export interface BarSpec {
  id: string;
  title: string;
  description: string;
  xTitle: string;
  yTitle: string;
  yFormat?: (v: number) => string;
  labels(runs: RunModel[]): string[];
  bars(run: RunModel, labels: string[], color: string): BarDef[];
  summary(runs: RunModel[]): string;
  /** Lines of text under the chart (numbers too small to read off the bars). */
  note?(runs: RunModel[]): string[];
}

type BarDataset = ChartDataset<'bar', Array<number | null>> & { key: string };

export class BarChartCard extends ChartCard {
  protected chart: Chart<'bar', Array<number | null>, string>;

  constructor(private readonly spec: BarSpec, theme: Theme) {
    super(spec.id, spec.title, spec.description);
    this.chart = new Chart(this.canvas, { type: 'bar', data: { labels: [], datasets: [] }, options: this.options(theme) });
    if (spec.note) {
      this.noteList = document.createElement('ul');
      this.noteList.className = 'chart-note';
      this.element.append(this.noteList);
    }
  }

  private noteList?: HTMLUListElement;

  private options(theme: Theme): ChartOptions<'bar'> {
    const s = this.spec;
    const grid = { color: theme.grid, tickColor: theme.grid };
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      // Chart.js's deep scale types reject partial literals; the shapes match its documented options.
      scales: {
        x: { type: 'category', title: axisTitle(s.xTitle, theme), ticks: ticks(theme), grid: { ...grid, display: false }, border: { color: theme.grid } },
        y: { type: 'linear', beginAtZero: true, title: axisTitle(s.yTitle, theme), ticks: ticks(theme, s.yFormat), grid, border: { color: theme.grid } },
      } as Record<string, unknown> as ChartOptions<'bar'>['scales'],
      plugins: { tooltip: tooltip(theme) },
      color: theme.foreground,
      font: { family: theme.fontFamily, size: theme.fontSize },
    };
  }

  render(runs: RunModel[], theme: Theme, themeChanged: boolean): void {
    if (themeChanged) this.chart.options = this.options(theme);
    const labels = this.spec.labels(runs);
    const datasets: BarDataset[] = [];
    const legend: LegendEntry[] = [];
    runs.forEach((run, i) => {
      for (const bar of this.spec.bars(run, labels, runColor(theme, i))) {
        datasets.push({
          key: bar.key,
          label: bar.label,
          data: bar.values,
          borderColor: bar.color,
          backgroundColor: bar.outline ? withAlpha(bar.color, 0.15) : withAlpha(bar.color, 0.8),
          borderWidth: bar.outline ? 1.5 : 0,
          borderDash: [],
          hidden: this.hidden.has(bar.key),
          maxBarThickness: 48,
        } as BarDataset);
        legend.push({ key: bar.key, label: bar.label, color: bar.color, dashed: !!bar.outline });
      }
    });
    if (this.noteList && this.spec.note) {
      this.noteList.replaceChildren(...this.spec.note(runs).map((line) => Object.assign(document.createElement('li'), { textContent: line })));
    }
    this.chart.data.labels = labels;
    this.chart.data.datasets = datasets;
    // 'none' skips animation but keeps Chart.js's shared point/bar options as they were, so a theme
    // change needs a full update to recolour markers and bars (animation is off anyway).
    this.chart.update(themeChanged ? undefined : 'none');
    this.renderLegend(legend);
    this.setSummary(this.spec.summary(runs));
  }

  info(): ChartInfo {
    return {
      id: this.id, type: 'bar', ...axisTitles(this.chart),
      legend: this.chart.data.datasets.map((d) => String(d.label)),
      points: this.chart.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0),
      drawn: this.chart.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The six charts of the dashboard.

const seconds = (v: number) => fmtCompact(v);
const dollars = (v: number) => fmtUSD(v);

function latest(runs: RunModel[], pick: (r: RunModel) => string | null): string {
  const parts = runs.map((r) => {
    const v = pick(r);
    return v === null ? null : `${r.name}: ${v}`;
  }).filter((p): p is string => p !== null);
  return parts.length ? `Latest: ${parts.join('; ')}.` : 'No data yet.';
}

const ACRONYMS = new Set(['s3', 'ec2', 'ps', 'gb', 'api']);

/** `lambdaCompute` -> `Lambda compute`, `s3Requests` -> `S3 requests`: the cost model's keys as words. */
export function componentName(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[\s_-]+/).filter(Boolean).map((w) => w.toLowerCase());
  const text = words.map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w)).join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The run's cost split as shares, largest first: small components are invisible as bars. */
function costShares(run: RunModel): string {
  const entries = Object.entries(run.costByComponent).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((s, [, v]) => s + v, 0) || 1;
  return entries.map(([k, v]) => `${componentName(k)} ${((v / total) * 100).toFixed(1)} %`).join(', ');
}

export function createCharts(theme: Theme): ChartCard[] {
  return [
    new LineChartCard({
      id: 'loss-time',
      title: 'Loss over time',
      description: 'Line chart of test loss (solid) and train loss (dashed) against time in seconds, one colour per run',
      xTitle: 'Time (s)', yTitle: 'Loss', xFormat: seconds, yFormat: (v) => fmtNum(v, 3),
      lines: (run, color) => [
        { key: `${run.runId}:test`, label: `${run.name} test`, series: run.testLoss, color, markers: true },
        { key: `${run.runId}:train`, label: `${run.name} train`, series: run.trainLoss, color: withAlpha(color, 0.75), dashed: true },
      ],
      summary: (runs) => latest(runs, (r) => (r.latestTestLoss === null ? null : `test loss ${fmtNum(r.latestTestLoss)} at ${fmtNum(r.testLoss.last!.x, 3)} s`)),
    }, theme),
    new LineChartCard({
      id: 'loss-cost',
      title: 'Test loss against cost',
      description: 'Line chart of test loss against dollars spent, one line per run',
      xTitle: 'Cost ($)', yTitle: 'Test loss', xFormat: dollars, yFormat: (v) => fmtNum(v, 3),
      lines: (run, color) => [{ key: `${run.runId}:loss-cost`, label: run.name, series: run.lossByCost, color, markers: true }],
      summary: (runs) => latest(runs, (r) => (r.lossByCost.last ? `test loss ${fmtNum(r.lossByCost.last.y)} after ${fmtUSD(r.lossByCost.last.x)}` : null)),
    }, theme),
    new LineChartCard({
      id: 'throughput',
      title: 'Throughput',
      description: 'Line chart of training samples per second summed over workers (solid, left axis) and parameter-server updates per second (dashed, right axis) against time',
      xTitle: 'Time (s)', yTitle: 'Samples/s', y2Title: 'PS updates/s', xFormat: seconds, yFormat: fmtCompact, y2Format: fmtCompact, yBeginAtZero: true,
      lines: (run, color) => [
        { key: `${run.runId}:samples`, label: `${run.name} samples/s`, series: run.samplesPerSecond, color },
        { key: `${run.runId}:updates`, label: `${run.name} PS updates/s`, series: run.updatesPerSecond, color: withAlpha(color, 0.7), dashed: true, axis: 'y2' },
      ],
      summary: (runs) => latest(runs, (r) => (r.samplesPerSecond.last ? `${fmtCompact(r.samplesPerSecond.last.y)} samples/s, ${fmtCompact(r.updatesPerSecond.last?.y ?? 0)} updates/s` : null)),
    }, theme),
    new LineChartCard({
      id: 'workers',
      title: 'Workers running',
      description: 'Step chart of the number of Lambda workers running against time',
      xTitle: 'Time (s)', yTitle: 'Workers', xFormat: seconds, yFormat: (v) => (Number.isInteger(v) ? String(v) : ''), yBeginAtZero: true,
      lines: (run, color) => [{ key: `${run.runId}:workers`, label: run.name, series: run.workersRunning, color, stepped: true, holdUntil: run.elapsed }],
      summary: (runs) => latest(runs, (r) => (r.workersRunning.last ? `${r.workersRunning.last.y} workers running` : null)),
    }, theme),
    new BarChartCard({
      id: 'stages',
      title: 'Memory per stage',
      description: 'Bar chart per stage of the memory configured per worker (outlined) against the peak memory used (filled), in MB',
      xTitle: 'Stage', yTitle: 'Memory (MB)', yFormat: fmtCompact,
      labels: (runs) => STAGE_ORDER.filter((s) => runs.some((r) => r.stages.has(s))),
      bars: (run, labels, color) => [
        { key: `${run.runId}:configured`, label: `${run.name} configured`, values: labels.map((s) => run.stages.get(s as StageName)?.memoryMB ?? null), color, outline: true },
        { key: `${run.runId}:peak`, label: `${run.name} peak used`, values: labels.map((s) => run.stages.get(s as StageName)?.peakMemoryMB ?? null), color },
      ],
      summary: (runs) => latest(runs, (r) => {
        const rows = [...r.stages.values()];
        return rows.length ? rows.map((s) => `${s.stage} ${fmtNum(s.peakMemoryMB)} of ${s.memoryMB} MB`).join(', ') : null;
      }),
    }, theme),
    new BarChartCard({
      id: 'cost',
      title: 'Cost by component',
      description: 'Bar chart of dollars spent per component (Lambda compute, requests, S3, parameter server), one bar per run',
      xTitle: 'Component', yTitle: 'Cost ($)', yFormat: dollars,
      labels: (runs) => [...new Set(runs.flatMap((r) => Object.keys(r.costByComponent)))].map(componentName),
      bars: (run, labels, color) => {
        const byName = new Map(Object.entries(run.costByComponent).map(([k, v]) => [componentName(k), v]));
        return [{ key: `${run.runId}:cost`, label: run.name, values: labels.map((c) => byName.get(c) ?? null), color }];
      },
      summary: (runs) => latest(runs, (r) => (Object.keys(r.costByComponent).length ? `total ${fmtUSD(r.costUSD)}; ${costShares(r)}` : null)),
      note: (runs) => runs.filter((r) => Object.keys(r.costByComponent).length).map((r) => `${r.name}: ${fmtUSD(r.costUSD)} (${costShares(r)})`),
    }, theme),
  ];
}

export type { ChartCard };
