// Fair sharing of one pool of concurrency (Dorm's idea): runs and sweep trials started together lease
// worker slots from the account's (or the local service's) concurrency. The policy is max-min fairness
// in whole slots: each job gets min(its demand, an equal share), what a job does not need goes to the
// others, and a slot left over by the integer split goes to the job that has had the fewest
// slot-seconds so far (so over time the shares even out). Shares are re-leased at generation
// boundaries: a worker returning is the moment a slot changes hands, so no running invocation is cut.
// First-come-first-served, the comparison, gives each job in arrival order all it asks for.

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
  }

  leave(id: string): void {
    this.jobs.delete(id);
    this.held.delete(id);
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

export interface PoolRunResult {
  policy: SharePolicy;
  makespan: number;
  /** Busy slot-seconds / (capacity x makespan). */
  utilisation: number;
  /** Jain's index of each job's slot-seconds over the time all jobs were in the pool, relative to its max-min fair share. */
  jain: number;
  jobs: Array<{ id: string; finished: number; slotSeconds: number; sharedSlotSeconds: number }>;
}

/**
 * Jobs started together run generations of `generationSeconds` (a worker returns and the next is launched,
 * as runtime/driver/worker-slots.ts does) against one pool; the pool decides, at each boundary, which
 * job's slot launches next. A discrete-event simulation of the leasing, in seconds.
 */
export function runPool(capacity: number, policy: SharePolicy, jobs: PoolRunJob[], generationSeconds: number, dt = 0.1): PoolRunResult {
  const pool = new ConcurrencyPool(capacity, policy);
  for (const j of jobs) pool.join(j.id, j.demand);
  const left = new Map(jobs.map((j) => [j.id, j.work]));
  // Running generations: job and seconds left.
  let running: Array<{ id: string; left: number; held: number }> = [];
  const slotSeconds = new Map(jobs.map((j) => [j.id, 0]));
  const shared = new Map(jobs.map((j) => [j.id, 0]));
  const finished = new Map<string, number>();
  let busy = 0;
  let t = 0;
  const allIn = () => finished.size === 0;
  while (finished.size < jobs.length && t < 1e6) {
    // Launch: each job, in turn, takes slots it is allowed until none is free (round-robin so FCFS order holds only under fcfs).
    const order = policy === 'fcfs' ? jobs : [...jobs].sort((a, b) => slotSeconds.get(a.id)! - slotSeconds.get(b.id)!);
    let launched = true;
    while (launched) {
      launched = false;
      for (const j of order) {
        if (finished.has(j.id)) continue;
        const inFlight = running.filter((r) => r.id === j.id).length;
        // No more slots than the work left needs.
        if (inFlight * generationSeconds >= left.get(j.id)! - 1e-9) continue;
        if (pool.tryAcquire(j.id)) {
          running.push({ id: j.id, left: Math.min(generationSeconds, left.get(j.id)! - inFlight * generationSeconds), held: 0 });
          launched = true;
        }
      }
    }
    t += dt;
    busy += running.length * dt;
    for (const r of running) {
      r.left -= dt;
      r.held += dt;
      slotSeconds.set(r.id, slotSeconds.get(r.id)! + dt);
      if (allIn()) shared.set(r.id, shared.get(r.id)! + dt);
      left.set(r.id, left.get(r.id)! - dt);
    }
    for (const r of running.filter((x) => x.left <= 1e-9)) pool.release(r.id, r.held);
    running = running.filter((x) => x.left > 1e-9);
    for (const j of jobs) {
      if (!finished.has(j.id) && left.get(j.id)! <= 1e-9 && !running.some((x) => x.id === j.id)) {
        finished.set(j.id, t);
        pool.leave(j.id);
      }
    }
  }
  const makespan = Math.max(...finished.values());
  // Fairness while all jobs competed: slot-seconds relative to each job's max-min share of the pool.
  const fair = allocate(capacity * 1000, jobs.map((j, i) => ({ id: j.id, demand: j.demand * 1000, arrival: i })), 'fair');
  const jain = jainIndex(jobs.map((j) => shared.get(j.id)! / Math.max(1e-9, fair.get(j.id)!)));
  return {
    policy,
    makespan,
    utilisation: busy / (capacity * makespan),
    jain,
    jobs: jobs.map((j) => ({ id: j.id, finished: finished.get(j.id)!, slotSeconds: slotSeconds.get(j.id)!, sharedSlotSeconds: shared.get(j.id)! })),
  };
}
