// Adaptive sizing (`training.adaptive`): re-plan workers and memory while training, from the measured
// throughput and the loss's progress (SIREN re-sizes each epoch; MLLess removes workers once the loss
// flattens). The decision rule is `replan`; `simulateTraining` plays a run forward in time under a
// policy (static or adaptive) on top of the fitted performance model, so the two can be compared at
// sizes this machine cannot run (docs/provisioning.md, "Adaptive sizing").
import type { ResolvedRunConfig as RunConfig } from '../config/run-config';
import { PRICES } from '../cost/prices';
import { noiseEfficiency, type NoiseScaleModel } from './noise-scale';
import { predictRun, type Environment, type PerfModel } from './perf-model';

/** How the loss falls with samples, and how much more workers' staleness costs as it flattens. */
export interface ConvergenceModel {
  initialLoss: number;
  /** The loss the curve tends to. */
  floorLoss: number;
  /** Samples (at one worker) over which the gap to the floor shrinks by a factor e. */
  samplesScale: number;
  /**
   * Asynchronous SGD's staleness: near the floor, one sample at W workers makes 1 / (1 + staleness (W - 1))
   * of the progress it makes at one worker; far from the floor gradients agree and staleness costs
   * nothing. (The gradient-noise argument of McCandlish et al. 2018; the figure is an assumption unless
   * fitted from runs at two worker counts.)
   */
  staleness: number;
  /** The minibatch `staleness` was measured at: staleness in samples is (workers - 1) x minibatch, so at
   *  another minibatch it scales in proportion (unset: it does not change with the minibatch). */
  stalenessMinibatch?: number;
  /** When in training staleness costs (staleness.ts fits all three; real runs at 1-16 workers could not
   *  tell them apart): 'late' (default: near the floor, as above), 'constant', or 'early' (far from the
   *  floor); or 'noise-scale': the measured gradient noise scale at the current loss (`noise`). */
  form?: EfficiencyForm;
  /** The measured noise scale against the loss (form 'noise-scale'; noise-scale.ts). */
  noise?: NoiseScaleModel;
  /** A measured loss curve ([samples of the reference run, loss], samples ascending, loss linear between
   *  points): when set, the loss after a number of effective samples is read from it instead of the
   *  exponential (`lossAfter`), so a simulated run spends its time where the real curve does. */
  curve?: Array<[number, number]>;
  source: 'loss-curve' | 'default';
}

export type StalenessForm = 'constant' | 'late' | 'early';
export type EfficiencyForm = StalenessForm | 'noise-scale';

/** Staleness sensitivity when no runs at two worker counts measured it (an assumption, stated in the docs). */
export const DEFAULT_STALENESS = 0.02;

/** Progress of one sample at `workers` relative to one worker, at relative gap `gap`, under `form`. */
export function efficiencyOf(form: StalenessForm, staleness: number, workers: number, gap: number): number {
  const penalty = form === 'constant' ? 1 : form === 'late' ? 1 - gap : gap;
  return 1 / (1 + staleness * (workers - 1) * penalty);
}

/** Fits the convergence model from the perf model's loss curve (test loss against samples). */
export function fitConvergence(model: PerfModel, staleness = DEFAULT_STALENESS): ConvergenceModel {
  const curve = model.lossCurve.filter(([s, l]) => s > 0 && Number.isFinite(l));
  if (curve.length < 3) return { initialLoss: 0.69, floorLoss: 0.45, samplesScale: Math.max(1, model.trainRows), staleness, source: 'default' };
  const losses = curve.map(([, l]) => l);
  const initialLoss = Math.max(...losses);
  const floorLoss = Math.min(...losses) * 0.98;
  // log((L - floor) / (L0 - floor)) = -s / scale: least squares through the origin.
  let num = 0;
  let den = 0;
  for (const [s, l] of curve) {
    const y = Math.log(Math.max(1e-6, (l - floorLoss) / (initialLoss - floorLoss)));
    num += s * s;
    den += -s * y;
  }
  const samplesScale = den > 0 ? num / den : Math.max(1, model.trainRows);
  return { initialLoss, floorLoss, samplesScale, staleness, source: 'loss-curve' };
}

