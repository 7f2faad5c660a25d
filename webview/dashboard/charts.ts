// The dashboard's chart cards: a card is a title, an HTML legend that can hide a series, and a canvas
// with an aria-label, whose datasets are rebuilt from the model on every coalesced render: one dataset
// per run (two where a run has two lines), so several runs overlay for comparison. What the six charts
// plot is in ./chart-specs.ts.
import {
  BarController, BarElement, CategoryScale, Chart, Decimation, LinearScale, LineController, LineElement,
  LogarithmicScale, PointElement, Tooltip, type ChartDataset, type ChartOptions,
} from 'chart.js';
import type { StageName } from '../../runtime/api';
import { fmtCompact, fmtNum } from '../../runtime/api';
import { seriesCsv } from './curves';
import type { Point, RunModel, Series } from './model';
import { withAlpha, type Theme } from './theme';

// Register only what is used, so the bundle stays small (no Chart.js auto-registration).
Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, LogarithmicScale, CategoryScale, Tooltip, Decimation);

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
  /** The x axis's drawn range (line charts). */
  xRange?: [number, number];
  /** The x range the user zoomed to (drag across a chart), null when not zoomed. */
  zoom?: [number, number] | null;
  /** Where the shared crosshair is drawn (x in data units), null when the pointer is on no chart of this x axis. */
  crosshair?: number | null;
  /** The tooltip as shown: its title and lines (empty when hidden). */
  tooltip?: { title: string[]; lines: string[] };
}

/**
 * The crosshair shared by the line charts: the pointer's x over one chart is drawn as a vertical line on
 * every chart with the same kind of x axis (time, samples, dollars), so a loss rise lines up with the
 * workers and throughput at that moment.
 */
class CrosshairBus {
  private readonly charts = new Set<{ xKind(): string; showCrosshair(x: number | null): void }>();
  add(c: { xKind(): string; showCrosshair(x: number | null): void }): void {
    this.charts.add(c);
  }
  move(kind: string, x: number | null): void {
    for (const c of this.charts) c.showCrosshair(x !== null && c.xKind() === kind ? x : null);
  }
}

const crosshairs = new CrosshairBus();

/** "Time (s)" -> name "Time", unit "s"; a rate ("Samples/s") is its own unit; a bare noun ("Loss") has none. */
export function axisUnit(title: string): { name: string; unit: string } {
  const m = /^(.*?)\s*\(([^)]+)\)$/.exec(title);
  if (m) return { name: m[1], unit: m[2] };
  return { name: title, unit: title.includes('/') ? title : '' };
}

/** A value with its unit, unless the formatted value already carries it ($0.0012). */
export function withUnit(formatted: string, unit: string): string {
  return !unit || formatted.includes(unit) ? formatted : `${formatted} ${unit}`;
}

interface LegendEntry {
  key: string;
  label: string;
  color: string;
  dashed: boolean;
}

/** What the user chose for the loss chart: its x axis, smoothing and y scale. */
export interface LossView {
  xAxis: 'time' | 'samples' | 'cost';
  /** EMA weight in [0, 1): 0 is off. */
  smoothing: number;
  logY: boolean;
}

