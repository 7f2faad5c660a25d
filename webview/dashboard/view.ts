// The panel's DOM apart from the charts: the text summary, one header row per run (status, latest
// numbers, a Stop button) and the per-stage resource table. Built with DOM calls, never innerHTML of
// event text (run names come from files).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { createCharts } from './chart-specs';
import { runColor, STAGE_ORDER, type ChartCard, type ChartInfo, type LossView } from './charts';
import { fmtBytes, fmtCount, gbSecondsSaved, fmtNum, fmtPercent, fmtSeconds, fmtUSD } from '../../runtime/api';
import type { PanelToHost } from '../protocol';
import { RISING_WARN_AFTER, type DashboardModel, type RunModel } from './model';
import { diffParams, runLabels, shortName } from './params';
import { readTheme, type Theme } from './theme';
import { el, headerRow } from '../shared/dom';


/** A full-width card holding a table: a heading, a caption for screen readers, the column headers; rows go in `body`. */
function tableCard(o: { cardId: string; tableId: string; title: string; caption: string; columns: string[] }): { card: HTMLElement; body: HTMLTableSectionElement } {
  const table = el('table', 'stage-table');
  table.id = o.tableId;
  const head = el('thead');
  head.append(headerRow(o.columns));
  const body = el('tbody');
  table.append(el('caption', 'visually-hidden', o.caption), head, body);
  const card = el('figure', 'card wide');
  card.id = o.cardId;
  const figcaption = el('figcaption');
  figcaption.append(el('h2', undefined, o.title));
  const wrap = el('div', 'table-wrap');
  wrap.append(table);
  card.append(figcaption, wrap);
  return { card, body };
}

const STATUS_LABEL = { running: 'Running', completed: 'Completed', stopped: 'Stopped', failed: 'Failed' } as const;

/** The latest quality figure the run reports: accuracy for classification, RMSE for ratings. */
function qualityText(run: RunModel): string[] {
  const parts: string[] = [];
  if (run.latestTestLoss !== null) parts.push(`test loss ${fmtNum(run.latestTestLoss)}`);
  if (run.testAccuracy !== null) parts.push(`accuracy ${fmtPercent(run.testAccuracy)}`);
  if (run.testRMSE !== null) parts.push(`RMSE ${fmtNum(run.testRMSE)}`);
  return parts;
}

/** The warning a run's row and summary carry when its test loss keeps rising, or null. */
export function risingWarning(run: RunModel): string | null {
  if (run.risingEvals >= RISING_WARN_AFTER) return `Test loss has risen for ${run.risingEvals} evaluations in a row`;
  const latest = run.latestTestLoss;
  if (run.baselineLoss !== null && latest !== null && latest > run.baselineLoss) return `Test loss ${fmtNum(latest)} is worse than a constant prediction (${fmtNum(run.baselineLoss)})`;
  return null;
}

class RunRow {
  readonly element = el('div', 'run-row');
  private readonly swatch = el('span', 'swatch');
  private readonly name = el('span', 'run-name');
  private readonly status = el('span', 'status');
  private readonly warning = el('span', 'badge warning');
  private readonly metrics = el('dl', 'metrics');
  private readonly message = el('span', 'run-message');
  private readonly stop = document.createElement('vscode-button');
  private readonly reveal = document.createElement('vscode-button');

  constructor(readonly runId: string, onStop: (runId: string) => void, onReveal: (runId: string) => void) {
    this.element.setAttribute('role', 'group');
    this.element.dataset.runId = runId;
    this.stop.className = 'stop';
    this.stop.setAttribute('secondary', '');
    this.stop.textContent = 'Stop';
    // The codicon needs its stylesheet (the host passes it optionally); without it, text only.
    const icons = !!document.getElementById('vscode-codicon-stylesheet');
    if (icons) this.stop.setAttribute('icon', 'debug-stop');
    this.stop.addEventListener('click', () => {
      if (!this.stop.hasAttribute('disabled')) onStop(this.runId);
    });
    this.reveal.className = 'reveal';
    this.reveal.setAttribute('secondary', '');
    this.reveal.textContent = 'Run folder';
    if (icons) this.reveal.setAttribute('icon', 'folder-opened');
    this.reveal.addEventListener('click', () => onReveal(this.runId));
    const actions = el('div', 'run-actions');
    actions.append(this.reveal, this.stop);
    const title = el('div', 'run-title');
    this.warning.setAttribute('role', 'note');
    title.append(this.swatch, this.name, this.status, this.warning);
    this.element.append(title, this.metrics, this.message, actions);
  }

