// One minibatch step of each model against the parameter server: collect the rows the minibatch
// touches, pull them, compute the gradient with the shared kernel (runtime/models), push it.
// Pipelined (asynchronous SGD, as in Cirrus): a push is sent without waiting for its reply, and the
// logistic/softmax and model-averaging steps pull ahead: the pull of minibatch k+2 leaves in the same
// socket write as the push of k, so its round trip (and the server's time) overlaps the compute of
// k+1. The weights a minibatch computes on then lack the worker's own latest push (one step stale).
// With training.filter set, each update goes through the worker's filter (runtime/aggregation/filters.ts):
// only what it releases is pushed, and flush() pushes what it still holds before the worker returns.
import { corrupt, seededRandom } from '../aggregation/byzantine';
import { createFilter, type UpdateFilter } from '../aggregation/filters';
import { PartitionKind, type Partition, type SamplePartition } from '../data/partition';
import { DistinctIds, LocalAdagradTrainer } from '../models/local-adagrad';
import { TouchedSet, logisticGradient } from '../models/logistic';
import { CollectedRanges } from '../models/touched';
import { mfGradient } from '../models/mf';
import { softmaxGradient } from '../models/softmax';
import type { PsConnection as PsClient } from '../ps/sharded-client';
import type { StepTiming } from '../ps/types';
import { functionMemoryBytes, type WorkerEvent } from './protocol';

/** The minibatches that follow [from, to), in order, as [from, to) ranges of the same partition, or
 *  [from, to, partition] for those of the worker's next partition (when it is already decoded): the
 *  step may pull their rows ahead (at most PULL_DEPTH of them). */
export type Upcoming = ReadonlyArray<readonly [number, number, Partition?]>;

/** Minibatches pulled ahead: the pull of k+2 leaves with the push of k, so each pull has the whole
 *  compute of the minibatch before it to come back. */
export const PULL_DEPTH = 2;

/** Id sets (TouchedSet, DistinctIds: 4 MB each for 2^20 features, and touching fresh memory is most of
 *  a warm start's CPU on a VM: about 20 ms each here) kept by the environment between invocations, as
 *  the decoded partitions are (handler.ts). A step takes them when it starts and gives them back when
 *  the invocation ends (close()); concurrent steps in one process (tests) each take their own. */
const spareSets = new Map<string, IdSet[]>();
/** At most this many kept per kind and size (a step holds PULL_DEPTH of them). */
const SPARE_SETS = 4;

function takeSet<S extends IdSet>(key: string, make: () => S): S {
  return (spareSets.get(key)?.pop() as S | undefined) ?? make();
}

function giveSets(key: string, sets: IdSet[]): void {
  // A new model size replaces what an earlier run's left (an environment serves one function version).
  for (const other of spareSets.keys()) if (other.split(':')[1] !== key.split(':')[1]) spareSets.delete(other);
  const list = spareSets.get(key) ?? [];
  list.push(...sets.slice(0, Math.max(0, SPARE_SETS - list.length)));
  spareSets.set(key, list);
}

export interface ModelStep {
  /** Runs one minibatch [from, to) and returns its summed training loss. `upcoming`: the minibatches
   *  after it (this partition's, then the next partition's when it is decoded), which the step may prefetch. */
  run(partition: Partition, from: number, to: number, ps: PsClient, upcoming?: Upcoming): Promise<number>;
  /** Pushes what the filter still holds and waits for the pushes in flight. */
  flush(ps: PsClient): Promise<void>;
  /** The invocation is over: gives back what the environment keeps for the next one. */
  close?(): Promise<void>;
  /** Rows whose update the filter holds back (0 without a filter). */
  readonly heldRows: number;
  /** Where the time went (see StepTiming), summed since the step was created (the parameter-server steps). */
  readonly timing?: StepTiming;
}

const newTiming = (): StepTiming => ({ computeMs: 0, packMs: 0, pullWaitMs: 0, pushWaitMs: 0 });

type StepFilter = WorkerEvent['filter'];
/** Row ids plus floats per flush push: 4 MB frames, far below the parameter server's 64 MB default limit. */
const FLUSH_VALUES_PER_PUSH = 1 << 20;
type Byzantine = NonNullable<WorkerEvent['faults']>['byzantine'];

