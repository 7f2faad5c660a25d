// Measures how the gradient noise scale of logistic regression on the Criteo sample changes as the loss
// falls (McCandlish et al. 2018, "An Empirical Model of Large-Batch Training": one sample of a batch of
// B makes 1 / (1 + B / B_noise) of the progress it makes alone, and B_noise grows as the loss falls).
// The project's own kernel trains the model sample by sample (AdaGrad, as the reference kernel); at
// checkpoints along that trajectory runtime/provisioning/noise-scale.ts computes the exact noise scale
// over every row (plain, and as AdaGrad's preconditioned steps see it).
// Several row orders give the spread. The phase is the loss over the same rows (the bench's Criteo sample
// x3 tests on copies of rows it trains on, so its test loss is this training loss).
// The same for biased MF on MovieLens 100k u1.base and MovieLens 1M (`measureMfNoiseScale`, plain SGD, the
// plain scale), with the simulator's adaptive comparison under that table (`mfAdaptiveComparison`); and logistic
// regression on a9a (LIBSVM, 123 features), whose loss falls fast and then creeps to its floor
// (`measureA9aNoiseScale`, `a9aTailBound`).
// Used by the provisioning bench section; runs alone with `node --import tsx bench/noise-scale.ts [mf|ml1m|a9a]`.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { decodePartition, PartitionKind, type RatingPartition, type SamplePartition } from '../runtime/data/partition';
import { forEachRow } from '../runtime/data/read';
import { LibsvmReader } from '../runtime/data/readers/libsvm';
import { SampleBuilder, SparseRow } from '../runtime/data/rows';
import { trainAdagradLocal } from '../runtime/models/logistic';
import { evaluateMf } from '../runtime/models/mf';
import { resolveRunConfig, type RunConfig } from '../runtime/index';
import { compareAdaptive, fitConvergence, oracleBound, oracleBoundOnCurve } from '../runtime/provisioning/adaptive';
import { mfNoiseScaleAt, noiseModelFrom, noiseScaleAt, type NoiseMeasurement } from '../runtime/provisioning/noise-scale';
import { defaultPerfModel, type Environment } from '../runtime/provisioning/perf-model';
import { awsEnvironment } from '../runtime/provisioning/simulator';
import { loadCriteo, sliceRows } from './criteo';
import { awsEnvironmentFor, ratingsShape, sampleShape } from './ps-capacity';
import { CRITEO_10K, SHARED_DIR } from './context';

export interface NoisePoint extends NoiseMeasurement {
  samples: number;
}

export const NOISE_DEFAULTS = { hashBits: 18, learningRate: 0.02, samples: 216_000, orders: 3, checkpoints: [0, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 216_000] };

/** The rows of `part` in the order `order`. */
function permute(part: SamplePartition, order: number[]): SamplePartition {
  const rowStart = new Uint32Array(part.rows + 1);
  const nnz = part.rowStart[part.rows];
  const indices = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  const labels = new Float32Array(part.rows);
  let at = 0;
  order.forEach((r, i) => {
    labels[i] = part.labels[r];
    for (let k = part.rowStart[r]; k < part.rowStart[r + 1]; k++, at++) {
      indices[at] = part.indices[k];
      values[at] = part.values[k];
    }
    rowStart[i + 1] = at;
  });
  return { kind: PartitionKind.Samples, rows: part.rows, labels, rowStart, indices, values };
}

/** A deterministic shuffle (order 0 is the file's order). */
function orderOf(rows: number, seed: number): number[] {
  const o = Array.from({ length: rows }, (_, i) => i);
  let s = seed * 2654435761 + 1;
  for (let i = rows - 1; i > 0 && seed > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [o[i], o[j]] = [o[j], o[i]];
  }
  return o;
}

/** Trains sample by sample along each row order (`orders` of them), measuring at each checkpoint.
 *  `load` reads the file into one partition (default: Criteo, hashed to `o.hashBits`). */
