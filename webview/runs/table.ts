// A virtualised, sortable table: only the rows in view (plus a margin) are in the DOM, positioned in a
// spacer as tall as all rows, so 500 runs or 1,000 trials scroll and sort like ten. Rows have one
// fixed height; columns share one CSS grid template (header and rows line up without a <table>).
// Keyboard: the header cells are buttons (Enter/Space sorts); rows are focusable (Space selects).

export interface Column<R> {
  id: string;
  title: string;
  /** CSS grid track, e.g. '8rem' or 'minmax(10rem, 2fr)'. */
  width: string;
  /** The cell's text (also what the filter matches). */
  text(row: R): string;
  /** Sort key; null sorts last whatever the direction. Absent: not sortable. */
  sortKey?(row: R): number | string | null;
  numeric?: boolean;
  /** Extra content or classes for the cell (status colours, tag chips, buttons). */
  decorate?(cell: HTMLElement, row: R): void;
  /** Tooltip of the cell (default: its text). */
  tooltip?(row: R): string;
}

export interface TableOptions<R> {
  label: string;
  rowKey(row: R): string;
  rowHeight?: number;
  /** Fired when the selection changes (checkbox column or Space on a row). */
  onSelect?(keys: string[]): void;
  onOpen?(row: R): void;
  /** A row to mark (the best trial). */
  highlight?(row: R): boolean;
}

export class VirtualTable<R> {
  readonly element: HTMLElement;
  private readonly header: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rowHeight: number;
  private columns: Column<R>[] = [];
  private all: R[] = [];
  /** The rows shown: `all` filtered and sorted. */
  rows: R[] = [];
  private filterFn: (row: R) => boolean = () => true;
  sort: { column: string; descending: boolean } | null = null;
  readonly selected = new Set<string>();
  private template = '';
  private drawn = { from: -1, to: -1, key: '' };

  constructor(private readonly options: TableOptions<R>) {
    this.rowHeight = options.rowHeight ?? 28;
    this.element = document.createElement('div');
    this.element.className = 'vtable';
    this.element.setAttribute('role', 'grid');
    this.element.setAttribute('aria-label', options.label);
    this.header = document.createElement('div');
    this.header.className = 'vt-header';
    this.header.setAttribute('role', 'row');
    this.scroller = document.createElement('div');
    this.scroller.className = 'vt-body';
    this.scroller.tabIndex = -1;
    this.spacer = document.createElement('div');
    this.spacer.className = 'vt-spacer';
    this.spacer.setAttribute('role', 'rowgroup');
    this.scroller.append(this.spacer);
    this.element.append(this.header, this.scroller);
    this.scroller.addEventListener('scroll', () => this.drawRows());
    this.listen();
    new ResizeObserver(() => this.drawRows()).observe(this.scroller);
  }