export const WEIGHTS_TABLE = 0;
export const USERS_TABLE = 0;
export const ITEMS_TABLE = 1;

/** A reusable output buffer that grows to the largest minibatch seen. */
class Scratch {
  private buffer = new Float32Array(1024);
  take(length: number): Float32Array {
    if (this.buffer.length < length) this.buffer = new Float32Array(length * 2);
    return this.buffer.subarray(0, length);
  }
}

/** Pushes one table's updates through the table's filter when there is one. A push is sent without
 *  waiting for the one before (the connection keeps them in order, and the step's next pull, answered
 *  after them, bounds how many are in flight). A push the server refuses fails the next push() or
 *  flush() with the server's reason; until then its rejection is held (not left unhandled: that would
 *  kill the invocation's process and lose the reason). */
class PushPipeline {
  private inFlight: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private readonly filter: UpdateFilter | undefined;
  private readonly random: () => number;
  /** Fault injection (faults.byzantineWorkers): every update pushed is corrupted after the filter, as a faulty worker would send it. */
  private readonly byzantine: Byzantine;
  constructor(private readonly table: number, filter: StepFilter, rows: number, width: number, byzantine: Byzantine, private readonly timing: StepTiming) {
    this.filter = filter && createFilter(filter.settings, rows, width, filter.stepScale, filter.stepsBefore);
    this.byzantine = byzantine;
    this.random = seededRandom(1 + table);
  }
  get heldRows(): number {
    return this.filter?.pendingRows ?? 0;
  }
  /** Sends the update (the frame is built, the arrays copied, before it returns) and returns what was
   *  sent. `weights`: the rows' current values (the significance filter compares the change with them). */
  push(ps: PsClient, rows: Uint32Array, update: Float32Array, weights: Float32Array): { ids: Uint32Array; values: Float32Array } {
    if (this.failure) throw this.failure;
    const out = this.filter ? this.filter.select(rows, update, weights) : { ids: rows, values: update };
    if (this.byzantine) corrupt(out.values, this.byzantine.kind, this.byzantine.factor, this.random);
    if (out.ids.length > 0) {
      const t0 = performance.now();
      const sent = ps.push(this.table, out.ids, out.values);
      sent.catch((error: Error) => (this.failure ??= error)); // surfaced by the next push() or flush()
      this.inFlight = Promise.all([this.inFlight, sent]).then(() => undefined);
      this.inFlight.catch(() => undefined);
      this.timing.packMs += performance.now() - t0;
    }
    return out;
  }
  async flush(ps: PsClient): Promise<void> {
    const t0 = performance.now();
    await this.inFlight;
    this.timing.pushWaitMs += performance.now() - t0;
    if (this.failure) throw this.failure;
    const rest = this.filter?.flush();
    if (!rest || rest.ids.length === 0) return;
    if (this.byzantine) corrupt(rest.values, this.byzantine.kind, this.byzantine.factor, this.random);
    // What is held back can be most of the table: pushed in pieces well under the server's frame limit.
    const width = rest.values.length / rest.ids.length;
    const rowsPerPush = Math.max(1, Math.floor(FLUSH_VALUES_PER_PUSH / (width + 1)));
    for (let from = 0; from < rest.ids.length; from += rowsPerPush) {
      const to = Math.min(rest.ids.length, from + rowsPerPush);
      await ps.push(this.table, rest.ids.subarray(from, to), rest.values.subarray(from * width, to * width));
    }
  }
}

/** What a minibatch's pull needs of an id set (TouchedSet, DistinctIds). */
interface IdSet {
  collect(part: SamplePartition, from: number, to: number): Uint32Array;
}

/** One minibatch's pull: its ids (a view into `set`, which stays this slot's until released) and rows. */
interface PullSlot<S extends IdSet> {
  set: S;
  out: Scratch;
  partition: Partition;
  from: number;
  to: number;
  ids: Uint32Array;
  rows: Promise<Float32Array>;
  /** Pushes sent before this pull (PullAhead.pushes then): the pull's rows include exactly those. */
  pushesBefore: number;
}

