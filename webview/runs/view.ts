// The runs panel: the runs table (every run: status, the parameters that differ between the runs shown,
// loss figures, samples, time, cost, tags; sortable, filterable, rows selected to compare) or, for a
// sweep, its trial table, parallel coordinates and parameter importance with the best trial marked.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { fmtCount, fmtNum, fmtPercent, fmtSeconds, fmtUSD, paramImportance, type Importance, type RunTableRow, type SweepTrialRow, type SweepView } from '../../runtime/api';
import type { RunsPanelToHost } from '../protocol';
import { flatten, shortName } from '../dashboard/params';
import { readTheme, type Theme } from '../dashboard/theme';
import { describeBrush, ParallelCoordinates, type ParcoordsInfo } from './parcoords';
import { el } from '../shared/dom';
import { VirtualTable, type Column } from './table';


const STATUS_LABEL: Record<string, string> = {
  running: 'Running', completed: 'Completed', stopped: 'Stopped', failed: 'Failed', interrupted: 'Interrupted',
  'stopped-early': 'Stopped early', 'not-started': 'Not started',
};

/** At most this many parameter columns (the ones people compare most first). */
const MAX_PARAM_COLUMNS = 6;
const PREFERRED = ['optimizer.learningRate', 'optimizer.l2', 'training.minibatch', 'training.workers', 'lambda.memoryMB'];

function statusCell(cell: HTMLElement, status: string, reason: string): void {
  cell.textContent = '';
  const badge = el('span', `status status-${status}`, STATUS_LABEL[status] ?? status);
  cell.append(badge);
  if (reason) cell.append(el('span', 'reason', reason));
}

function bestText(r: RunTableRow): string {
  if (!r.best) return '–';
  return r.best.metric === 'accuracy' ? `${fmtPercent(r.best.value)} acc.` : `${fmtNum(r.best.value)} RMSE`;
}

/** The parameter paths whose values differ between the rows, most-compared first, capped. */
export function differingParams(rows: Array<{ leaves: Map<string, string> }>): string[] {
  if (rows.length < 2) return [];
  const paths = new Set<string>();
  for (const r of rows) for (const k of r.leaves.keys()) paths.add(k);
  paths.delete('name');
  const differ = [...paths].filter((p) => {
    const first = rows[0].leaves.get(p) ?? '–';
    return rows.some((r) => (r.leaves.get(p) ?? '–') !== first);
  });
  const rank = (p: string) => (PREFERRED.includes(p) ? PREFERRED.indexOf(p) : PREFERRED.length);
  return differ.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).slice(0, MAX_PARAM_COLUMNS);
}

interface Timings {
  /** The last full render of the rows (filter, columns, sort, drawn rows), ms. */
  renderMs: number;
  importanceMs: number;
}

export interface RunsInfo {
  mode: 'runs' | 'sweep';
  total: number;
  shown: number;
  /** Column ids, in order. */
  columns: string[];
  /** Row keys in the shown order (the first 50). */
  order: string[];
  /** Rows in the DOM (virtualised: a screenful, not all). */
  domRows: number;
  selected: string[];
  sort: { column: string; descending: boolean } | null;
  timings: Timings;
  parcoords?: ParcoordsInfo;
  importance?: Importance[];
  bestIndex?: number | null;
}

export class RunsView {
  private readonly summary: HTMLElement;
  private readonly body: HTMLElement;
  private theme: Theme;
  private mode: 'runs' | 'sweep' = 'runs';
  private rows: RunTableRow[] = [];
  private sweep: SweepView | null = null;
  /** Each row's config leaves, flattened once (the differing columns are recomputed on every filter). */
  private leaves = new WeakMap<object, Map<string, string>>();
  private readonly table: VirtualTable<RunTableRow>;
  private readonly trialTable: VirtualTable<SweepTrialRow>;
  /** Brushing a range on it filters the trial table to the trials inside. */
  private readonly parcoords = new ParallelCoordinates(() => this.applyFilter());
  private sweepSummary = '';
  private readonly importanceList = el('ol', 'importance');
  private readonly importanceCard = el('figure', 'card');
  private readonly bestCard = el('section', 'best-trial');
  private readonly filterInput = el('input');
  private readonly statusSelect = el('select');
  private readonly compareButton = document.createElement('vscode-button');
  private readonly timings: Timings = { renderMs: 0, importanceMs: 0 };
  private importance: Importance[] = [];

