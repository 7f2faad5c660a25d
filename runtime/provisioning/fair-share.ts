// Fair sharing of one pool of concurrency (Dorm's idea): runs and sweep trials started together lease
// worker slots from the account's (or the local service's) concurrency. The policy is max-min fairness
// in whole slots: each job gets min(its demand, an equal share), what a job does not need goes to the
// others, and a slot left over by the integer split goes to the job that has had the fewest
// slot-seconds so far (so over time the shares even out). Shares are re-leased at generation
// boundaries: a worker returning is the moment a slot changes hands, so no running invocation is cut.
// First-come-first-served, the comparison, gives each job in arrival order all it asks for.
import { GetAccountSettingsCommand } from '@aws-sdk/client-lambda';
import type { Backend } from '../backends/backend';

export type SharePolicy = 'fair' | 'fcfs';

export interface PoolJob {
  id: string;
  /** Workers the job asks for. */
  demand: number;
  /** Order of arrival (FCFS) and the tie-break. */
  arrival: number;
}

/** Slots per job under a policy; `received` is each job's slot-seconds so far (the fair policy's tie-break). */
export function allocate(capacity: number, jobs: PoolJob[], policy: SharePolicy, received: ReadonlyMap<string, number> = new Map()): Map<string, number> {
  const out = new Map(jobs.map((j) => [j.id, 0]));
  const byArrival = [...jobs].sort((a, b) => a.arrival - b.arrival);
  let left = capacity;
  if (policy === 'fcfs') {
    for (const j of byArrival) {
      const k = Math.min(j.demand, left);
      out.set(j.id, k);
      left -= k;
    }
    return out;
  }
  // Water-filling in whole slots: equal shares, the capped jobs' surplus redistributed.
  let open = byArrival.filter((j) => j.demand > 0);
  while (left > 0 && open.length > 0) {
    const share = Math.floor(left / open.length);
    if (share === 0) break;
    for (const j of open) {
      const k = Math.min(share, j.demand - out.get(j.id)!);
      out.set(j.id, out.get(j.id)! + k);
      left -= k;
    }
    open = open.filter((j) => out.get(j.id)! < j.demand);
  }
  // The remainder (fewer slots than open jobs): to those that have had least so far.
  const behind = [...open].sort((a, b) => (received.get(a.id) ?? 0) - (received.get(b.id) ?? 0) || a.arrival - b.arrival);
  for (const j of behind) {
    if (left === 0) break;
    out.set(j.id, out.get(j.id)! + 1);
    left--;
  }
  return out;
}

/** Jain's fairness index: (sum x)^2 / (n sum x^2); 1 when all equal, 1/n when one has everything. */
export function jainIndex(xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}

/**
 * The pool a process's runs lease from. A job registers its demand; each of its worker slots asks
 * `mayRun` before launching the next generation and calls `ran` with the seconds it held the slot.
 * Allocation is recomputed whenever a job joins or leaves, or a generation ends.
 */
export class ConcurrencyPool {
  private readonly jobs = new Map<string, PoolJob>();
  private readonly held = new Map<string, number>();
  private readonly received = new Map<string, number>();
  private arrivals = 0;
  /** Slots waiting in `acquire`, woken whenever the allocation may have changed. */
  private waiters: Array<() => void> = [];

  constructor(
    readonly capacity: number,
    readonly policy: SharePolicy = 'fair',
  ) {
    if (!(capacity >= 1)) throw new Error(`a pool needs at least one slot (got ${capacity})`);
  }

  join(id: string, demand: number): void {
    if (this.jobs.has(id)) throw new Error(`job ${id} is already in the pool`);
    this.jobs.set(id, { id, demand, arrival: this.arrivals++ });
    this.held.set(id, 0);
    this.wake();
  }

  leave(id: string): void {
    this.jobs.delete(id);
    this.held.delete(id);
    this.received.delete(id);
    this.wake();
  }