/** Pulls the rows of minibatches ahead of the one being computed (up to PULL_DEPTH), each with its own
 *  id set and output buffer, so nothing is allocated per minibatch. PULL_DEPTH slots: in the steady
 *  state the minibatch being computed holds one, the pull sent for the next the other, and the first
 *  frees its slot (push sent) before the pull after next takes it. */
class PullAhead<S extends IdSet> {
  private readonly free: Array<PullSlot<S>> = [];
  private readonly ahead: Array<PullSlot<S>> = [];
  private readonly all: Array<PullSlot<S>> = [];
  /** Pushes this step has sent (the caller counts them: see PullSlot.pushesBefore). */
  pushes = 0;

  /** Pulls sent ahead and not yet taken. */
  get inFlight(): number {
    return this.ahead.length;
  }

  constructor(private readonly setKey: string, private readonly makeSet: () => S, private readonly table: number, private readonly width: number, private readonly timing: StepTiming) {}

  /** Gives the id sets back to the environment (the step is over). */
  close(): void {
    giveSets(this.setKey, this.all.map((slot) => slot.set));
    this.all.length = 0;
    this.free.length = 0;
    this.ahead.length = 0;
  }

  /** The pull of [from, to): sent ahead by an earlier call to fill(), or sent now. */
  take(ps: PsClient, partition: SamplePartition, from: number, to: number): PullSlot<S> {
    const first = this.ahead.shift();
    if (first && first.partition === partition && first.from === from && first.to === to) return first;
    // Not what was prefetched (another partition, a budget cut): those pulls are dropped.
    if (first) this.drop(first);
    while (this.ahead.length > 0) this.drop(this.ahead.shift()!);
    return this.send(ps, partition, from, to);
  }

  /** Waits for a slot's rows (timed as pull wait). */
  async rows(slot: PullSlot<S>): Promise<Float32Array> {
    const t0 = performance.now();
    const rows = await slot.rows;
    this.timing.pullWaitMs += performance.now() - t0;
    return rows;
  }

  /** Hands a slot back once its ids and rows are no longer needed (after its push was sent). */
  release(slot: PullSlot<S>): void {
    this.free.push(slot);
  }

  /** Sends the pulls of the upcoming minibatches not yet pulled, up to PULL_DEPTH ahead. */
  fill(ps: PsClient, partition: SamplePartition, upcoming: Upcoming | undefined): void {
    if (!upcoming) return;
    for (let i = this.ahead.length; i < Math.min(PULL_DEPTH, upcoming.length); i++) {
      if (this.free.length === 0 && this.all.length >= PULL_DEPTH) return; // (the first minibatches)
      const [from, to, next = partition] = upcoming[i];
      if (next.kind !== PartitionKind.Samples) return;
      this.ahead.push(this.send(ps, next, from, to));
    }
  }

  private send(ps: PsClient, partition: SamplePartition, from: number, to: number): PullSlot<S> {
    let slot = this.free.pop();
    if (!slot) {
      slot = { set: takeSet(this.setKey, this.makeSet), out: new Scratch(), partition, from, to, ids: new Uint32Array(0), rows: Promise.resolve(new Float32Array(0)), pushesBefore: 0 };
      this.all.push(slot);
    }
    const t0 = performance.now();
    slot.partition = partition;
    slot.from = from;
    slot.to = to;
    slot.ids = slot.set.collect(partition, from, to);
    const t1 = performance.now();
    this.timing.computeMs += t1 - t0;
    slot.pushesBefore = this.pushes;
    slot.rows = ps.pull(this.table, slot.ids, slot.out.take(slot.ids.length * this.width));
    slot.rows.then(() => {
      // The pull's whole round trip (issue to reply): the analytic model's request primitive.
      this.timing.psTrips = (this.timing.psTrips ?? 0) + 1;
      this.timing.psTripMs = (this.timing.psTripMs ?? 0) + performance.now() - t1;
    }, () => undefined); // a failure is surfaced where it is awaited (a dropped one's is not)
    this.timing.packMs += performance.now() - t1;
    return slot;
  }