export async function measureNoiseScale(
  file = CRITEO_10K,
  o: { hashBits: number; learningRate: number; orders: number; checkpoints: number[] } = NOISE_DEFAULTS,
  load: (file: string) => Promise<SamplePartition> = (f) => loadCriteo(f, o.hashBits),
): Promise<Array<{ order: number; points: NoisePoint[] }>> {
  const all = await load(file);
  const out = [];
  for (let seed = 0; seed < o.orders; seed++) {
    const part = permute(all, orderOf(all.rows, seed));
    let features = 2 ** o.hashBits;
    for (let k = 0; k < part.rowStart[part.rows]; k++) features = Math.max(features, part.indices[k] + 1);
    const w = new Float32Array(features);
    const g2 = new Float32Array(w.length).fill(1e-6);
    const points: NoisePoint[] = [];
    let trained = 0;
    let cursor = 0;
    for (const target of o.checkpoints) {
      while (trained < target) {
        const n = Math.min(target - trained, part.rows - cursor);
        trainAdagradLocal(sliceRows(part, cursor, cursor + n), w, g2, o.learningRate, 1);
        trained += n;
        cursor = (cursor + n) % part.rows;
      }
      points.push({ samples: trained, ...noiseScaleAt(part, w, g2) });
    }
    out.push({ order: seed, points });
  }
  return out;
}

export const MOVIELENS_U1_BASE = path.join(SHARED_DIR, 'datasets', 'movielens-100k', 'u1.base');
export const MOVIELENS_U1_TEST = path.join(SHARED_DIR, 'datasets', 'movielens-100k', 'u1.test');
/** The reference's biased MF (../shared/reference/README.md: plain SGD, 50 factors, lr 0.005, reg 0.02, 20 epochs) with the project's initial factor spread (runtime/driver/models.ts). */
export const MF_NOISE_DEFAULTS = {
  factors: 50, learningRate: 0.005, reg: 0.02, initStd: 0.1, orders: 3,
  checkpoints: [0, 10, 100, 1000, 4000, 16_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_200_000, 1_600_000],
};

/** MovieLens ratings, `user \t item \t rating \t timestamp` (100k) or `user::item::rating::timestamp`,
 *  gzipped or not (1M); ids kept as they are (1-based, row 0 unused). */
export function loadRatings(file: string): RatingPartition {
  const bytes = fs.readFileSync(file);
  const text = file.endsWith('.gz') ? zlib.gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const users = new Uint32Array(lines.length);
  const items = new Uint32Array(lines.length);
  const ratings = new Float32Array(lines.length);
  lines.forEach((line, k) => {
    const [u, i, r] = line.split(line.includes('::') ? '::' : '\t').map(Number);
    if (!(Number.isInteger(u) && u >= 0 && Number.isInteger(i) && i >= 0 && Number.isFinite(r))) throw new Error(`${file}:${k + 1}: expected user, item, rating separated by tabs or "::", got "${line.slice(0, 60)}"`);
    users[k] = u;
    items[k] = i;
    ratings[k] = r;
  });
  return { kind: PartitionKind.Ratings, rows: lines.length, users, items, ratings };
}

/** Deterministic normal(0, std) values (Box-Muller over a 32-bit LCG). */
function normals(n: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const uniform = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 1) / 4294967297;
  for (let k = 0; k < n; k++) out[k] = std * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/**
 * The same measurement for biased MF on MovieLens 100k u1.base (non-convex): plain SGD rating by rating
 * along each row order (order 0 is the file's, sorted by user), the plain noise scale and the training
 * RMSE over every rating at each checkpoint. The SGD step is the reference's (the worker kernel's
 * mfGradient with a minibatch of one rating is the same arithmetic).
 */
