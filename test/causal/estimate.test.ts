// The estimator in one process: the 95 % interval covers the true effect of DoubleML's
// make_plr_CCDDHNR2018 design (theta 0.5, n 5,000, p 20) in >= 90 % of seeded replications
// (20 here; 50 in the bench section "doubleml"); the aggregation over repetitions is DoubleML's
// (median, adjusted SE); the learners choose their penalties by inner CV; folds are seeded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossFitInProcess } from '../../runtime/causal/crossfit';
import { aggregate, median, normalUpperTail } from '../../runtime/causal/estimate';
import { assignFolds, foldRows, foldsSha256 } from '../../runtime/causal/folds';
import { lasso, logistic, ridge } from '../../runtime/causal/learners';
import { Rng } from '../../runtime/causal/rng';
import { makePlrCCDDHNR2018 } from '../../runtime/causal/synthetic';

test('PLR on make_plr_CCDDHNR2018 (theta 0.5, n 5,000, p 20, 5 folds): the 95 % interval covers theta in >= 90 % of 20 seeded replications', (t) => {
  const replications = 20;
  const thetas: number[] = [];
  const ses: number[] = [];
  let covered = 0;
  for (let seed = 1; seed <= replications; seed++) {
    const data = makePlrCCDDHNR2018({ n: 5000, p: 20, theta: 0.5, seed });
    const folds = assignFolds(data.n, 5, 1, seed);
    const plan = { model: 'plr' as const, learners: { outcome: { type: 'ridge' }, treatment: { type: 'ridge' } }, seed };
    const e = aggregate(data, folds, plan, crossFitInProcess(data, folds, plan), 0.01);
    thetas.push(e.theta);
    ses.push(e.se);
    if (e.ci95[0] <= 0.5 && 0.5 <= e.ci95[1]) covered++;
  }
  t.diagnostic(`covered in ${covered} of ${replications}`);
  assert.ok(covered >= 0.9 * replications, `covered in ${covered} of ${replications}`);
  const mean = thetas.reduce((a, b) => a + b, 0) / replications;
  const sd = Math.sqrt(thetas.reduce((a, t) => a + (t - mean) ** 2, 0) / (replications - 1));
  const meanSe = ses.reduce((a, b) => a + b, 0) / replications;
  assert.ok(Math.abs(mean - 0.5) < 3 * (meanSe / Math.sqrt(replications)), `mean estimate ${mean} unbiased`);
  assert.ok(sd / meanSe > 0.5 && sd / meanSe < 1.6, `the SE (${meanSe}) matches the spread of the estimates (${sd})`);
});

test('over repetitions: the median estimate and DoubleML\'s adjusted SE sqrt(median(se_r^2 + (theta_r - theta)^2 / n))', () => {
  const data = makePlrCCDDHNR2018({ n: 1000, p: 10, seed: 4 });
  const folds = assignFolds(data.n, 3, 5, 9);
  const plan = { model: 'plr' as const, learners: { outcome: { type: 'lasso' }, treatment: { type: 'lasso' } }, seed: 9 };
  const e = aggregate(data, folds, plan, crossFitInProcess(data, folds, plan), 0.01);
  const thetas = e.perRepetition.map((r) => r.theta);
  assert.equal(new Set(thetas).size, 5, 'different splits give different estimates');
  assert.equal(e.theta, median(thetas));
  const expected = Math.sqrt(median(e.perRepetition.map((r) => r.se ** 2 + (r.theta - e.theta) ** 2 / data.n)));
  assert.equal(e.se, expected);
  assert.ok(e.se >= Math.min(...e.perRepetition.map((r) => r.se)));
  assert.ok(Math.abs(e.ci95[1] - e.theta - 1.959963984540054 * e.se) < 1e-15);
  assert.ok(Math.abs(normalUpperTail(1.959963984540054) - 0.025) < 1e-7);
  assert.ok(Math.abs(e.pValue - 2 * normalUpperTail(Math.abs(e.theta / e.se))) < 1e-15);
  assert.equal(median([3, 1, 2, 10]), 2.5);
});

test('folds: seeded, balanced, a partition of the rows per repetition; another seed gives another assignment', () => {
  const a = assignFolds(103, 5, 3, 42);
  for (let r = 0; r < 3; r++) {
    const sizes = Array.from({ length: 5 }, (_, k) => foldRows(a, r, k, 'test').length);
    assert.equal(sizes.reduce((x, y) => x + y, 0), 103);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced: ${sizes}`);
    assert.equal(foldRows(a, r, 2, 'train').length, 103 - sizes[2]);
  }
  assert.equal(foldsSha256(assignFolds(103, 5, 3, 42)), foldsSha256(a));
  assert.notEqual(foldsSha256(assignFolds(103, 5, 3, 43)), foldsSha256(a));
  assert.notDeepEqual(Array.from(a.fold.subarray(0, 103)), Array.from(a.fold.subarray(103, 206)), 'repetitions differ');
});

test('learners: ridge and lasso recover a sparse linear signal and pick the penalty by inner CV; lasso zeroes noise; logistic fits probabilities', () => {
  const rng = new Rng(1);
  const n = 800;
  const p = 12;
  const x = Float64Array.from({ length: n * p }, () => rng.normal());
  const y = new Float64Array(n);
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = 3 + 2 * x[i * p] - 1.5 * x[i * p + 1] + 0.5 * rng.normal();
    label[i] = rng.uniform() < 1 / (1 + Math.exp(-(0.5 + 2 * x[i * p]))) ? 1 : 0;
  }
  const train = Int32Array.from({ length: 600 }, (_, i) => i);
  const test = Int32Array.from({ length: 200 }, (_, i) => 600 + i);
  const r2 = (pred: Float64Array) => {
    const t = Array.from(test, (i) => y[i]);
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    return 1 - t.reduce((a, v, j) => a + (v - pred[j]) ** 2, 0) / t.reduce((a, v) => a + (v - mean) ** 2, 0);
  };
  for (const make of [ridge, lasso]) {
    const fitted = make({}).fit({ x, p, target: y, rows: train, seed: [1] });
    assert.ok(r2(fitted.predict(x, p, test)) > 0.9, `${make.name} R² on held-out rows`);
    const heavy = make({ penalties: [50] }).fit({ x, p, target: y, rows: train, seed: [1] });
    assert.equal(heavy.penalty, 50);
    assert.ok(r2(heavy.predict(x, p, test)) < r2(fitted.predict(x, p, test)), `${make.name}: the CV-chosen penalty beats a heavy one`);
  }
  const sparse = lasso({}).fit({ x, p, target: y, rows: train, seed: [1] });
  assert.ok(sparse.nonZero < p, `lasso keeps ${sparse.nonZero} of ${p}`);
  const clf = logistic({}).fit({ x, p, target: label, rows: train, seed: [1] });
  const prob = clf.predict(x, p, test);
  assert.ok(prob.every((v) => v > 0 && v < 1));
  const loss = Array.from(test).reduce((a, i, j) => a - (label[i] * Math.log(prob[j]) + (1 - label[i]) * Math.log(1 - prob[j])), 0) / test.length;
  assert.ok(loss < 0.6, `held-out log-loss ${loss} well under a coin's 0.693`);
  // Deterministic: the same inputs, the same numbers.
  assert.deepEqual(Array.from(lasso({}).fit({ x, p, target: y, rows: train, seed: [1] }).predict(x, p, test)), Array.from(sparse.predict(x, p, test)));
});