/** Relative gap to the floor (1 at the start, 0 at the floor) of a loss. */
export const gapOf = (c: ConvergenceModel, loss: number) => Math.max(0, Math.min(1, (loss - c.floorLoss) / (c.initialLoss - c.floorLoss)));

/** The loss after `samples` effective samples: on the measured curve when there is one (held at its last
 *  point past it), else on the exponential. */
export function lossAfter(c: ConvergenceModel, samples: number): number {
  if (!c.curve) return c.floorLoss + (c.initialLoss - c.floorLoss) * Math.exp(-samples / c.samplesScale);
  const k = c.curve.findIndex(([s]) => s >= samples);
  if (k === -1) return c.curve[c.curve.length - 1][1];
  if (k === 0) return c.curve[0][1];
  const [[s0, l0], [s1, l1]] = [c.curve[k - 1], c.curve[k]];
  return l0 + ((samples - s0) / (s1 - s0)) * (l1 - l0);
}

/** Effective samples from `loss` to `target` (the inverse of `lossAfter`; Infinity when the curve never gets there). */
export function samplesBetween(c: ConvergenceModel, loss: number, target: number): number {
  if (!c.curve) return c.samplesScale * Math.log(Math.max(1, gapOf(c, loss) / Math.max(1e-6, gapOf(c, target))));
  const at = (l: number) => {
    const k = c.curve!.findIndex(([, x]) => x <= l);
    if (k === -1) return Infinity;
    if (k === 0) return c.curve![0][0];
    const [[s0, l0], [s1, l1]] = [c.curve![k - 1], c.curve![k]];
    return s0 + ((l0 - l) / (l0 - l1)) * (s1 - s0);
  };
  return Math.max(0, at(target) - at(loss));
}

/** Progress one sample makes at `workers` (each at `minibatch`), relative to the convergence model's own
 *  run, at relative gap `gap`. Without a minibatch, the one the staleness or noise scale was measured at. */
export function statisticalEfficiency(c: ConvergenceModel, workers: number, gap: number, minibatch?: number): number {
  if (c.form === 'noise-scale') {
    if (!c.noise) throw new Error("the 'noise-scale' form needs a measured noise scale (noise)");
    return noiseEfficiency(c.noise, workers * (minibatch ?? c.noise.referenceBatch), c.floorLoss + gap * (c.initialLoss - c.floorLoss));
  }
  const staleness = minibatch !== undefined && c.stalenessMinibatch ? (c.staleness * minibatch) / c.stalenessMinibatch : c.staleness;
  return efficiencyOf(c.form ?? 'late', staleness, workers, gap);
}

/** A size decision and why it was taken (an event on the run's workers-over-time chart). */
export interface SizeDecision {
  t: number;
  workers: number;
  memoryMB: number;
  /** Set only when the re-plan searched minibatches (`minibatchGrid`; the simulator's goodput rule). */
  minibatch?: number;
  reason: string;
}

/** What the re-planner knows at a decision point: what it measured, not the simulator's truth. */
export interface Measured {
  workers: number;
  memoryMB: number;
  /** Samples/s of all workers over the last interval. */
  samplesPerSecond: number;
  /** Test loss now, and the best one before this interval (in the simulator, whose loss only falls, the
   *  one an interval ago; in real runs evaluations are noisy, and judging against the previous one alone
   *  flips the decision every interval). */
  loss: number;
  previousLoss: number;
  /** The minibatch now (default: the config's). */
  minibatch?: number;
  /** Seconds between re-plans: with it, what counts as a flat interval ages with the run (`flatThreshold`). */
  intervalSeconds?: number;
}

export interface ReplanOptions {
  workerGrid: number[];
  memoryGrid: number[];
  /** A size is worth it only when it makes at least this much more progress per second than the next smaller (the rest is paid for nothing). */
  minGain: number;
  /** Scale in (MLLess) when the loss improved by less than this fraction over the last interval. */
  flatFraction: number;
  /** Seconds of training every worker loses when the memory changes: the simulator restarts every worker
   *  cold at once; a real run changes it for the next generation, which then starts cold instead of warm.
   *  A change must repay it before the target (0: free). */
  memoryChangeSeconds?: number;
  /** The loss the run trains to (else 5 % of the initial gap above the floor): how long a change has to repay its restart. */
  targetLoss?: number;
  /** Minibatches to choose from by goodput (Pollux): samples/s x statistical efficiency at each. Simulator
   *  only: real runs keep the config's minibatch (unset: it is not changed). */
  minibatchGrid?: number[];
}

