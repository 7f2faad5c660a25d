// A run's estimate before it starts (workers, memory, expected time and dollars), shown by the CLI's
// `estimate` and VS Code's confirm dialog. Rows are estimated from the file's size and the mean
// length of its first lines; speed from a documented per-worker rate.
import * as fs from 'node:fs';
import type { RunEstimate } from '../api';
import type { ResolvedRunConfig, RunConfig } from '../config/run-config';
import { resolveRunConfig } from '../config/resolve';
import { estimateCostUSD } from './cost-model';

/** Samples/s one worker sustains against the parameter server (measured on this project's benchmark machine; see docs/cost-model.md). */
export const ASSUMED_SAMPLES_PER_SECOND_PER_WORKER = 60_000;

function estimateRows(file: string): number | undefined {
  try {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(Math.min(size, 1 << 16));
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    if (file.endsWith('.gz')) return undefined;
    const lines = head.toString('latin1').split('\n').length - 1;
    return lines > 0 ? Math.round(size / (head.length / lines)) : undefined;
  } catch {
    return undefined;
  }
}

export function estimateRun(given: RunConfig | ResolvedRunConfig): RunEstimate {
  const config = resolveRunConfig(given).config;
  const { workers, maxSeconds } = config.training;
  const { memoryMB, timeoutSeconds } = config.lambda;
  let expectedSeconds = maxSeconds;
  const rows = config.dataset.path.startsWith('s3://') ? undefined : estimateRows(config.dataset.path);
  if (rows !== undefined && config.training.epochs !== undefined) {
    const trainRows = rows * (1 - (config.dataset.testFraction ?? 0 /* a separate test file */));
    expectedSeconds = Math.min(maxSeconds, (config.training.epochs * trainRows) / (workers * ASSUMED_SAMPLES_PER_SECOND_PER_WORKER) + 2);
  }
  const s3Gets = workers * Math.max(1, Math.ceil(expectedSeconds / timeoutSeconds)) * 4;
  const breakdown = estimateCostUSD(workers, memoryMB, expectedSeconds, timeoutSeconds, s3Gets);
  return {
    backend: config.backend,
    workers,
    memoryMB,
    expectedSeconds,
    expectedUSD: Object.values(breakdown).reduce((a, b) => a + b, 0),
    breakdown: { ...breakdown },
  };
}