/** How each run is named in legends (by the parameters that differ between the runs shown). */
export type RunLabel = (run: RunModel) => string;

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
    this.toolbar = document.createElement('div');
    this.toolbar.className = 'chart-tools';
    for (const format of ['png', 'csv'] as const) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `export export-${format}`;
      b.textContent = format.toUpperCase();
      b.title = `Save this chart as ${format === 'png' ? 'an image' : 'a CSV table'}`;
      b.setAttribute('aria-label', `Save ${title} as ${format.toUpperCase()}`);
      b.addEventListener('click', () => this.onExport(format === 'png' ? this.png() : this.csv(), format));
      this.toolbar.append(b);
    }
    caption.append(this.toolbar);
    this.element.append(caption, box);
  }

  protected readonly toolbar: HTMLElement;

  abstract render(runs: RunModel[], theme: Theme, themeChanged: boolean): void;
  abstract info(): ChartInfo;
  /** The chart's data as CSV (what is plotted, after smoothing). */
  abstract csv(): string;

  /** The canvas as a PNG data URL, painted on the theme's background (a transparent PNG is unreadable elsewhere). */
  png(): string {
    const out = document.createElement('canvas');
    out.width = this.canvas.width;
    out.height = this.canvas.height;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = getComputedStyle(document.body).backgroundColor || '#ffffff';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(this.canvas, 0, 0);
    return out.toDataURL('image/png');
  }

  /** Set by the dashboard: hands an export to the host, which asks where to save it. */
  onExport: (data: string, format: 'png' | 'csv') => void = () => {};

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
  /** Hold each value until the next point (a count that changes at events, the best so far). */
  stepped?: boolean;
  /** Dotted, thinner: a derived line (best so far) rather than a measured one. */
  dotted?: boolean;
  /** Draw small point markers (sparse series such as evaluations). */
  markers?: boolean;
  /** Extend the last value to this x (a step series holds its value until the run's latest time). */
  holdUntil?: number;
  /** Applied to the series' points before plotting (smoothing, best so far). */
  transform?: (points: Point[]) => Point[];
  /** Points only, no line (a marker such as the best evaluation). */
  pointsOnly?: boolean;
  pointRadius?: number;
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
  /** The x axis follows the user's choice (loss chart): replaces xTitle/xFormat. */
  xFor?(view: LossView): { title: string; format: (v: number) => string };
  /** The y axis may be switched to a log scale. */
  logScalable?: boolean;
  /** What the x axis measures, for the shared crosshair (default 'time'; the loss chart's follows its choice). */
  xKind?: 'time' | 'samples' | 'cost';
  /** Right end of the x axis: a time chart runs to the latest time of its runs, not to its own last point. */
  xMax?(runs: RunModel[], view: LossView): number | undefined;
  lines(run: RunModel, color: string, view: LossView, label: RunLabel): LineDef[];
  summary(runs: RunModel[], label: RunLabel): string;
}

type LineDataset = ChartDataset<'line', Point[]> & { key: string };

export class LineChartCard extends ChartCard {
  protected chart: Chart<'line', Point[], unknown>;
  // Version of the series each dataset last copied, so unchanged series are not copied again.
  private copied = new Map<string, { series: Series; version: number; length: number }>();

  private viewKey = '';
  /** The x range the user dragged across, or null (the whole run). */
  private zoom: [number, number] | null = null;
  private crosshairX: number | null = null;
  /** The drag in progress, in canvas pixels. */
  private drag: { from: number; to: number } | null = null;
  private readonly resetZoom: HTMLButtonElement;
  private theme: Theme;

  constructor(private readonly spec: LineSpec, theme: Theme, private readonly view: LossView, private readonly label: RunLabel) {
    super(spec.id, spec.title, spec.description);
    this.theme = theme;
    this.chart = new Chart(this.canvas, {
      type: 'line', data: { datasets: [] }, options: this.options(theme),
      // The crosshair and the zoom selection are drawn over the chart (draw() only: no data change).
      plugins: [{ id: 'cirrusOverlay', afterDatasetsDraw: (chart) => this.drawOverlay(chart as Chart<'line', Point[], unknown>) }],
    });
    this.resetZoom = document.createElement('button');
    this.resetZoom.type = 'button';
    this.resetZoom.className = 'export reset-zoom';
    this.resetZoom.textContent = 'Reset zoom';
    this.resetZoom.title = 'Show the whole run again (or double-click the chart)';
    this.resetZoom.hidden = true;
    this.resetZoom.addEventListener('click', () => this.setZoom(null));
    this.toolbar.prepend(this.resetZoom);
    crosshairs.add(this);
    this.listenPointer();
  }