  constructor(root: HTMLElement, private readonly post: (msg: RunsPanelToHost) => void) {
    this.theme = readTheme();
    this.summary = root.querySelector('#summary') ?? el('p');
    this.body = root.querySelector('#body') ?? root;
    this.table = new VirtualTable<RunTableRow>({
      label: 'Runs',
      rowKey: (r) => r.runId,
      onSelect: () => this.updateCompare(),
      onOpen: (r) => (r.kind === 'sweep' ? this.post({ type: 'open-sweep', sweepId: r.runId }) : this.post({ type: 'open-dashboard', runId: r.runId })),
    });
    this.trialTable = new VirtualTable<SweepTrialRow>({
      label: 'Trials',
      rowKey: (t) => String(t.index),
      onSelect: () => this.updateCompare(),
      onOpen: (t) => t.runId && this.post({ type: 'open-dashboard', runId: t.runId }),
      highlight: (t) => t.index === this.sweep?.bestIndex,
    });
    this.filterInput.type = 'search';
    this.filterInput.id = 'runs-filter';
    this.filterInput.placeholder = 'name, tag, status or lr=0.05';
    this.filterInput.addEventListener('input', () => this.applyFilter());
    this.statusSelect.id = 'runs-status';
    this.compareButton.id = 'compare';
    this.compareButton.addEventListener('click', () => {
      const ids = this.selectedRunIds();
      if (ids.length >= 2) this.post({ type: 'compare', runIds: ids });
    });
    const h2 = el('h2', undefined, 'Parameter importance');
    const cap = el('figcaption');
    cap.append(h2);
    this.importanceCard.id = 'importance';
    this.importanceCard.append(cap, this.importanceList, el('p', 'chart-note', 'Numeric parameters: |Spearman rank correlation| with the best test loss; others: the correlation ratio. 0 = no relation, 1 = decides it.'));
  }

  setRuns(rows: RunTableRow[]): void {
    this.rows = rows;
    if (this.mode === 'runs') this.render();
  }

  setSweep(sweep: SweepView): void {
    this.mode = 'sweep';
    this.sweep = sweep;
    this.render();
  }

  themeChanged(): void {
    this.theme = readTheme();
    if (this.mode === 'sweep') this.drawSweepCharts();
  }

  private leavesOf(row: RunTableRow): Map<string, string> {
    let l = this.leaves.get(row);
    if (!l) {
      l = flatten(row.config);
      this.leaves.set(row, l);
    }
    return l;
  }

  private toolbar(statuses: string[]): HTMLElement {
    const bar = el('div', 'runs-toolbar');
    const fl = el('label', undefined, 'Filter ');
    fl.append(this.filterInput);
    const sl = el('label', undefined, 'Status ');
    const prev = this.statusSelect.value;
    this.statusSelect.replaceChildren(...['', ...statuses].map((s) => {
      const o = el('option', undefined, s ? STATUS_LABEL[s] ?? s : 'All');
      o.value = s;
      return o;
    }));
    this.statusSelect.value = statuses.includes(prev) ? prev : '';
    this.statusSelect.onchange = () => this.applyFilter();
    sl.append(this.statusSelect);
    bar.append(fl, sl, this.compareButton);
    return bar;
  }

  render(): void {
    const t0 = performance.now();
    if (this.mode === 'runs') this.renderRuns();
    else this.renderSweep();
    this.timings.renderMs = performance.now() - t0;
  }

  private renderRuns(): void {
    const statuses = [...new Set(this.rows.map((r) => r.status))];
    if (!this.body.contains(this.table.element)) this.body.replaceChildren(this.toolbar(statuses), this.table.element);
    else this.toolbar(statuses);
    this.table.setRows(this.rows, false);
    this.applyFilter();
  }

  /** Filter terms all have to match: `key=value` a parameter (by short name or path), anything else the name, tags, status or id. */
  private matcher(): (leaves: () => Map<string, string>, text: string, status: string) => boolean {
    const terms = this.filterInput.value.toLowerCase().split(/\s+/).filter(Boolean);
    const status = this.statusSelect.value;
    return (leaves, text, s) => {
      if (status && s !== status) return false;
      return terms.every((term) => {
        const eq = term.indexOf('=');
        if (eq > 0) {
          const [k, v] = [term.slice(0, eq), term.slice(eq + 1)];
          for (const [path, value] of leaves()) if ((path.toLowerCase() === k || shortName(path).toLowerCase() === k) && value.toLowerCase() === v) return true;
          return false;
        }
        return text.includes(term);
      });
    };
  }

