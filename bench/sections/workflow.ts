// The workflow stages beyond one logistic run: matrix factorisation (ratings/s per worker, against
// the logistic end-to-end rate of the same bench), preprocessing on workers (MB/s of partitions read
// by the map phase), and a sweep's saving (GB-s with early stopping / GB-s of every trial to the end).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deployDataset, preprocessDataset, startSweep, startTraining, validateSweepConfig, type RunConfig } from '../../runtime/index';
import { type BenchContext, CRITEO_10K, SHARED_DIR, round, type SectionResult, SkipSection } from '../context';

const ML100K = path.join(SHARED_DIR, 'datasets', 'movielens-100k');
const A9A = path.join(SHARED_DIR, 'datasets', 'libsvm-a9a', 'a9a');

function need(file: string): string {
  if (!fs.existsSync(file)) throw new SkipSection(`${file} is absent (../shared not beside the project)`);
  return file;
}

export async function mfRatingsPerWorker(ctx: BenchContext): Promise<SectionResult> {
  const workers = 2;
  const handle = await startTraining(
    {
      name: 'bench-mf',
      dataset: { path: need(path.join(ML100K, 'u1.base')), format: 'ratings', testPath: need(path.join(ML100K, 'u1.test')) },
      model: { type: 'mf', factors: 20 },
      optimizer: { type: 'sgd', learningRate: 0.01, l2: 0.05 },
      training: { workers, minibatch: 100, maxSeconds: 20, epochs: 10 },
      lambda: { memoryMB: 512, timeoutSeconds: 30 },
    },
    { stateDir: path.join(ctx.tmp, 'state') },
  );
  const s = await handle.done;
  return {
    ratingsPerSecondPerWorker: Math.round(s.samplesPerSecond / workers),
    testRMSE: s.testRMSE === null || s.testRMSE === undefined ? null : round(s.testRMSE, 4),
    notes: `MovieLens 100k u1, 20 factors, ${workers} workers, minibatch 100, 10 epochs (or 20 s); summary samples/s (worker start-up included) / workers.`,
  };
}

export async function preprocessMBps(ctx: BenchContext): Promise<SectionResult> {
  const state = { stateDir: path.join(ctx.tmp, 'state') };
  const deployed = await deployDataset({ file: need(A9A), format: 'libsvm', testFraction: 0.2 }, state);
  const started = Date.now();
  const outcome = await preprocessDataset({ dataset: deployed.url, steps: { normalize: 'standard', testFraction: 0.2 }, workers: 2, memoryMB: 512 }, state);
  const seconds = (Date.now() - started) / 1000;
  return {
    mbPerSecond: round(outcome.bytesRead / 2 ** 20 / seconds, 2),
    mbRead: round(outcome.bytesRead / 2 ** 20, 2),
    gbSeconds: round(outcome.gbSeconds, 2),
    notes: 'a9a (32,561 rows) deployed, then stats + standard normalisation + re-split + stats of the new version on 2 workers: partition MB read by all map tasks / wall seconds of the whole stage (3 map phases, function start-ups included).',
  };
}

export async function sweepSaving(ctx: BenchContext): Promise<SectionResult> {
  const base: RunConfig = {
    name: 'bench-sweep',
    dataset: { path: need(CRITEO_10K), format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    training: { workers: 1, minibatch: 5, epochs: 60, maxSeconds: 180, evalEverySeconds: 0.5, patience: 0 },
    lambda: { memoryMB: 512, timeoutSeconds: 30 },
  };
  const parameters = { 'optimizer.learningRate': [0.01, 0.03, 0.1, 0.3], 'optimizer.l2': [0.0001, 0.001] };
  const state = { stateDir: path.join(ctx.tmp, 'state') };
  const sweep = async (rule: 'none' | 'successive-halving') =>
    (await startSweep(validateSweepConfig({ base: 'x', name: rule, parameters, parallel: 2, earlyStopping: { rule, eta: 4 } }), base, state)).done;
  const full = await sweep('none');
  const early = await sweep('successive-halving');
  return {
    gbSecondsRatio: round(early.gbSeconds / full.gbSeconds, 3),
    bestLossRatio: round((early.best?.testLoss ?? NaN) / (full.best?.testLoss ?? NaN), 4),
    earlyGBSeconds: round(early.gbSeconds, 2),
    fullGBSeconds: round(full.gbSeconds, 2),
    earlyBestLoss: round(early.best?.testLoss ?? NaN, 4),
    fullBestLoss: round(full.best?.testLoss ?? NaN, 4),
    notes: 'Criteo 10k, 8 configurations (lr x l2), 60 epochs at minibatch 5 (patience 0), 1 worker x 512 MB per trial, 2 at a time: successive halving (eta 4) against the same grid run to the end (docs/sweeps.md).',
  };
}