export const DEFAULT_REPLAN: Omit<ReplanOptions, 'workerGrid' | 'memoryGrid'> = { minGain: 0.05, flatFraction: 0.002 };

/** Re-plans over which `flatFraction` applies as it is; past them the bar falls with the interval's share of the run. */
const FLAT_REFERENCE_INTERVALS = 10;

/**
 * The improvement over one interval below which the loss counts as flat at `t` seconds. A loss that keeps
 * falling as a power of time improves by less each interval as the run ages (over 10 s of a 4,000 s
 * MovieLens 1M run, ~0.05 %), so a fixed bar would call steady progress flat and block every scale-out
 * (simulated, that run ended 26 % slower than the best static size); the bar falls in proportion to
 * the interval's share of the run once the run is FLAT_REFERENCE_INTERVALS intervals old.
 */
export function flatThreshold(flatFraction: number, t: number, intervalSeconds?: number): number {
  if (!intervalSeconds || t <= 0) return flatFraction;
  return flatFraction * Math.min(1, (FLAT_REFERENCE_INTERVALS * intervalSeconds) / t);
}

/**
 * The decision rule. Progress per second at a size = samples/s (the perf model, corrected by the ratio of
 * the measured rate to the model's at the current size) x the statistical efficiency at the measured
 * loss. Add workers while the next size up adds at least `minGain` progress; when the loss has flattened,
 * scale in to the smallest size within `minGain` of the best. Memory: the smallest that keeps the best
 * progress (more only costs more).
 */
