// A run's estimate before it starts (workers, memory, expected time and dollars), shown by the CLI's
// `estimate` and VS Code's confirm dialog. Rows are estimated from the file's size and the mean
// length of its first lines; speed from a documented per-worker rate.
import * as fs from 'node:fs';
import type { RunEstimate } from '../api';
import type { RunConfig } from '../config/run-config';
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

export function estimateRun(config: RunConfig): RunEstimate {
  const workers = config.training.workers;
  const memoryMB = config.lambda?.memoryMB ?? 1024;
  const timeoutSeconds = config.lambda?.timeoutSeconds ?? ((config.backend ?? 'local') === 'aws' ? 300 : 60);
  const maxSeconds = config.training.maxSeconds ?? 600;
  let expectedSeconds = maxSeconds;
  const rows = config.dataset.path.startsWith('s3://') ? undefined : estimateRows(config.dataset.path);
  if (rows !== undefined && config.training.epochs !== undefined) {
    const trainRows = rows * (1 - (config.dataset.testFraction ?? 0));
    expectedSeconds = Math.min(maxSeconds, (config.training.epochs * trainRows) / (workers * ASSUMED_SAMPLES_PER_SECOND_PER_WORKER) + 2);
  }
  const s3Gets = workers * Math.max(1, Math.ceil(expectedSeconds / timeoutSeconds)) * 4;
  const breakdown = estimateCostUSD(workers, memoryMB, expectedSeconds, timeoutSeconds, s3Gets);
  return {
    workers,
    memoryMB,
    expectedSeconds,
    expectedUSD: Object.values(breakdown).reduce((a, b) => a + b, 0),
    breakdown: { ...breakdown },
  };
}
