// Generates the demo dataset: Criteo-format TSV rows (label, 13 integer counts, 26 categorical hex
// values, empty = missing) drawn from a planted logistic model, so a training run on it has a real
// signal to find. Deterministic (seeded); the project ships this generator, not data.
//   node scripts/generate-demo-data.mjs [OUT=examples/data/demo-ctr.tsv] [ROWS=20000]
import * as fs from 'node:fs';
import * as path from 'node:path';

const out = process.argv[2] ?? 'examples/data/demo-ctr.tsv';
const rows = Number(process.argv[3] ?? 20000);

let state = 0x9e3779b9;
function random() {
  // xorshift32: small, seeded, good enough for synthetic data
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state / 0x100000000;
}
function gaussian() {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

const vocabularySizes = Array.from({ length: 26 }, (_, c) => [4, 20, 100, 500, 2000][c % 5]);
const categoryWeights = vocabularySizes.map((size) => Float64Array.from({ length: size }, () => 0.6 * gaussian()));
const categoryCodes = vocabularySizes.map((size) => Array.from({ length: size }, () => Math.floor(random() * 0xffffffff).toString(16).padStart(8, '0')));
const integerWeights = Float64Array.from({ length: 13 }, () => 0.25 * gaussian());

// Zipf-like pick: frequent values dominate, as in click logs.
const pick = (size) => Math.min(size - 1, Math.floor(size * random() ** 2.5));

fs.mkdirSync(path.dirname(out), { recursive: true });
const lines = [];
for (let r = 0; r < rows; r++) {
  let margin = -5.5;
  const fields = [];
  for (let c = 0; c < 13; c++) {
    if (random() < 0.15) { fields.push(''); continue; }
    const value = Math.floor(Math.exp(random() * 5) - 1);
    margin += integerWeights[c] * Math.log1p(value);
    fields.push(String(value));
  }
  for (let c = 0; c < 26; c++) {
    if (random() < 0.05) { fields.push(''); continue; }
    const v = pick(vocabularySizes[c]);
    margin += categoryWeights[c][v];
    fields.push(categoryCodes[c][v]);
  }
  const label = random() < 1 / (1 + Math.exp(-margin)) ? 1 : 0;
  lines.push(`${label}\t${fields.join('\t')}`);
}
fs.writeFileSync(out, lines.join('\n') + '\n');
console.log(`wrote ${rows} rows to ${out}`);
