// Parallel coordinates: one vertical axis per swept parameter and a last one for the metric, one line
// per trial through its values. Lines are coloured from good (low loss) to bad, the best trial drawn
// last and thick in the focus colour. A numeric axis spanning more than 20x of positive values is
// logarithmic (learning rates); any other value type gets evenly spaced categories.
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

export interface ParcoordsInfo {
  axes: Array<{ key: string; kind: Axis['kind'] }>;
  /** Trials drawn (those with a metric), and the index of the one highlighted. */
  lines: number;
  highlighted: number | null;
  /** Time the last draw took (ms). */
  drawMs: number;
}

export class ParallelCoordinates {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private lastInfo: ParcoordsInfo = { axes: [], lines: 0, highlighted: null, drawMs: 0 };

  constructor() {
    this.element = document.createElement('figure');
    this.element.className = 'card wide';
    this.element.id = 'parcoords';
    const caption = document.createElement('figcaption');
    const h2 = document.createElement('h2');
    h2.textContent = 'Parameters against the metric';
    caption.append(h2);
    const box = document.createElement('div');
    box.className = 'parcoords-box';
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    box.append(this.canvas);
    this.element.append(caption, box);
  }

  info(): ParcoordsInfo {
    return this.lastInfo;
  }

  draw(trials: SweepTrialRow[], params: string[], label: (p: string) => string, best: number | null, theme: Theme): void {
    const t0 = performance.now();
    const metric = (t: SweepTrialRow) => t.bestLoss;
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
    ctx.globalAlpha = withMetric.length > 200 ? 0.35 : 0.7;
    // Two passes (worse half, then better half) so the good lines stay on top of the bad ones.
    for (const half of [false, true]) {
      ctx.strokeStyle = half ? good : bad;
      for (const t of withMetric) {
        if (t.index === best) continue;
        const pos = axisPosition(metricAxis, metric(t)) ?? 0;
        if (pos < 0.5 === half) drawLine(t);
      }
    }
    ctx.globalAlpha = 1;
    const bestTrial = best === null ? undefined : trials.find((t) => t.index === best);
    if (bestTrial) {
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
    const unmeasured = trials.length - withMetric.length;
    this.canvas.setAttribute(
      'aria-label',
      `Parallel coordinates of ${withMetric.length} trials: ${axes.map((a) => a.title).join(', ')}.` +
        (bestTrial ? ` Best trial ${bestTrial.name}, test loss ${fmtNum(bestTrial.bestLoss)}, drawn thick.` : '') +
        (unmeasured ? ` ${unmeasured} trials without a test loss are not drawn.` : ''),
    );
    this.lastInfo = { axes: axes.map((a) => ({ key: a.key, kind: a.kind })), lines: withMetric.length, highlighted: bestTrial?.index ?? null, drawMs: performance.now() - t0 };
  }
}