export function replan(model: PerfModel, config: RunConfig, env: Environment, conv: ConvergenceModel, m: Measured, t: number, o: ReplanOptions): SizeDecision {
  const minibatchNow = m.minibatch ?? config.training.minibatch;
  const at = (mb: number): RunConfig => (mb === config.training.minibatch ? config : { ...config, training: { ...config.training, minibatch: mb } });
  const predictedNow = predictRun(model, at(minibatchNow), env, m.workers, m.memoryMB).samplesPerSecond;
  const correction = m.samplesPerSecond > 0 && predictedNow > 0 ? m.samplesPerSecond / predictedNow : 1;
  const gap = gapOf(conv, m.loss);
  const progressAt = (w: number, mem: number, mb: number) => predictRun(model, at(mb), env, w, mem).samplesPerSecond * correction * statisticalEfficiency(conv, w, gap, mb);
  // Effective samples still to train (at least one, so that with no restart to repay this is the progress rule).
  const target = o.targetLoss ?? conv.floorLoss + 0.05 * (conv.initialLoss - conv.floorLoss);
  // A target the measured curve never reaches leaves Infinity: taken as the largest finite number, so that
  // every restart counts as repaid and the memory comparison below still ranks by progress.
  const remaining = Math.max(1, Math.min(samplesBetween(conv, m.loss, target), Number.MAX_VALUE));
  const grid = [...o.workerGrid].sort((a, b) => a - b);
  // At a minibatch: memory first, at the current workers: the smallest whose time to the target is within
  // minGain of the best, a change paying its restart (a simulated change at the first re-plan once cost
  // 40 %: every worker restarted for a memory that bought 5 % or nothing). Then workers: climb the grid
  // while each step pays.
  const planAt = (mb: number) => {
    const byMemory = o.memoryGrid.map((mem) => ({ mem, seconds: (mem === m.memoryMB ? 0 : (o.memoryChangeSeconds ?? 0)) + remaining / Math.max(1e-9, progressAt(m.workers, mem, mb)) }));
    const bestSeconds = Math.min(...byMemory.map((x) => x.seconds));
    const mem = byMemory.find((x) => x.seconds * (1 - o.minGain) <= bestSeconds)!.mem;
    let w = grid[0];
    for (const next of grid.slice(1)) {
      if (progressAt(next, mem, mb) >= progressAt(w, mem, mb) * (1 + o.minGain)) w = next;
      else break;
    }
    return { mb, mem, w, progress: progressAt(w, mem, mb) };
  };
  // With a minibatch grid (goodput, Pollux): the minibatch whose plan makes the most progress, the current
  // one unless another makes minGain more.
  let best = planAt(minibatchNow);
  for (const mb of o.minibatchGrid ?? []) {
    const c = planAt(mb);
    if (c.progress > best.progress * (1 + o.minGain)) best = c;
  }
  let minibatch = best.mb;
  const memoryMB = best.mem;
  const progress = (w: number, mem: number) => progressAt(w, mem, minibatch);
  let workers = best.w;
  const improvement = m.previousLoss > 0 && Number.isFinite(m.previousLoss) ? (m.previousLoss - m.loss) / m.previousLoss : 1;
  const flat = improvement < flatThreshold(o.flatFraction, t, m.intervalSeconds);
  // MLLess scale-in: once the loss has stopped falling over a whole interval, more samples/s buys no
  // progress, so at most half the workers stay (each such interval halves again; progress resuming scales
  // out). A loss still falling, however slowly, is left to the progress rule above.
  // Only with samples trained over the interval: while workers start the loss cannot have moved.
  const stalled = improvement <= 0 && m.samplesPerSecond > 0;
  if (stalled && workers >= m.workers && m.workers > grid[0]) workers = [...grid].reverse().find((w) => w <= m.workers / 2) ?? grid[0];
  // No scale-out while the loss is flat: the extra workers would buy no progress (and a scale-in just
  // made would be undone by the next interval's noise).
  if (flat && workers > m.workers) workers = m.workers;
  // The loss rules above overrode the climb: the minibatch is the best at the workers kept, not at the
  // workers the climb wanted (a larger minibatch chosen for more workers makes less progress at fewer).
  if (workers !== best.w && o.minibatchGrid) {
    minibatch = minibatchNow;
    for (const mb of o.minibatchGrid) if (progressAt(workers, memoryMB, mb) > progressAt(workers, memoryMB, minibatch) * (1 + o.minGain)) minibatch = mb;
  }
  const fmt = (x: number) => (x >= 1000 ? `${Math.round(x / 1000)}k` : x.toFixed(0));
  let reason: string;
  if (workers > m.workers) reason = `scale out: ${workers} workers make ${fmt(progress(workers, memoryMB))} useful samples/s against ${fmt(progress(m.workers, memoryMB))} at ${m.workers} (measured ${fmt(m.samplesPerSecond)} samples/s, loss ${m.loss.toFixed(4)})`;
  else if (workers < m.workers)
    reason = stalled
      ? `loss stopped falling (${(improvement * 100).toFixed(2)} % against the best before this interval, loss ${m.loss.toFixed(4)}): scale in to ${workers} workers (MLLess: more workers buy no progress now)`
      : `${flat ? `loss flattened (${(improvement * 100).toFixed(2)} % over the interval): ` : ''}scale in: ${workers} workers make ${fmt(progress(workers, memoryMB))} useful samples/s, within ${o.minGain * 100} % of ${m.workers} (a further worker adds less${gap < 0.5 ? '; staleness costs more near the floor' : ''})`;
  else reason = `keep ${workers} workers (loss ${m.loss.toFixed(4)}, ${fmt(m.samplesPerSecond)} samples/s)`;
  if (memoryMB !== m.memoryMB) reason += `; memory ${m.memoryMB} -> ${memoryMB} MB for the next generation (the smallest that keeps the progress)`;
  if (minibatch !== minibatchNow) reason += `; minibatch ${minibatchNow} -> ${minibatch} (goodput: ${fmt(progress(workers, memoryMB))} useful samples/s against ${fmt(progressAt(workers, memoryMB, minibatchNow))})`;
  return { t, workers, memoryMB, ...(o.minibatchGrid ? { minibatch } : {}), reason };
}

export interface TrainingSimulation {
  /** Seconds to the target loss (or the time limit). */
  seconds: number;
  usd: number;
  gbSeconds: number;
  reached: boolean;
  finalLoss: number;
  decisions: SizeDecision[];
  /** Workers over time, one point per decision or change. */
  timeline: Array<{ t: number; workers: number; memoryMB: number; minibatch: number; loss: number }>;
}

/** `minibatch`: the one to start at (default: the config's). */
export type Policy = { kind: 'static'; workers: number; memoryMB: number; minibatch?: number } | { kind: 'adaptive'; workers: number; memoryMB: number; minibatch?: number; replanSeconds: number; options: ReplanOptions };

