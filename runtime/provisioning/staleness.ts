// Fitting asynchronous SGD's staleness from real runs: the same data and model trained at several
// worker counts, test loss against samples. With W workers each push was computed on weights about
// W - 1 updates old, so a sample makes less progress than at one worker; how much less, and when in
// training, is what the curves say. Three forms are fitted and all reported: the penalty constant over
// training; growing as the gap to the floor closes ("late": the assumption behind MLLess-style scale-in);
// and largest far from the floor, where gradients are large and a stale one overshoots ("early": the
// argument for starting with few workers and adding them, Dutta et al. 2018).
import { efficiencyOf, gapOf, lossAfter, type ConvergenceModel, type StalenessForm } from './adaptive';
import { noiseEfficiency, type NoiseScaleModel } from './noise-scale';

export { efficiencyOf, type StalenessForm };

export interface LossCurve {
  workers: number;
  /** [samples trained, test loss], in order of samples. */
  points: Array<[number, number]>;
}


export interface StalenessFit {
  form: StalenessForm;
  staleness: number;
  /** Root mean squared loss error over the multi-worker curves' points. */
  rmse: number;
}


/** The loss the convergence model predicts after `samples` at `workers`, integrating the efficiency. */
export function predictLoss(conv: ConvergenceModel, form: StalenessForm, staleness: number, workers: number, samples: number, steps = 200): number {
  return predictLossWith(conv, (gap) => efficiencyOf(form, staleness, workers, gap), samples, steps);
}

/** The same with any efficiency (of the relative gap). */
export function predictLossWith(conv: ConvergenceModel, efficiency: (gap: number) => number, samples: number, steps = 200): number {
  let effective = 0;
  const ds = samples / steps;
  const lossOf = () => lossAfter(conv, effective);
  for (let i = 0; i < steps; i++) effective += ds * efficiency(gapOf(conv, lossOf()));
  return lossOf();
}

/**
 * How well the measured noise scale predicts real asynchronous runs taken as batches of workers x
 * `minibatch` (the one-worker run the reference): B_noise = factor x the measured table, the factor fitted
 * by grid search (0.05-20), the table's shape (how B_noise changes with the loss) kept. A factor near 1
 * says the sample-by-sample measurement carries over to the system's asynchronous SGD as it is.
 */
export function fitNoiseFactor(conv: ConvergenceModel, curves: LossCurve[], noise: NoiseScaleModel, minibatch: number): { factor: number; rmse: number } {
  const points = curves.filter((c) => c.workers > 1).flatMap((c) => c.points.filter(([x, l]) => x > 0 && Number.isFinite(l)).map(([x, l]) => ({ workers: c.workers, s: x, l })));
  if (points.length === 0) throw new Error('fitting the noise scale needs loss curves at more than one worker');
  let best = { factor: 1, sse: Infinity };
  for (let i = 0; i <= 80; i++) {
    const factor = 0.05 * 400 ** (i / 80);
    const scaled: NoiseScaleModel = { referenceBatch: minibatch, points: noise.points.map(([g, b]) => [g, b * factor]) };
    const efficiency = (workers: number) => (gap: number) => noiseEfficiency(scaled, workers * minibatch, conv.floorLoss + gap * (conv.initialLoss - conv.floorLoss));
    const sse = points.reduce((a, p) => a + (predictLossWith(conv, efficiency(p.workers), p.s, 60) - p.l) ** 2, 0);
    if (sse < best.sse) best = { factor, sse };
  }
  return { factor: Math.round(best.factor * 1000) / 1000, rmse: Math.sqrt(best.sse / points.length) };
}

/**
 * Fits the staleness of each form by grid search: the one-worker convergence model `conv` (fitted from
 * the one-worker curve) is played at each multi-worker curve's worker count and compared point by point.
 */
export function fitStaleness(conv: ConvergenceModel, curves: LossCurve[], forms: StalenessForm[] = ['constant', 'late', 'early']): StalenessFit[] {
  const multi = curves.filter((c) => c.workers > 1);
  const points = multi.flatMap((c) => c.points.filter(([s, l]) => s > 0 && Number.isFinite(l)).map(([s, l]) => ({ workers: c.workers, s, l })));
  if (points.length === 0) throw new Error('fitting staleness needs loss curves at more than one worker');
  return forms.map((form) => {
    let best = { staleness: 0, sse: Infinity };
    for (let s = 0; s <= 3.0001; s += 0.005) {
      const sse = points.reduce((a, p) => a + (predictLoss(conv, form, s, p.workers, p.s, 60) - p.l) ** 2, 0);
      if (sse < best.sse - 1e-15) best = { staleness: s, sse };
    }
    return { form, staleness: Math.round(best.staleness * 1000) / 1000, rmse: Math.sqrt(best.sse / points.length) };
  });
}

/** Samples each curve needs to first reach `loss` (undefined when it never does). */
export function samplesToReach(curve: LossCurve, loss: number): number | undefined {
  return curve.points.find(([, l]) => l <= loss)?.[0];
}
