// One synchronous training step over a Channel (training.sync "sync-sgd"), with sparse updates: a
// minibatch of a sparse model touches a few thousand of its million weights, so each worker sends
// (ids, values) of the rows it touched, not the dense vector (LambdaML sends dense vectors because its
// models are dense; sending the zeros would only make the storage channels look worse than they are).
//
// The model lives in the parameter server (the driver evaluates and checkpoints it there). Each step:
// every worker puts its update; the reducer of a key range merges the updates (training.aggregation,
// runtime/aggregation/robust.ts) and applies the result to the parameter server (`apply`), then puts a
// "done" marker; no worker starts the next step before it has seen every range's marker, so the next
// pull reads the merged model. Schemes (LambdaML):
// - all-reduce: worker 0 reduces the whole update (it reads N-1 updates a step: its link is the bottleneck);
// - scatter-reduce: worker j reduces key range j of everyone's update (SMLT's sharded reduction:
//   no worker reduces everything).
//
// Failures: a worker that has not put its update within the step timeout is left out of this step (the
// others go on: a dead worker never hangs them); a worker whose generation ends puts a "left" marker so
// the others stop waiting for it at once; a worker that starts (a relaunch, the next generation) joins
// at the step after the last one reduced. A reducer that is missing leaves its range unapplied for
// that step, after the timeout. docs/design-space.md describes it.
import { setTimeout as sleep } from 'node:timers/promises';
import { aggregate, aggregationProblem, type AggregationRule } from '../aggregation/robust';
import type { Channel } from './channel';
import { sliceBounds, type SyncScheme } from './collectives';

/** Rows of a table a worker updates: ids ascending and distinct, `width` values per row. */
export interface SparseUpdate {
  ids: Uint32Array;
  values: Float32Array;
}

export interface SyncCollectiveOptions {
  channel: Channel;
  /** Key prefix of the run's step objects, e.g. runs/ID/sync. */
  prefix: string;
  rank: number;
  workers: number;
  scheme: SyncScheme;
  stepTimeoutMs: number;
  /** Rows of the table (the key space cut into ranges) and values per row. */
  rows: number;
  width: number;
  aggregation: { rule: AggregationRule; f: number; m?: number };
  log?: (message: string) => void;
}

/** What one step saw: who contributed to the ranges this worker reduced, who was left out. */
export interface StepReport {
  step: number;
  contributors: number;
  /** Workers whose update did not arrive in time (or that had left), for the ranges this worker reduced. */
  missing: number[];
  /** Key ranges whose merged update never arrived in time (their reducer is gone). */
  unapplied: number[];
  /** Where the step's time went (ms): this worker reducing its range (waiting for the others' pieces,
   *  merging, applying, the marker), and waiting for the other ranges' markers (the barrier). */
  reduceMs?: number;
  barrierMs?: number;
  /** Round trips to the parameter server the step's collective made itself (pywren's reducer), and their ms. */
  psTrips?: number;
  psTripMs?: number;
}

/** Polls for a missing "left" marker every this many polls of an update. */
const LEFT_CHECK_EVERY = 10;

export function encodeUpdate(u: SparseUpdate): Uint8Array {
  const out = new Uint8Array(4 + 4 * u.ids.length + 4 * u.values.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, u.ids.length, true);
  new Uint32Array(out.buffer, 4, u.ids.length).set(u.ids);
  new Float32Array(out.buffer, 4 + 4 * u.ids.length, u.values.length).set(u.values);
  return out;
}

export function decodeUpdate(bytes: Uint8Array, width: number, what: string): SparseUpdate {
  if (bytes.length < 4) throw new Error(`${what}: ${bytes.length} bytes, not an update`);
  const copy = new Uint8Array(bytes); // aligned, and owned
  const count = new DataView(copy.buffer).getUint32(0, true);
  if (copy.length !== 4 + 4 * count * (1 + width)) throw new Error(`${what}: ${copy.length} bytes for ${count} rows of width ${width}`);
  return { ids: new Uint32Array(copy.buffer, 4, count), values: new Float32Array(copy.buffer, 4 + 4 * count, count * width) };
}

