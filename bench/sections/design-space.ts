// designSpace: every channel x sync cell of LambdaML's design space on the same Criteo rows under the
// "aws" network profile: seconds and dollars to a common target log-loss, the final loss, and the
// analytic model's predicted seconds per step beside the measured ones (runtime/channels/step-model.ts).
// Headline: asynchronous parameter server vs PyWren-style synchronous SGD through S3.
//
// Sizes are configurable (the full size takes far too long on a loaded 2-core machine):
//   CIRRUS_BENCH_DESIGN_REPEAT   Criteo 10k repeated this many times (issue: >= 50, i.e. 500k rows; default 2)
//   CIRRUS_BENCH_DESIGN_WORKERS  comma-separated worker counts (issue: 2,4; default 2)
//   CIRRUS_BENCH_DESIGN_SECONDS  each cell's time limit (default 120)
// The last 10 % of the rows are the test set (dataset.testFraction 0.1 takes the tail).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCriteo } from '../criteo';
import type { RunConfig, RunSummary } from '../../runtime/api';
import { cellName, DESIGN_CELLS, designSpaceTable, rowsPerSample, type DesignCell } from '../../runtime/channels/step-model';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { type BenchContext, CRITEO_10K, round, type SectionResult, SkipSection } from '../context';

const TARGET_LOSS = 0.48;
const MINIBATCH = 20;

