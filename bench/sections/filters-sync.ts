// filtersSync: what training.filter saves in synchronous SGD (training.sync "sync-sgd"), the cells of
// the `filters` section (asynchronous) that issue 12 asks of the synchronous mode, runnable on their
// own (`npm run bench -- filtersSync`; `filters` takes ~28 min under load). Same Criteo rows as
// `filters` (the 10k sample's first 9k rows x 56 = 504k, tested on its last 1k rows, never trained on),
// same model, optimiser, minibatch and variants (dense, significance with its defaults, top-k 0.01),
// 2 workers, through the parameter server's store (channel "ps", all-reduce) and, when redis-server is
// installed, a private Redis (channel "redis", scatter-reduce). Loopback network: bytes and losses do
// not depend on the network profile, and the "aws" profile's round trips would make 12,600 barrier
// steps per run take several times longer.
//   CIRRUS_BENCH_FILTERS_SYNC_CHANNELS  the channels to run, comma-separated (default "ps,redis")
// Update bytes in this mode (docs/filters.md, "In synchronous SGD"): the encoded updates each worker
// contributed to the steps (after its filter) plus the merged updates the reducers pushed to the
// parameter server; bytesSent adds every request (pulls, the channel's PUTs and GETs on "ps").
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { RunConfig } from '../../runtime/api';
import { findRedisServer } from '../../runtime/redis/server';
import { type BenchContext, CRITEO_10K, round, type SectionResult, SkipSection } from '../context';
import { compare, criteoFiles, CRITEO_REPEAT, pairedLogLoss, type Run, trainRun, VARIANTS } from './filters';

const SCHEMES = { ps: 'all-reduce', redis: 'scatter-reduce' } as const;
type SyncChannel = keyof typeof SCHEMES;

export async function filtersSync(ctx: BenchContext): Promise<SectionResult> {
  if (!fs.existsSync(CRITEO_10K)) throw new SkipSection(`${CRITEO_10K} is absent`);
  const runtime = (await import('../../runtime')) as typeof import('../../runtime');
  const loadAtStart = os.loadavg().map((x) => round(x, 2));
  const asked = (process.env.CIRRUS_BENCH_FILTERS_SYNC_CHANNELS ?? 'ps,redis').split(',').map((c) => c.trim()).filter((c) => c.length > 0);
  const unknown = asked.filter((c) => !(c in SCHEMES));
  if (unknown.length > 0) throw new Error(`CIRRUS_BENCH_FILTERS_SYNC_CHANNELS: unknown channel(s) ${unknown.join(', ')} (known: ${Object.keys(SCHEMES).join(', ')})`);
  const skipped: Record<string, string> = {};
  const channels = (asked as SyncChannel[]).filter((c) => {
    if (c === 'redis' && !findRedisServer()) skipped.redis = 'needs redis-server (Debian: apt-get install redis-server)';
    return !skipped[c];
  });
  const { trainFile, testFile, trainRows } = criteoFiles(ctx);
  const results: Record<string, unknown> = {};
  const headline: Record<string, unknown> = {};
  try {
    for (const channel of channels) {
      const runs: Record<string, Run> = {};
      for (const [name, filter] of VARIANTS) {
        const t0 = Date.now();
        runs[name] = await trainRun(runtime, ctx, {
          name: `bench-filters-sync-${channel}-${name}`,
          dataset: { path: trainFile, format: 'criteo', testPath: testFile },
          model: { type: 'logistic', hashBits: 20 },
          optimizer: { type: 'adagrad', learningRate: 0.02 },
          training: {
            workers: 2,
            minibatch: 20,
            maxSeconds: 1800,
            epochs: 1,
            patience: 0,
            evalEverySeconds: 1,
            sync: 'sync-sgd',
            channel,
            scheme: SCHEMES[channel],
            ...(filter ? { filter } : {}),
          },
          lambda: { memoryMB: 1024, timeoutSeconds: 60 },
        });
        const s = runs[name].summary;
        process.stdout.write(`\n  ${channel} ${name}: ${round((Date.now() - t0) / 1000, 1)} s, loss ${s.testLoss?.toFixed(5)}, update bytes ${s.traffic?.total.pushBytes}, samples ${s.samples}, load ${os.loadavg()[0].toFixed(1)}`);
      }
      const figures = compare(runs, (s) => s.testLoss);
      const paired = await pairedLogLoss(runs, testFile);
      results[channel] = { scheme: SCHEMES[channel], ...figures, paired };
      headline[`${channel}SignificanceUpdateBytesSaving`] = figures.significance.updateBytesSaving;
      headline[`${channel}SignificanceLossDelta`] = figures.significance.lossDelta;
      headline[`${channel}SignificanceLossDeltaPairedSE`] = paired.significance.se;
      headline[`${channel}TopkUpdateBytesSaving`] = figures.topk?.updateBytesSaving ?? null;
      headline[`${channel}TopkLossDelta`] = figures.topk?.lossDelta ?? null;
    }
  } finally {
    await runtime.shutdownEmbeddedServices();
  }
  return {
    ...headline,
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((x) => round(x, 2)) },
    ...results,
    ...(Object.keys(skipped).length > 0 ? { skippedChannels: skipped } : {}),
    notes:
      'startTraining, local backend, loopback network, 2 workers, training.sync "sync-sgd" (channel "ps" all-reduce, channel "redis" scatter-reduce). ' +
      `Criteo: the 10k sample's first ${trainRows} rows repeated ${CRITEO_REPEAT}x (${trainRows * CRITEO_REPEAT} rows), 1 epoch, AdaGrad lr 0.02, minibatch 20 per worker, 2^20 buckets, ` +
      'tested on the sample\'s last 1,000 rows; 60 s generations (each ends with a flush of what its filter holds). Every run trains its epoch (patience 0) and keeps its best evaluated model. ' +
      'updateBytes: per worker, its step updates as contributed to the collective (4 + 4 x rows + 4 x values bytes, after the filter, the generation-end flush step included) ' +
      'plus the merged updates the reducers pushed to the parameter server (PUSH_SPARSE frames); bytesSent: every request. Savings are per sample trained. ' +
      'paired, smoothedBest, target, secondsToTarget/usdToTarget: as in the filters section (seconds here are loopback, not the "aws" profile).',
  };
}
