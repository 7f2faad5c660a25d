// A click log as users bring them, built from the Criteo sample for the bring-your-own-data checks:
// a header, a unique row id, an hour stamp (epoch seconds), the 0/1 label named `clicked`, the 13
// integer columns as integers, and the 26 categorical columns re-coded as integers by frequency rank
// (0 = the most frequent value; missing stays empty). Same rows, same order as the Criteo file.
import * as fs from 'node:fs';

export function writeCtrCsv(criteoFile: string, out: string): void {
  const rows = fs.readFileSync(criteoFile, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
  const ranks: Array<Map<string, number>> = [];
  for (let c = 14; c < 40; c++) {
    const counts = new Map<string, number>();
    for (const r of rows) if (r[c] !== '') counts.set(r[c], (counts.get(r[c]) ?? 0) + 1);
    // By count, ties by value: a deterministic rank.
    const order = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    ranks.push(new Map(order.map(([v], i) => [v, i])));
  }
  const header = ['row_id', 'hour', 'clicked', ...Array.from({ length: 13 }, (_, i) => `count${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `cat${i + 1}`)];
  const lines = [header.join(',')];
  rows.forEach((r, i) => {
    const id = 1_000_003 + ((i * 7_919) % 1_000_003) * 11; // unique, not in row order
    const hour = 1_414_368_000 + 3600 * Math.floor(i / 420);
    const cats = r.slice(14, 40).map((v, c) => (v === '' ? '' : String(ranks[c].get(v))));
    lines.push([id, hour, r[0], ...r.slice(1, 14), ...cats].join(','));
  });
  fs.writeFileSync(out, lines.join('\n') + '\n');
}