/**
 * Plays a run forward: the perf model gives samples/s at each size, the convergence model the loss.
 * A worker added (or every worker, on a memory change) pays the perf model's start (cold start and
 * partition read) before it trains, billed; the parameter server's host is paid throughout. Stops at
 * `targetLoss` or `maxSeconds`.
 */
export function simulateTraining(model: PerfModel, config: RunConfig, env: Environment, conv: ConvergenceModel, policy: Policy, targetLoss: number, maxSeconds: number): TrainingSimulation {
  const rate = new Map<string, number>();
  const aggregate = (w: number, mem: number, mb: number) => {
    const k = `${w}x${mem}x${mb}`;
    if (!rate.has(k)) rate.set(k, predictRun(model, mb === config.training.minibatch ? config : { ...config, training: { ...config.training, minibatch: mb } }, env, w, mem).samplesPerSecond);
    return rate.get(k)!;
  };
  const startSeconds = model.workerStartSeconds + env.coldStartSeconds;
  const dt = policy.kind === 'adaptive' ? Math.min(1, policy.replanSeconds / 10) : 1;
  let workers = policy.workers;
  let memoryMB = policy.memoryMB;
  let minibatch = policy.minibatch ?? config.training.minibatch;
  // Workers still starting: [seconds left, count].
  let starting: Array<[number, number]> = [[startSeconds, workers]];
  let t = model.setupSeconds;
  let effectiveSamples = 0;
  let gbSeconds = 0;
  let invocations = workers;
  const lossAt = () => lossAfter(conv, effectiveSamples);
  let loss = lossAt();
  const decisions: SizeDecision[] = [];
  const timeline: TrainingSimulation['timeline'] = [{ t, workers, memoryMB, minibatch, loss }];
  let nextReplan = t + (policy.kind === 'adaptive' ? policy.replanSeconds : Infinity);
  let intervalSamples = 0;
  let intervalStart = t;
  let previousLoss = loss;
  while (loss > targetLoss && t < maxSeconds) {
    const ready = workers - starting.reduce((a, [, n]) => a + n, 0);
    const samples = ready > 0 ? aggregate(ready, memoryMB, minibatch) * dt : 0;
    effectiveSamples += samples * statisticalEfficiency(conv, Math.max(1, ready), gapOf(conv, loss), minibatch);
    intervalSamples += samples;
    gbSeconds += workers * (memoryMB / 1024) * dt;
    starting = starting.map(([left, n]) => [left - dt, n] as [number, number]).filter(([left]) => left > 0);
    t += dt;
    loss = lossAt();
    if (policy.kind === 'adaptive' && t >= nextReplan) {
      const measured: Measured = { workers, memoryMB, minibatch, samplesPerSecond: intervalSamples / (t - intervalStart), loss, previousLoss, intervalSeconds: policy.replanSeconds };
      const d = replan(model, config, env, conv, measured, t, policy.options);
      // A new minibatch is taken at the workers' next minibatch (read with the weights): no restart.
      if (d.minibatch !== undefined && d.minibatch !== minibatch) {
        minibatch = d.minibatch;
        if (d.workers === workers && d.memoryMB === memoryMB) {
          decisions.push(d);
          timeline.push({ t, workers, memoryMB, minibatch, loss });
        }
      }
      if (d.workers !== workers || d.memoryMB !== memoryMB) {
        decisions.push(d);
        if (d.memoryMB !== memoryMB) {
          // A new memory size takes effect at the next generation: every worker restarts.
          starting = [[startSeconds, d.workers]];
          invocations += d.workers;
        } else if (d.workers > workers) {
          starting.push([startSeconds, d.workers - workers]);
          invocations += d.workers - workers;
        } else {
          // Scale in: the workers still starting go first.
          let drop = workers - d.workers;
          starting = starting.map(([left, n]) => {
            const k = Math.min(n, drop);
            drop -= k;
            return [left, n - k] as [number, number];
          }).filter(([, n]) => n > 0);
        }
        workers = d.workers;
        memoryMB = d.memoryMB;
        timeline.push({ t, workers, memoryMB, minibatch, loss });
      }
      previousLoss = loss;
      intervalSamples = 0;
      intervalStart = t;
      nextReplan = t + policy.replanSeconds;
    }
  }
  const seconds = t + model.tailSeconds;
  timeline.push({ t: seconds, workers, memoryMB, minibatch, loss });
  const usd = gbSeconds * PRICES.lambdaPerGBSecond + invocations * PRICES.lambdaPerRequest + (seconds / 3600) * PRICES.parameterServerPerHour + invocations * 2 * PRICES.s3PerGet;
  return { seconds, usd, gbSeconds, reached: loss <= targetLoss, finalLoss: loss, decisions, timeline };
}