  private applyFilter(): void {
    const t0 = performance.now();
    const match = this.matcher();
    if (this.mode === 'runs') {
      const shown = this.rows.filter((r) => match(() => this.leavesOf(r), `${r.name} ${r.runName} ${r.runId} ${r.status} ${r.tags.join(' ')}`.toLowerCase(), r.status));
      const params = differingParams(shown.map((r) => ({ leaves: this.leavesOf(r) })));
      this.table.setColumns(this.runColumns(params));
      const keep = new Set(shown);
      this.table.setFilter((r) => keep.has(r));
      this.summary.textContent = this.runsSummary(shown.length);
    } else if (this.sweep) {
      this.trialTable.setFilter((t) => this.parcoords.selects(t) && match(() => new Map(Object.entries(t.params).map(([k, v]) => [k, String(v)])), `${t.name} ${t.status} ${t.reason}`.toLowerCase(), t.status));
      const brushes = this.parcoords.info().brushes;
      this.summary.textContent = brushes.length
        ? `${this.sweepSummary} Selected on the chart: ${brushes.map((b) => describeBrush(b, shortName)).join(' and ')}; ${this.trialTable.rows.length} trials shown.`
        : this.sweepSummary;
    }
    this.updateCompare();
    this.timings.renderMs = performance.now() - t0;
  }

  private runsSummary(shown: number): string {
    const n = this.rows.length;
    const running = this.rows.filter((r) => r.status === 'running').length;
    return `${n} run${n === 1 ? '' : 's'}${running ? `, ${running} running` : ''}${shown !== n ? `; ${shown} shown` : ''}. Double-click a run to open its dashboard; select two or more to compare.`;
  }

  private runColumns(params: string[]): Column<RunTableRow>[] {
    const num = (f: (r: RunTableRow) => number | null) => (r: RunTableRow) => f(r);
    return [
      {
        id: 'name', title: 'Run', width: 'minmax(9rem, 2fr)', text: (r) => r.name, sortKey: (r) => r.name.toLowerCase(),
        tooltip: (r) => `${r.name}${r.name !== r.runName ? ` (run "${r.runName}")` : ''}\n${r.runId}${r.sweepId ? `\ntrial of sweep ${r.sweepId}` : ''}${r.metaProblem ? `\n${r.metaProblem}` : ''}`,
        decorate: (cell, r) => {
          if (r.kind === 'sweep') cell.prepend(el('span', 'kind', 'sweep '));
          cell.classList.toggle('trial', !!r.sweepId); // rows are reused: set either way
        },
      },
      { id: 'status', title: 'Status', width: '7.5rem', text: (r) => STATUS_LABEL[r.status] ?? r.status, sortKey: (r) => r.status, tooltip: (r) => `${STATUS_LABEL[r.status]}${r.reason ? `: ${r.reason}` : ''}`, decorate: (cell, r) => statusCell(cell, r.status, '') },
      ...params.map((p): Column<RunTableRow> => ({
        id: `param:${p}`, title: shortName(p), width: 'minmax(4.5rem, 1fr)', numeric: true,
        text: (r) => this.leavesOf(r).get(p) ?? '–',
        sortKey: (r) => {
          const v = this.leavesOf(r).get(p);
          if (v === undefined) return null;
          const n = Number(v);
          return Number.isFinite(n) && v.trim() !== '' ? n : v;
        },
        tooltip: (r) => `${p} = ${this.leavesOf(r).get(p) ?? '(not set)'}`,
      })),
      { id: 'last', title: 'Last loss', width: '5.5rem', numeric: true, text: (r) => fmtNum(r.lastLoss), sortKey: num((r) => r.lastLoss) },
      { id: 'min', title: 'Min loss', width: '5.5rem', numeric: true, text: (r) => fmtNum(r.minLoss), sortKey: num((r) => r.minLoss) },
      { id: 'best', title: 'Best metric', width: '6.5rem', numeric: true, text: bestText, sortKey: (r) => (r.best ? (r.best.metric === 'accuracy' ? -r.best.value : r.best.value) : null) },
      { id: 'samples', title: 'Samples', width: '5.5rem', numeric: true, text: (r) => fmtCount(r.samples), sortKey: (r) => r.samples },
      { id: 'time', title: 'Time', width: '6.5rem', numeric: true, text: (r) => fmtSeconds(r.seconds), sortKey: (r) => r.seconds },
      { id: 'cost', title: 'Cost', width: '5.5rem', numeric: true, text: (r) => fmtUSD(r.costUSD), sortKey: (r) => r.costUSD },
      {
        id: 'tags', title: 'Tags', width: 'minmax(6rem, 1fr)', text: (r) => r.tags.join(', '), sortKey: (r) => (r.tags.length ? r.tags.join(',').toLowerCase() : null),
        decorate: (cell, r) => cell.replaceChildren(...r.tags.map((t) => el('span', 'tag', t))),
      },
      {
        id: 'actions', title: '', width: '8rem', text: () => '',
        decorate: (cell, r) => {
          const rename = el('button', 'link', 'Rename');
          rename.type = 'button';
          rename.setAttribute('aria-label', `Rename ${r.name}`);
          rename.addEventListener('click', () => this.post({ type: 'rename', runId: r.runId }));
          const tags = el('button', 'link', 'Tags');
          tags.type = 'button';
          tags.setAttribute('aria-label', `Edit the tags of ${r.name}`);
          tags.addEventListener('click', () => this.post({ type: 'edit-tags', runId: r.runId }));
          cell.append(rename, tags);
        },
      },
    ];
  }