export function measureMfNoiseScale(file = MOVIELENS_U1_BASE, o = MF_NOISE_DEFAULTS, testFile?: string): Array<{ order: number; points: Array<{ samples: number; loss: number; bSimple: number; testRmse?: number }> }> {
  const all = loadRatings(file);
  const test = testFile ? loadRatings(testFile) : undefined;
  let maxUser = 0;
  let maxItem = 0;
  let sum = 0;
  for (let k = 0; k < all.rows; k++) {
    maxUser = Math.max(maxUser, all.users[k]);
    maxItem = Math.max(maxItem, all.items[k]);
    sum += all.ratings[k];
  }
  const mean = sum / all.rows;
  const { factors, learningRate: lr, reg } = o;
  const width = factors + 1;
  const out = [];
  for (let seed = 0; seed < o.orders; seed++) {
    const order = orderOf(all.rows, seed);
    const U = normals((maxUser + 1) * width, o.initStd, 1);
    const I = normals((maxItem + 1) * width, o.initStd, 2);
    for (let r = 0; r <= maxUser; r++) U[r * width + factors] = 0;
    for (let r = 0; r <= maxItem; r++) I[r * width + factors] = 0;
    const points = [];
    let trained = 0;
    for (const target of o.checkpoints) {
      for (; trained < target; trained++) {
        const k = order[trained % all.rows];
        const u = all.users[k] * width;
        const i = all.items[k] * width;
        let dot = 0;
        for (let f = 0; f < factors; f++) dot += U[u + f] * I[i + f];
        const e = mean + U[u + factors] + I[i + factors] + dot - all.ratings[k];
        for (let f = 0; f < factors; f++) {
          const p = U[u + f];
          const q = I[i + f];
          U[u + f] -= lr * (e * q + reg * p);
          I[i + f] -= lr * (e * p + reg * q);
        }
        U[u + factors] -= lr * (e + reg * U[u + factors]);
        I[i + factors] -= lr * (e + reg * I[i + factors]);
      }
      // The test RMSE (predictions clipped to the rating scale, as the driver's evaluation) places the phase against the reference's 0.951.
      const testRmse = test ? evaluateMf(test, U, I, factors, mean, [1, 5]).rmse : undefined;
      points.push({ samples: trained, ...mfNoiseScaleAt(all, U, I, factors, mean, reg), ...(test ? { testRmse } : {}) });
    }
    out.push({ order: seed, points });
  }
  return out;
}

/** MovieLens 1M, users 1-2,999 (487,650 ratings, `::`-separated, gzipped): the larger MF workload. */
export const MOVIELENS_1M_PARTIAL = path.join(SHARED_DIR, 'datasets', 'movielens-1m-partial', 'ratings_users1-2999.dat.gz');
const ML1M_RATINGS = 487_650;
/** The same setting as MF_NOISE_DEFAULTS over the same epochs: its checkpoints past 1,000 ratings scaled to
 *  the file's size (20 epochs = 9.75 M ratings). */
export const ML1M_NOISE_DEFAULTS = {
  ...MF_NOISE_DEFAULTS,
  checkpoints: MF_NOISE_DEFAULTS.checkpoints.map((c) => (c <= 1000 ? c : Math.round((c * ML1M_RATINGS) / 80_000))),
};

/** Simulated hours: the trajectory's ratings x this many (80 M ratings), as the Criteo comparison does with its rows. */
const MF_SIMULATED_SCALE = 1000;
const MF_SIMULATED_MAX_SECONDS = 48 * 3600;

/**
 * Goodput re-planning against the best static size (AWS, 10-500 workers x 512-3,008 MB x minibatch
 * 100-10,000) under the MF table, and the oracle bound. The convergence model is fitted to the mean
 * trajectory's training RMSE (the phase the table is keyed by) with the ratings x MF_SIMULATED_SCALE;
 * the reference batch is 1 (sample-by-sample SGD); `factors` scale B_noise (1 is the measurement as it is;
 * the provisioning bench fits one to real asynchronous runs). Target: 5 % of the gap above the fitted floor.
 * Each factor is compared twice: on the fitted exponential, and (`onMeasuredCurve`) on the measured curve.
 * `environment`: default AWS with the default MF capacity table.
 */
