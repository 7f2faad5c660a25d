// Parallel coordinates: one vertical axis per swept parameter and a last one for the metric, one line
// per trial through its values. Lines are coloured from good (low loss) to bad, the best trial drawn
// last and thick in the focus colour. A numeric axis spanning more than 20x of positive values is
// logarithmic (learning rates); any other value type gets evenly spaced categories.
//
// Brushing: dragging along an axis selects a range on it (several axes: a trial must lie in every
// range); trials outside are dimmed and the view filters its trial table to the ones inside. A click on
// an axis (no drag) clears its range. Ranges are kept in values, not pixels, so a live sweep whose axes
// grow keeps selecting the same trials.
import { fmtCompact, fmtNum } from '../../runtime/api';
import type { SweepTrialRow } from '../../runtime/api';
import type { Theme } from '../dashboard/theme';

export interface Axis {
  key: string;
  title: string;
  kind: 'linear' | 'log' | 'category';
  min: number;
  max: number;
  categories?: string[];
}

type Value = number | string | boolean | null | undefined;

export function makeAxis(key: string, title: string, values: Value[]): Axis {
  const present = values.filter((v): v is number | string | boolean => v !== null && v !== undefined);
  if (present.length > 0 && present.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    const nums = present as number[];
    let min = Infinity;
    let max = -Infinity;
    for (const v of nums) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const kind = min > 0 && max / min > 20 ? 'log' : 'linear';
    return { key, title, kind, min, max };
  }
  const categories = [...new Set(present.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { key, title, kind: 'category', min: 0, max: Math.max(0, categories.length - 1), categories };
}

/** Position of a value on its axis, 0 (bottom) to 1 (top); null when the trial has no value there. */
export function axisPosition(axis: Axis, v: Value): number | null {
  if (v === null || v === undefined) return null;
  if (axis.kind === 'category') {
    const i = axis.categories!.indexOf(String(v));
    if (i < 0) return null;
    return axis.categories!.length === 1 ? 0.5 : i / (axis.categories!.length - 1);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  if (axis.max === axis.min) return 0.5;
  if (axis.kind === 'log') return (Math.log(v) - Math.log(axis.min)) / (Math.log(axis.max) - Math.log(axis.min));
  return (v - axis.min) / (axis.max - axis.min);
}

/** What the parameter (or metric) position p, 0 to 1, stands for on the axis (the inverse of axisPosition). */
export function axisValue(axis: Axis, p: number): number {
  const pos = Math.min(1, Math.max(0, p));
  if (axis.kind === 'log') return Math.exp(Math.log(axis.min) + pos * (Math.log(axis.max) - Math.log(axis.min)));
  return axis.min + pos * (axis.max - axis.min);
}

/** A range selected on one axis: numbers from lo to hi, or (a category axis) the categories covered. */
export type Brush = { key: string; lo: number; hi: number } | { key: string; categories: string[] };

/** The brush a drag from position p0 to p1 (0 to 1, either order) draws on the axis. */
export function brushBetween(axis: Axis, p0: number, p1: number): Brush {
  const [a, b] = p0 < p1 ? [p0, p1] : [p1, p0];
  if (axis.kind === 'category') return { key: axis.key, categories: axis.categories!.filter((c) => {
    const pos = axisPosition(axis, c)!;
    return pos >= a && pos <= b;
  }) };
  return { key: axis.key, lo: axisValue(axis, a), hi: axisValue(axis, b) };
}

/** Whether a trial's value on the brushed axis lies in the brush (no value: outside). */
export function inBrush(brush: Brush, v: Value): boolean {
  if (v === null || v === undefined) return false;
  if ('categories' in brush) return brush.categories.includes(String(v));
  return typeof v === 'number' && v >= brush.lo && v <= brush.hi;
}

const metricOf = (t: SweepTrialRow) => t.bestLoss;
const valueOn = (key: string, t: SweepTrialRow): Value => (key === 'metric' ? metricOf(t) : t.params[key]);

export interface ParcoordsInfo {
  axes: Array<{ key: string; kind: Axis['kind'] }>;
  /** Trials drawn (those with a metric), and the index of the one highlighted. */
  lines: number;
  highlighted: number | null;
  /** Time the last draw took (ms). */
  drawMs: number;
  /** The ranges selected by brushing, and how many trials lie in all of them (every trial when none). */
  brushes: Brush[];
  selected: number;
  /** Where the axes are on the canvas (CSS px from its top left): each axis's x, the plot's top (position 1) and bottom (0). */
  geometry: { x: number[]; top: number; bottom: number };
}

/** Where the last draw put things, for turning a pointer into an axis and a position. */
interface Layout {
  axes: Axis[];
  x: (i: number) => number;
  /** Canvas y (CSS px) to axis position, 0 (bottom) to 1 (top), unclamped. */
  pos: (y: number) => number;
}

/** How near (CSS px) to an axis a press must be to brush it. */
const AXIS_GRAB = 14;

export class ParallelCoordinates {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly clearButton: HTMLButtonElement;
  private lastInfo: ParcoordsInfo = { axes: [], lines: 0, highlighted: null, drawMs: 0, brushes: [], selected: 0, geometry: { x: [], top: 0, bottom: 0 } };
  private layout: Layout | undefined;
  private lastDraw: Parameters<ParallelCoordinates['draw']> | undefined;
  private readonly brushes = new Map<string, Brush>();
  private drag: { axis: number; from: number; to: number; moved: boolean } | undefined;
  private frame = 0;

  /** `onBrush`: the selected ranges changed (the view refilters its trial table). */
  constructor(private readonly onBrush: () => void = () => undefined) {
    this.element = document.createElement('figure');
    this.element.className = 'card wide';
    this.element.id = 'parcoords';
    const caption = document.createElement('figcaption');
    const h2 = document.createElement('h2');
    h2.textContent = 'Parameters against the metric';
    const hint = document.createElement('span');
    hint.className = 'parcoords-hint';
    hint.textContent = 'Drag along an axis to select a range; click the axis to clear it.';
    this.clearButton = document.createElement('button');
    this.clearButton.className = 'parcoords-clear';
    this.clearButton.textContent = 'Clear selection';
    this.clearButton.type = 'button';
    // Hidden but keeping its room, so the canvas does not shift under a drag when it appears.
    this.clearButton.style.visibility = 'hidden';
    this.clearButton.addEventListener('click', () => this.setBrushes([]));
    // The charts' toolbar style (media/dashboard.css), at the caption's right end.
    const tools = document.createElement('div');
    tools.className = 'chart-tools';
    tools.append(this.clearButton);
    caption.append(h2, hint, tools);
    const box = document.createElement('div');
    box.className = 'parcoords-box';
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.addEventListener('pointerdown', (e) => this.pointerDown(e));
    this.canvas.addEventListener('pointermove', (e) => this.pointerMove(e));
    this.canvas.addEventListener('pointerup', (e) => this.pointerUp(e));
    this.canvas.addEventListener('pointercancel', () => (this.drag = undefined));
    box.append(this.canvas);
    this.element.append(caption, box);
  }

  info(): ParcoordsInfo {
    return this.lastInfo;
  }

  /** Whether a trial lies in every selected range (true for all when nothing is brushed). */
  selects(t: SweepTrialRow): boolean {
    for (const b of this.brushes.values()) if (!inBrush(b, valueOn(b.key, t))) return false;
    return true;
  }

  /** Replaces the selected ranges (the Clear button: none), redraws and tells the view. */
  setBrushes(brushes: Brush[]): void {
    this.brushes.clear();
    for (const b of brushes) this.brushes.set(b.key, b);
    this.changed();
  }

  private changed(): void {
    if (this.lastDraw) this.draw(...this.lastDraw);
    this.onBrush();
  }

  private pointAt(e: PointerEvent): { axis: number; pos: number } | undefined {
    if (!this.layout) return undefined;
    const r = this.canvas.getBoundingClientRect();
    const px = e.clientX - r.left;
    const py = e.clientY - r.top;
    let nearest = -1;
    let dist = Infinity;
    this.layout.axes.forEach((_, i) => {
      const d = Math.abs(this.layout!.x(i) - px);
      if (d < dist) [nearest, dist] = [i, d];
    });
    return nearest >= 0 && dist <= AXIS_GRAB ? { axis: nearest, pos: this.layout.pos(py) } : undefined;
  }

  private pointerDown(e: PointerEvent): void {
    const at = this.pointAt(e);
    if (!at || at.pos < -0.05 || at.pos > 1.05) return;
    this.drag = { axis: at.axis, from: at.pos, to: at.pos, moved: false };
    this.canvas.setPointerCapture?.(e.pointerId);
    e.preventDefault();
  }

  private pointerMove(e: PointerEvent): void {
    if (!this.drag || !this.layout) {
      this.canvas.style.cursor = this.pointAt(e) ? 'ns-resize' : '';
      return;
    }
    const r = this.canvas.getBoundingClientRect();
    this.drag.to = this.layout.pos(e.clientY - r.top);
    // A few pixels' wobble is still a click.
    if (Math.abs(this.drag.to - this.drag.from) * (r.height || 1) > 3) this.drag.moved = true;
    if (!this.drag.moved) return;
    this.applyDrag(this.drag);
    // At most one redraw and refilter per frame while dragging.
    this.frame ||= requestAnimationFrame(() => {
      this.frame = 0;
      this.changed();
    });
  }

  private pointerUp(e: PointerEvent): void {
    const drag = this.drag;
    this.drag = undefined;
    if (!drag || !this.layout) return;
    this.canvas.releasePointerCapture?.(e.pointerId);
    // Where the button came up ends the range (the last move may have been coalesced away).
    const r = this.canvas.getBoundingClientRect();
    drag.to = this.layout.pos(e.clientY - r.top);
    if (Math.abs(drag.to - drag.from) * (r.height || 1) > 3) drag.moved = true;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (drag.moved) {
      this.applyDrag(drag);
    } else {
      this.brushes.delete(this.layout.axes[drag.axis].key);
    }
    this.changed();
  }

  private applyDrag(d: { axis: number; from: number; to: number }): void {
    const axis = this.layout!.axes[d.axis];
    this.brushes.set(axis.key, brushBetween(axis, Math.max(0, Math.min(1, d.from)), Math.max(0, Math.min(1, d.to))));
  }

  draw(trials: SweepTrialRow[], params: string[], label: (p: string) => string, best: number | null, theme: Theme): void {
    const t0 = performance.now();
    this.lastDraw = [trials, params, label, best, theme];
    const metric = metricOf;
    const withMetric = trials.filter((t) => metric(t) !== null && Number.isFinite(metric(t)!));
    const axes = [...params.map((p) => makeAxis(p, label(p), trials.map((t) => t.params[p]))), makeAxis('metric', 'Best test loss', withMetric.map(metric))];
    if (axes[axes.length - 1].kind === 'category') axes[axes.length - 1].kind = 'linear';
    const box = this.canvas.parentElement!;
    const width = Math.max(320, box.clientWidth || 800);
    const height = 280;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const pad = { left: 50, right: 60, top: 34, bottom: 24 };
    const x = (i: number) => pad.left + (axes.length === 1 ? 0 : (i * (width - pad.left - pad.right)) / (axes.length - 1));
    const y = (pos: number) => height - pad.bottom - pos * (height - pad.top - pad.bottom);
    this.layout = { axes, x, pos: (py) => (height - pad.bottom - py) / (height - pad.top - pad.bottom) };
    // A brush on an axis the sweep no longer has is dropped.
    for (const key of [...this.brushes.keys()]) if (!axes.some((a) => a.key === key)) this.brushes.delete(key);
    const brushing = this.brushes.size > 0;
    const selected = brushing ? trials.filter((t) => this.selects(t)) : trials;
    const inside = new Set(selected);
    const metricAxis = axes[axes.length - 1];
    // Good (low loss) blue to bad red, through the theme's own chart colours.
    const good = theme.series[0];
    const bad = theme.series[1];
    const drawLine = (t: SweepTrialRow) => {
      ctx.beginPath();
      let started = false;
      axes.forEach((a, i) => {
        const pos = axisPosition(a, a.key === 'metric' ? metric(t) : t.params[a.key]);
        if (pos === null) return;
        if (started) ctx.lineTo(x(i), y(pos));
        else ctx.moveTo(x(i), y(pos));
        started = true;
      });
      ctx.stroke();
    };
    ctx.lineWidth = 1;
    if (brushing) {
      // Trials outside the selected ranges: faint and grey, under the selected ones.
      ctx.globalAlpha = 0.12;
      ctx.strokeStyle = theme.muted;
      for (const t of withMetric) if (!inside.has(t)) drawLine(t);
    }
    ctx.globalAlpha = withMetric.length > 200 ? 0.35 : 0.7;
    // Two passes (worse half, then better half) so the good lines stay on top of the bad ones.
    for (const half of [false, true]) {
      ctx.strokeStyle = half ? good : bad;
      for (const t of withMetric) {
        if (t.index === best || (brushing && !inside.has(t))) continue;
        const pos = axisPosition(metricAxis, metric(t)) ?? 0;
        if (pos < 0.5 === half) drawLine(t);
      }
    }
    ctx.globalAlpha = 1;
    const bestTrial = best === null ? undefined : trials.find((t) => t.index === best);
    if (bestTrial && (!brushing || inside.has(bestTrial))) {
      ctx.lineWidth = 3;
      ctx.strokeStyle = theme.foreground;
      drawLine(bestTrial);
    }
    // Axes, their titles and end labels.
    ctx.lineWidth = 1;
    ctx.strokeStyle = theme.muted;
    ctx.fillStyle = theme.foreground;
    ctx.font = `${Math.max(10, theme.fontSize - 1)}px ${theme.fontFamily}`;
    ctx.textAlign = 'center';
    axes.forEach((a, i) => {
      ctx.beginPath();
      ctx.moveTo(x(i), y(0));
      ctx.lineTo(x(i), y(1));
      ctx.stroke();
      ctx.fillStyle = theme.foreground;
      ctx.fillText(a.kind === 'log' ? `${a.title} (log)` : a.title, x(i), 14);
      ctx.fillStyle = theme.muted;
      const fmt = (v: number) => (a.key === 'metric' ? fmtNum(v) : fmtCompact(v));
      if (a.kind === 'category') {
        // Beside the axis, so the end labels of the numeric axes and the lines stay readable.
        ctx.textAlign = 'left';
        for (const c of a.categories!) ctx.fillText(c.length > 10 ? c.slice(0, 9) + '…' : c, x(i) + 4, y(axisPosition(a, c)!) + 4);
        ctx.textAlign = 'center';
      } else if (Number.isFinite(a.min)) {
        ctx.fillText(fmt(a.max), x(i), y(1) - 4);
        ctx.fillText(fmt(a.min), x(i), y(0) + 14);
      }
    });
    // The selected ranges: a translucent band over each brushed axis.
    axes.forEach((a, i) => {
      const b = this.brushes.get(a.key);
      if (!b) return;
      const positions = 'categories' in b ? b.categories.map((c) => axisPosition(a, c)).filter((p): p is number => p !== null) : [axisPosition(a, b.lo), axisPosition(a, b.hi)].map((p) => Math.max(0, Math.min(1, p ?? 0)));
      const lo = positions.length ? Math.min(...positions) : 0.5;
      const hi = positions.length ? Math.max(...positions) : 0.5;
      const slack = 'categories' in b ? 4 : 0;
      ctx.globalAlpha = 0.3;
      ctx.fillStyle = theme.foreground;
      ctx.fillRect(x(i) - 6, y(hi) - slack, 12, y(lo) - y(hi) + 2 * slack);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = theme.foreground;
      ctx.strokeRect(x(i) - 6, y(hi) - slack, 12, y(lo) - y(hi) + 2 * slack);
    });
    this.clearButton.style.visibility = brushing ? 'visible' : 'hidden';
    const unmeasured = trials.length - withMetric.length;
    this.canvas.setAttribute(
      'aria-label',
      `Parallel coordinates of ${withMetric.length} trials: ${axes.map((a) => a.title).join(', ')}.` +
        (bestTrial ? ` Best trial ${bestTrial.name}, test loss ${fmtNum(bestTrial.bestLoss)}, drawn thick.` : '') +
        (unmeasured ? ` ${unmeasured} trials without a test loss are not drawn.` : '') +
        (brushing ? ` Selected: ${selected.length} trials with ${[...this.brushes.values()].map((b) => describeBrush(b, label)).join(' and ')}; the others are dimmed.` : ''),
    );
    this.lastInfo = {
      axes: axes.map((a) => ({ key: a.key, kind: a.kind })), lines: withMetric.length, highlighted: bestTrial?.index ?? null, drawMs: performance.now() - t0,
      brushes: [...this.brushes.values()], selected: selected.length,
      geometry: { x: axes.map((_, i) => x(i)), top: y(1), bottom: y(0) },
    };
  }
}

/** A brush in words, for the canvas's label and the trial table's summary: `lr 0.01 to 0.1`. */
export function describeBrush(b: Brush, label: (p: string) => string): string {
  const name = b.key === 'metric' ? 'best test loss' : label(b.key);
  return 'categories' in b ? `${name} ${b.categories.join(' or ') || '(none)'}` : `${name} ${fmtNum(b.lo)} to ${fmtNum(b.hi)}`;
}
