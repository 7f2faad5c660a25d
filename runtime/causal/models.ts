// The two models and their orthogonal scores, as in the DoubleML package:
//
//   PLR (partially linear regression), score "partialling out":
//     Y = theta D + g(X) + e,  D = m(X) + v;  nuisances ml_l = E[Y|X], ml_m = E[D|X]
//     psi_a = -(D - m)^2,  psi_b = (Y - l)(D - m)
//   IRM (interactive regression, binary D, average treatment effect):
//     nuisances ml_g0 = E[Y|X, D=0], ml_g1 = E[Y|X, D=1], ml_m = P(D=1|X), trimmed to [t, 1-t]
//     psi_a = -1,  psi_b = g1 - g0 + D (Y - g1) / m - (1 - D)(Y - g0) / (1 - m)
//
// theta solves mean(psi_a theta + psi_b) = 0 over all rows of a repetition (DoubleML's "dml2").
import type { LearnerSpec } from './learners';

export type CausalModel = 'plr' | 'irm';

export interface NuisanceSpec {
  name: 'ml_l' | 'ml_m' | 'ml_g0' | 'ml_g1';
  target: 'outcome' | 'treatment';
  /** Fit only on training rows with this treatment value (IRM's outcome regressions). */
  treated?: 0 | 1;
  learner: LearnerSpec;
}

export const DEFAULT_TRIMMING = 0.01;

export function nuisances(model: CausalModel, learners: { outcome: LearnerSpec; treatment: LearnerSpec }): NuisanceSpec[] {
  if (model === 'plr') {
    return [
      { name: 'ml_l', target: 'outcome', learner: learners.outcome },
      { name: 'ml_m', target: 'treatment', learner: learners.treatment },
    ];
  }
  return [
    { name: 'ml_g0', target: 'outcome', treated: 0, learner: learners.outcome },
    { name: 'ml_g1', target: 'outcome', treated: 1, learner: learners.outcome },
    { name: 'ml_m', target: 'treatment', learner: learners.treatment },
  ];
}

/** The propensity as the IRM score uses it: clipped to [trimming, 1 - trimming]. */
export function trimPropensity(m: number, trimming: number): number {
  return Math.min(1 - trimming, Math.max(trimming, m));
}

/** psi_a and psi_b of every row, from the out-of-fold predictions of one repetition. */
export function scoreElements(model: CausalModel, y: Float64Array, d: Float64Array, predictions: Record<string, Float64Array>, trimming: number): { psiA: Float64Array; psiB: Float64Array } {
  const n = y.length;
  const psiA = new Float64Array(n);
  const psiB = new Float64Array(n);
  if (model === 'plr') {
    const l = predictions.ml_l;
    const m = predictions.ml_m;
    for (let i = 0; i < n; i++) {
      const v = d[i] - m[i];
      psiA[i] = -v * v;
      psiB[i] = (y[i] - l[i]) * v;
    }
  } else {
    const { ml_g0: g0, ml_g1: g1, ml_m: m } = predictions;
    for (let i = 0; i < n; i++) {
      const p = trimPropensity(m[i], trimming);
      psiA[i] = -1;
      psiB[i] = g1[i] - g0[i] + (d[i] * (y[i] - g1[i])) / p - ((1 - d[i]) * (y[i] - g0[i])) / (1 - p);
    }
  }
  return { psiA, psiB };
}