  /** A dropped slot is reused only once its reply is in: the reply writes into the slot's buffer. */
  private drop(slot: PullSlot<S>): void {
    void slot.rows.then(
      () => this.free.push(slot),
      () => this.free.push(slot),
    );
  }
}

/** Share of the function's memory the saved collects of the minibatches may take (CollectedRanges:
 *  about 0.65x the partitions' own size for Criteo at minibatch 200; the handler holds partitions in
 *  at most 0.4 of it). */
const RANGES_SHARE_OF_MEMORY = 0.15;

/** The minibatches' collects, saved by partition and row range, kept by the environment with the
 *  decoded partitions (their entries go with them): from the second epoch on, a minibatch's ids and
 *  positions are copied back rather than sorted again. */
let collectedRanges: CollectedRanges | undefined;
function sharedRanges(): CollectedRanges {
  const budget = RANGES_SHARE_OF_MEMORY * functionMemoryBytes();
  if (collectedRanges?.budgetBytes !== budget) collectedRanges = new CollectedRanges(budget);
  return collectedRanges;
}

/** Logistic (width 1) and softmax (width = classes) regression share the same loop over one table. */
function sparseLinearStep(featureCount: number, width: number, filter: StepFilter, byzantine: Byzantine): ModelStep {
  const timing = newTiming();
  const ranges = sharedRanges();
  const pulls = new PullAhead(`touched:${featureCount}`, () => new TouchedSet(featureCount, ranges), WEIGHTS_TABLE, width, timing);
  const pushes = new PushPipeline(WEIGHTS_TABLE, filter, featureCount, width, byzantine, timing);
  const grad = new Scratch();
  return {
    timing,
    async run(partition, from, to, ps, upcoming) {
      if (partition.kind !== PartitionKind.Samples) throw new Error('logistic and softmax regression need a samples dataset, not ratings');
      const slot = pulls.take(ps, partition, from, to);
      const weights = await pulls.rows(slot);
      const t1 = performance.now();
      const { ids, set: touched } = slot;
      const g = grad.take(ids.length * width);
      const loss = width === 1 ? logisticGradient(partition, from, to, touched, weights, g) : softmaxGradient(partition, from, to, touched, width, weights, g);
      timing.computeMs += performance.now() - t1;
      // The push and the pulls ahead leave in one write; the slot's ids are copied into the push frame.
      ps.corked(() => {
        pushes.push(ps, ids, g, weights);
        pulls.release(slot);
        pulls.fill(ps, partition, upcoming);
      });
      return loss;
    },
    flush: (ps) => pushes.flush(ps),
    close: async () => pulls.close(),
    get heldRows() {
      return pushes.heldRows;
    },
  };
}

/** A by-feature scratch table (4 MB for 2^20 features) for matching id lists, kept by the environment
 *  like the id sets; all zeros when kept. */
let spareMarks: Uint32Array | undefined;

/** Where a minibatch's ids meet a push's: positions in each, ascending in the minibatch. */
interface Matches {
  pushed: Uint32Array;
  at: Uint32Array;
  from: Uint32Array;
}

/** Matches by minibatch id list (DistinctIds' lists, shared and kept per partition and range), for the
 *  push it was last matched with. A worker cycles through its minibatches in the same order every
 *  epoch, so a minibatch meets the same push list (the one before it) each time: matched once, the
 *  correction then costs no pass by feature id at all. */
const matchesByIds = new WeakMap<Uint32Array, Matches>();

/** Model averaging's last push, for the pull ahead that left before it: the minibatch's rows it shares
 *  get its change taken off (as sent), so the minibatch starts from the model as the server has it
 *  after that push. Before, each push was recorded in a 4 MB array by feature id (old entries
 *  cleared, new ones set) and read back for every pulled id: three of the five passes at random over
 *  4 MB tables a minibatch made beside the kernel (docs/benchmarks.md). Now the positions where a minibatch's
 *  ids meet the push's are found once per pair of id lists (`matchesByIds`) and the change is kept
 *  by position: per minibatch only a pass over the shared rows, in arrays of the minibatch's size. */
export class LastPush {
  private ids: Uint32Array | undefined;
  private values = new Float32Array(1024);
  private marks: Uint32Array | undefined;

  constructor(private readonly featureCount: number) {}