/** The rows of `u` with ids in [start, end) (ids are ascending: a binary search each side). */
export function sliceUpdate(u: SparseUpdate, width: number, start: number, end: number): SparseUpdate {
  const lower = (x: number) => {
    let lo = 0;
    let hi = u.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u.ids[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const a = lower(start);
  const b = lower(end);
  return { ids: u.ids.subarray(a, b), values: u.values.subarray(a * width, b * width) };
}

/**
 * Merges the updates with `rule` over the union of their rows: a worker's update is 0 on the rows it
 * did not touch, as its gradient is. With fewer updates than the rule needs (workers left out), the
 * coordinate-wise median stands in and the caller is told.
 */
export function mergeUpdates(updates: SparseUpdate[], width: number, aggregation: SyncCollectiveOptions['aggregation']): { merged: SparseUpdate; fallback?: string } {
  const all = new Uint32Array(updates.reduce((n, u) => n + u.ids.length, 0));
  let at = 0;
  for (const u of updates) all.set(u.ids, (at += u.ids.length) - u.ids.length);
  all.sort();
  let distinct = 0;
  for (let k = 0; k < all.length; k++) if (k === 0 || all[k] !== all[k - 1]) all[distinct++] = all[k];
  const ids = all.slice(0, distinct);
  const position = new Map<number, number>();
  for (let k = 0; k < ids.length; k++) position.set(ids[k], k);
  const dense = updates.map((u) => {
    const d = new Float32Array(ids.length * width);
    for (let k = 0; k < u.ids.length; k++) {
      const p = position.get(u.ids[k])! * width;
      for (let c = 0; c < width; c++) d[p + c] = u.values[k * width + c];
    }
    return d;
  });
  let { rule } = aggregation;
  let fallback: string | undefined;
  const problem = aggregationProblem(rule, updates.length, aggregation.f, aggregation.m);
  if (problem) {
    fallback = `${problem}: the coordinate-wise median merged this step`;
    rule = 'median';
  }
  const values = ids.length === 0 ? new Float32Array(0) : aggregate(rule, dense, { f: aggregation.f, m: rule === 'multi-krum' ? Math.min(aggregation.m ?? updates.length - aggregation.f, updates.length - aggregation.f) : undefined });
  return { merged: { ids, values }, fallback };
}

/** Polls `key` until it exists; undefined when `deadline` (Date.now() ms) passes or `leftKey` (the
 *  "left" marker of the worker that should write it) appears. */
export async function pollFrom(channel: Channel, key: string, leftKey: string, deadline: number): Promise<Uint8Array | undefined> {
  for (let polls = 1; ; polls++) {
    const bytes = await channel.tryGet(key);
    if (bytes) return bytes;
    if (polls % LEFT_CHECK_EVERY === 0 && (await channel.tryGet(leftKey))) return undefined;
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(channel.pollMs, Math.max(0, deadline - Date.now())));
  }
}

/** A reducer's gather: waits for each of `ranks`' pieces at `keyOf(rank)` (until `deadline`, or until that
 *  rank's "left" marker appears), then merges them with `own` (the reducer's own piece) in rank order,
 *  whatever the arrival order, so the merge is reproducible. Ranks that did not come are recorded in
 *  `report.missing` and `report.contributors` counts the pieces merged; the keys read are returned so
 *  the caller can delete them. `what` names a piece in error messages ("update", "gradient"). */
export async function gatherAndMerge(
  o: Pick<SyncCollectiveOptions, 'channel' | 'width' | 'aggregation' | 'log'>,
  step: number,
  own: { rank: number; piece: SparseUpdate },
  ranks: number[],
  keys: { of: (rank: number) => string; leftOf: (rank: number) => string },
  deadline: number,
  report: StepReport,
  what: string,
): Promise<{ merged: SparseUpdate; consumed: string[] }> {
  const byRank: (SparseUpdate | undefined)[] = [];
  byRank[own.rank] = own.piece;
  const consumed: string[] = [];
  await Promise.all(
    ranks.map(async (r) => {
      const key = keys.of(r);
      const bytes = await pollFrom(o.channel, key, keys.leftOf(r), deadline);
      if (!bytes) return void report.missing.push(r);
      byRank[r] = decodeUpdate(bytes, o.width, `step ${step}: worker ${r}'s ${what}`);
      consumed.push(key);
    }),
  );
  const pieces = byRank.filter((u): u is SparseUpdate => u !== undefined);
  report.contributors = pieces.length;
  report.missing.sort((a, b) => a - b);
  const { merged, fallback } = mergeUpdates(pieces, o.width, o.aggregation);
  if (fallback) o.log?.(`step ${step}: ${fallback}`);
  return { merged, consumed };
}

export class SyncCollective {
  private deleting: Promise<void> = Promise.resolve();

  constructor(private readonly o: SyncCollectiveOptions) {
    if (!(o.workers >= 1 && o.rank >= 0 && o.rank < o.workers)) throw new Error(`rank ${o.rank} of ${o.workers} workers`);
  }

  private key(step: number, kind: 'u' | 'done', range: number, rank?: number): string {
    return `${this.o.prefix}/${step}/${kind}/${range}${rank === undefined ? '' : `/${rank}`}`;
  }
  private leftKey(rank: number): string {
    return `${this.o.prefix}/left/${rank}`;
  }
  private get stepKey(): string {
    return `${this.o.prefix}/step`;
  }

  /** Key ranges: one (reduced by worker 0) for all-reduce, one per worker for scatter-reduce. */
  private get ranges(): number {
    return this.o.scheme === 'all-reduce' ? 1 : this.o.workers;
  }

  /** Joins the run: clears this worker's "left" marker; returns the step to start at (the one after the last reduced). */
  async join(): Promise<number> {
    await this.o.channel.delete([this.leftKey(this.o.rank)]);
    const last = await this.o.channel.tryGet(this.stepKey);
    return last && last.length === 4 ? new DataView(new Uint8Array(last).buffer).getUint32(0, true) + 1 : 0;
  }

  /** Leaves (the generation returns): the others stop waiting for this worker. */
  async leave(): Promise<void> {
    await this.o.channel.put(this.leftKey(this.o.rank), new Uint8Array([1]));
  }

  /** Polls `key` until it exists; undefined when the timeout passes or `rank` has left. */
  private waitFrom(key: string, rank: number, deadline: number): Promise<Uint8Array | undefined> {
    return pollFrom(this.o.channel, key, this.leftKey(rank), deadline);
  }

  /** One step: contributes `update`; the ranges this worker reduces are merged and given to `apply`
   *  (which writes them to the model); returns once every range's merged update is applied (or timed out). */
  async step(step: number, update: SparseUpdate, apply: (merged: SparseUpdate) => Promise<void>): Promise<StepReport> {
    const { channel, rank, workers, width, rows } = this.o;
    const ranges = this.ranges;
    const reducerOf = (range: number) => (ranges === 1 ? 0 : range);
    const bounds = (range: number) => sliceBounds(rows, ranges, range);
    const report: StepReport = { step, contributors: 0, missing: [], unapplied: [] };
    // 1. Put my update for each range someone else reduces.
    await Promise.all(
      Array.from({ length: ranges }, (_, r) => r)
        .filter((r) => reducerOf(r) !== rank)
        .map((r) => channel.put(this.key(step, 'u', r, rank), encodeUpdate(sliceUpdate(update, width, ...bounds(r))))),
    );
    // 2. Reduce the range I own (if any): wait for the others' pieces, merge, apply, mark done.
    const deadline = Date.now() + this.o.stepTimeoutMs;
    const mine = ranges === 1 ? (rank === 0 ? 0 : undefined) : rank;
    const consumed: string[] = [];
    const reduceStarted = performance.now();
    if (mine !== undefined) {
      const others = Array.from({ length: workers }, (_, r) => r).filter((r) => r !== rank);
      const own = { rank, piece: sliceUpdate(update, width, ...bounds(mine)) };
      const keys = { of: (r: number) => this.key(step, 'u', mine, r), leftOf: (r: number) => this.leftKey(r) };
      const { merged, consumed: read } = await gatherAndMerge(this.o, step, own, others, keys, deadline, report, 'update');
      consumed.push(...read);
      await apply(merged);
      const s = new Uint8Array(4);
      new DataView(s.buffer).setUint32(0, step, true);
      // The marker and the step number together: on S3 each request is a first-byte latency.
      await Promise.all([channel.put(this.key(step, 'done', mine), new Uint8Array([1])), mine === 0 ? channel.put(this.stepKey, s) : undefined]);
      // Everyone who contributed this step has passed the previous step's barrier.
      if (step > 0) consumed.push(this.key(step - 1, 'done', mine));
    }
    // 3. The barrier: every range's merged update is in the model before anyone pulls for the next step.
    // A reducer may itself wait a whole step timeout for a missing piece before it merges: its marker
    // is waited for twice as long, or a missing worker would also cost the others this step's update.
    const barrierStarted = performance.now();
    report.reduceMs = barrierStarted - reduceStarted;
    const barrierDeadline = Date.now() + 2 * this.o.stepTimeoutMs;
    await Promise.all(
      Array.from({ length: ranges }, (_, r) => r)
        .filter((r) => r !== mine)
        .map(async (r) => {
          if (!(await this.waitFrom(this.key(step, 'done', r), reducerOf(r), barrierDeadline))) report.unapplied.push(r);
        }),
    );
    report.barrierMs = performance.now() - barrierStarted;
    // Deletes leave the step's critical path: they finish during the next step (awaited there, so errors surface).
    const previous = this.deleting;
    this.deleting = channel.delete(consumed);
    this.deleting.catch(() => undefined);
    await previous;
    return report;
  }
}
