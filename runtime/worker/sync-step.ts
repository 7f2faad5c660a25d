// One minibatch step of synchronous SGD (training.sync "sync-sgd"): pull the rows the minibatch
// touches from the parameter server, compute the update (the gradient, or for average "models" the
// change of the locally trained rows), and take part in the step's collective
// (runtime/channels/sync-collective.ts) through the run's channel: S3, Redis or the parameter server's
// own store. The merged update reaches the model before any worker's next pull: every worker's
// minibatch t sees the same model. Same interface as the asynchronous ModelStep (model-step.ts), so
// the handler's loop, heartbeats, budgets and generations are the same in both modes.
//
// With training.filter (runtime/aggregation/filters.ts) each step's update goes through the worker's
// filter before it enters the collective: only the rows it releases are sent, the rest is kept here
// and added to those rows' next updates. When the generation ends, flush() takes one more step whose
// update is everything still held (the others' updates of that step merge with it as usual), then
// leaves: nothing held is lost across generations.
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { corrupt, seededRandom } from '../aggregation/byzantine';
import { createFilter } from '../aggregation/filters';
import type { Channel } from '../channels/channel';
import { PsChannel } from '../channels/ps-channel';
import { PywrenStep } from '../channels/pywren-step';
import { SyncCollective, type SparseUpdate, type StepReport } from '../channels/sync-collective';
import { PartitionKind, type Partition } from '../data/partition';
import { DistinctIds } from '../models/local-adagrad';
import { TouchedSet, logisticGradient } from '../models/logistic';
import { mfGradient } from '../models/mf';
import { softmaxGradient } from '../models/softmax';
import type { PsConnection as PsClient } from '../ps/sharded-client';
import { emptyTraffic, type PsTraffic, type StepTiming } from '../ps/types';
import type { RedisConnection } from '../redis/client';
import { ITEMS_TABLE, newLocalTrainer, USERS_TABLE, type ModelStep } from './model-step';
import type { WorkerEvent } from './protocol';

const WEIGHTS_TABLE = 0;

export interface SyncStep extends ModelStep {
  /** Steps taken, and the last step's report (for the heartbeat). */
  readonly steps: number;
  readonly lastReport: StepReport | undefined;
  /** Closes the channel's own connection (Redis). */
  close(): Promise<void>;
  /** The channel's billed requests so far (S3 GETs and PUTs; Redis ECPUs); none for the ps channel. */
  channelRequests(): { gets?: number; puts?: number; ecpus?: number };
  /** What this worker sent besides its parameter-server connection's own count: `pushes`/`pushBytes`
   *  are the updates it contributed to steps (encoded size, after the filter); `requests`/`bytesSent`
   *  its channel PUTs (S3, Redis; the ps channel's are already in the connection's traffic). */
  channelTraffic(): PsTraffic;
}

/** A step's waits are never cut below this, however close the generation's end (ms). */
const MIN_STEP_WAIT_MS = 200;

/** Objects from this size on are timed apart (their time is mostly bytes, not the request). */
const BIG_OBJECT_BYTES = 64 * 1024;

/** Counts the PUTs and bytes a worker sends through its channel, and times its requests. */
class CountingChannel implements Channel {
  readonly kind: Channel['kind'];
  readonly pollMs: number;
  puts = 0;
  bytes = 0;
  constructor(readonly inner: Channel, private readonly timing: StepTiming) {
    this.kind = inner.kind;
    this.pollMs = inner.pollMs;
  }
  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.puts++;
    this.bytes += bytes.length;
    const t = performance.now();
    await this.inner.put(key, bytes);
    this.timed(t, bytes.length);
  }
  async tryGet(key: string): Promise<Uint8Array | undefined> {
    const t = performance.now();
    const bytes = await this.inner.tryGet(key);
    this.timed(t, bytes?.length ?? 0);
    return bytes;
  }
  /** A request's round trip, small objects apart from big ones (the analytic model's primitives). */
  private timed(started: number, bytes: number): void {
    const ms = performance.now() - started;
    const t = this.timing;
    if (bytes < BIG_OBJECT_BYTES) (t.channelTrips = (t.channelTrips ?? 0) + 1), (t.channelTripMs = (t.channelTripMs ?? 0) + ms);
    else (t.bigTrips = (t.bigTrips ?? 0) + 1), (t.bigTripMs = (t.bigTripMs ?? 0) + ms), (t.bigBytes = (t.bigBytes ?? 0) + bytes);
  }
  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys);
  }
}