  update(run: RunModel, color: string, label: string): void {
    this.element.setAttribute('aria-label', `Run ${label}`);
    this.swatch.style.backgroundColor = color;
    this.name.textContent = label;
    this.name.title = label;
    const warning = risingWarning(run);
    this.warning.hidden = !warning;
    this.warning.textContent = !warning ? '' : run.risingEvals >= RISING_WARN_AFTER ? `Test loss rising (${run.risingEvals})` : 'Worse than baseline';
    this.warning.title = warning ?? '';
    this.status.textContent = STATUS_LABEL[run.status];
    this.status.className = `status status-${run.status}`;
    const items: Array<[string, string]> = [
      ['Test loss', fmtNum(run.latestTestLoss)],
      ...(run.best ? [['Best test loss', `${fmtNum(run.best.testLoss)} at ${fmtSeconds(run.best.t)}`] as [string, string]] : []),
      ...(run.testAccuracy !== null ? [['Accuracy', fmtPercent(run.testAccuracy)] as [string, string]] : []),
      ...(run.testRMSE !== null ? [['RMSE', fmtNum(run.testRMSE)] as [string, string]] : []),
      ['Cost', fmtUSD(run.costUSD)],
      ['Time', fmtSeconds(run.elapsed)],
      ['Samples', fmtCount(run.samples)],
    ];
    this.metrics.replaceChildren(
      ...items.flatMap(([k, v]) => {
        const wrap = el('div', 'metric');
        wrap.append(el('dt', undefined, k), el('dd', undefined, v));
        return [wrap];
      }),
    );
    this.message.textContent = run.message;
    this.message.title = run.message;
    const running = run.status === 'running';
    this.stop.toggleAttribute('disabled', !running);
    this.stop.setAttribute('aria-label', running ? `Stop run ${run.name}` : `Run ${run.name} is not running`);
    this.reveal.setAttribute('aria-label', `Reveal the run folder of ${run.name}`);
  }
}

export class DashboardView {
  private readonly summary: HTMLElement;
  private readonly runsBox: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly chartsBox: HTMLElement;
  private readonly stageBody: HTMLTableSectionElement;
  private readonly workerBody: HTMLTableSectionElement;
  private readonly rows = new Map<string, RunRow>();
  private readonly paramsCard: HTMLElement;
  private readonly paramsTable: HTMLTableElement;
  private charts: ChartCard[];
  /** The loss chart's x axis, smoothing and scale, as the controls set them. */
  readonly lossView: LossView = { xAxis: 'time', smoothing: 0, logY: false };
  private labels = new Map<string, string>();
  private readonly label = (run: RunModel) => this.labels.get(run.runId) ?? run.name;
  private theme: Theme;
  private themeDirty = false;
  // Charts are recoloured on their next render; they are not drawn while the panel is empty.
  private chartsThemeStale = false;

  constructor(
    root: HTMLElement,
    private readonly model: DashboardModel,
    private readonly post: (msg: PanelToHost) => void,
    private readonly requestRender: () => void,
  ) {
    this.theme = readTheme();
    this.summary = root.querySelector('#summary') ?? el('p');
    this.runsBox = root.querySelector('#runs') ?? el('section');
    this.empty = root.querySelector('#empty') ?? el('p');
    this.chartsBox = root.querySelector('#charts') ?? el('section');

    this.charts = createCharts(this.theme, this.lossView, this.label);
    for (const c of this.charts) {
      c.onLegendToggle = this.requestRender;
      c.onExport = (data, format) => this.post({ type: 'save-export', fileName: `${c.id}.${format}`, format, data });
    }
    this.charts[0].element.querySelector('figcaption')?.append(this.lossControls());
    this.paramsTable = el('table', 'stage-table params-table');
    this.paramsTable.id = 'params-table';
    this.paramsCard = el('figure', 'card wide');
    this.paramsCard.id = 'params-diff';
    const paramsCaption = el('figcaption');
    paramsCaption.append(el('h2', undefined, 'Parameters that differ'));
    const paramsWrap = el('div', 'table-wrap');
    paramsWrap.append(this.paramsTable);
    this.paramsCard.append(paramsCaption, paramsWrap);
    this.paramsCard.hidden = true;
    // The per-stage numbers get their own full-width card under the memory and cost charts.
    const stages = tableCard({
      cardId: 'stage-resources', tableId: 'stage-table', title: 'Resources per stage', caption: 'Resources used per stage, per run',
      columns: ['Run', 'Stage', 'Workers', 'Memory configured (MB)', 'Peak memory used (MB)', 'GB-seconds', 'GB-s saved right-sized', 'Duration', 'Cost'],
    });
    this.stageBody = stages.body;
    const stageCard = stages.card;
    // Per worker: traffic to the parameter server and the pushes its screen refused.
    const workers = tableCard({
      cardId: 'workers-table', tableId: 'worker-table', title: 'Workers', caption: 'What each worker sent the parameter server, and which of its updates were refused',
      columns: ['Run', 'Worker', 'Generations', 'Corrupts (fault injection)', 'Bytes sent', 'Requests', 'Update bytes', 'Held-back rows', 'Refused updates'],
    });
    this.workerBody = workers.body;
    const workerCard = workers.card;
    this.chartsBox.append(this.paramsCard, ...this.charts.map((c) => c.element), stageCard, workerCard);
  }