  /** Waits until job `id` may take a slot (true), or until `stopped()` (false; checked every 250 ms). */
  async acquire(id: string, stopped: () => boolean): Promise<boolean> {
    while (!this.tryAcquire(id)) {
      if (stopped()) return false;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 250).unref();
      });
    }
    return true;
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  /** Slots each job may hold now. */
  allocation(): Map<string, number> {
    return allocate(this.capacity, [...this.jobs.values()], this.policy, this.received);
  }

  /** Whether job `id` may take one more slot now (below its allocation and a slot is free). */
  tryAcquire(id: string): boolean {
    const held = this.held.get(id);
    if (held === undefined) throw new Error(`job ${id} is not in the pool`);
    const used = [...this.held.values()].reduce((a, b) => a + b, 0);
    if (used >= this.capacity || held >= (this.allocation().get(id) ?? 0)) return false;
    this.held.set(id, held + 1);
    return true;
  }

  /** A generation of job `id` ended after holding its slot `seconds`: the slot is free again. */
  release(id: string, seconds: number): void {
    const held = this.held.get(id);
    if (held === undefined || held === 0) throw new Error(`job ${id} holds no slot`);
    this.held.set(id, held - 1);
    this.received.set(id, (this.received.get(id) ?? 0) + seconds);
    this.wake();
  }

  holding(id: string): number {
    return this.held.get(id) ?? 0;
  }
}

export interface PoolRunJob {
  id: string;
  demand: number;
  /** Worker-seconds of training the job needs. */
  work: number;
}

/** One generation's hold on a slot: which job, from when to when (seconds, any common origin). */
export interface SlotInterval {
  job: string;
  start: number;
  end: number;
}

export interface ShareReport {
  /** First launch to last return. */
  makespan: number;
  /** Held slot-seconds / (capacity x makespan). */
  utilisation: number;
  /** Jain's index of each job's slot-seconds while all jobs were in the pool (jobs started together:
   *  the first launch .. the first job done), each relative to its max-min fair share of the capacity. */
  jain: number;
  jobs: Array<{ id: string; slotSeconds: number; sharedSlotSeconds: number; finished: number }>;
}

/** Fairness and utilisation of a schedule of slot holds (a simulated one or a real run's launch and return events). */
export function shareReport(capacity: number, demands: Array<{ id: string; demand: number }>, intervals: SlotInterval[]): ShareReport {
  const first = Math.min(...intervals.map((i) => i.start));
  const ofJob = (id: string) => intervals.filter((i) => i.job === id);
  const finished = new Map(demands.map((d) => [d.id, Math.max(...ofJob(d.id).map((i) => i.end))]));
  // Jobs started together are all in the pool from the first launch, waiting or not.
  const from = first;
  const to = Math.min(...finished.values());
  const overlap = (i: SlotInterval) => Math.max(0, Math.min(i.end, to) - Math.max(i.start, from));
  const makespan = Math.max(...finished.values()) - first;
  const fair = allocate(capacity * 1000, demands.map((d, k) => ({ id: d.id, demand: d.demand * 1000, arrival: k })), 'fair');
  const jobs = demands.map((d) => ({
    id: d.id,
    slotSeconds: ofJob(d.id).reduce((a, i) => a + i.end - i.start, 0),
    sharedSlotSeconds: ofJob(d.id).reduce((a, i) => a + overlap(i), 0),
    finished: finished.get(d.id)! - first,
  }));
  return {
    makespan,
    utilisation: jobs.reduce((a, j) => a + j.slotSeconds, 0) / (capacity * makespan),
    jain: to > from ? jainIndex(jobs.map((j) => j.sharedSlotSeconds / Math.max(1e-9, fair.get(j.id)!))) : 1,
    jobs,
  };
}

export interface PoolRunJob {
  id: string;
  demand: number;
  /** Worker-seconds of training the job needs. */
  work: number;
}

/**
 * Jobs started together run generations of `generationSeconds` (a worker returns and the next is launched,
 * as runtime/driver/worker-slots.ts does) against one pool; the pool decides, at each boundary, which
 * job's slot launches next. A discrete-event simulation of the leasing, in seconds.
 */
