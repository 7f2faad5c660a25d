// filters: what training.filter saves. Dense pushes, the MLLess significance filter (its default
// threshold and cap) and top-k with error feedback (fraction 0.01), asynchronous SGD under the "aws"
// network profile, on Criteo (9k rows repeated 56x = 504k training rows, tested on the sample's last
// 1k rows: the last 10 % of the sample, the only rows never trained on) and MovieLens 100k (u1.base /
// u1.test). Per run: the bytes and requests each worker's parameter-server client sent, the final (best
// kept) test loss, and the seconds and dollars of the train stage until the first evaluation at or under
// the common target: the worst of the three runs' final losses, so every run reaches it.
// Robustness of the Criteo loss comparison: the kept models are read back from the run folders and
// scored row by row on the same test rows, so the difference to dense comes with its paired standard
// error (how much of it the 1,000 test rows can resolve); and each run's best 3-evaluation moving mean
// is reported beside its best single evaluation (one lucky evaluation does not decide).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunConfig, RunEvent, RunSummary } from '../../runtime/api';
import { loadModel } from '../../runtime/driver/model-file';
import { logLoss } from '../../runtime/models/logistic';
import { loadCriteo } from '../criteo';
import { type BenchContext, CRITEO_10K, round, type SectionResult, SHARED_DIR, SkipSection } from '../context';

const CRITEO_TEST_ROWS = 1000;
export const CRITEO_REPEAT = 56; // 9,000 x 56 = 504,000 training rows
const ML_TRAIN = path.join(SHARED_DIR, 'datasets', 'movielens-100k', 'u1.base');
const ML_TEST = path.join(SHARED_DIR, 'datasets', 'movielens-100k', 'u1.test');
type Filter = NonNullable<NonNullable<RunConfig['training']>['filter']>;
export const VARIANTS: Array<[string, Filter | undefined]> = [
  ['dense', undefined],
  ['significance', { type: 'significance' }], // the default threshold (runtime/config/defaults.ts)
  ['topk', { type: 'topk', fraction: 0.01 }],
];

export interface Run {
  summary: RunSummary;
  events: RunEvent[];
}

export async function filters(ctx: BenchContext): Promise<SectionResult> {
  if (!fs.existsSync(CRITEO_10K)) throw new SkipSection(`${CRITEO_10K} is absent`);
  const runtime = (await import('../../runtime')) as typeof import('../../runtime');
  const loadAtStart = os.loadavg().map((x) => round(x, 2));
  const { trainFile, testFile, trainRows } = criteoFiles(ctx);
  const run = (config: RunConfig) => trainRun(runtime, ctx, config);
  const criteo: Record<string, Run> = {};
  const movielens: Record<string, Run> = {};
  try {
    for (const [name, filter] of VARIANTS) {
      criteo[name] = await run({
        name: `bench-filters-criteo-${name}`,
        dataset: { path: trainFile, format: 'criteo', testPath: testFile },
        model: { type: 'logistic', hashBits: 20 },
        optimizer: { type: 'adagrad', learningRate: 0.02 },
        training: { workers: 2, minibatch: 20, maxSeconds: 600, epochs: 1, patience: 0, evalEverySeconds: 1, ...(filter ? { filter } : {}) },
        network: 'aws',
        lambda: { memoryMB: 1024, timeoutSeconds: 60 },
      });
    }
    if (fs.existsSync(ML_TRAIN) && fs.existsSync(ML_TEST)) {
      for (const [name, filter] of VARIANTS) {
        movielens[name] = await run({
          name: `bench-filters-movielens-${name}`,
          dataset: { path: ML_TRAIN, format: 'ratings', testPath: ML_TEST },
          model: { type: 'mf', factors: 100 },
          optimizer: { type: 'sgd', learningRate: 0.01, l2: 0.1 }, // as test/driver/mf.test.ts
          training: { workers: 2, minibatch: 100, maxSeconds: 600, epochs: 40, patience: 0, evalEverySeconds: 1, ...(filter ? { filter } : {}) },
          network: 'aws',
          lambda: { memoryMB: 512, timeoutSeconds: 60 },
        });
      }
    }
  } finally {
    await runtime.shutdownEmbeddedServices();
  }
  const criteoFigures = compare(criteo, (s) => s.testLoss);
  const criteoPaired = await pairedLogLoss(criteo, testFile);
  const movielensFigures = Object.keys(movielens).length > 0 ? compare(movielens, (s) => s.testRMSE ?? null) : { skipped: `${ML_TRAIN} is absent` };
  return {
    criteoSignificanceUpdateBytesSaving: criteoFigures.significance.updateBytesSaving,
    criteoSignificanceLossDelta: criteoFigures.significance.lossDelta,
    criteoSignificanceLossDeltaPairedSE: criteoPaired.significance?.se ?? null,
    movielensSignificanceUpdateBytesSaving: 'significance' in movielensFigures ? movielensFigures.significance.updateBytesSaving : null,
    movielensSignificanceRMSEDelta: 'significance' in movielensFigures ? movielensFigures.significance.lossDelta : null,
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((x) => round(x, 2)) },
    criteo: { ...criteoFigures, paired: criteoPaired },
    movielens: movielensFigures,
    notes:
      'startTraining, local backend with network "aws" (S3 and parameter-server proxies adding AWS-like latency), 2 workers, asynchronous SGD. ' +
      `Criteo: the 10k sample's first ${trainRows} rows repeated ${CRITEO_REPEAT}x (${trainRows * CRITEO_REPEAT} rows), 1 epoch, ` +
      `AdaGrad lr 0.02, minibatch 20, 2^20 buckets, tested on its last ${CRITEO_TEST_ROWS} rows. MovieLens 100k u1.base/u1.test: MF 100 factors, SGD lr 0.01, L2 0.1, minibatch 100, 40 epochs. ` +
      'Every run trains all its epochs (patience 0: the same samples, so the bytes compare) and keeps its best evaluated model, so loss = the best test loss (log-loss / RMSE). updateBytes: PUSH_SPARSE frames ' +
      "(u32 row id + float32 values per row, 16-byte header), the generation-end flush included; bytesSent: every request (pulls, heartbeats); savings are per sample trained (a run may end at its time limit before its epochs). " +
      'paired: the kept models read back (model.bin) and scored per test row; delta = mean(row loss - dense row loss) with its standard error sd/sqrt(rows) (check: the mean equals the summary\'s loss). smoothedBest: the lowest mean of 3 consecutive evaluations. ' +
      'target: the worst final loss of the three runs; seconds/usd to target: from the train stage start to the first evaluation at or under it (cost: Lambda compute + requests, S3 requests, parameter-server host, less the load stage).',
  };
}

