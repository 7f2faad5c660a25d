// The what-if chart's data: the simulator's time and dollars against workers, one series per memory
// size, for a run config (AWS's limits: what the run would cost at sizes this machine cannot run),
// next to the run's own estimate. VS Code draws it (webview/what-if).
import type { RunConfig as GivenRunConfig } from '../config/run-config';
import { resolveRunConfig } from '../config/resolve';
import { perfModelFor } from './estimate';
import { awsEnvironment, simulate } from './simulator';

export interface WhatIfData {
  title: string;
  /** What the model rests on (past runs, a probe, or default figures). */
  basis: string;
  workers: number[];
  series: Array<{ memoryMB: number; points: Array<{ workers: number; seconds: number; usd: number }> }>;
}

/** Worker counts and memory sizes the chart shows. */
export const WHAT_IF_WORKERS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 500];
export const WHAT_IF_MEMORY = [512, 1024, 1769, 3008, 10240];

export function whatIf(given: GivenRunConfig, stateDir?: string): WhatIfData {
  const config = resolveRunConfig(given).config;
  const model = perfModelFor(config, stateDir);
  const rows = simulate(model, { ...config, backend: 'aws' }, { workers: WHAT_IF_WORKERS, memoryMB: WHAT_IF_MEMORY, environment: awsEnvironment(config) });
  return {
    title: `${config.name ?? 'run'} on AWS Lambda (simulated)`,
    basis: model.source === 'default' ? 'default figures (no past run on this data yet)' : `fitted from ${model.runs.length} ${model.source === 'probe' ? 'probe' : 'past'} run(s)`,
    workers: WHAT_IF_WORKERS,
    series: WHAT_IF_MEMORY.map((memoryMB) => ({
      memoryMB,
      points: rows.filter((r) => r.memoryMB === memoryMB).map((r) => ({ workers: r.workers, seconds: r.seconds, usd: r.usd })),
    })),
  };
}
