// A run's folder: config.json, metrics.jsonl (the event stream, one JSON object a line, appended as the
// run goes), summary.json (written when it ends), and the model. Everything a view needs to reopen
// a run after the fact. Trainings, sweeps and preprocessings all have one (see recorder.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../config/run-config';
import type { RunEvent, RunSummary } from './events';
import { processAlive } from '../util/process-alive';

export const METRICS_FILE = 'metrics.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const CONFIG_FILE = 'config.json';
/** The driver's process id while the run is live: `resume` refuses a run whose driver still runs. */
export const DRIVER_PID_FILE = 'driver.pid';

export function runsDirectory(stateDir: string): string {
  return path.join(stateDir, 'runs');
}

export function newRunId(name: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'run';
  return `${stamp}-${slug}-${Math.random().toString(36).slice(2, 6)}`;
}

export class RunFolder {
  private readonly metricsFd: number;

  /** `config`: what the run was started with (a run config, a sweep's base, a preprocess request), saved as config.json. */
  constructor(readonly dir: string, config: object) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    this.metricsFd = fs.openSync(path.join(dir, METRICS_FILE), 'a');
    fs.writeFileSync(path.join(dir, DRIVER_PID_FILE), String(process.pid));
  }

  append(event: RunEvent): void {
    // Synchronous appends: a crash loses at most the event being written, never reorders them.
    fs.writeSync(this.metricsFd, JSON.stringify(event) + '\n');
  }

  writeSummary(summary: RunSummary): void {
    writeFileAtomic(path.join(this.dir, SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  close(): void {
    fs.closeSync(this.metricsFd);
    fs.rmSync(path.join(this.dir, DRIVER_PID_FILE), { force: true });
  }
}

/** Write to a temporary name, then rename: readers never see half a file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temporary = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temporary, data);
  fs.renameSync(temporary, file);
}

/** The events of a run folder; a torn last line (the run was killed mid-write) is ignored. */
export function readRunEvents(runFolder: string): RunEvent[] {
  const file = path.join(runFolder, METRICS_FILE);
  if (!fs.existsSync(file)) return [];
  const events: RunEvent[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch {
      // only the last line can be torn; skip it
    }
  }
  return events;
}

export function readJsonIfExists<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The pid in the run folder's driver.pid when that process still runs (a live driver, here or in
 *  another process); undefined when there is none or it has exited. */
export function liveDriverPid(runFolder: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(runFolder, DRIVER_PID_FILE), 'utf8'));
  } catch {
    return undefined; // no driver.pid: the run ended (close() removes it) or never got that far
  }
  return processAlive(pid) ? pid : undefined;
}

/** Runs whose driver died (VS Code or the CLI was killed): no summary.json and no live driver.
 *  `resumeTraining` picks them up; `markRunStopped` closes them. */
export function listInterruptedRunFolders(stateDir: string): ReturnType<typeof listRunFolders> {
  return listRunFolders(stateDir).filter((r) => !r.summary && r.config && liveDriverPid(r.runFolder) === undefined);
}

export function listRunFolders(stateDir: string): Array<{ runId: string; runFolder: string; summary?: RunSummary; config?: RunConfig }> {
  const dir = runsDirectory(stateDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const runFolder = path.join(dir, entry.name);
      return {
        runId: entry.name,
        runFolder,
        summary: readJsonIfExists<RunSummary>(path.join(runFolder, SUMMARY_FILE)),
        config: readJsonIfExists<RunConfig>(path.join(runFolder, CONFIG_FILE)),
      };
    })
    .sort((a, b) => a.runId.localeCompare(b.runId));
}
