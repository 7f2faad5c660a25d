// What the driver asks before a run trains: the plan (workers and memory for a deadline, a budget or
// `lambda.memoryMB: "auto"`), the estimate it records to compare with the actual figures, and the
// sentences to log (an infeasible deadline or budget is said up front).
import type { RunEstimate } from '../api';
import type { ResolvedRunConfig as RunConfig } from '../config/run-config';
import { environmentFor, estimateRun, perfModelFor } from './estimate';
import { planRun, type Plan } from './planner';
import { predictRun } from './perf-model';

export interface Provision {
  /** The config to run: the planned workers and memory in place of the requested ones. */
  config: RunConfig;
  estimate: RunEstimate;
  plan?: Plan;
  notes: Array<{ level: 'info' | 'warn'; message: string }>;
}

export function provisionRun(config: RunConfig, stateDir: string, opts: { resuming?: boolean; runId?: string } = {}): Provision {
  const notes: Provision['notes'] = [];
  let planned = config;
  let plan: Plan | undefined;
  const t = config.training;
  const autoMemory = config.lambda.autoMemory === true;
  // A resumed run keeps the size it started with.
  if (!opts.resuming && (t.deadlineSeconds !== undefined || t.budgetUSD !== undefined || autoMemory)) {
    const model = perfModelFor(config, stateDir, { exclude: opts.runId });
    const env = environmentFor(config);
    if (t.deadlineSeconds !== undefined || autoMemory) {
      plan = planRun(config, model, env);
      planned = { ...config, training: { ...t, workers: t.deadlineSeconds !== undefined ? plan.workers : t.workers }, lambda: { ...config.lambda, memoryMB: plan.memoryMB } };
      plan.notes.forEach((message, i) => notes.push({ level: i > 0 ? 'warn' : 'info', message }));
    } else {
      const p = predictRun(model, config, env, t.workers, config.lambda.memoryMB);
      if (p.usd > t.budgetUSD!) notes.push({ level: 'warn', message: `the budget of $${t.budgetUSD} is below the predicted $${p.usd.toFixed(6)}: the run will stop when the budget is reached, before it finishes` });
    }
  }
  return { config: planned, estimate: estimateRun(planned, { stateDir, exclude: opts.runId }), plan, notes };
}