  /** X axis, smoothing and log scale for the loss chart. Native controls: they follow the theme via CSS. */
  private lossControls(): HTMLElement {
    const box = el('div', 'loss-controls');
    const xLabel = el('label', undefined, 'X axis ');
    const x = el('select');
    x.id = 'loss-x';
    for (const [value, text] of [['time', 'Time'], ['samples', 'Samples'], ['cost', 'Dollars']] as const) {
      const o = el('option', undefined, text);
      o.value = value;
      x.append(o);
    }
    x.addEventListener('change', () => {
      this.lossView.xAxis = x.value as LossView['xAxis'];
      this.requestRender();
    });
    xLabel.append(x);
    const sLabel = el('label', undefined, 'Smoothing ');
    const slider = el('input');
    slider.id = 'loss-smoothing';
    slider.type = 'range';
    slider.min = '0';
    slider.max = '0.99';
    slider.step = '0.01';
    slider.value = '0';
    const readout = el('output', undefined, '0');
    readout.htmlFor.add('loss-smoothing');
    slider.addEventListener('input', () => {
      this.lossView.smoothing = Number(slider.value);
      readout.textContent = slider.value;
      this.requestRender();
    });
    sLabel.append(slider, readout);
    const logLabel = el('label');
    const log = el('input');
    log.id = 'loss-log';
    log.type = 'checkbox';
    log.addEventListener('change', () => {
      this.lossView.logY = log.checked;
      this.requestRender();
    });
    logLabel.append(log, document.createTextNode(' Log scale'));
    box.append(xLabel, sLabel, logLabel);
    return box;
  }

  /** Marks the theme as changed; the next render re-reads the variables and recolours everything. */
  themeChanged(): void {
    this.themeDirty = true;
  }

  render(): void {
    if (this.themeDirty) {
      this.themeDirty = false;
      this.chartsThemeStale = true;
      this.theme = readTheme();
    }
    const runs = [...this.model.runs.values()];
    this.labels = runLabels(runs.map((r) => ({ runId: r.runId, name: r.name, config: r.config })));
    this.renderRows(runs);
    const hasEvents = this.model.eventCount > 0;
    this.empty.hidden = hasEvents;
    this.chartsBox.hidden = !hasEvents;
    this.summary.textContent = this.summaryText(runs);
    if (!hasEvents) return;
    for (const c of this.charts) c.render(runs, this.theme, this.chartsThemeStale);
    this.chartsThemeStale = false;
    this.renderStageTable(runs);
    this.renderWorkerTable(runs);
    this.renderParams(runs);
  }

  chartInfo(): ChartInfo[] {
    return this.charts.map((c) => c.info());
  }

  private renderRows(runs: RunModel[]): void {
    for (const [id, row] of this.rows) {
      if (!this.model.runs.has(id)) {
        row.element.remove();
        this.rows.delete(id);
      }
    }
    runs.forEach((run, i) => {
      let row = this.rows.get(run.runId);
      if (!row) {
        row = new RunRow(run.runId, (runId) => this.post({ type: 'stop-run', runId }), (runId) => this.post({ type: 'reveal-run-folder', runId }));
        this.rows.set(run.runId, row);
      }
      // Append keeps rows in the host's order (a no-op move when already there).
      if (this.runsBox.children[i] !== row.element) this.runsBox.insertBefore(row.element, this.runsBox.children[i] ?? null);
      row.update(run, runColor(this.theme, i), this.label(run));
    });
  }

  private summaryText(runs: RunModel[]): string {
    if (runs.length === 0) return 'No runs yet.';
    const running = runs.filter((r) => r.status === 'running').length;
    const head = `${runs.length} run${runs.length === 1 ? '' : 's'}${running ? `, ${running} running` : ''}.`;
    const per = runs.map((r) => {
      const warning = risingWarning(r);
      const parts = [STATUS_LABEL[r.status].toLowerCase(), ...(r.trainingMode ? [r.trainingMode] : []), ...qualityText(r), `${fmtUSD(r.costUSD)} spent`, `${fmtSeconds(r.elapsed)} elapsed`, ...(warning ? [warning.toLowerCase()] : [])];
      return `${this.label(r)}: ${parts.join(', ')}.`;
    });
    return [head, ...per].join(' ');
  }

