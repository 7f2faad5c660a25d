// Small DOM builders the panels share.

/** An element with an optional class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A header row of column headers (`scope="col"`), as screen readers announce them with each cell. */
export function headerRow(titles: Array<string | Node>): HTMLTableRowElement {
  const tr = el('tr');
  for (const t of titles) {
    const th = el('th');
    th.scope = 'col';
    th.append(t);
    tr.append(th);
  }
  return tr;
}
