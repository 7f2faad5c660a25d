// Recording a run: its folder (config.json, the pid of the live driver), the event stream (each event
// timed, appended to metrics.jsonl, then handed to listeners), the log (the host's log and `log`
// events) and the end (summary.json and a run-finished event). Trainings, sweeps and preprocessings are
// all recorded this way (double machine learning estimates too), so every view reads them alike.
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import type { Emit, Log, RunEvent, RunSummary } from './events';
import { prepareStateDir } from '../util/state-dir';
import { RunFolder, newRunId, readRunEvents, runsDirectory, writeFileAtomic } from './run-folder';

export interface RecordingOptions {
  stateDir: string;
  /** The run's name; a new run's id is made from it (or from `idName`). */
  name: string;
  idName?: string;
  /** What the run was started with, saved as config.json. */
  config: object;
  /** Continue the recording in this existing run folder (a resumed run): its clock goes on from its last event. */
  resumeFolder?: string;
  /** The host's log (RuntimeContext.log): every log line also goes there, prefixed with the run id. */
  hostLog?: Log;
}

export class Recording {
  readonly runId: string;
  readonly folder: RunFolder;
  /** When the run's clock started (ms since the epoch). */
  readonly startedAt: number;
  private readonly emitter = new EventEmitter();
  private finished = false;

  constructor(private readonly options: RecordingOptions) {
    const resuming = options.resumeFolder !== undefined;
    if (!resuming) prepareStateDir(options.stateDir);
    this.runId = resuming ? path.basename(options.resumeFolder!) : newRunId(options.idName ?? options.name);
    const dir = options.resumeFolder ?? path.join(runsDirectory(options.stateDir), this.runId);
    // A resumed run's clock goes on from its last recorded event, so its events line up with the earlier ones.
    this.startedAt = Date.now() - (resuming ? (readRunEvents(dir).at(-1)?.t ?? 0) * 1000 : 0);
    this.folder = new RunFolder(dir, options.config);
  }

  get dir(): string {
    return this.folder.dir;
  }

  /** Seconds since the run's clock started. */
  seconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  readonly emit: Emit = (event) => {
    const full = { ...event, t: this.seconds(), runId: this.runId } as RunEvent;
    this.folder.append(full);
    this.emitter.emit('event', full);
  };

  readonly log: Log = (level, message) => {
    this.options.hostLog?.(level, `[${this.runId}] ${message}`);
    this.emit({ type: 'log', level, message });
  };

  /** Writes a file into the run folder (atomically: readers never see half of it); returns its path. */
  writeFile(name: string, data: string | Uint8Array): string {
    const file = this.folder.file(name);
    writeFileAtomic(file, data);
    return file;
  }

  /** Subscribe to the events from now on (earlier ones are in metrics.jsonl); returns the unsubscribe. */
  onEvent(listener: (event: RunEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /** Ends the recording: summary.json, the run-finished event, the folder closed. Once only. */
  finish(summary: Omit<RunSummary, 'runId' | 'name' | 'runFolder'>): RunSummary {
    if (this.finished) throw new Error(`run ${this.runId} is already finished`);
    this.finished = true;
    const full: RunSummary = { runId: this.runId, name: this.options.name, ...summary, runFolder: this.folder.dir };
    this.folder.writeSummary(full);
    this.emit({ type: 'run-finished', status: full.status, reason: full.reason, summary: full });
    this.folder.close();
    return full;
  }
}
