// From the out-of-fold predictions to the estimate, as DoubleML computes it:
//   per repetition: theta_r = -sum(psi_b) / sum(psi_a) over all n rows ("dml2"),
//     sigma2_r = mean(psi^2) / mean(psi_a)^2 with psi = psi_a theta_r + psi_b,  se_r = sqrt(sigma2_r / n);
//   over R repetitions: theta = median(theta_r),
//     se = sqrt(median(se_r^2 + (theta_r - theta)^2 / n))   (DoubleML's adjusted standard error);
//   95 % interval theta +- 1.96 se; p-value of theta = 0 from the normal distribution.
// Per fold the same ratio over the fold's rows is reported (theta of each fold, for the plot).
import type { CausalData } from './data';
import type { FoldFit } from './crossfit';
import type { FoldAssignment } from './folds';
import { logLoss } from '../models/logistic';
import { LEARNERS } from './learners';
import { nuisances, scoreElements, trimPropensity, type CausalModel } from './models';
import type { CrossFitPlan } from './crossfit';

export const Z_975 = 1.959963984540054;

export interface NuisanceQuality {
  name: string;
  learner: string;
  target: string;
  /** r2 for regressions (on the rows the nuisance is for: IRM's g0 on untreated, g1 on treated rows), logLoss for classifiers. */
  metric: 'r2' | 'logLoss';
  /** Mean over repetitions. */
  value: number;
  rmse: number;
  perRepetition: number[];
  /** Penalties chosen by the inner CV, per repetition then fold. */
  penalties: number[][];
}

export interface DoubleMLEstimate {
  model: CausalModel;
  n: number;
  folds: number;
  repetitions: number;
  theta: number;
  se: number;
  ci95: [number, number];
  tStat: number;
  pValue: number;
  perRepetition: Array<{ repetition: number; theta: number; se: number; perFold: number[] }>;
  nuisance: NuisanceQuality[];
  /** IRM: how many (row, repetition) propensities were clipped to the trimming threshold. */
  trimmed?: number;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Standard normal upper tail, by the complementary error function (Numerical Recipes' erfc, relative error < 1.2e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

export function aggregate(data: CausalData, folds: FoldAssignment, plan: CrossFitPlan, fits: FoldFit[], trimming: number): DoubleMLEstimate {
  const { n } = data;
  const specs = nuisances(plan.model, plan.learners);
  const perRepetition: DoubleMLEstimate['perRepetition'] = [];
  const quality = specs.map((s) => ({ perRepetition: [] as number[], rmse: [] as number[], penalties: [] as number[][] }));
  let trimmed = 0;
  for (let r = 0; r < folds.repetitions; r++) {
    const full: Record<string, Float64Array> = Object.fromEntries(specs.map((s) => [s.name, new Float64Array(n).fill(NaN)]));
    const repFits = fits.filter((f) => f.repetition === r).sort((a, b) => a.fold - b.fold);
    if (repFits.length !== folds.folds) throw new Error(`repetition ${r + 1}: ${repFits.length} of ${folds.folds} folds fitted`);
    for (const f of repFits) for (const s of specs) f.rows.forEach((row, i) => (full[s.name][row] = f.predictions[s.name][i]));
    for (const s of specs) if (full[s.name].some(Number.isNaN)) throw new Error(`repetition ${r + 1}: ${s.name} has rows without an out-of-fold prediction`);
    const { psiA, psiB } = scoreElements(plan.model, data.y, data.d, full, trimming);
    let sumA = 0;
    let sumB = 0;
    for (let i = 0; i < n; i++) {
      sumA += psiA[i];
      sumB += psiB[i];
    }
    const theta = -sumB / sumA;
    let sumPsi2 = 0;
    for (let i = 0; i < n; i++) {
      const psi = psiA[i] * theta + psiB[i];
      sumPsi2 += psi * psi;
    }
    const j = sumA / n;
    const se = Math.sqrt(sumPsi2 / n / (j * j) / n);
    const perFold = repFits.map((f) => {
      let a = 0;
      let b = 0;
      for (const row of f.rows) {
        a += psiA[row];
        b += psiB[row];
      }
      return -b / a;
    });
    perRepetition.push({ repetition: r, theta, se, perFold });
    specs.forEach((s, q) => {
      const pred = full[s.name];
      const target = s.target === 'outcome' ? data.y : data.d;
      let sse = 0;
      let sum = 0;
      let count = 0;
      let loss = 0;
      for (let i = 0; i < n; i++) {
        if (s.treated !== undefined && data.d[i] !== s.treated) continue;
        const e = target[i] - pred[i];
        sse += e * e;
        sum += target[i];
        count++;
        if (LEARNERS[s.learner.type]?.kind === 'classification') {
          const prob = Math.min(1 - 1e-15, Math.max(1e-15, pred[i]));
          loss += logLoss(Math.log(prob / (1 - prob)), target[i]);
        }
      }
      const mean = sum / count;
      let sst = 0;
      for (let i = 0; i < n; i++) if (s.treated === undefined || data.d[i] === s.treated) sst += (target[i] - mean) ** 2;
      const classifier = LEARNERS[s.learner.type]?.kind === 'classification';
      quality[q].perRepetition.push(classifier ? loss / count : 1 - sse / sst);
      quality[q].rmse.push(Math.sqrt(sse / count));
      quality[q].penalties.push(repFits.map((f) => f.penalties[s.name]));
      if (plan.model === 'irm' && s.name === 'ml_m') for (let i = 0; i < n; i++) if (trimPropensity(pred[i], trimming) !== pred[i]) trimmed++;
    });
  }
  const thetas = perRepetition.map((p) => p.theta);
  const theta = median(thetas);
  const se = Math.sqrt(median(perRepetition.map((p) => p.se * p.se + (p.theta - theta) ** 2 / n)));
  const tStat = theta / se;
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    model: plan.model,
    n,
    folds: folds.folds,
    repetitions: folds.repetitions,
    theta,
    se,
    ci95: [theta - Z_975 * se, theta + Z_975 * se],
    tStat,
    pValue: 2 * normalUpperTail(Math.abs(tStat)),
    perRepetition,
    nuisance: specs.map((s, q) => ({
      name: s.name,
      learner: s.learner.type,
      target: s.target === 'outcome' ? data.outcome : data.treatment,
      metric: LEARNERS[s.learner.type]?.kind === 'classification' ? ('logLoss' as const) : ('r2' as const),
      value: mean(quality[q].perRepetition),
      rmse: mean(quality[q].rmse),
      perRepetition: quality[q].perRepetition,
      penalties: quality[q].penalties,
    })),
    ...(plan.model === 'irm' ? { trimmed } : {}),
  };
}
