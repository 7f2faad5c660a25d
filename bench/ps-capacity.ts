// The parameter server's capacity at each minibatch for one workload's updates, measured for the
// simulator (`Environment.psCapacity`): an update is a pull and a push of the rows a minibatch touches,
// so its size, and the server's work, grows with the minibatch and with the rows' width (1 float for
// logistic regression, factors + 1 for MF): on this machine 7-10x fewer updates/s at minibatch 10,000 than
// at 100, for both shapes (runtime/provisioning/simulator.ts PS_CAPACITY, the defaults measured here).
import type { OptimizerType } from '../runtime/config/run-config';
import type { RatingPartition, SamplePartition } from '../runtime/data/partition';
import { TouchedSet } from '../runtime/models/logistic';
import type { Environment } from '../runtime/provisioning/perf-model';
import { awsEnvironment } from '../runtime/provisioning/simulator';
import { runPsLoad } from '../runtime/ps/load';

export const CAPACITY_MINIBATCHES = [100, 300, 1000, 3000, 10_000];
/** Minibatches averaged for the touched-row count at each size. */
const BATCHES = 20;

export interface UpdateShape {
  /** Mean distinct rows one minibatch of this size touches. */
  touchedRows: (minibatch: number) => number;
  width: number;
  optimizer: OptimizerType;
  /** Rows of the parameter server's table (at least the largest touched set). */
  tableRows: number;
}

/**
 * [minibatch, updates/s] at each minibatch: runPsLoad (2 clients; the server in its own process from
 * dist/ps-server.js, or `inline` in this one) with updates of the rows that minibatch touches.
 */
export async function measurePsCapacity(shape: UpdateShape, o: { minibatches?: number[]; seconds?: number; server?: 'child' | 'inline' } = {}): Promise<Array<[number, number]>> {
  const table: Array<[number, number]> = [];
  for (const minibatch of o.minibatches ?? CAPACITY_MINIBATCHES) {
    const rowsPerPush = Math.max(1, Math.round(shape.touchedRows(minibatch)));
    const r = await runPsLoad({ clients: 2, seconds: o.seconds ?? 2, rowsPerPush, width: shape.width, rows: Math.max(shape.tableRows, rowsPerPush), optimizer: shape.optimizer, server: o.server ?? 'child' });
    table.push([minibatch, Math.round(r.updatesPerSecond)]);
  }
  return table;
}

/** AWS with the parameter server's capacity measured now for this workload's updates (the bench's comparisons). */
export async function awsEnvironmentFor(shape: UpdateShape): Promise<Environment> {
  return { ...awsEnvironment(), psCapacity: await measurePsCapacity(shape) };
}

/** Sparse samples (logistic regression): distinct features of consecutive minibatches, as a worker collects them. */
export function sampleShape(part: SamplePartition, featureCount: number): UpdateShape {
  const touched = new TouchedSet(featureCount);
  return {
    touchedRows: (minibatch) => meanOver(part.rows, minibatch, (from, to) => touched.collect(part, from, to).length),
    width: 1,
    optimizer: 'adagrad',
    tableRows: featureCount,
  };
}

/** Ratings (MF): distinct users plus distinct items of consecutive minibatches (one row each, factors + 1 wide). */
export function ratingsShape(part: RatingPartition, factors: number): UpdateShape {
  let maxUser = 0;
  let maxItem = 0;
  for (let k = 0; k < part.rows; k++) (maxUser = Math.max(maxUser, part.users[k])), (maxItem = Math.max(maxItem, part.items[k]));
  return {
    touchedRows: (minibatch) =>
      meanOver(part.rows, minibatch, (from, to) => {
        const users = new Set<number>();
        const items = new Set<number>();
        for (let k = from; k < to; k++) users.add(part.users[k]), items.add(part.items[k]);
        return users.size + items.size;
      }),
    width: factors + 1,
    optimizer: 'sgd',
    tableRows: maxUser + maxItem + 2,
  };
}

/** Mean of `count(from, to)` over BATCHES minibatches spread evenly over the rows (all the rows when a minibatch is more). */
function meanOver(rows: number, minibatch: number, count: (from: number, to: number) => number): number {
  let sum = 0;
  for (let b = 0; b < BATCHES; b++) {
    const from = Math.floor((b * rows) / BATCHES);
    sum += minibatch <= rows ? count(Math.min(from, rows - minibatch), Math.min(from, rows - minibatch) + minibatch) : count(0, rows);
  }
  return sum / BATCHES;
}

// `node --import tsx bench/ps-capacity.ts` (after `npm run build`): the two default tables of
// runtime/provisioning/simulator.ts (PS_CAPACITY), measured on Criteo 10k and MovieLens 100k u1.base.
if (process.argv[1]?.endsWith('ps-capacity.ts')) {
  (async () => {
    const { loadCriteo } = await import('./criteo');
    const { CRITEO_10K } = await import('./context');
    const { loadRatings, MOVIELENS_U1_BASE, MF_NOISE_DEFAULTS } = await import('./noise-scale');
    const sparse = await measurePsCapacity(sampleShape(await loadCriteo(CRITEO_10K, 20), 2 ** 20));
    const mf = await measurePsCapacity(ratingsShape(loadRatings(MOVIELENS_U1_BASE), MF_NOISE_DEFAULTS.factors));
    console.log(JSON.stringify({ sparse, mf }));
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