  private selectedRunIds(): string[] {
    if (this.mode === 'runs') return [...this.table.selected];
    const byIndex = new Map(this.sweep?.trials.map((t) => [String(t.index), t.runId]) ?? []);
    return [...this.trialTable.selected].map((k) => byIndex.get(k)).filter((id): id is string => !!id);
  }

  private updateCompare(): void {
    const n = this.selectedRunIds().length;
    this.compareButton.textContent = n ? `Compare ${n} selected` : 'Compare selected';
    this.compareButton.toggleAttribute('disabled', n < 2);
  }

  // ---------------------------------------------------------------------------------------------
  // Sweep mode

  private renderSweep(): void {
    const s = this.sweep!;
    const statuses = [...new Set(s.trials.map((t) => t.status))];
    const label = (p: string) => shortName(p);
    this.trialTable.setColumns([
      { id: 'index', title: '#', width: '3rem', numeric: true, text: (t) => String(t.index + 1), sortKey: (t) => t.index },
      ...s.parameters.map((p): Column<SweepTrialRow> => ({
        id: `param:${p}`, title: label(p), width: 'minmax(4.5rem, 1fr)', numeric: true,
        text: (t) => (t.params[p] === undefined ? '–' : String(t.params[p])),
        sortKey: (t) => (t.params[p] === undefined ? null : typeof t.params[p] === 'number' ? (t.params[p] as number) : String(t.params[p])),
        tooltip: (t) => `${p} = ${t.params[p] ?? '(not set)'}`,
      })),
      {
        id: 'status', title: 'Status', width: 'minmax(12rem, 2fr)', text: (t) => STATUS_LABEL[t.status] ?? t.status, sortKey: (t) => t.status,
        tooltip: (t) => `${STATUS_LABEL[t.status] ?? t.status}${t.reason ? `: ${t.reason}` : ''}`,
        decorate: (cell, t) => statusCell(cell, t.status, t.reason),
      },
      { id: 'best', title: 'Best loss', width: '5.5rem', numeric: true, text: (t) => fmtNum(t.bestLoss), sortKey: (t) => t.bestLoss },
      { id: 'last', title: 'Final loss', width: '5.5rem', numeric: true, text: (t) => fmtNum(t.lastLoss), sortKey: (t) => t.lastLoss },
      { id: 'gbs', title: 'GB-s', width: '5rem', numeric: true, text: (t) => t.gbSeconds.toFixed(2), sortKey: (t) => t.gbSeconds },
      { id: 'cost', title: 'Cost', width: '5.5rem', numeric: true, text: (t) => fmtUSD(t.costUSD), sortKey: (t) => t.costUSD },
      { id: 'time', title: 'Time', width: '5rem', numeric: true, text: (t) => fmtSeconds(t.seconds), sortKey: (t) => t.seconds },
    ]);
    this.trialTable.setRows(s.trials, false);
    if (!this.trialTable.sort) this.trialTable.sortBy('best', false, false);
    const tableCard = el('section', 'card wide trial-card');
    tableCard.id = 'trials';
    const cap = el('figcaption');
    cap.append(el('h2', undefined, 'Trials'));
    tableCard.append(cap, this.toolbar(statuses), this.trialTable.element);
    this.renderBest(s);
    const charts = el('div', 'charts');
    charts.append(this.parcoords.element, this.importanceCard);
    this.body.replaceChildren(this.bestCard, tableCard, charts);
    this.drawSweepCharts();
    const counts = statuses.map((st) => `${s.trials.filter((t) => t.status === st).length} ${(STATUS_LABEL[st] ?? st).toLowerCase()}`);
    this.sweepSummary = `Sweep ${s.name}: ${STATUS_LABEL[s.status]?.toLowerCase() ?? s.status}, ${s.trials.length} trials (${counts.join(', ')}).${s.reason ? ` ${s.reason.replace(/\.?$/, '.')}` : ''}`;
    this.applyFilter();
  }