async function openChannel(event: WorkerEvent, s3: S3Client, ps: PsClient): Promise<{ channel: Channel; redis?: RedisConnection }> {
  const sync = event.sync!;
  switch (sync.channel) {
    // Imported when used (the Redis client is half the bundle): see handler.ts.
    case 's3': {
      const { S3Channel } = await import('../channels/s3-channel');
      return { channel: new S3Channel({ client: s3, bucket: event.bucket }) };
    }
    case 'redis': {
      if (!sync.redisUrl) throw new Error('training.channel "redis": the worker was given no Redis URL');
      const [{ connectRedis }, { RedisChannel }] = await Promise.all([import('../redis/client'), import('../channels/redis-channel')]);
      const redis = await connectRedis(sync.redisUrl);
      return { channel: new RedisChannel({ client: redis }), redis };
    }
    case 'ps':
      return { channel: new PsChannel(ps) };
  }
}

/** Ids ascending with their values (the kernels of model averaging collect ids in first-seen order). */
function sortedUpdate(ids: Uint32Array, values: Float32Array): SparseUpdate {
  const order = Array.from(ids.keys()).sort((a, b) => ids[a] - ids[b]);
  return { ids: Uint32Array.from(order, (k) => ids[k]), values: Float32Array.from(order, (k) => values[k]) };
}

/** `remainingMs`: the generation's time left before it must return (the function's time limit less the
 *  return margin). A step's waits for missing workers are bounded by it as well as by the step timeout
 *  (a third of it: a step waits for pieces, then twice as long for the markers), so a worker whose
 *  partner is relaunching goes on without it and returns in time instead of being killed mid-step by
 *  the function's time limit (which failed short-limit runs: "Task timed out" five times in a row). */
