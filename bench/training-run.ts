// One real training run (driver + embedded S3 + local Lambda workers + parameter server), shared by
// the endToEnd and coldStart sections. Runs once per bench, on the Criteo sample repeated a few times.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedRunConfig, RunConfig, RunEvent, RunSummary } from '../runtime/api';
import { CRITEO_10K, ROOT, SkipSection } from './context';

export const E2E_REPEAT = 10;
export const E2E_WORKERS = 2;
export const E2E_MINIBATCH = 200;
export const E2E_SECONDS = 20;
export const E2E_AVERAGING_MINIBATCH = 10000;
/** Asynchronous SGD's second minibatch: the size the project's goodput planner picks for Criteo
 *  (docs/provisioning.md, "Phase-dependent efficiency": B_noise 9,000-13,000 over most of training, so
 *  2 workers x 1,000 keep ~0.85 of per-sample progress), with 5x fewer round trips per sample than 200. */
export const E2E_PLANNED_MINIBATCH = 1000;

export interface TrainingRun {
  file: string;
  summary: RunSummary;
  /** Every event, with the bench's own clock (ms) when it arrived. */
  events: Array<{ at: number; event: RunEvent }>;
  /** The bench's clock (ms) when startTraining was called. */
  startedAt: number;
}

export type SyncMode = ResolvedRunConfig['training']['sync'];

export interface TrainingOptions {
  maxSeconds?: number;
  /** The function's time limit: a short one makes the workers return and relaunch (warm) often. */
  timeoutSeconds?: number;
  /** Leave the embedded services (and their warm Lambda environments) up for the next run. */
  keepServices?: boolean;
  /** The minibatch (default: E2E_MINIBATCH, or E2E_AVERAGING_MINIBATCH for model averaging). */
  minibatch?: number;
}

export async function runTraining(tmp: string, sync: SyncMode = 'async-sgd', options: TrainingOptions = {}): Promise<TrainingRun> {
  if (!fs.existsSync(CRITEO_10K)) throw new SkipSection(`${CRITEO_10K} is absent`);
  for (const f of ['runtime/index.ts', 'runtime/driver/run.ts', 'runtime/worker/handler.ts']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new SkipSection(`${f} is not written yet`);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'worker', 'index.js'))) throw new SkipSection('dist/worker/index.js is absent: run `npm run build`');
  const runtime = (await import('../runtime')) as typeof import('../runtime');
  const file = path.join(tmp, `criteo-10k-x${E2E_REPEAT}.txt`);
  if (!fs.existsSync(file)) {
    const sample = fs.readFileSync(CRITEO_10K);
    fs.writeFileSync(file, Buffer.concat(Array.from({ length: E2E_REPEAT }, () => sample)));
  }
  const config: RunConfig = {
    name: `bench-end-to-end-${sync}`,
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    optimizer: { type: 'adagrad', learningRate: 0.05 },
    // Model averaging syncs once per minibatch: a larger one keeps the kernel busy between round trips.
    training: { workers: E2E_WORKERS, minibatch: options.minibatch ?? (sync === 'model-averaging' ? E2E_AVERAGING_MINIBATCH : E2E_MINIBATCH), maxSeconds: options.maxSeconds ?? E2E_SECONDS, epochs: 1000, evalEverySeconds: 1, sync },
    backend: 'local',
    lambda: { memoryMB: 1024, timeoutSeconds: options.timeoutSeconds ?? 60 },
  };
  const ctx = { stateDir: path.join(tmp, 'state') };
  const events: TrainingRun['events'] = [];
  const startedAt = performance.now();
  try {
    const handle = await runtime.startTraining(config, ctx);
    handle.onEvent((event) => events.push({ at: performance.now(), event }));
    const summary = await handle.done;
    if (summary.status === 'failed') throw new Error(`training run failed: ${summary.reason}`);
    return { file, summary, events, startedAt };
  } finally {
    if (!options.keepServices) await runtime.shutdownEmbeddedServices();
  }
}
