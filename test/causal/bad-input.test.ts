// Bad input to a causal estimate: each a clear error naming the column or the setting (and the file
// and line for a bad row), before any worker runs; a run that fails records why in its folder.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { resolveDoubleMLConfig, validateDoubleMLConfig, type DoubleMLConfig } from '../../runtime/causal/config';
import { readCausalCsv } from '../../runtime/causal/data';
import { checkCausalData, runDoubleML } from '../../runtime/causal/run';
import { SUMMARY_FILE } from '../../runtime/recording/run-folder';
import { shutdownEmbeddedServices } from '../../runtime/index';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-doubleml-bad-'));
after(async () => {
  await shutdownEmbeddedServices();
  fs.rmSync(dir, { recursive: true, force: true });
});

function csv(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Rows y,d,x1,x2,city with d from `treatment(i)`. */
function rows(n: number, treatment: (i: number) => number | string = (i) => i % 2): string[] {
  return ['y,d,x1,x2,city', ...Array.from({ length: n }, (_, i) => `${(i * 0.37) % 5},${treatment(i)},${Math.sin(i)},${(i * 7) % 11},${['a', 'b', 'c'][i % 3]}`)];
}

async function check(file: string, config: Partial<DoubleMLConfig>): Promise<void> {
  const resolved = resolveDoubleMLConfig({ data: { path: file, outcome: 'y', treatment: 'd' }, model: 'plr', ...config } as DoubleMLConfig);
  const data = await readCausalCsv(file, resolved.data);
  checkCausalData(data, resolved, file);
}

test('IRM with a treatment that is not binary: the error names the column and the model, and the failed run records it', async () => {
  const file = csv('dose.csv', rows(40, (i) => (i % 4) * 0.5));
  await assert.rejects(check(file, { model: 'irm' }), /treatment column "d" must be binary \(0 or 1\) for model "irm": data row 2 has 0\.5/);
  await assert.rejects(check(file, { model: 'plr', learners: { treatment: { type: 'logistic' } } }), /treatment column "d" must be binary \(0 or 1\) for learner "logistic"/);
  await check(file, { model: 'plr' }); // a continuous treatment is fine for PLR
  const summary = await runDoubleML({ data: { path: file, outcome: 'y', treatment: 'd' }, model: 'irm' }, { stateDir: path.join(dir, 'state') });
  assert.equal(summary.status, 'failed');
  assert.match(summary.reason, /treatment column "d" must be binary/);
  assert.equal(summary.tasks.invocations, 0, 'no worker ran');
  const recorded = JSON.parse(fs.readFileSync(path.join(summary.runFolder, SUMMARY_FILE), 'utf8'));
  assert.equal(recorded.status, 'failed');
  assert.match(recorded.reason, /must be binary/);
});

test('a constant covariate is refused by name (numeric and categorical)', async () => {
  const numeric = csv('const.csv', ['y,d,x1,x2', ...Array.from({ length: 20 }, (_, i) => `${i},${i % 2},${i * 2},3.5`)]);
  await assert.rejects(check(numeric, {}), /covariate "x2" is constant \(every row has 3\.5\): remove it from data\.covariates/);
  const categorical = csv('const-cat.csv', ['y,d,x1,region', ...Array.from({ length: 20 }, (_, i) => `${i},${i % 2},${i * 2},north`)]);
  await assert.rejects(check(categorical, {}), /covariate "region" is constant \(every row has "north"\)/);
  // Leaving it out of the covariates is the fix.
  await check(numeric, { data: { path: numeric, outcome: 'y', treatment: 'd', covariates: ['x1'] } });
});

test('a missing column names the column and the setting that asks for it', async () => {
  const file = csv('cols.csv', rows(20));
  await assert.rejects(check(file, { data: { path: file, outcome: 'wage', treatment: 'd' } }), /no column "wage" \(data\.outcome\) in the header; the columns are y, d, x1, x2, city/);
  await assert.rejects(check(file, { data: { path: file, outcome: 'y', treatment: 'training' } }), /no column "training" \(data\.treatment\)/);
  await assert.rejects(check(file, { data: { path: file, outcome: 'y', treatment: 'd', covariates: ['x1', 'age'] } }), /no column "age" \(data\.covariates\)/);
  await assert.rejects(check(file, { data: { path: file, outcome: 'y', treatment: 'y' } }), /data\.outcome and data\.treatment name the same column "y"/);
});

test('fewer rows than folds names the setting; too few treated rows for the folds too', async () => {
  const file = csv('tiny.csv', rows(3));
  await assert.rejects(check(file, { folds: 5 }), /folds is 5 but .*tiny\.csv has only 3 data rows/);
  const rare = csv('rare.csv', rows(30, (i) => (i < 2 ? 1 : 0)));
  await assert.rejects(check(rare, { model: 'irm', folds: 5 }), /treatment column "d" has 2 rows with 1: too few for 5 folds \(lower "folds"\)/);
});

test('bad rows name the file, the line and the column; hashed categoricals become bucket columns', async () => {
  const missing = csv('missing.csv', ['y,d,x1', '1,0,2', '2,1,', '3,0,4']);
  await assert.rejects(check(missing, {}), /missing\.csv:3: covariate "x1" is missing/);
  const text = csv('text.csv', ['y,d,x1', '1,0,2', 'high,1,3']);
  await assert.rejects(check(text, {}), /text\.csv:3: the outcome \(column "y"\) must be a number, found "high"/);
  const ragged = csv('ragged.csv', ['y,d,x1', '1,0,2', '2,1']);
  await assert.rejects(check(ragged, {}), /ragged\.csv:3: expected 3 fields as in the header, found 2/);
  const file = csv('cats.csv', rows(30));
  const data = await readCausalCsv(file, { outcome: 'y', treatment: 'd', hashBits: 6 });
  assert.equal(data.p, 2 + 3, 'x1, x2 and one bucket per city');
  assert.deepEqual(data.covariates.slice(0, 2), ['x1', 'x2']);
  assert.ok(data.covariates.slice(2).every((c) => /^city#\d+$/.test(c)));
  for (let i = 0; i < data.n; i++) assert.equal(data.x[i * data.p + 2] + data.x[i * data.p + 3] + data.x[i * data.p + 4], 1, 'one-hot');
});

test('config errors name the field: unknown settings, a regression learner for the IRM propensity, trimming on PLR', () => {
  const base = { data: { path: 'x.csv', outcome: 'y', treatment: 'd' } };
  assert.throws(() => validateDoubleMLConfig({ ...base, model: 'irm', learners: { treatment: { type: 'lasso' } } }), /learners\.treatment\.type: model "irm" estimates a propensity: use a classifier \(logistic\)/);
  assert.throws(() => validateDoubleMLConfig({ ...base, model: 'plr', learners: { outcome: { type: 'logistic' } } }), /learners\.outcome\.type: must be a regression learner/);
  assert.throws(() => validateDoubleMLConfig({ ...base, model: 'plr', trimming: 0.1 }), /trimming: applies to model "irm" only/);
  assert.throws(() => validateDoubleMLConfig({ ...base, model: 'plr', fold: 3 }), /fold: is not a known setting/);
  assert.throws(() => validateDoubleMLConfig({ ...base, model: 'plr', folds: 1 }), /folds: must be >= 2/);
  assert.throws(() => validateDoubleMLConfig({ ...base, model: 'dml' }), /model: must be one of "plr", "irm"/);
});