export function mfAdaptiveComparison(file = MOVIELENS_U1_BASE, factors = [0.1, 1, 10], trajectories = measureMfNoiseScale(file), environment?: Environment) {
  const noise = noiseModelFrom(trajectories.map((t) => t.points), 1, 'bSimple');
  const config = resolveRunConfig({
    dataset: { path: file, format: 'ratings' }, model: { type: 'mf', factors: MF_NOISE_DEFAULTS.factors },
    optimizer: { type: 'sgd', learningRate: MF_NOISE_DEFAULTS.learningRate }, training: { workers: 2, minibatch: 1000, maxSeconds: MF_SIMULATED_MAX_SECONDS },
    backend: 'aws', aws: { maxInstanceMinutes: MF_SIMULATED_MAX_SECONDS / 60 + 60 },
  } as RunConfig).config;
  const env = environment ?? awsEnvironment(config);
  const curve = trajectories[0].points.map((p, i) => [p.samples * MF_SIMULATED_SCALE, trajectories.reduce((a, t) => a + t.points[i].loss, 0) / trajectories.length] as [number, number]);
  const model = { ...defaultPerfModel(config, loadRatings(file).rows * MF_SIMULATED_SCALE), lossCurve: curve };
  const conv0 = fitConvergence(model);
  const grid = { workerGrid: [10, 25, 50, 100, 200, 500], memoryGrid: [512, 1024, 1769, 3008], minibatchGrid: [100, 300, 1000, 3000, 10_000] };
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const runs = factors.map((factor) => {
    const conv = { ...conv0, form: 'noise-scale' as const, noise: { referenceBatch: 1, points: noise.points.map(([l, b]) => [l, b * factor] as [number, number]) } };
    const targetLoss = conv.floorLoss + 0.05 * (conv.initialLoss - conv.floorLoss);
    const bound = oracleBound(model, config, env, conv, { ...grid, targetLoss });
    const r = compareAdaptive(model, config, env, conv, { ...grid, targetLoss, maxSeconds: MF_SIMULATED_MAX_SECONDS, replanSeconds: 10 });
    // The same comparison along the measured curve itself (the exponential fit is slower early than the
    // real curve): the simulated runs read the loss from it, and the bound is taken along it.
    const onCurve = { ...conv, curve };
    const boundOnCurve = oracleBound(model, config, env, onCurve, { ...grid, targetLoss });
    const rc = compareAdaptive(model, config, env, onCurve, { ...grid, targetLoss, maxSeconds: MF_SIMULATED_MAX_SECONDS, replanSeconds: 10 });
    const size = (s: { workers: number; memoryMB: number; minibatch?: number }) => `${s.workers} x ${s.memoryMB} MB x ${s.minibatch}`;
    const outcome = (c: typeof r) => ({
      adaptive: { seconds: Math.round(c.adaptive.seconds), usd: r3(c.adaptive.usd), start: size(c.adaptive), decisions: c.adaptive.decisions.map((d) => `${Math.round(d.t)} s: ${size(d)}`) },
      bestStatic: { size: size(c.bestStatic), seconds: Math.round(c.bestStatic.seconds), usd: r3(c.bestStatic.usd) },
    });
    return {
      noiseFactor: factor, targetLoss: r3(targetLoss), timeSaved: r3(r.timeSaved), costRatio: r3(r.costRatio), oracleSaved: r3(bound.saved),
      ...outcome(r),
      onMeasuredCurve: { timeSaved: r3(rc.timeSaved), costRatio: r3(rc.costRatio), oracleSaved: r3(boundOnCurve.saved), ...outcome(rc) },
    };
  });
  return {
    convergence: { initialLoss: r3(conv0.initialLoss), floorLoss: r3(conv0.floorLoss), samplesScale: Math.round(conv0.samplesScale) },
    measured: noise.points.map(([loss, b], i) => ({ loss: Math.round(loss * 1e4) / 1e4, bNoise: Math.round(b), spread: Math.round(noise.spread[i] * 100) / 100 })),
    runs,
  };
}

export const A9A = path.join(SHARED_DIR, 'datasets', 'libsvm-a9a', 'a9a');
/** a9a: the project's default learning rate for it (runtime/config/defaults.ts), 123 features kept
 *  as they are (hashBits only sizes the weights' floor), checkpoints to 4 M samples (~126 epochs). */
export const A9A_NOISE_DEFAULTS = {
  hashBits: 7, learningRate: 0.1, orders: 3,
  checkpoints: [0, 10, 30, 100, 300, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 1_024_000, 2_048_000, 4_096_000],
};

/** A LIBSVM file as one partition, through the project's reader (its counting pass, then the rows). */
export async function loadLibsvm(file: string): Promise<SamplePartition> {
  const reader = new LibsvmReader();
  await forEachRow(reader, file, 'train', {}, () => reader.learn());
  reader.finishLearning();
  const row = new SparseRow();
  const builder = new SampleBuilder();
  await forEachRow(reader, file, 'train', {}, () => builder.add(reader.toSample(row, false), row));
  return decodePartition(builder.take()) as SamplePartition;
}

export const measureA9aNoiseScale = (file = A9A, o = A9A_NOISE_DEFAULTS) => measureNoiseScale(file, o, loadLibsvm);

/**
 * The oracle bound (the most any re-planning could save on the simulator's grid) along a9a's measured
 * curve, ended at each of `ends` samples: a target at the loss the curve has reached there. The curve
 * (mean over the row orders) and the samples x A9A_SIMULATED_SCALE as the Criteo comparison does, AWS,
 * 10-500 workers x 512-3,008 MB x minibatch 100-10,000, B_noise (AdaGrad) x each factor.
 */