  /** One column per run, one row per parameter whose value differs (hidden for a single run or identical configs). */
  private renderParams(runs: RunModel[]): void {
    const diff = diffParams(runs.map((r) => ({ runId: r.runId, config: r.config })));
    this.paramsCard.hidden = diff.paths.length === 0;
    if (diff.paths.length === 0) return;
    const head = el('thead');
    head.append(headerRow(['Parameter', ...runs.map((r, i) => this.runName(r, i))]));
    const body = el('tbody');
    for (const path of diff.paths) {
      const tr = el('tr');
      tr.dataset.param = path;
      const th = el('th', undefined, shortName(path) === path ? path : `${shortName(path)} (${path})`);
      th.scope = 'row';
      tr.append(th, ...runs.map((r) => el('td', 'num', diff.values.get(r.runId)?.get(path) ?? '–')));
      body.append(tr);
    }
    this.paramsTable.replaceChildren(el('caption', 'visually-hidden', 'Parameters that differ between the runs shown'), head, body);
  }

  /** A run as the tables name it: its colour swatch and its label. */
  private runName(run: RunModel, index: number): DocumentFragment {
    const sw = el('span', 'swatch');
    sw.style.backgroundColor = runColor(this.theme, index);
    const f = document.createDocumentFragment();
    f.append(sw, document.createTextNode(this.label(run)));
    return f;
  }

  private renderWorkerTable(runs: RunModel[]): void {
    const rows: HTMLTableRowElement[] = [];
    runs.forEach((run, i) => {
      for (const w of [...run.workers.values()].sort((a, b) => a.worker - b.worker)) {
        const tr = el('tr');
        tr.dataset.runId = run.runId;
        tr.dataset.worker = String(w.worker);
        if (w.rejected > 0) tr.classList.add('rejected');
        const runCell = el('td', 'run-cell');
        runCell.append(this.runName(run, i));
        const th = el('th', undefined, `worker ${w.worker}`);
        th.scope = 'row';
        const num = (text: string) => el('td', 'num', text);
        const sent = (k: 'bytesSent' | 'requests' | 'pushBytes') => w.done[k] + (w.live?.[k] ?? 0);
        tr.append(
          runCell, th,
          num(fmtCount(w.generations)),
          el('td', undefined, w.byzantine ?? '–'),
          num(fmtBytes(sent('bytesSent'))),
          num(fmtCount(sent('requests'))),
          num(fmtBytes(sent('pushBytes'))),
          num(fmtCount(w.heldRows)),
          num(w.rejected > 0 ? `${fmtCount(w.rejected)} of ${fmtCount(w.rejected + w.accepted)}` : '0'),
        );
        rows.push(tr);
      }
    });
    this.workerBody.replaceChildren(...rows);
  }

  private renderStageTable(runs: RunModel[]): void {
    const rows: HTMLTableRowElement[] = [];
    runs.forEach((run, i) => {
      for (const stage of STAGE_ORDER) {
        const s = run.stages.get(stage);
        if (!s) continue;
        const tr = el('tr');
        tr.dataset.runId = run.runId;
        tr.dataset.stage = stage;
        if (!s.finished) tr.classList.add('in-progress');
        const runCell = el('td', 'run-cell');
        runCell.append(this.runName(run, i));
        const th = el('th', undefined, s.finished ? stage : `${stage} (running)`);
        th.scope = 'row';
        const num = (text: string) => el('td', 'num', text);
        tr.append(
          runCell, th,
          num(fmtCount(s.workers)),
          num(fmtCount(s.memoryMB)),
          num(fmtCount(s.peakMemoryMB)),
          num(fmtNum(s.gbSeconds)),
          // What `lambda.memoryMB: "auto"` would save: the same work at the peak plus headroom (finished stages only).
          num(s.finished && s.gbSeconds !== null && s.peakMemoryMB !== null ? fmtNum(gbSecondsSaved(s.gbSeconds, s.memoryMB, s.peakMemoryMB)) : '–'),
          num(fmtSeconds(s.seconds ?? (s.finished ? null : run.elapsed - s.startedAt))),
          num(fmtUSD(s.costUSD)),
        );
        rows.push(tr);
      }
    });
    this.stageBody.replaceChildren(...rows);
  }
}