export interface AdaptiveComparison {
  adaptive: TrainingSimulation & { workers: number; memoryMB: number; minibatch: number };
  /** The fastest static size on the grid that reaches the target. */
  bestStatic: TrainingSimulation & { workers: number; memoryMB: number; minibatch: number };
  /** Every static size tried (workers x memory x minibatch). */
  statics: Array<{ workers: number; memoryMB: number; minibatch: number; seconds: number; usd: number; reached: boolean }>;
  /** 1 - adaptive seconds / best static seconds. */
  timeSaved: number;
  /** adaptive dollars / best static dollars. */
  costRatio: number;
}

/** Adaptive sizing against the best static size from an exhaustive search over the same grid. */
export function compareAdaptive(
  model: PerfModel,
  config: RunConfig,
  env: Environment,
  conv: ConvergenceModel,
  o: { workerGrid: number[]; memoryGrid: number[]; targetLoss: number; maxSeconds: number; replanSeconds: number; minibatchGrid?: number[] },
): AdaptiveComparison {
  // With a minibatch grid the static search covers it too: adaptive is compared with the best fixed
  // workers x memory x minibatch, not with a fixed size at a minibatch it alone may leave.
  const minibatches = o.minibatchGrid ?? [config.training.minibatch];
  const statics = minibatches.flatMap((minibatch) =>
    o.memoryGrid.flatMap((memoryMB) => o.workerGrid.map((workers) => ({ workers, memoryMB, minibatch, ...simulateTraining(model, config, env, conv, { kind: 'static', workers, memoryMB, minibatch }, o.targetLoss, o.maxSeconds) }))),
  );
  const reaching = statics.filter((s) => s.reached);
  if (reaching.length === 0) throw new Error(`no static size on the grid reaches the target loss ${o.targetLoss} within ${o.maxSeconds} s`);
  const bestStatic = reaching.reduce((a, b) => (b.seconds < a.seconds || (b.seconds === a.seconds && b.usd < a.usd) ? b : a));
  // Adaptive starts where the rule puts it before anything is measured (the model's rate, the initial loss).
  // A memory change restarts every simulated worker cold: the rule is charged that start.
  const options: ReplanOptions = { workerGrid: o.workerGrid, memoryGrid: o.memoryGrid, ...DEFAULT_REPLAN, targetLoss: o.targetLoss, memoryChangeSeconds: model.workerStartSeconds + env.coldStartSeconds, ...(o.minibatchGrid ? { minibatchGrid: o.minibatchGrid } : {}) };
  const smallest = { workers: Math.min(...o.workerGrid), memoryMB: Math.min(...o.memoryGrid) };
  const first = replan(model, config, env, conv, { ...smallest, samplesPerSecond: 0, loss: conv.initialLoss, previousLoss: Infinity }, 0, options);
  const start = { workers: first.workers, memoryMB: first.memoryMB, minibatch: first.minibatch ?? config.training.minibatch };
  const adaptive = {
    ...start,
    ...simulateTraining(model, config, env, conv, { kind: 'adaptive', ...start, replanSeconds: o.replanSeconds, options }, o.targetLoss, o.maxSeconds),
  };
  return {
    adaptive,
    bestStatic,
    statics: statics.map((s) => ({ workers: s.workers, memoryMB: s.memoryMB, minibatch: s.minibatch, seconds: s.seconds, usd: s.usd, reached: s.reached })),
    timeSaved: 1 - adaptive.seconds / bestStatic.seconds,
    costRatio: adaptive.usd / bestStatic.usd,
  };
}

/**
 * The most any re-planning could save on a grid, ignoring what changes cost: the time to the target at the
 * best goodput (samples/s x statistical efficiency) of every phase, against the best fixed size's, both
 * integrated over the convergence model's effective samples. When this is 0 the best size never changes
 * during training and no rule can beat the best static size.
 */