/** The Criteo sample's first rows repeated CRITEO_REPEAT times (training) and its last CRITEO_TEST_ROWS rows (test, never trained on). */
export function criteoFiles(ctx: BenchContext): { trainFile: string; testFile: string; trainRows: number } {
  const lines = fs.readFileSync(CRITEO_10K, 'utf8').split('\n').filter((l) => l.length > 0);
  const trainFile = path.join(ctx.tmp, `criteo-9k-x${CRITEO_REPEAT}.txt`);
  const testFile = path.join(ctx.tmp, 'criteo-last-1k.txt');
  const trainRows = lines.length - CRITEO_TEST_ROWS;
  if (!fs.existsSync(trainFile)) fs.writeFileSync(trainFile, (lines.slice(0, trainRows).join('\n') + '\n').repeat(CRITEO_REPEAT));
  if (!fs.existsSync(testFile)) fs.writeFileSync(testFile, lines.slice(trainRows).join('\n') + '\n');
  return { trainFile, testFile, trainRows };
}

/** One run to its end with its events; a run that does not complete fails the section. */
export async function trainRun(runtime: typeof import('../../runtime'), ctx: BenchContext, config: RunConfig): Promise<Run> {
  const handle = await runtime.startTraining(config, { stateDir: path.join(ctx.tmp, 'state') });
  const events: RunEvent[] = [];
  handle.onEvent((e) => events.push(e));
  const summary = await handle.done;
  if (summary.status !== 'completed') throw new Error(`${config.name}: ${summary.status}: ${summary.reason}`);
  return { summary, events };
}

/** The kept Criteo models scored row by row on the test file: each filter's loss difference to dense
 *  with its paired standard error. `check`: the largest gap between a model's mean row loss here and its
 *  summary's test loss (the two must agree, or the read-back is not the model the run kept). */
