// Provisioning (docs/provisioning.md): the fitted performance model, the planner for deadlines and
// budgets, the budget guard, the probe and the simulator for sizes this machine cannot run.
export { loadPerfModel, fitPerfModel, observeRun, predictRun, perfKey, localEnvironment, type PerfModel, type Prediction, type Environment } from './perf-model';
export { planRun, rightSizedMemoryMB, type Plan } from './planner';
export { simulate, awsEnvironment, AWS_LIMITS, MEMORY_GRID, WORKER_GRID, type SimulationRow } from './simulator';
export { probeRun, PROBE_SAMPLES } from './probe';
export { BudgetGuard } from './budget';