export function oracleBound(
  model: PerfModel,
  config: RunConfig,
  env: Environment,
  conv: ConvergenceModel,
  o: { workerGrid: number[]; memoryGrid: number[]; minibatchGrid?: number[]; targetLoss: number; steps?: number },
): OracleBound {
  if (conv.curve) {
    const end = conv.curve.findIndex(([, l]) => l <= o.targetLoss);
    if (end === 0) throw new Error(`the loss curve starts at or below the target loss ${o.targetLoss}`);
    const cut = end === -1 ? conv.curve : [...conv.curve.slice(0, end), [conv.curve[end - 1][0] + samplesBetween(conv, conv.curve[end - 1][1], o.targetLoss), o.targetLoss] as [number, number]];
    return oracleBoundOnCurve(model, config, env, conv, cut, o);
  }
  const steps = o.steps ?? 1000;
  const total = conv.samplesScale * Math.log(Math.max(1, 1 / Math.max(1e-9, gapOf(conv, o.targetLoss))));
  const pieces = Array.from({ length: steps }, (_, i): [number, number] => [total / steps, Math.exp(-((i + 0.5) / steps) * (total / conv.samplesScale))]);
  return boundOverPieces(model, config, env, conv, o, pieces);
}

/**
 * `oracleBound` along a measured loss curve ([samples, loss], loss linear in samples between points) instead
 * of the convergence model's exponential: where the fitted exponential misplaces the time spent at each loss
 * (a curve that falls fast and then slowly), the phase-dependent efficiency weighs differently. The
 * efficiency is still `conv`'s at each loss.
 */
export function oracleBoundOnCurve(
  model: PerfModel,
  config: RunConfig,
  env: Environment,
  conv: ConvergenceModel,
  curve: Array<[number, number]>,
  o: { workerGrid: number[]; memoryGrid: number[]; minibatchGrid?: number[]; stepsPerSegment?: number },
): OracleBound {
  if (curve.length < 2) throw new Error('a loss curve needs at least two points');
  const steps = o.stepsPerSegment ?? 100;
  const pieces = curve.slice(1).flatMap(([s1, l1], i): Array<[number, number]> => {
    const [s0, l0] = curve[i];
    return Array.from({ length: steps }, (_, k): [number, number] => [(s1 - s0) / steps, gapOf(conv, l0 + ((k + 0.5) / steps) * (l1 - l0))]);
  });
  return boundOverPieces(model, config, env, conv, o, pieces);
}

type GridSize = { workers: number; memoryMB: number; minibatch: number };
export interface OracleBound {
  staticSeconds: number;
  oracleSeconds: number;
  saved: number;
  best: GridSize;
}

/** The two bounds' common part: training `pieces` ([samples, the gap they are trained at]) at the best
 *  fixed size of the grid, against the best size of each piece (the oracle). */
function boundOverPieces(
  model: PerfModel,
  config: RunConfig,
  env: Environment,
  conv: ConvergenceModel,
  o: { workerGrid: number[]; memoryGrid: number[]; minibatchGrid?: number[] },
  pieces: Array<[number, number]>,
): OracleBound {
  const sizes: GridSize[] = (o.minibatchGrid ?? [config.training.minibatch]).flatMap((minibatch) => o.memoryGrid.flatMap((memoryMB) => o.workerGrid.map((workers) => ({ workers, memoryMB, minibatch }))));
  const rate = sizes.map((s) => predictRun(model, { ...config, training: { ...config.training, minibatch: s.minibatch } }, env, s.workers, s.memoryMB).samplesPerSecond);
  const fixed = new Array<number>(sizes.length).fill(0);
  let oracle = 0;
  for (const [samples, gap] of pieces) {
    const goodput = sizes.map((s, k) => rate[k] * statisticalEfficiency(conv, s.workers, gap, s.minibatch));
    goodput.forEach((g, k) => (fixed[k] += samples / g));
    oracle += samples / Math.max(...goodput);
  }
  const k = fixed.indexOf(Math.min(...fixed));
  return { staticSeconds: fixed[k], oracleSeconds: oracle, saved: 1 - oracle / fixed[k], best: sizes[k] };
}