  private renderBest(s: SweepView): void {
    const best = s.trials.find((t) => t.index === s.bestIndex);
    this.bestCard.replaceChildren();
    this.bestCard.id = 'best-trial';
    if (!best) {
      this.bestCard.append(el('p', 'empty', 'No trial has completed yet.'));
      return;
    }
    const params = Object.entries(best.params).map(([k, v]) => `${shortName(k)}=${v}`).join(', ');
    const text = el('p');
    text.append(el('strong', undefined, `Best trial: ${best.name}`), document.createTextNode(` (${params}): test loss ${fmtNum(best.lastLoss)}, ${best.gbSeconds.toFixed(2)} GB-s`));
    const open = document.createElement('vscode-button');
    open.id = 'open-best';
    open.textContent = 'Open as run config';
    open.toggleAttribute('disabled', !s.bestConfigPath);
    if (!s.bestConfigPath) open.title = 'The sweep writes best.cirrus.json when it ends';
    open.addEventListener('click', () => this.post({ type: 'open-best-config', sweepId: s.sweepId }));
    const dash = document.createElement('vscode-button');
    dash.setAttribute('secondary', '');
    dash.textContent = 'Open its dashboard';
    dash.addEventListener('click', () => best.runId && this.post({ type: 'open-dashboard', runId: best.runId }));
    const actions = el('div', 'run-actions');
    actions.append(dash, open);
    this.bestCard.append(text, actions);
  }

  private drawSweepCharts(): void {
    const s = this.sweep;
    if (!s) return;
    this.parcoords.draw(s.trials, s.parameters, shortName, s.bestIndex, this.theme);
    const t0 = performance.now();
    this.importance = paramImportance(s.trials.map((t) => ({ params: t.params, metric: t.bestLoss })), s.parameters);
    this.timings.importanceMs = performance.now() - t0;
    this.importanceList.replaceChildren(
      ...this.importance.map((imp) => {
        const li = el('li');
        li.dataset.param = imp.param;
        const name = el('span', 'imp-name', shortName(imp.param));
        name.title = imp.param;
        const bar = el('span', 'imp-bar');
        const fill = el('span', 'imp-fill');
        fill.style.width = `${(imp.score * 100).toFixed(1)}%`;
        bar.append(fill);
        const dir = imp.direction === undefined ? '' : imp.direction < 0 ? ' (higher is better)' : ' (lower is better)';
        const value = el('span', 'imp-value', `${imp.score.toFixed(2)}${dir}`);
        li.setAttribute('aria-label', `${imp.param}: importance ${imp.score.toFixed(2)} by ${imp.method === 'spearman' ? 'rank correlation' : 'correlation ratio'}${dir}, ${imp.n} trials`);
        li.append(name, bar, value);
        return li;
      }),
    );
  }

  /** What the browser tests read back (row order, virtualised DOM, timings, the charts' state). */
  info(): RunsInfo {
    const table = this.mode === 'runs' ? this.table : this.trialTable;
    const key = this.mode === 'runs' ? (r: unknown) => (r as RunTableRow).runId : (r: unknown) => String((r as SweepTrialRow).index);
    return {
      mode: this.mode,
      total: this.mode === 'runs' ? this.rows.length : this.sweep?.trials.length ?? 0,
      shown: table.rows.length,
      columns: Array.from(table.element.querySelectorAll<HTMLElement>('.vt-header [role=columnheader]')).map((c) => c.dataset.column ?? 'select'),
      order: (table.rows as unknown[]).slice(0, 50).map(key),
      domRows: table.element.querySelectorAll('.vt-row').length,
      selected: [...table.selected],
      sort: table.sort,
      timings: { ...this.timings },
      ...(this.mode === 'sweep' ? { parcoords: this.parcoords.info(), importance: this.importance, bestIndex: this.sweep?.bestIndex ?? null } : {}),
    };
  }
}