  /** Records the push (its ids are kept by reference: the id lists it gets are not modified; a
   *  filter's are fresh arrays), or nothing with `pushed` undefined. */
  set(pushed: { ids: Uint32Array; values: Float32Array } | undefined): void {
    this.ids = pushed && pushed.ids.length > 0 ? pushed.ids : undefined;
    if (!pushed) return;
    if (this.values.length < pushed.values.length) this.values = new Float32Array(2 * pushed.values.length);
    this.values.set(pushed.values);
  }

  /** values[j] -= the last push's change of ids[j], for the ids it pushed; in place. */
  takeOff(ids: Uint32Array, values: Float32Array): void {
    if (!this.ids) return;
    const { at, from } = this.matches(ids, this.ids);
    const change = this.values;
    for (let k = 0; k < at.length; k++) values[at[k]] -= change[from[k]];
  }

  private matches(ids: Uint32Array, pushed: Uint32Array): Matches {
    const known = matchesByIds.get(ids);
    if (known?.pushed === pushed) return known;
    if (!this.marks) {
      const kept = spareMarks;
      spareMarks = undefined;
      this.marks = kept?.length === this.featureCount ? kept : new Uint32Array(this.featureCount);
    }
    const marks = this.marks;
    for (let m = 0; m < pushed.length; m++) marks[pushed[m]] = m + 1;
    const at: number[] = [];
    const from: number[] = [];
    for (let j = 0; j < ids.length; j++) {
      const mark = marks[ids[j]];
      if (mark !== 0) {
        at.push(j);
        from.push(mark - 1);
      }
    }
    for (let m = 0; m < pushed.length; m++) marks[pushed[m]] = 0;
    const found = { pushed, at: Uint32Array.from(at), from: Uint32Array.from(from) };
    matchesByIds.set(ids, found);
    return found;
  }

  /** The step is over: the scratch table goes back to the environment (all zeros). */
  close(): void {
    if (this.marks) spareMarks = this.marks;
    this.marks = undefined;
    this.ids = undefined;
  }
}

/** Share of the function's memory the local trainer may keep partitions in: copies of the decoded
 *  partitions the handler holds (at most 0.4 of it), which a worker cycles through; past it, a
 *  partition is copied into wasm memory each time training switches to it. */
const TRAINER_SHARE_OF_MEMORY = 0.2;

/** A model-averaging trainer for this function (the asynchronous and the synchronous step's). */
export function newLocalTrainer(featureCount: number): LocalAdagradTrainer {
  return new LocalAdagradTrainer(featureCount, TRAINER_SHARE_OF_MEMORY * functionMemoryBytes());
}

/** Model averaging's trainer (its wasm memory: weights, accumulators, resident partitions), kept by
 *  the environment like the id sets; its accumulators start afresh in each invocation. */
let spareTrainer: LocalAdagradTrainer | undefined;
function takeTrainer(featureCount: number): LocalAdagradTrainer {
  const kept = spareTrainer;
  spareTrainer = undefined;
  if (kept?.featureCount !== featureCount) return newLocalTrainer(featureCount);
  kept.reset();
  return kept;
}

/** Model averaging: train the minibatch per sample on local copies of the weights it touches (the
 *  wasm kernel), then push the change of those weights. The table's server optimiser is plain SGD with
 *  rate 1, so a push adds the worker's progress to the shared model. The local AdaGrad accumulators
 *  live as long as the invocation; the trainer's memory (and the partitions kept in it) as long as the
 *  environment. A minibatch's ids are collected once per partition and row range (DistinctIds).
 *  Returns NaN: the kernel does not compute the loss.
 *  Pulled ahead like the other steps; a prefetched pull left before the worker's previous push, so
 *  that push's change (as sent) is taken off the rows it shares: the minibatch starts from the model
 *  as the server has it after that push, as without prefetching. */