export async function pairedLogLoss(runs: Record<string, Run>, testFile: string) {
  const test = await loadCriteo(testFile, 20);
  const rowLosses = (run: Run): Float64Array => {
    const weights = loadModel(path.join(run.summary.runFolder, 'model.json')).tables[0];
    const out = new Float64Array(test.rows);
    for (let r = 0; r < test.rows; r++) {
      let z = 0;
      for (let k = test.rowStart[r]; k < test.rowStart[r + 1]; k++) z += weights[test.indices[k]] * test.values[k];
      out[r] = logLoss(z, test.labels[r]);
    }
    return out;
  };
  const losses = Object.fromEntries(Object.entries(runs).map(([name, run]) => [name, rowLosses(run)]));
  const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const check = Math.max(...Object.entries(runs).map(([name, run]) => Math.abs(mean(losses[name]) - (run.summary.testLoss ?? NaN))));
  const vsDense = (name: string) => {
    const d = losses[name].map((x, r) => x - losses.dense[r]);
    const m = mean(d);
    const sd = Math.sqrt(d.reduce((a, x) => a + (x - m) ** 2, 0) / (d.length - 1));
    return { delta: round(m, 5), se: round(sd / Math.sqrt(d.length), 5) };
  };
  return { rows: test.rows, check: round(check, 6), significance: vsDense('significance'), ...(runs.topk ? { topk: vsDense('topk') } : {}) };
}

/** The lowest mean of `k` consecutive evaluations of a run (its trajectory smoothed: one lucky evaluation does not decide). */
export function smoothedBest(events: RunEvent[], k = 3): number | null {
  const xs = events.filter((e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval').map((e) => e.testRMSE ?? e.testLoss);
  // The last eval event repeats the kept model's figures (train-stage.ts): leave it out.
  const series = xs.slice(0, -1);
  if (series.length < k) return null;
  let best = Infinity;
  for (let i = 0; i + k <= series.length; i++) best = Math.min(best, series.slice(i, i + k).reduce((a, b) => a + b, 0) / k);
  return best;
}

export function compare(runs: Record<string, Run>, lossOf: (s: RunSummary) => number | null | undefined) {
  const finals = Object.values(runs).map((r) => lossOf(r.summary) ?? Infinity);
  const target = Math.max(...finals);
  // Per sample trained: a run cut short by its time limit is compared on the samples it did train.
  const dense = runs.dense.summary.traffic!.total;
  const perSample = (bytes: number, s: RunSummary) => bytes / Math.max(1, s.samples);
  const figures = (run: Run) => {
    const s = run.summary;
    const t = s.traffic!.total;
    const trainStart = run.events.find((e) => e.type === 'stage-started' && e.stage === 'train');
    const loadCost = run.events.find((e): e is Extract<RunEvent, { type: 'stage-finished' }> => e.type === 'stage-finished' && e.stage === 'load')?.costUSD ?? 0;
    const reached = run.events.find(
      (e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval' && (e.testRMSE ?? e.testLoss) <= target + 1e-12,
    );
    const loss = lossOf(s) ?? NaN;
    const smoothed = smoothedBest(run.events);
    const denseSmoothed = smoothedBest(runs.dense.events);
    return {
      loss: round(loss, 5),
      lossDelta: round(loss - (lossOf(runs.dense.summary) ?? NaN), 5),
      smoothedBest: smoothed === null ? null : round(smoothed, 5),
      smoothedBestDelta: smoothed === null || denseSmoothed === null ? null : round(smoothed - denseSmoothed, 5),
      updateBytes: t.pushBytes,
      bytesSent: t.bytesSent,
      requests: t.requests,
      pushes: t.pushes,
      perWorker: s.traffic!.perWorker.map((w) => ({ bytesSent: w.bytesSent, requests: w.requests, pushBytes: w.pushBytes })),
      samples: s.samples,
      updateBytesPerSample: round(perSample(t.pushBytes, s), 1),
      updateBytesSaving: round(perSample(dense.pushBytes, runs.dense.summary) / perSample(t.pushBytes, s), 2),
      bytesSentSaving: round(perSample(dense.bytesSent, runs.dense.summary) / perSample(t.bytesSent, s), 2),
      requestsPerSample: round(t.requests / Math.max(1, s.samples), 4),
      secondsToTarget: reached && trainStart ? round(reached.t - trainStart.t, 1) : null,
      usdToTarget: reached ? round(reached.costUSD - loadCost, 6) : null,
      trainSeconds: round(s.seconds, 1),
      costUSD: round(s.costUSD, 6),
    };
  };
  return {
    target: round(target, 5),
    dense: figures(runs.dense),
    significance: figures(runs.significance),
    ...(runs.topk ? { topk: figures(runs.topk) } : {}),
  };
}