  /** The kind of x axis, which the crosshair is shared across. */
  xKind(): string {
    return this.spec.xFor ? this.view.xAxis : this.spec.xKind ?? 'time';
  }

  showCrosshair(x: number | null): void {
    if (x === this.crosshairX) return;
    this.crosshairX = x;
    this.chart.draw();
  }

  private setZoom(range: [number, number] | null): void {
    this.zoom = range;
    this.resetZoom.hidden = !range;
    this.applyXRange();
    this.chart.update('none');
  }

  /** Pointer: moving shares the crosshair; a drag across the plot zooms the x axis to it; a double-click resets. */
  private listenPointer(): void {
    const xOf = (ev: MouseEvent) => {
      const rect = this.canvas.getBoundingClientRect();
      return ev.clientX - rect.left;
    };
    const inPlot = (px: number) => px >= this.chart.chartArea.left && px <= this.chart.chartArea.right;
    this.canvas.addEventListener('mousemove', (ev) => {
      const px = xOf(ev);
      if (this.drag) {
        this.drag.to = Math.min(Math.max(px, this.chart.chartArea.left), this.chart.chartArea.right);
        this.chart.draw();
      }
      crosshairs.move(this.xKind(), inPlot(px) ? this.chart.scales.x.getValueForPixel(px) ?? null : null);
    });
    this.canvas.addEventListener('mouseleave', () => {
      crosshairs.move(this.xKind(), null);
      if (this.drag) {
        this.drag = null;
        this.chart.draw();
      }
    });
    this.canvas.addEventListener('mousedown', (ev) => {
      const px = xOf(ev);
      if (ev.button === 0 && inPlot(px)) this.drag = { from: px, to: px };
    });
    this.canvas.addEventListener('mouseup', () => {
      const d = this.drag;
      this.drag = null;
      if (!d || Math.abs(d.to - d.from) < 6) return void this.chart.draw(); // a click, not a drag
      const a = this.chart.scales.x.getValueForPixel(Math.min(d.from, d.to))!;
      const b = this.chart.scales.x.getValueForPixel(Math.max(d.from, d.to))!;
      this.setZoom([a, b]);
    });
    this.canvas.addEventListener('dblclick', () => this.setZoom(null));
  }

  private drawOverlay(chart: Chart<'line', Point[], unknown>): void {
    const { ctx, chartArea } = chart;
    ctx.save();
    if (this.crosshairX !== null) {
      const px = chart.scales.x.getPixelForValue(this.crosshairX);
      if (px >= chartArea.left && px <= chartArea.right) {
        ctx.strokeStyle = this.theme.muted;
        ctx.lineWidth = 1;
        ctx.setLineDash([3, 3]);
        ctx.beginPath();
        ctx.moveTo(Math.round(px) + 0.5, chartArea.top);
        ctx.lineTo(Math.round(px) + 0.5, chartArea.bottom);
        ctx.stroke();
      }
    }
    if (this.drag && Math.abs(this.drag.to - this.drag.from) >= 2) {
      ctx.fillStyle = withAlpha(this.theme.series[0], 0.15);
      ctx.fillRect(Math.min(this.drag.from, this.drag.to), chartArea.top, Math.abs(this.drag.to - this.drag.from), chartArea.bottom - chartArea.top);
    }
    ctx.restore();
  }

  /** The x axis's ends: the zoom if any, else 0 .. the spec's right end (the run's latest time). */
  private xMaxValue: number | undefined;
  private applyXRange(): void {
    const xScale = (this.chart.config.options?.scales as Record<string, { min?: number; max?: number }> | undefined)?.x;
    if (!xScale) return;
    xScale.min = this.zoom ? this.zoom[0] : undefined;
    xScale.max = this.zoom ? this.zoom[1] : this.xMaxValue !== undefined && this.xMaxValue > 0 ? this.xMaxValue : undefined;
  }

