// kernel: our worker kernel (trainAdagradLocal, per-sample AdaGrad) vs the native reference kernel,
// samples/s on the same rows, measured alternately in the same run (best of 3 each).
import { evaluateLogistic, logisticGradient, trainAdagradLocal, TouchedSet } from '../../runtime/models/logistic';
import { type BenchContext, best, REPLICATE, round, type SectionResult } from '../context';
import { loadCriteo, readerName, sliceRows } from '../criteo';
import type { SamplePartition } from '../../runtime/data/partition';

const EPOCHS = 3;
const LR = 0.05;
const TEST_FRACTION = 0.1;
const BITS = 20;

export async function kernel(ctx: BenchContext): Promise<SectionResult> {
  const file = ctx.replicatedCriteo();
  const part = await loadCriteo(file, BITS);
  const train = part.rows - Math.floor(part.rows * TEST_FRACTION);
  const ours: number[] = [];
  const native: number[] = [];
  let testLogLoss = NaN;
  let nativeLogLoss = NaN;
  for (let rep = 0; rep < 3; rep++) {
    const r = ctx.runRefkernel(file, [BITS, EPOCHS, LR, TEST_FRACTION]);
    native.push(r.samples_per_s);
    nativeLogLoss = r.test_logloss;
    const w = new Float32Array(2 ** BITS);
    const g2 = new Float32Array(2 ** BITS).fill(1e-6);
    const t0 = performance.now();
    const samples = trainAdagradLocal(part, w, g2, LR, EPOCHS, train);
    ours.push(samples / ((performance.now() - t0) / 1000));
    const ev = evaluateLogistic(sliceRows(part, train, part.rows), w);
    testLogLoss = ev.lossSum / ev.rows;
  }
  const samplesPerSecond = best(ours);
  const nativeSamplesPerSecond = best(native);
  return {
    samplesPerSecond: Math.round(samplesPerSecond),
    nativeSamplesPerSecond: Math.round(nativeSamplesPerSecond),
    ratio: round(samplesPerSecond / nativeSamplesPerSecond),
    goal: '>= 0.7',
    testLogLoss: round(testLogLoss, 5),
    nativeTestLogLoss: round(nativeLogLoss, 5),
    minibatchSamplesPerSecond: Math.round(minibatchRate(part, train)),
    notes:
      `Criteo 10k replicated ${REPLICATE}x into a temp file (${part.rows} rows), first ${train} rows trained, ${EPOCHS} epochs, lr ${LR}, 2^${BITS} buckets; ` +
      `ours: trainAdagradLocal (WebAssembly with SIMD, float32, time includes copying the rows into wasm memory; the instance and its memory are kept between calls), rows parsed by ${readerName}; ` +
      'native: refkernel.c built with gcc -O3 -march=native in this run (train_s only; it also visits the empty slots of its fixed 40-slot rows). ' +
      'Best of 3 alternating runs each. minibatchSamplesPerSecond: the worker path without the network (TouchedSet.collect + logisticGradient, minibatch 200, plain SGD applied locally).',
  };
}

/** Samples/s of the worker's minibatch path (collect + gradient + a local SGD step), no parameter server. */
function minibatchRate(part: SamplePartition, rows: number): number {
  const batch = 200;
  const touched = new TouchedSet(2 ** BITS);
  const model = new Float32Array(2 ** BITS);
  const pulled = new Float32Array(batch * 40);
  const grad = new Float32Array(batch * 40);
  const rates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    let done = 0;
    for (let s = 0; s + batch <= rows; s += batch) {
      const ids = touched.collect(part, s, s + batch);
      const n = ids.length;
      for (let j = 0; j < n; j++) pulled[j] = model[ids[j]];
      logisticGradient(part, s, s + batch, touched, pulled.subarray(0, n), grad.subarray(0, n));
      for (let j = 0; j < n; j++) model[ids[j]] -= 0.1 * grad[j];
      done += batch;
    }
    rates.push(done / ((performance.now() - t0) / 1000));
  }
  return best(rates);
}