export async function createSyncStep(event: WorkerEvent, s3: S3Client, ps: PsClient, log: (message: string) => void, remainingMs: () => number = () => Infinity): Promise<SyncStep> {
  const sync = event.sync;
  if (!sync) throw new Error('createSyncStep: the event has no sync settings');
  const model = event.model;
  // Matrix factorisation's two tables share one key space in the collective: user u is row u, item i
  // row `itemsFrom` + i, each factors + 1 values (the bias last); `apply` splits the merged update back.
  const mf = model.type === 'mf' ? model : undefined;
  if (mf && sync.scheme === 'pywren') throw new Error('training.scheme "pywren" is implemented for logistic and softmax models');
  const itemsFrom = mf ? mf.maxUser + 1 : 0;
  const rows = model.type === 'mf' ? itemsFrom + model.maxItem + 1 : model.featureCount;
  const width = model.type === 'mf' ? model.factors + 1 : model.type === 'softmax' ? model.classes : 1;
  // Where the steps' time went (StepTiming; the worker's result carries it, the designSpace bench reads it).
  const timing = { computeMs: 0, packMs: 0, pullWaitMs: 0, pushWaitMs: 0, steps: 0, stepMs: 0, exchangeMs: 0, reduceMs: 0, barrierMs: 0, psTrips: 0, psTripMs: 0 };
  const opened = await openChannel(event, s3, ps);
  const channel = new CountingChannel(opened.channel, timing);
  const redis = opened.redis;
  const stepTimeoutMs = () => Math.max(MIN_STEP_WAIT_MS, Math.min(sync.stepTimeoutMs, remainingMs() / 3));
  const options = {
    channel,
    prefix: sync.prefix,
    rank: event.worker,
    workers: sync.workers,
    get stepTimeoutMs() {
      return stepTimeoutMs();
    },
    rows,
    width,
    aggregation: sync.aggregation,
    log,
  };
  // scheme "pywren": the model lives in the channel (pywren-step.ts); else in the parameter server.
  const pywren = sync.scheme === 'pywren' ? new PywrenStep(options, ps) : undefined;
  // (The getter is kept: a spread would copy the step timeout once.)
  const collective = sync.scheme === 'pywren' ? undefined : new SyncCollective(Object.assign(Object.create(options) as typeof options, { scheme: sync.scheme }));
  let step = await (pywren ?? collective!).join();
  let steps = 0;
  let lastReport: StepReport | undefined;
  const byzantine = event.faults?.byzantine;
  const random = seededRandom(1 + event.worker);
  const touched = new TouchedSet(mf ? 1 : rows);
  const distinct = new DistinctIds(mf ? 1 : rows);
  const users = mf ? new TouchedSet(mf.maxUser + 1) : undefined;
  const items = mf ? new TouchedSet(mf.maxItem + 1) : undefined;
  const averaging = model.type === 'logistic' && model.localLearningRate !== undefined;
  const trainer = averaging ? newLocalTrainer(rows) : undefined;
  let grad = new Float32Array(1024);
  // training.filter (validation refuses it with scheme "pywren" and with a robust aggregation rule).
  const filter = event.filter && !pywren ? createFilter(event.filter.settings, rows, width, event.filter.stepScale, event.filter.stepsBefore) : undefined;
  const contributed = emptyTraffic();
  /** A request to the parameter server, timed as one round trip. */
  const psTrip = async <T>(request: Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await request;
    timing.psTrips++;
    timing.psTripMs += performance.now() - t;
    return out;
  };
  /** Waiting for a minibatch's weights (the pull, or pywren's model read), timed as pullWait. */
  const pullTimed = async <T>(request: Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await request;
    timing.pullWaitMs += performance.now() - t;
    return out;
  };
  const apply = async (merged: SparseUpdate): Promise<void> => {
    if (merged.ids.length === 0) return;
    if (!mf) return void (await psTrip(ps.push(WEIGHTS_TABLE, merged.ids, merged.values)));
    // The users' rows come first (ids ascending): push each table its part, together.
    let k = 0;
    while (k < merged.ids.length && merged.ids[k] < itemsFrom) k++;
    const itemIds = merged.ids.subarray(k).map((id) => id - itemsFrom);
    await psTrip(
      Promise.all([
        k > 0 ? ps.push(USERS_TABLE, merged.ids.subarray(0, k), merged.values.subarray(0, k * width)) : undefined,
        itemIds.length > 0 ? ps.push(ITEMS_TABLE, itemIds, merged.values.subarray(k * width)) : undefined,
      ]),
    );
  };

  /** The model of this step from the channel. A worker that waited in vain (or saw the reducer leave:
   *  its next generation is starting) rejoins at the last step reduced, until twice the step timeout. */
  async function pywrenModel(): Promise<Float32Array> {
    const waitMs = 2 * stepTimeoutMs();
    const deadline = Date.now() + waitMs;
    let model = await pywren!.weights(step);
    while (!model && Date.now() < deadline) {
      await sleep(channel.pollMs);
      step = await pywren!.join();
      model = await pywren!.weights(step, Math.max(0, deadline - Date.now()));
    }
    if (!model) throw new Error(`training.scheme "pywren": the model of step ${step} did not arrive within ${(waitMs / 1000).toFixed(1)} s (the reducer, worker 0, is gone)`);
    return model;
  }

  /** The minibatch's update and the current weights of its rows (the significance filter compares the two). */
  async function update(partition: Partition, from: number, to: number): Promise<{ update: SparseUpdate; weights: Float32Array; loss: number }> {
    if (mf) {
      if (partition.kind !== PartitionKind.Ratings) throw new Error('matrix factorisation needs a ratings dataset');
      const u = Uint32Array.from(users!.collectIds(partition.users, from, to));
      const i = Uint32Array.from(items!.collectIds(partition.items, from, to));
      const [userRows, itemRows] = await pullTimed(psTrip(Promise.all([ps.pull(USERS_TABLE, u), ps.pull(ITEMS_TABLE, i)])));
      const values = new Float32Array((u.length + i.length) * width);
      const gu = values.subarray(0, u.length * width);
      const gi = values.subarray(u.length * width);
      const loss = mfGradient(partition, from, to, users!, items!, mf.factors, mf.globalMean, userRows, itemRows, gu, gi, mf.reg);
      const ids = new Uint32Array(u.length + i.length);
      ids.set(u);
      for (let k = 0; k < i.length; k++) ids[u.length + k] = itemsFrom + i[k];
      const weights = new Float32Array(values.length);
      weights.set(userRows);
      weights.set(itemRows, userRows.length);
      return { update: { ids, values }, weights, loss };
    }
    if (partition.kind !== PartitionKind.Samples) throw new Error('logistic and softmax regression need a samples dataset, not ratings');
    if (trainer && model.type === 'logistic') {
      // Model averaging: the change of the rows after training the minibatch locally (SGD at rate 1 on the server: w -= change).
      const ids = distinct.collect(partition, from, to);
      const before = await pullTimed(ps.pull(WEIGHTS_TABLE, ids));
      trainer.setRows(ids, before);
      trainer.train(partition, from, to, model.localLearningRate!);
      const after = trainer.getRows(ids, new Float32Array(ids.length));
      for (let j = 0; j < ids.length; j++) after[j] = before[j] - after[j];
      return { update: sortedUpdate(ids, after), weights: sortedUpdate(ids, before).values, loss: NaN };
    }
    const ids = touched.collect(partition, from, to);
    const weights = await pullTimed(pywren ? pywrenModel().then((m) => gather(m, ids, width)) : psTrip(ps.pull(WEIGHTS_TABLE, ids)));
    if (grad.length < ids.length * width) grad = new Float32Array(ids.length * width * 2);
    const g = grad.subarray(0, ids.length * width);
    const loss = width === 1 ? logisticGradient(partition, from, to, touched, weights, g) : softmaxGradient(partition, from, to, touched, width, weights, g);
    return { update: { ids: Uint32Array.from(ids), values: Float32Array.from(g) }, weights, loss };
  }

  /** One step with this update (after the filter): counted, corrupted by a faulty worker, merged. */
  async function contribute(u: SparseUpdate): Promise<StepReport> {
    contributed.pushes++;
    contributed.pushBytes += 4 + 4 * u.ids.length + 4 * u.values.length; // encodeUpdate's size
    // Fault injection (faults.byzantineWorkers): a faulty worker sends a corrupted update.
    if (byzantine) corrupt(u.values, byzantine.kind, byzantine.factor, random);
    const exchanged = performance.now();
    lastReport = pywren ? await pywren.step(step, u) : await collective!.step(step, u, apply);
    timing.exchangeMs += performance.now() - exchanged;
    timing.reduceMs += lastReport.reduceMs ?? 0;
    timing.barrierMs += lastReport.barrierMs ?? 0;
    timing.psTrips += lastReport.psTrips ?? 0;
    timing.psTripMs += lastReport.psTripMs ?? 0;
    step++;
    return lastReport;
  }

  return {
    async run(partition, from, to) {
      const started = performance.now();
      const pulledBefore = timing.pullWaitMs;
      const { update: computed, weights, loss } = await update(partition, from, to);
      // Collecting the rows and the gradient (or local training): the update's time less its pull.
      timing.computeMs += performance.now() - started - (timing.pullWaitMs - pulledBefore);
      await contribute(filter ? filter.select(computed.ids, computed.values, weights) : computed);
      steps++;
      return loss;
    },
    timing,
    async flush() {
      // What the filter still holds goes into one more step (the others' updates of that step merge
      // with it as usual). Leaving lets the others go on without waiting for this worker's next update.
      const rest = filter?.flush();
      if (rest && rest.ids.length > 0) {
        const report = await contribute(rest);
        if (report.unapplied.length > 0) log(`step ${report.step}: the ${rest.ids.length} rows held back by training.filter were not applied in key ranges ${report.unapplied.join(', ')} (their reducer is gone)`);
      }
      await (pywren ?? collective!).leave();
    },
    get heldRows() {
      return filter?.pendingRows ?? 0;
    },
    get steps() {
      return steps;
    },
    get lastReport() {
      return lastReport;
    },
    channelTraffic() {
      const own = channel.kind === 'ps' ? { requests: 0, bytesSent: 0 } : { requests: channel.puts, bytesSent: channel.bytes };
      return { ...own, pushes: contributed.pushes, pushBytes: contributed.pushBytes };
    },
    channelRequests() {
      // S3Channel.requests { gets, puts }, RedisChannel.requests { commands, ecpus } (imported lazily: no instanceof).
      const counted = (channel.inner as Channel & { requests?: { gets?: number; puts?: number; ecpus?: number } }).requests;
      if (channel.kind === 's3' && counted) return { gets: counted.gets, puts: counted.puts };
      if (channel.kind === 'redis' && counted) return { ecpus: counted.ecpus };
      return {};
    },
    async close() {
      if (redis) await redis.close().catch(() => redis.destroy());
    },
  };
}

/** The rows `ids` of a dense model of `width` values per row. */
function gather(model: Float32Array, ids: ArrayLike<number>, width: number): Float32Array {
  const out = new Float32Array(ids.length * width);
  for (let k = 0; k < ids.length; k++) for (let c = 0; c < width; c++) out[k * width + c] = model[ids[k] * width + c];
  return out;
}