function env(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

interface Cell {
  cell: string;
  workers: number;
  status: string;
  reason: string;
  finalLoss: number | null;
  secondsToTarget: number | null;
  usdToTarget: number | null;
  trainSeconds: number;
  usd: number;
  steps: number;
  measuredSecondsPerStep: number;
  predictedSecondsPerStep: number;
  predictionError: number;
}

export async function designSpace(ctx: BenchContext): Promise<SectionResult> {
  if (!fs.existsSync(CRITEO_10K)) throw new SkipSection(`${CRITEO_10K} is absent`);
  const repeat = Number(env('CIRRUS_BENCH_DESIGN_REPEAT', '2'));
  const workerCounts = env('CIRRUS_BENCH_DESIGN_WORKERS', '2').split(',').map(Number);
  const maxSeconds = Number(env('CIRRUS_BENCH_DESIGN_SECONDS', '120'));
  const runtime = (await import('../../runtime')) as typeof import('../../runtime');
  const file = path.join(ctx.tmp, `criteo-10k-x${repeat}-design.txt`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.concat(Array.from({ length: repeat }, () => fs.readFileSync(CRITEO_10K))));
  const cells: Cell[] = [];
  try {
    for (const workers of workerCounts) {
      let asyncSecondsPerSample: number | undefined;
      for (const cell of DESIGN_CELLS) {
        const config: RunConfig = {
          name: `bench-design-${cellName(cell).replace(/[^a-z0-9]+/gi, '-')}-${workers}w`,
          dataset: { path: file, format: 'criteo', testFraction: 0.1 },
          model: { type: 'logistic', hashBits: 20 },
          optimizer: { type: 'adagrad', learningRate: 0.02 },
          training: {
            workers,
            minibatch: MINIBATCH,
            maxSeconds,
            epochs: 1,
            targetLoss: TARGET_LOSS,
            evalEverySeconds: 1,
            patience: 0,
            ...(cell.sync === 'sync-sgd' ? { sync: 'sync-sgd', channel: cell.channel, scheme: cell.scheme } : {}),
          },
          backend: 'local',
          network: { profile: 'aws' },
          lambda: { memoryMB: 1024, timeoutSeconds: maxSeconds + 30 },
        };
        const handle = await runtime.startTraining(config, { stateDir: path.join(ctx.tmp, 'state') });
        const summary: RunSummary = await handle.done;
        const events = readRunEvents(handle.runFolder);
        const trainStart = events.find((e) => e.type === 'stage-started' && e.stage === 'train')?.t ?? 0;
        const hit = events.find((e) => e.type === 'eval' && e.testLoss <= TARGET_LOSS);
        const trainSeconds = summary.seconds;
        const steps = summary.samples / (workers * MINIBATCH);
        const measured = trainSeconds / Math.max(1, steps);
        if (cell.sync === 'async-sgd') asyncSecondsPerSample = (trainSeconds * workers) / Math.max(1, summary.samples);
        const predicted = predictFor(cell, workers, asyncSecondsPerSample ?? 2e-5);
        cells.push({
          cell: cellName(cell),
          workers,
          status: summary.status,
          reason: summary.reason,
          finalLoss: summary.testLoss === null ? null : round(summary.testLoss, 4),
          secondsToTarget: hit ? round(hit.t - trainStart, 1) : null,
          usdToTarget: hit && hit.type === 'eval' ? round(hit.costUSD ?? NaN, 6) : null,
          trainSeconds: round(trainSeconds, 1),
          usd: round(summary.costUSD, 6),
          steps: Math.round(steps),
          measuredSecondsPerStep: round(measured, 5),
          predictedSecondsPerStep: round(predicted, 5),
          predictionError: round(predicted / measured - 1, 3),
        });
        process.stdout.write(`\n  ${cellName(cell)}, ${workers} workers: ${JSON.stringify(cells.at(-1))}`);
      }
    }
  } finally {
    await runtime.shutdownEmbeddedServices();
  }
  const find = (name: string, workers: number) => cells.find((c) => c.cell === name && c.workers === workers);
  const headline = workerCounts.map((workers) => {
    const a = find(cellName(DESIGN_CELLS[0]), workers);
    const s3 = [find('sync-sgd, s3, all-reduce', workers), find('sync-sgd, s3, scatter-reduce', workers)].filter((c) => c?.secondsToTarget != null);
    const best = s3.sort((x, y) => x!.secondsToTarget! - y!.secondsToTarget!)[0];
    return {
      workers,
      asyncSecondsToTarget: a?.secondsToTarget ?? null,
      syncS3SecondsToTarget: best?.secondsToTarget ?? null,
      ratio: a?.secondsToTarget && best?.secondsToTarget ? round(best.secondsToTarget / a.secondsToTarget, 1) : null,
    };
  });
  const serverful = await serverfulReferences(ctx, file);
  return {
    targetLoss: TARGET_LOSS,
    rows: repeat * 10_000,
    headline,
    cells,
    serverful,
    notes:
      `startTraining on Criteo 10k repeated ${repeat}x (last 10 % test), local backend with the "aws" network profile, workers ${workerCounts.join(', ')}, ` +
      `AdaGrad lr 0.02, minibatch ${MINIBATCH} per worker, 1 epoch or ${maxSeconds} s or test log-loss <= ${TARGET_LOSS}, evaluations every second (time to target is at 1 s resolution). ` +
      'Predicted s/step: runtime/channels/step-model.ts with the compute per sample taken from the same worker count\'s async cell. ' +
      'MovieLens is not run: sync-sgd is implemented for logistic and softmax only. Serverful: one process on this machine, the same hashed rows and test tail; ' +
      'liblinear-train -s 0 (L2 logistic regression, primal trust region) -B 1 -c 0.05, log-loss from liblinear-predict -b 1; refkernel: the native AdaGrad kernel, 1 epoch, lr 0.02 (train_s).',
  };
}

function predictFor(cell: DesignCell, workers: number, secondsPerSample: number): number {
  const table = designSpaceTable({ workers, minibatch: MINIBATCH, width: 1, rowsPerSample: rowsPerSample('criteo'), samples: workers * MINIBATCH, secondsPerSample, memoryMB: 1024 });
  return table.find((row) => row.cell === cellName(cell))!.secondsPerStep;
}

/** What a user would run on one machine instead: liblinear (Debian liblinear-tools) and the native refkernel, same rows. */
async function serverfulReferences(ctx: BenchContext, file: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const ref = ctx.runRefkernel(file, [20, 1, 0.02, 0.1]);
  out.refkernel = { trainSeconds: round(ref.train_s, 3), testLogLoss: round(ref.test_logloss, 4) };
  let liblinear: string | undefined;
  try {
    liblinear = execFileSync('sh', ['-c', 'command -v liblinear-train'], { encoding: 'utf8' }).trim();
  } catch {
    out.liblinear = { skipped: 'liblinear-train is not installed (Debian: apt-get install liblinear-tools; .ci/run installs it)' };
    return out;
  }
  // The same hashed rows as training sees (the runtime's Criteo reader), as LIBSVM text; the last 10 % is the test set.
  const part = await loadCriteo(file, 20);
  const trainRows = part.rows - Math.floor(part.rows * 0.1);
  const write = (name: string, from: number, to: number) => {
    const lines: string[] = [];
    for (let r = from; r < to; r++) {
      const features: string[] = [];
      const pairs: Array<[number, number]> = [];
      for (let k = part.rowStart[r]; k < part.rowStart[r + 1]; k++) pairs.push([part.indices[k] + 1, part.values[k]]);
      pairs.sort((a, b) => a[0] - b[0]);
      for (const [i, v] of pairs) features.push(`${i}:${v}`);
      lines.push(`${part.labels[r] > 0.5 ? 1 : -1} ${features.join(' ')}`);
    }
    const target = path.join(ctx.tmp, name);
    fs.writeFileSync(target, lines.join('\n') + '\n');
    return target;
  };
  const trainFile = write('design-train.svm', 0, trainRows);
  const testFile = write('design-test.svm', trainRows, part.rows);
  const modelFile = path.join(ctx.tmp, 'design.model');
  const started = performance.now();
  execFileSync(liblinear, ['-s', '0', '-B', '1', '-c', '0.05', '-q', trainFile, modelFile]);
  const trainSeconds = (performance.now() - started) / 1000;
  const predictions = path.join(ctx.tmp, 'design.pred');
  execFileSync(liblinear.replace(/train$/, 'predict'), ['-b', '1', testFile, modelFile, predictions]);
  const [header, ...rows] = fs.readFileSync(predictions, 'utf8').trim().split('\n');
  const positiveColumn = header.split(' ').indexOf('1');
  let loss = 0;
  rows.forEach((line, k) => {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, Number(line.split(' ')[positiveColumn])));
    loss -= part.labels[trainRows + k] > 0.5 ? Math.log(p) : Math.log(1 - p);
  });
  out.liblinear = { trainSeconds: round(trainSeconds, 3), testLogLoss: round(loss / rows.length, 4) };
  return out;
}
