// The planner (SMLT's idea): given a deadline and/or a budget, search the workers x memory grid with the
// performance model and pick the cheapest size that meets the deadline within the budget (no deadline:
// the fastest within the budget). A deadline nothing on the grid meets is said up front, with the best
// achievable. `lambda.memoryMB: "auto"` right-sizes memory from the peak the workers reported.
import type { ResolvedRunConfig as RunConfig } from '../config/run-config';
import { MB_PER_VCPU, predictRun, type Environment, type PerfModel, type Prediction } from './perf-model';
import { rightSizedMemoryMB } from './right-size';
import { MEMORY_GRID } from './simulator';

export { rightSizedMemoryMB };

export interface Plan {
  workers: number;
  memoryMB: number;
  prediction: Prediction;
  /** The deadline cannot be met on the grid: `prediction` is the fastest achievable. */
  deadlineInfeasible: boolean;
  /** Even the cheapest size would cost more than the budget: the budget will stop the run early. */
  budgetInfeasible: boolean;
  /** Sentences for the log and the CLI. */
  notes: string[];
}


/** The memory sizes worth trying: the grid above the right-sized floor; locally memory buys no CPU, so only the floor. */
export function memoryCandidates(config: RunConfig, model: PerfModel, env: Environment): number[] {
  const configured = config.lambda.memoryMB;
  if (!config.lambda.autoMemory) return [configured];
  // "auto" with nothing measured yet: the configured starting size (the default) until a run reports its peak.
  const floor = model.peakWorkerMemoryMB > 0 ? rightSizedMemoryMB(model.peakWorkerMemoryMB) : configured;
  if (env.kind === 'local') return [floor];
  // On AWS CPU grows with memory up to one vCPU for the single training thread.
  return [...new Set([floor, ...MEMORY_GRID.filter((m) => m > floor), MB_PER_VCPU].filter((m) => m >= floor))].sort((a, b) => a - b);
}

export function planRun(config: RunConfig, model: PerfModel, env: Environment, opts: { maxWorkers?: number } = {}): Plan {
  const deadline = config.training.deadlineSeconds;
  const budget = config.training.budgetUSD;
  // training.workers is the most the user allows when a deadline is set.
  const maxWorkers = opts.maxWorkers ?? config.training.workers;
  const workerCounts = Array.from({ length: maxWorkers }, (_, i) => i + 1).filter((w) => w <= 16 || w % Math.ceil(maxWorkers / 64) === 0 || w === maxWorkers);
  const candidates: Prediction[] = [];
  for (const memoryMB of memoryCandidates(config, model, env)) for (const w of workerCounts) candidates.push(predictRun(model, config, env, w, memoryMB));
  const withinBudget = candidates.filter((c) => budget === undefined || c.usd <= budget);
  const fastest = (xs: Prediction[]) => xs.reduce((a, b) => (b.seconds < a.seconds - 1e-9 || (Math.abs(b.seconds - a.seconds) < 1e-9 && b.usd < a.usd) ? b : a));
  const cheapest = (xs: Prediction[]) => xs.reduce((a, b) => (b.usd < a.usd - 1e-12 || (Math.abs(b.usd - a.usd) < 1e-12 && b.seconds < a.seconds) ? b : a));
  const notes: string[] = [];
  let chosen: Prediction;
  let deadlineInfeasible = false;
  const budgetInfeasible = withinBudget.length === 0;
  const pool = budgetInfeasible ? candidates : withinBudget;
  if (deadline !== undefined) {
    const meeting = pool.filter((c) => c.seconds <= deadline);
    if (meeting.length > 0) {
      chosen = cheapest(meeting);
    } else {
      deadlineInfeasible = true;
      chosen = fastest(pool);
      notes.push(
        `the deadline of ${deadline} s cannot be met${budget !== undefined && !budgetInfeasible ? ` within the budget of $${budget}` : ''}: ` +
          `the best achievable is about ${chosen.seconds.toFixed(1)} s with ${chosen.workers} workers x ${chosen.memoryMB} MB ($${chosen.usd.toFixed(6)})`,
      );
    }
  } else {
    chosen = budgetInfeasible ? cheapest(candidates) : fastest(pool);
  }
  if (budgetInfeasible) {
    notes.push(`the budget of $${budget} is below the cheapest predicted run ($${cheapest(candidates).usd.toFixed(6)}): the run will stop when the budget is reached, before it finishes`);
  }
  notes.unshift(
    `planned ${chosen.workers} workers x ${chosen.memoryMB} MB: about ${chosen.seconds.toFixed(1)} s and $${chosen.usd.toFixed(6)}` +
      `${deadline !== undefined ? ` (deadline ${deadline} s)` : ''}${budget !== undefined ? ` (budget $${budget})` : ''}, model ${model.source === 'default' ? 'from default figures' : `fitted from ${model.runs.length} run(s)`}`,
  );
  return { workers: chosen.workers, memoryMB: chosen.memoryMB, prediction: chosen, deadlineInfeasible, budgetInfeasible, notes };
}