function averagingStep(featureCount: number, localLearningRate: number, filter: StepFilter, byzantine: Byzantine): ModelStep {
  const trainer = takeTrainer(featureCount);
  const timing = newTiming();
  const pulls = new PullAhead(`distinct:${featureCount}`, () => new DistinctIds(featureCount), WEIGHTS_TABLE, 1, timing);
  const pushes = new PushPipeline(WEIGHTS_TABLE, filter, featureCount, 1, byzantine, timing);
  const after = new Scratch();
  const lastPush = new LastPush(featureCount);
  return {
    timing,
    async run(partition, from, to, ps, upcoming) {
      if (partition.kind !== PartitionKind.Samples) throw new Error('logistic regression needs a samples dataset, not ratings');
      const slot = pulls.take(ps, partition, from, to);
      const before = await pulls.rows(slot);
      const t1 = performance.now();
      const { ids } = slot;
      // The local weights of the ids: the pulled rows. At PULL_DEPTH 2 a pull misses at most the one
      // push sent after it: the last, taken off here.
      if (slot.pushesBefore < pulls.pushes) lastPush.takeOff(ids, before);
      const change = trainer.trainRange(partition, from, to, ids, before, localLearningRate, after.take(ids.length));
      timing.computeMs += performance.now() - t1;
      ps.corked(() => {
        const sent = pushes.push(ps, ids, change, before);
        if (sent.ids.length > 0) {
          pulls.pushes++;
          // Only the pulls already in flight miss this push (not those fill() sends below). With none
          // in flight (each minibatch pulled when it starts: the next partition not yet decoded), there
          // is nothing to take off later and nothing to record.
          lastPush.set(pulls.inFlight > 0 ? sent : undefined);
        }
        pulls.release(slot);
        pulls.fill(ps, partition, upcoming);
      });
      return NaN;
    },
    flush: (ps) => pushes.flush(ps),
    close: async () => {
      pulls.close();
      lastPush.close();
      spareTrainer = trainer;
    },
    get heldRows() {
      return pushes.heldRows;
    },
  };
}

/** Matrix factorisation: pull the user and item rows a minibatch of ratings touches; returns the squared error. */
function mfStep(model: Extract<WorkerEvent['model'], { type: 'mf' }>, filter: StepFilter, byzantine: Byzantine): ModelStep {
  const width = model.factors + 1;
  const users = new TouchedSet(model.maxUser + 1);
  const items = new TouchedSet(model.maxItem + 1);
  // Timed in the push pipelines only: the two tables' pulls overlap.
  const timing = newTiming();
  const userPushes = new PushPipeline(USERS_TABLE, filter, model.maxUser + 1, width, byzantine, timing);
  const itemPushes = new PushPipeline(ITEMS_TABLE, filter, model.maxItem + 1, width, byzantine, timing);
  const userGrad = new Scratch();
  const itemGrad = new Scratch();
  return {
    timing,
    async run(partition, from, to, ps) {
      if (partition.kind !== PartitionKind.Ratings) throw new Error('matrix factorisation needs a ratings dataset');
      const u = users.collectIds(partition.users, from, to);
      const i = items.collectIds(partition.items, from, to);
      const [userRows, itemRows] = await Promise.all([ps.pull(USERS_TABLE, u), ps.pull(ITEMS_TABLE, i)]);
      const gu = userGrad.take(u.length * width);
      const gi = itemGrad.take(i.length * width);
      const sse = mfGradient(partition, from, to, users, items, model.factors, model.globalMean, userRows, itemRows, gu, gi, model.reg);
      ps.corked(() => {
        userPushes.push(ps, u, gu, userRows);
        itemPushes.push(ps, i, gi, itemRows);
      });
      return sse;
    },
    flush: async (ps) => {
      await Promise.all([userPushes.flush(ps), itemPushes.flush(ps)]);
    },
    get heldRows() {
      return userPushes.heldRows + itemPushes.heldRows;
    },
  };
}

export function createModelStep(model: WorkerEvent['model'], filter?: StepFilter, byzantine?: Byzantine): ModelStep {
  switch (model.type) {
    case 'logistic':
      return model.localLearningRate !== undefined ? averagingStep(model.featureCount, model.localLearningRate, filter, byzantine) : sparseLinearStep(model.featureCount, 1, filter, byzantine);
    case 'softmax':
      return sparseLinearStep(model.featureCount, model.classes, filter, byzantine);
    case 'mf':
      return mfStep(model, filter, byzantine);
  }
}