  private options(theme: Theme): ChartOptions<'line'> {
    const s = { ...this.spec };
    if (s.xFor) {
      const x = s.xFor(this.view);
      s.xTitle = x.title;
      s.xFormat = x.format;
    }
    const logY = !!s.logScalable && this.view.logY;
    const grid = { color: theme.grid, tickColor: theme.grid };
    const border = { color: theme.grid };
    const scales: Record<string, unknown> = {
      x: { type: 'linear', title: axisTitle(s.xTitle, theme), ticks: ticks(theme, s.xFormat), grid, border },
      y: {
        type: logY ? 'logarithmic' : 'linear', position: 'left', beginAtZero: !logY && (s.yBeginAtZero ?? false),
        title: axisTitle(logY ? `${s.yTitle} (log scale)` : s.yTitle, theme), ticks: ticks(theme, s.yFormat), grid, border,
      },
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
        tooltip: {
          ...tooltip(theme),
          // Hover with units: "Time: 12.0 s", "ctr test: 0.512", "ctr samples/s: 12.3k Samples/s".
          callbacks: {
            title: (items) => {
              const x = items[0]?.parsed.x;
              if (x === undefined || x === null) return '';
              const { name, unit } = axisUnit(s.xTitle);
              return `${name}: ${withUnit((s.xFormat ?? fmtCompact)(x), unit)}`;
            },
            label: (item) => {
              const onY2 = (item.dataset as LineDataset).yAxisID === 'y2';
              const { unit } = axisUnit((onY2 ? s.y2Title : s.yTitle) ?? '');
              const format = (onY2 ? s.y2Format : s.yFormat) ?? ((v: number) => fmtNum(v));
              return `${item.dataset.label}: ${withUnit(format(item.parsed.y ?? NaN), unit)}`;
            },
          },
        },
      },
      color: theme.foreground,
      font: { family: theme.fontFamily, size: theme.fontSize },
    };
  }

  render(runs: RunModel[], theme: Theme, themeChanged: boolean): void {
    // What the user chose changes the axes and every transformed series: rebuild both.
    const viewKey = JSON.stringify(this.view);
    const viewChanged = viewKey !== this.viewKey;
    this.viewKey = viewKey;
    this.theme = theme;
    if (themeChanged || viewChanged) this.chart.options = this.options(theme);
    if (viewChanged) {
      this.copied.clear();
      // Another x axis: the zoom (in the old axis's units) no longer applies.
      if (this.zoom) {
        this.zoom = null;
        this.resetZoom.hidden = true;
      }
    }
    // The config's options, not chart.options (the resolved copy of the last update, rebuilt by update()).
    this.xMaxValue = this.spec.xMax?.(runs, this.view);
    this.applyXRange();
    const old = new Map((this.chart.data.datasets as LineDataset[]).map((d) => [d.key, d]));
    const datasets: LineDataset[] = [];
    const legend: LegendEntry[] = [];
    runs.forEach((run, i) => {
      for (const line of this.spec.lines(run, runColor(theme, i), this.view, this.label)) {
        const ds: LineDataset = old.get(line.key) ?? ({ key: line.key, data: [] } as unknown as LineDataset);
        ds.label = line.label;
        ds.borderColor = line.color;
        ds.backgroundColor = line.color;
        ds.borderDash = line.dotted ? [1.5, 3] : line.dashed ? [5, 4] : [];
        ds.borderWidth = line.dashed || line.dotted ? 1.25 : 1.75;
        ds.yAxisID = line.axis ?? 'y';
        // Chart.js's 'before' holds each value until the next point (a count that changes at events).
        ds.stepped = line.stepped ? 'before' : false;
        ds.pointRadius = line.pointRadius ?? (line.markers ? 2 : 0);
        ds.showLine = !line.pointsOnly;
        ds.hidden = this.hidden.has(line.key);
        // Re-assign (never push): with decimation active, dataset.data reads back the decimated copy.
        const last = line.series.last;
        const hold = line.holdUntil !== undefined && last && line.holdUntil > last.x;
        const seen = this.copied.get(line.key);
        const length = line.series.points.length + (hold ? 1 : 0);
        if (!seen || seen.series !== line.series || seen.version !== line.series.version || seen.length !== length || !old.has(line.key)) {
          const data = line.transform ? line.transform(line.series.points) : line.series.points.slice();
          if (hold && last) data.push({ x: line.holdUntil!, y: last.y });
          ds.data = data;
          this.copied.set(line.key, { series: line.series, version: line.series.version, length });
        }
        datasets.push(ds);
        legend.push({ key: line.key, label: line.label, color: line.color, dashed: !!line.dashed || !!line.dotted });
      }
    });
    this.chart.data.datasets = datasets;
    // 'none' skips animation but keeps Chart.js's shared point/bar options as they were, so a theme
    // change needs a full update to recolour markers and bars (animation is off anyway).
    this.chart.update(themeChanged || viewChanged ? undefined : 'none');
    this.renderLegend(legend);
    this.setSummary(this.spec.summary(runs, this.label));
  }

  csv(): string {
    const datasets = this.chart.data.datasets as LineDataset[];
    const x = axisTitles(this.chart);
    return seriesCsv(x.xTitle, x.yTitle, datasets.map((d) => ({ label: String(d.label), points: (d as unknown as { _data?: Point[] })._data ?? d.data })));
  }

  info(): ChartInfo {
    const datasets = this.chart.data.datasets as LineDataset[];
    return {
      id: this.id, type: 'line', ...axisTitles(this.chart),
      legend: datasets.map((d) => String(d.label)),
      // With decimation active, dataset.data reads the decimated copy and _data holds ours.
      points: datasets.reduce((n, d) => n + ((d as unknown as { _data?: Point[] })._data ?? d.data).length, 0),
      drawn: datasets.reduce((n, d) => n + d.data.length, 0),
      ...(this.chart.scales.x ? { xRange: [this.chart.scales.x.min, this.chart.scales.x.max] as [number, number] } : {}),
      zoom: this.zoom,
      crosshair: this.crosshairX,
      tooltip: {
        title: (this.chart.tooltip?.title ?? []).map(String),
        lines: (this.chart.tooltip?.body ?? []).flatMap((b) => b.lines),
      },
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
  bars(run: RunModel, labels: string[], color: string, label: RunLabel): BarDef[];
  summary(runs: RunModel[], label: RunLabel): string;
  /** Lines of text under the chart (numbers too small to read off the bars). */
  note?(runs: RunModel[], label: RunLabel): string[];
}

type BarDataset = ChartDataset<'bar', Array<number | null>> & { key: string };

export class BarChartCard extends ChartCard {
  protected chart: Chart<'bar', Array<number | null>, string>;

  constructor(private readonly spec: BarSpec, theme: Theme, private readonly label: RunLabel) {
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
      for (const bar of this.spec.bars(run, labels, runColor(theme, i), this.label)) {
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
      this.noteList.replaceChildren(...this.spec.note(runs, this.label).map((line) => Object.assign(document.createElement('li'), { textContent: line })));
    }
    this.chart.data.labels = labels;
    this.chart.data.datasets = datasets;
    // 'none' skips animation but keeps Chart.js's shared point/bar options as they were, so a theme
    // change needs a full update to recolour markers and bars (animation is off anyway).
    this.chart.update(themeChanged ? undefined : 'none');
    this.renderLegend(legend);
    this.setSummary(this.spec.summary(runs, this.label));
  }

  csv(): string {
    const labels = (this.chart.data.labels ?? []) as string[];
    const x = axisTitles(this.chart);
    const rows = [['series', x.xTitle, x.yTitle].join(',')];
    for (const d of this.chart.data.datasets) d.data.forEach((v, i) => { if (v !== null) rows.push([d.label, labels[i], v].map((c) => (/[",\n]/.test(String(c)) ? `"${String(c).replace(/"/g, '""')}"` : String(c))).join(',')); });
    return rows.join('\n') + '\n';
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

export type { ChartCard };
