// Measures asynchronous SGD's staleness on real local runs: the Criteo sample x3 trained at several
// worker counts (default 1, 4 and 16, minibatch 1,000, each twice), test loss against samples, and fits runtime/provisioning/staleness.ts's two forms.
// Used by the provisioning bench section; runs alone with `node --import tsx bench/staleness.ts OUT_DIR`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunConfig } from '../runtime/api';
import { CRITEO_10K } from './context';
import { MF_NOISE_DEFAULTS, MOVIELENS_U1_BASE } from './noise-scale';

const REPEAT = 3;

export interface StalenessOptions {
  /** 'criteo' (default): logistic regression on the Criteo sample x3, tested on copies of rows it trains on;
   *  'mf': biased MF on MovieLens 100k u1.base as bench/noise-scale.ts measures it (50 factors, plain SGD
   *  lr 0.005, reg 0.02), tested on u1.base itself: both test losses are the training loss the noise
   *  scale's table is keyed by. */
  workload?: 'criteo' | 'mf';
  /** The ratings file of the 'mf' workload (default u1.base). */
  ratingsFile?: string;
  workers: number[];
  /** Larger minibatches make each stale update cover more samples (staleness in samples = (W - 1) x minibatch). */
  minibatch: number;
  epochs: number;
  runsPerSize: number;
}
export const STALENESS_DEFAULTS: StalenessOptions = { workers: [1, 4, 16], minibatch: 1000, epochs: 3, runsPerSize: 2 };

export async function measureStaleness(tmp: string, o: StalenessOptions = STALENESS_DEFAULTS) {
  const runtime = (await import('../runtime')) as typeof import('../runtime');
  const { fitConvergence } = await import('../runtime/provisioning/adaptive');
  const { fitStaleness, samplesToReach } = await import('../runtime/provisioning/staleness');
  const mf = o.workload === 'mf';
  const file = mf ? (o.ratingsFile ?? MOVIELENS_U1_BASE) : path.join(tmp, `criteo-10k-x${REPEAT}.txt`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.concat(Array.from({ length: REPEAT }, () => fs.readFileSync(CRITEO_10K))));
  const stateDir = path.join(tmp, mf ? 'staleness-mf-state' : 'staleness-state');
  const curves: Array<{ workers: number; points: Array<[number, number]>; seconds: number; load: number }> = [];
  for (let rep = 0; rep < o.runsPerSize; rep++) {
    for (const workers of o.workers) {
      const config: RunConfig = {
        name: `staleness-${workers}w`,
        ...(mf
          ? {
              dataset: { path: file, format: 'ratings', testPath: file },
              model: { type: 'mf', factors: MF_NOISE_DEFAULTS.factors },
              optimizer: { type: 'sgd', learningRate: MF_NOISE_DEFAULTS.learningRate, l2: MF_NOISE_DEFAULTS.reg },
            }
          : { dataset: { path: file, format: 'criteo', testFraction: 0.1 }, model: { type: 'logistic', hashBits: 18 }, optimizer: { type: 'adagrad', learningRate: 0.02 } }),
        // Fixed samples, evaluated often (MF's 20 epochs take ~2 s), no early stop: the curve is the measurement.
        training: { workers, minibatch: o.minibatch, epochs: o.epochs, maxSeconds: 300, evalEverySeconds: mf ? 0.1 : 0.25, patience: 1000 },
        backend: 'local',
        lambda: { memoryMB: 512, timeoutSeconds: 60 },
      } as RunConfig;
      const summary = await (await runtime.startTraining(config, { stateDir })).done;
      if (summary.status === 'failed') throw new Error(`staleness run at ${workers} workers failed: ${summary.reason}`);
      // Samples on the x axis from the parameter server's count of applied updates (each one minibatch),
      // read in the same tick as the evaluation: the heartbeats' count lags the model by up to a heartbeat.
      let applied = 0;
      const points: Array<[number, number]> = [];
      for (const e of runtime.readRunEvents(summary.runFolder)) {
        // MF pushes each minibatch to two tables (users, items): two updates.
        if (e.type === 'ps-stats') applied = (e.updates * o.minibatch) / (mf ? 2 : 1);
        else if (e.type === 'eval' && applied > 0) {
          const loss = mf ? e.testRMSE : e.testLoss;
          if (Number.isFinite(loss)) points.push([Math.min(applied, summary.samples), loss as number]);
        }
      }
      curves.push({ workers, points, seconds: summary.seconds, load: os.loadavg()[0] });
      console.error(`staleness: ${workers} workers, ${points.length} evaluations, final ${points.at(-1)?.[1]?.toFixed(4)} after ${summary.samples} samples, ${summary.seconds.toFixed(1)} s, load ${os.loadavg()[0].toFixed(1)}`);
    }
  }
  // The one-worker convergence model from both one-worker curves together, the staleness from the others.
  const one = curves.filter((c) => c.workers === 1).flatMap((c) => c.points).sort((a, b) => a[0] - b[0]);
  const conv = fitConvergence({ lossCurve: one, trainRows: 0 } as never);
  // The same model reading the loss from the one-worker runs themselves (their running minimum in sample
  // order): MF's curve falls fast and then slowly, which no single exponential follows.
  let lowest = conv.initialLoss;
  const convOnCurve = { ...conv, curve: [[0, conv.initialLoss] as [number, number], ...one.map(([x, l]) => [x, (lowest = Math.min(lowest, l))] as [number, number])] };
  const fits = fitStaleness(conv, curves);
  // Model-free view: samples to reach a few loss levels, per worker count (median of the runs).
  const levels = [0.25, 0.5, 0.75, 0.9].map((f) => conv.initialLoss - f * (conv.initialLoss - conv.floorLoss / 0.98));
  const toReach = o.workers.map((workers) => ({
    workers,
    samples: levels.map((l) => {
      const xs = curves.filter((c) => c.workers === workers).map((c) => samplesToReach(c, l)).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
      return xs.length ? xs[Math.floor((xs.length - 1) / 2)] : null;
    }),
  }));
  return { options: o, conv, convOnCurve, fits, levels, toReach, curves };
}

if (process.argv[1]?.endsWith('staleness.ts')) {
  const out = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'staleness-'));
  fs.mkdirSync(out, { recursive: true });
  // Optional: WORKERS (comma-separated) MINIBATCH EPOCHS RUNS.
  const [w, mb, ep, runs] = process.argv.slice(3);
  const o: StalenessOptions = {
    workers: w ? w.split(',').map(Number) : STALENESS_DEFAULTS.workers,
    minibatch: mb ? Number(mb) : STALENESS_DEFAULTS.minibatch,
    epochs: ep ? Number(ep) : STALENESS_DEFAULTS.epochs,
    runsPerSize: runs ? Number(runs) : STALENESS_DEFAULTS.runsPerSize,
  };
  measureStaleness(out, o)
    .then(async (r) => {
      fs.writeFileSync(path.join(out, 'staleness.json'), JSON.stringify(r, null, 1));
      console.log(JSON.stringify({ options: r.options, conv: r.conv, fits: r.fits, levels: r.levels, toReach: r.toReach }, null, 1));
      await ((await import('../runtime')) as typeof import('../runtime')).shutdownEmbeddedServices();
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
