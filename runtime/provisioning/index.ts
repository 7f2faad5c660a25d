// Provisioning (docs/provisioning.md): the fitted performance model, the planner for deadlines and
// budgets, the budget guard, the probe, the simulator for sizes this machine cannot run, adaptive sizing,
// right-sizing and the fair-share pool.
export { loadPerfModel, fitPerfModel, observeRun, predictRun, perfKey, localEnvironment, type PerfModel, type Prediction, type Environment } from './perf-model';
export { planRun, rightSizedMemoryMB, type Plan } from './planner';
export { simulate, awsEnvironment, AWS_LIMITS, MEMORY_GRID, WORKER_GRID, type SimulationRow } from './simulator';
export { probeRun, PROBE_SAMPLES } from './probe';
export { BudgetGuard } from './budget';
export { gbSecondsSaved } from './right-size';
export { compareAdaptive, fitConvergence, replan, simulateTraining, type SizeDecision, type AdaptiveComparison } from './adaptive';
export { ConcurrencyPool, allocate, configureSharing, jainIndex, runPool, shareReport, type SharePolicy, type SlotInterval } from './fair-share';
export { whatIf, type WhatIfData } from './what-if';