export function runPool(capacity: number, policy: SharePolicy, jobs: PoolRunJob[], generationSeconds: number, dt = 0.1): ShareReport & { policy: SharePolicy } {
  const pool = new ConcurrencyPool(capacity, policy);
  for (const j of jobs) pool.join(j.id, j.demand);
  const left = new Map(jobs.map((j) => [j.id, j.work]));
  let running: Array<{ id: string; left: number; start: number }> = [];
  const intervals: SlotInterval[] = [];
  const finished = new Set<string>();
  let t = 0;
  while (finished.size < jobs.length && t < 1e6) {
    let launched = true;
    while (launched) {
      launched = false;
      for (const j of jobs) {
        if (finished.has(j.id)) continue;
        const inFlight = running.filter((r) => r.id === j.id).length;
        // No more slots than the work left needs.
        if (inFlight * generationSeconds >= left.get(j.id)! - 1e-9) continue;
        if (pool.tryAcquire(j.id)) {
          running.push({ id: j.id, left: Math.min(generationSeconds, left.get(j.id)! - inFlight * generationSeconds), start: t });
          launched = true;
        }
      }
    }
    t += dt;
    for (const r of running) {
      r.left -= dt;
      left.set(r.id, left.get(r.id)! - dt);
    }
    for (const r of running.filter((x) => x.left <= 1e-9)) {
      pool.release(r.id, t - r.start);
      intervals.push({ job: r.id, start: r.start, end: t });
    }
    running = running.filter((x) => x.left > 1e-9);
    for (const j of jobs) {
      if (!finished.has(j.id) && left.get(j.id)! <= 1e-9 && !running.some((x) => x.id === j.id)) {
        finished.add(j.id);
        pool.leave(j.id);
      }
    }
  }
  return { policy, ...shareReport(capacity, jobs, intervals) };
}

/** How runs in this process share one backend's concurrency (set by the bench and tests; default fair,
 *  the capacity read from the backend). */
const sharing: { policy: SharePolicy; capacity?: number; pools: Map<string, ConcurrencyPool> } = { policy: 'fair', pools: new Map() };

export function configureSharing(o: { policy?: SharePolicy; capacity?: number }): void {
  if (o.policy) sharing.policy = o.policy;
  sharing.capacity = o.capacity;
  sharing.pools.clear(); // runs already holding a pool keep it; new runs get the new one
}

/** The process-wide pool of a backend (`key`), created at `capacity` (or the configured one) on first use. */
export function sharedPool(key: string, capacity: number): ConcurrencyPool {
  let pool = sharing.pools.get(key);
  if (!pool) sharing.pools.set(key, (pool = new ConcurrencyPool(sharing.capacity ?? capacity, sharing.policy)));
  return pool;
}

/** The pool of the concurrency `backend`'s functions share: the local service's cap (local, keyed by its
 *  endpoint) or the account's unreserved concurrency (AWS, keyed by Region); none when it cannot be read. */
export async function poolForBackend(backend: Backend): Promise<ConcurrencyPool | undefined> {
  const key = backend.kind === 'local' ? `local|${backend.localLambdaEndpoint ?? ''}` : `aws|${backend.region}`;
  const known = sharing.pools.get(key);
  if (known) return known;
  try {
    const settings = await backend.lambda.send(new GetAccountSettingsCommand({}));
    const capacity = settings.AccountLimit?.UnreservedConcurrentExecutions ?? settings.AccountLimit?.ConcurrentExecutions;
    return capacity !== undefined && capacity >= 1 ? sharedPool(key, capacity) : sharing.capacity !== undefined ? sharedPool(key, sharing.capacity) : undefined;
  } catch {
    // Not allowed to read the account's settings: share only when a capacity was configured.
    return sharing.capacity !== undefined ? sharedPool(key, sharing.capacity) : undefined;
  }
}