  setColumns(columns: Column<R>[]): void {
    const key = columns.map((c) => c.id + c.title + c.width).join('|');
    this.columns = columns;
    const select = this.options.onSelect ? '2rem ' : '';
    this.template = select + columns.map((c) => c.width).join(' ');
    if (key === this.header.dataset.key) return;
    this.header.dataset.key = key;
    this.header.style.gridTemplateColumns = this.template;
    const cells: HTMLElement[] = [];
    if (this.options.onSelect) {
      const all = checkboxCell('columnheader');
      const box = all.firstElementChild as HTMLInputElement;
      box.className = 'vt-select-all';
      box.setAttribute('aria-label', 'Select every row shown');
      box.addEventListener('change', () => {
        for (const r of this.rows) box.checked ? this.selected.add(this.options.rowKey(r)) : this.selected.delete(this.options.rowKey(r));
        this.selectionChanged();
      });
      cells.push(all);
    }
    for (const c of columns) {
      const cell = document.createElement('span');
      cell.className = `vt-cell${c.numeric ? ' num' : ''}`;
      cell.setAttribute('role', 'columnheader');
      cell.dataset.column = c.id;
      if (c.sortKey) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'vt-sort';
        b.textContent = c.title;
        b.title = `Sort by ${c.title}`;
        b.addEventListener('click', () => this.sortBy(c.id));
        cell.append(b);
      } else cell.textContent = c.title;
      cells.push(cell);
    }
    this.header.replaceChildren(...cells);
    this.markSort();
    // Other columns: other row shells.
    for (const el of this.pool) el.remove();
    this.pool = [];
    this.drawn = { from: -1, to: -1, key: '' };
  }

  /** `refresh` false: the caller sets the filter next, which redraws. */
  setRows(rows: R[], refresh = true): void {
    this.all = rows;
    this.byKey = new Map(rows.map((r) => [this.options.rowKey(r), r]));
    const keys = new Set(rows.map((r) => this.options.rowKey(r)));
    for (const k of [...this.selected]) if (!keys.has(k)) this.selected.delete(k);
    if (refresh) this.refresh();
  }

  setFilter(fn: (row: R) => boolean): void {
    this.filterFn = fn;
    this.refresh();
  }

  /** Sorts by a column: a second click on the same column reverses it. Numbers first ascending, text alphabetically. */
  sortBy(columnId: string, descending?: boolean, refresh = true): void {
    const same = this.sort?.column === columnId;
    this.sort = { column: columnId, descending: descending ?? (same ? !this.sort!.descending : false) };
    this.markSort();
    if (refresh) this.refresh();
  }

  /** Re-filters, re-sorts and redraws (synchronously: the tests time it). */
  refresh(): void {
    let rows = this.all.filter(this.filterFn);
    const col = this.sort && this.columns.find((c) => c.id === this.sort!.column);
    if (col?.sortKey) {
      const sign = this.sort!.descending ? -1 : 1;
      const keyed = rows.map((r) => [col.sortKey!(r), r] as const);
      keyed.sort((a, b) => {
        if (a[0] === null || b[0] === null) return a[0] === b[0] ? 0 : a[0] === null ? 1 : -1;
        if (typeof a[0] === 'number' && typeof b[0] === 'number') return sign * (a[0] - b[0]);
        return sign * String(a[0]).localeCompare(String(b[0]), undefined, { numeric: true });
      });
      rows = keyed.map((k) => k[1]);
    }
    this.rows = rows;
    this.spacer.style.height = `${rows.length * this.rowHeight}px`;
    this.element.setAttribute('aria-rowcount', String(rows.length + 1));
    this.invalidate();
  }

  invalidate(): void {
    this.drawn = { from: -1, to: -1, key: '' };
    this.drawRows();
  }

  /** Scrolls so the row is in view. */
  reveal(key: string): void {
    const i = this.rows.findIndex((r) => this.options.rowKey(r) === key);
    if (i >= 0) this.scroller.scrollTop = Math.max(0, i * this.rowHeight - this.scroller.clientHeight / 2);
    this.drawRows();
  }

  private markSort(): void {
    for (const cell of Array.from(this.header.querySelectorAll<HTMLElement>('[role=columnheader]'))) {
      const id = cell.dataset.column;
      if (!id) continue;
      cell.setAttribute('aria-sort', this.sort?.column === id ? (this.sort.descending ? 'descending' : 'ascending') : 'none');
    }
  }

  private selectionChanged(): void {
    this.options.onSelect?.([...this.selected]);
    // In place, so the focused row keeps its focus.
    for (const el of Array.from(this.spacer.querySelectorAll<HTMLElement>('.vt-row'))) {
      const on = this.selected.has(el.dataset.key ?? '');
      el.classList.toggle('selected', on);
      el.setAttribute('aria-selected', String(on));
      const box = el.querySelector<HTMLInputElement>('.vt-check input');
      if (box) box.checked = on;
    }
    const all = this.header.querySelector<HTMLInputElement>('.vt-select-all');
    if (all) all.checked = this.rows.length > 0 && this.rows.every((r) => this.selected.has(this.options.rowKey(r)));
  }

  private drawRows(): void {
    const h = this.rowHeight;
    // Before layout (hidden panel) clientHeight is 0: draw a screenful anyway.
    const height = this.scroller.clientHeight || 600;
    const from = Math.max(0, Math.floor(this.scroller.scrollTop / h) - 10);
    const to = Math.min(this.rows.length, Math.ceil((this.scroller.scrollTop + height) / h) + 10);
    if (from === this.drawn.from && to === this.drawn.to && this.drawn.key === 'ok') return;
    this.drawn = { from, to, key: 'ok' };
    // Row elements are reused (a sort or a scroll rewrites their cells, it creates nothing).
    for (let i = from; i < to; i++) {
      const k = i - from;
      const el = (this.pool[k] ??= this.rowShell());
      this.fillRow(el, this.rows[i], i);
      if (el.parentNode !== this.spacer) this.spacer.append(el);
    }
    for (let k = to - from; k < this.pool.length; k++) this.pool[k].remove();
  }

  private pool: HTMLElement[] = [];

  /** A row element with one cell per column; its events are handled by the listeners on the spacer. */
  private rowShell(): HTMLElement {
    const el = document.createElement('div');
    el.className = 'vt-row';
    el.setAttribute('role', 'row');
    el.tabIndex = 0;
    el.style.height = `${this.rowHeight}px`;
    if (this.options.onSelect) {
      el.append(checkboxCell('gridcell'));
    }
    for (const c of this.columns) {
      const cell = document.createElement('span');
      cell.className = `vt-cell${c.numeric ? ' num' : ''}`;
      cell.setAttribute('role', 'gridcell');
      cell.dataset.column = c.id;
      el.append(cell);
    }
    return el;
  }

  private fillRow(el: HTMLElement, row: R, index: number): void {
    const key = this.options.rowKey(row);
    const selected = this.selected.has(key);
    el.dataset.key = key;
    el.classList.toggle('highlight', !!this.options.highlight?.(row));
    el.classList.toggle('selected', selected);
    el.setAttribute('aria-rowindex', String(index + 2));
    el.setAttribute('aria-selected', String(selected));
    el.style.transform = `translateY(${index * this.rowHeight}px)`;
    el.style.gridTemplateColumns = this.template;
    let cell = el.firstElementChild as HTMLElement | null;
    if (this.options.onSelect && cell) {
      const box = cell.firstElementChild as HTMLInputElement;
      box.checked = selected;
      box.setAttribute('aria-label', `Select ${key}`);
      cell = cell.nextElementSibling as HTMLElement | null;
    }
    for (const c of this.columns) {
      if (!cell) break;
      const text = c.text(row);
      cell.textContent = text;
      cell.title = c.tooltip?.(row) ?? text;
      c.decorate?.(cell, row);
      cell = cell.nextElementSibling as HTMLElement | null;
    }
  }

  /** One set of listeners for every row (rows are reused, so they carry none of their own). */
  private listen(): void {
    const rowOf = (target: EventTarget | null) => {
      const el = (target as HTMLElement | null)?.closest?.('.vt-row') as HTMLElement | null;
      const key = el?.dataset.key;
      return key === undefined ? undefined : { el: el!, key, row: this.byKey.get(key) };
    };
    this.spacer.addEventListener('change', (ev) => {
      const box = ev.target as HTMLInputElement;
      const r = rowOf(box);
      if (r && box.type === 'checkbox') this.toggle(r.key, box.checked);
    });
    this.spacer.addEventListener('dblclick', (ev) => {
      const r = rowOf(ev.target);
      if (r?.row !== undefined && !(ev.target as HTMLElement).closest('button, input')) this.options.onOpen?.(r.row);
    });
    this.spacer.addEventListener('keydown', (ev) => {
      const r = rowOf(ev.target);
      if (!r || ev.target !== r.el || r.row === undefined) return;
      if (ev.key === 'Enter') this.options.onOpen?.(r.row);
      else if (ev.key === ' ' && this.options.onSelect) {
        ev.preventDefault();
        this.toggle(r.key, !this.selected.has(r.key));
      }
    });
  }

  private byKey = new Map<string, R>();

  private toggle(key: string, on: boolean): void {
    if (on) this.selected.add(key);
    else this.selected.delete(key);
    this.selectionChanged();
  }
}

/** The selection column's cell: a checkbox in the header (select all) or in a row. */
function checkboxCell(role: 'columnheader' | 'gridcell'): HTMLElement {
  const cell = document.createElement('span');
  cell.className = 'vt-cell vt-check';
  cell.setAttribute('role', role);
  const box = document.createElement('input');
  box.type = 'checkbox';
  cell.append(box);
  return cell;
}