export const A9A_SIMULATED_SCALE = 1000;
/** a9a's training rows (the file's lines). */
export const A9A_ROWS = 32_561;
export function a9aTailBound(trajectories: Array<{ points: NoisePoint[] }>, rows: number, ends = [4000, 32_000, 256_000, 1_024_000, 2_048_000, 4_096_000], factors = [0.3, 1, 3], environment?: Environment) {
  const noise = noiseModelFrom(trajectories.map((t) => t.points), 1, 'bAdagrad');
  const config = resolveRunConfig({
    dataset: { path: A9A, format: 'libsvm' }, model: { type: 'logistic' }, optimizer: { type: 'adagrad', learningRate: A9A_NOISE_DEFAULTS.learningRate },
    training: { workers: 2, minibatch: 100, maxSeconds: 48 * 3600 }, backend: 'aws', aws: { maxInstanceMinutes: 49 * 60 },
  } as RunConfig).config;
  const env = environment ?? awsEnvironment(config);
  const points = trajectories[0].points;
  const curve = points.map((p, i) => [p.samples * A9A_SIMULATED_SCALE, trajectories.reduce((a, t) => a + t.points[i].loss, 0) / trajectories.length] as [number, number]);
  const model = { ...defaultPerfModel(config, rows * A9A_SIMULATED_SCALE), lossCurve: curve };
  const conv0 = fitConvergence(model);
  const grid = { workerGrid: [10, 25, 50, 100, 200, 500], memoryGrid: [512, 1024, 1769, 3008], minibatchGrid: [100, 300, 1000, 3000, 10_000] };
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const size = (s: { workers: number; memoryMB: number; minibatch: number }) => `${s.workers} x ${s.memoryMB} MB x ${s.minibatch}`;
  return {
    measured: noise.points.map(([loss, b], i) => ({ loss: Math.round(loss * 1e4) / 1e4, bNoise: Math.round(b), spread: Math.round(noise.spread[i] * 100) / 100 })),
    bounds: ends.flatMap((end) => factors.map((factor) => {
      const conv = { ...conv0, form: 'noise-scale' as const, noise: { referenceBatch: 1, points: noise.points.map(([l, b]) => [l, b * factor] as [number, number]) } };
      const cut = curve.filter(([s]) => s <= end * A9A_SIMULATED_SCALE);
      const bound = oracleBoundOnCurve(model, config, env, conv, cut, grid);
      return { endSamples: end, targetLoss: Math.round(cut.at(-1)![1] * 1e4) / 1e4, noiseFactor: factor, oracleSaved: r3(bound.saved), bestStatic: size(bound.best), staticSeconds: Math.round(bound.staticSeconds) };
    })),
  };
}

// `node --import tsx bench/noise-scale.ts [mf|ml1m|a9a]` (after `npm run build`: the capacity measurement
// starts dist/ps-server.js).
if (process.argv[1]?.endsWith('noise-scale.ts')) {
  const mode = process.argv[2];
  const mf = async (file: string, o: typeof MF_NOISE_DEFAULTS, testFile?: string) => {
    const trajectories = measureMfNoiseScale(file, o, testFile);
    const env = await awsEnvironmentFor(ratingsShape(loadRatings(file), o.factors));
    return { trajectories, psCapacity: env.psCapacity, ...mfAdaptiveComparison(file, [0.3, 1, 3], trajectories, env), defaultCapacity: mfAdaptiveComparison(file, [0.3, 1, 3], trajectories).runs };
  };
  (mode === 'mf'
    ? mf(MOVIELENS_U1_BASE, MF_NOISE_DEFAULTS, MOVIELENS_U1_TEST)
    : mode === 'ml1m'
      ? mf(MOVIELENS_1M_PARTIAL, ML1M_NOISE_DEFAULTS)
      : mode === 'a9a'
        ? measureA9aNoiseScale().then(async (trajectories) => {
            const env = await awsEnvironmentFor(sampleShape(await loadLibsvm(A9A), 2 ** A9A_NOISE_DEFAULTS.hashBits));
            return { trajectories: trajectories.map((t) => t.points.map((p) => `${p.samples}: loss ${p.loss.toFixed(4)}, B ${Math.round(p.bAdagrad)}`)), psCapacity: env.psCapacity, ...a9aTailBound(trajectories, A9A_ROWS, undefined, undefined, env) };
          })
        : measureNoiseScale()
  )
    .then((r) => console.log(JSON.stringify(r, null, 1)))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
