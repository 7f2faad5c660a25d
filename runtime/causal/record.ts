// Recording a double machine learning estimate as a run folder, with the run-folder helpers every run
// uses (config.json, metrics.jsonl, summary.json): all of it here, so the estimate's recording can
// move with the runs' recording module in one step. Extra files: doubleml.json (the full estimate),
// folds.bin (the fold assignment), report.md and folds.svg (the readable summary and its plot).
import * as path from 'node:path';
import type { RunConfig } from '../config/run-config';
import type { RunEvent, RunSummary } from '../driver/events';
import { RunFolder, newRunId, runsDirectory, writeFileAtomic } from '../driver/run-folder';
import type { Emit } from '../driver/stage-types';

export const DOUBLEML_FILE = 'doubleml.json';
export const FOLDS_FILE = 'folds.bin';
export const REPORT_FILE = 'report.md';
export const PLOT_FILE = 'folds.svg';

export class DoubleMLRecorder {
  readonly runId: string;
  private readonly folder: RunFolder;
  private readonly startedAt = Date.now();
  readonly emit: Emit;

  constructor(stateDir: string, name: string, config: unknown, onEvent?: (event: RunEvent) => void) {
    this.runId = newRunId(name);
    this.folder = new RunFolder(path.join(runsDirectory(stateDir), this.runId), config as RunConfig);
    this.emit = (event) => {
      const full = { ...event, t: this.seconds(), runId: this.runId } as RunEvent;
      this.folder.append(full);
      onEvent?.(full);
    };
  }

  get dir(): string {
    return this.folder.dir;
  }

  seconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  writeFile(name: string, data: string | Uint8Array): string {
    const file = this.folder.file(name);
    writeFileAtomic(file, data);
    return file;
  }

  finish(summary: RunSummary): void {
    this.folder.writeSummary(summary);
    this.emit({ type: 'run-finished', status: summary.status, reason: summary.reason, summary });
    this.folder.close();
  }
}
