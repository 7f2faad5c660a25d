// The runs table's rows and a sweep's trial view, read from the run folders: one row per run folder
// (its summary, config, the user's name and tags from meta.json, and the loss figures folded from the
// eval events of metrics.jsonl), and for a sweep its sweep.json joined with its trials' rows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent, RunSummary } from '../recording/events';
import { readRunMeta } from '../recording/run-meta';
import { CONFIG_FILE, METRICS_FILE, SUMMARY_FILE, listRunFolders, liveDriverPid, readJsonIfExists } from '../recording/run-folder';
import type { TrialResult } from '../tuning/sweep';

export type RowStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

export interface RunTableRow {
  runId: string;
  runFolder: string;
  /** The user's name for it (Rename) or else the run's own. */
  name: string;
  runName: string;
  kind: 'training' | 'sweep';
  status: RowStatus;
  reason: string;
  /** What the run was started with (config.json): the parameters that differ between rows come from it. */
  config: unknown;
  lastLoss: number | null;
  /** The lowest test loss of any evaluation. */
  minLoss: number | null;
  /** The best quality figure reported: the highest accuracy (classification) or lowest RMSE (ratings). */
  best: { metric: 'accuracy' | 'rmse'; value: number } | null;
  samples: number;
  seconds: number;
  costUSD: number;
  gbSeconds: number;
  tags: string[];
  /** A sweep's trial: the sweep's run id. */
  sweepId?: string;
  /** meta.json could not be read (the row shows the run's own name; Rename refuses until it is fixed). */
  metaProblem?: string;
}

export type TrialStatus = TrialResult['status'] | 'running';

export interface SweepTrialRow {
  index: number;
  name: string;
  runId?: string;
  params: Record<string, number | string | boolean>;
  status: TrialStatus;
  reason: string;
  /** Lowest test loss of its evaluations (its final one when its events are gone). */
  bestLoss: number | null;
  lastLoss: number | null;
  gbSeconds: number;
  costUSD: number;
  seconds: number;
}

export interface SweepView {
  sweepId: string;
  name: string;
  status: RowStatus;
  reason: string;
  /** The parameters the sweep varies, in the sweep file's order. */
  parameters: string[];
  trials: SweepTrialRow[];
  /** Index of the best completed trial (lowest final test loss): the sweep's pick once it ended, the best so far while it runs. */
  bestIndex: number | null;
  /** best.cirrus.json: the winner's config, ready to run. */
  bestConfigPath?: string;
}

/** The loss figures of a run, from its eval events (only those lines are parsed: a metrics file is mostly heartbeats). */
function evalFigures(runFolder: string): Pick<RunTableRow, 'lastLoss' | 'minLoss' | 'best' | 'samples' | 'seconds' | 'costUSD'> & { name?: string } {
  const out: ReturnType<typeof evalFigures> = { lastLoss: null, minLoss: null, best: null, samples: 0, seconds: 0, costUSD: 0 };
  let text: string;
  try {
    text = fs.readFileSync(path.join(runFolder, METRICS_FILE), 'utf8');
  } catch {
    return out;
  }
  let lastLine = '';
  for (const line of text.split('\n')) {
    if (!line) continue;
    lastLine = line;
    const isEval = line.includes('"type":"eval"');
    if (!isEval && !line.includes('"type":"run-started"')) continue;
    let e: RunEvent;
    try {
      e = JSON.parse(line) as RunEvent;
    } catch {
      continue; // a torn last line
    }
    if (e.type === 'run-started') out.name = e.name;
    if (e.type !== 'eval' || !Number.isFinite(e.testLoss)) continue;
    out.lastLoss = e.testLoss;
    out.minLoss = out.minLoss === null ? e.testLoss : Math.min(out.minLoss, e.testLoss);
    if (e.testAccuracy !== undefined && (out.best === null || e.testAccuracy > out.best.value)) out.best = { metric: 'accuracy', value: e.testAccuracy };
    if (e.testRMSE !== undefined && (out.best === null || e.testRMSE < out.best.value)) out.best = { metric: 'rmse', value: e.testRMSE };
    out.samples = Math.max(out.samples, e.samples);
    out.costUSD = Math.max(out.costUSD, e.costUSD);
  }
  // A live run's time so far: its latest event's.
  const t = /"t":([0-9.eE+-]+)/.exec(lastLine);
  if (t) out.seconds = Number(t[1]) || 0;
  return out;
}

interface SweepRecord {
  name?: string;
  config?: { parameters?: Record<string, unknown> };
  trials?: TrialResult[];
  best?: { index: number };
}

export function runTableRow(runId: string, runFolder: string, summary?: RunSummary, config?: unknown): RunTableRow {
  const figures = evalFigures(runFolder);
  let meta: { displayName?: string; tags: string[] } = { tags: [] };
  let metaProblem: string | undefined;
  try {
    meta = readRunMeta(runFolder);
  } catch (err) {
    metaProblem = err instanceof Error ? err.message : String(err);
  }
  const runName = summary?.name ?? figures.name ?? (config as { name?: string } | undefined)?.name ?? runId;
  let status: RowStatus = summary?.status ?? 'running';
  let reason = summary?.reason ?? '';
  if (!summary && liveDriverPid(runFolder) === undefined) {
    status = 'interrupted';
    reason = 'its driver stopped before the run ended';
  }
  return {
    runId,
    runFolder,
    name: meta.displayName ?? runName,
    runName,
    kind: fs.existsSync(path.join(runFolder, 'sweep.json')) ? 'sweep' : 'training',
    status,
    reason,
    config,
    lastLoss: figures.lastLoss ?? summary?.testLoss ?? null,
    minLoss: figures.minLoss ?? summary?.testLoss ?? null,
    best: figures.best ?? (summary?.testAccuracy != null ? { metric: 'accuracy', value: summary.testAccuracy } : summary?.testRMSE != null ? { metric: 'rmse', value: summary.testRMSE } : null),
    samples: summary ? Math.max(summary.samples, figures.samples) : figures.samples,
    seconds: summary?.seconds ?? figures.seconds,
    costUSD: summary?.costUSD ?? figures.costUSD,
    gbSeconds: summary ? summary.stages.reduce((sum, s) => sum + s.gbSeconds, 0) : 0,
    tags: meta.tags,
    ...(metaProblem ? { metaProblem } : {}),
  };
}

/** Every run folder of the state directory as a table row, newest first; a sweep's trials name their sweep. */
export function listRunTable(stateDir: string): RunTableRow[] {
  const rows = listRunFolders(stateDir).map((r) => runTableRow(r.runId, r.runFolder, r.summary, r.config));
  const byId = new Map(rows.map((r) => [r.runId, r]));
  for (const sweep of rows.filter((r) => r.kind === 'sweep')) {
    for (const t of readSweepRecord(sweep.runFolder)?.trials ?? []) {
      const trial = t.runId ? byId.get(t.runId) : undefined;
      if (trial) trial.sweepId = sweep.runId;
    }
  }
  return rows.reverse();
}

function readSweepRecord(sweepFolder: string): SweepRecord | undefined {
  const record = readJsonIfExists<SweepRecord>(path.join(sweepFolder, 'sweep.json'));
  return record && typeof record === 'object' ? record : undefined;
}

/** A sweep's trials with their parameters, status (stopped early by the rule, with its reason) and figures; undefined if the folder holds no sweep. */
export function readSweepView(sweepFolder: string, rows?: Map<string, RunTableRow>): SweepView | undefined {
  const record = readSweepRecord(sweepFolder);
  if (!record || !Array.isArray(record.trials)) return undefined;
  const sweepId = path.basename(sweepFolder);
  const own = runTableRow(sweepId, sweepFolder, readJsonIfExists<RunSummary>(path.join(sweepFolder, SUMMARY_FILE)), readJsonIfExists(path.join(sweepFolder, CONFIG_FILE)));
  const runsDir = path.dirname(sweepFolder);
  const trials = record.trials.map((t): SweepTrialRow => {
    const folder = t.runFolder ?? (t.runId ? path.join(runsDir, t.runId) : undefined);
    const row = t.runId ? rows?.get(t.runId) ?? (folder && fs.existsSync(folder) ? runTableRow(t.runId, folder, readJsonIfExists<RunSummary>(path.join(folder, SUMMARY_FILE))) : undefined) : undefined;
    // sweep.json marks a trial completed when it starts; its own folder says whether it still runs.
    const status: TrialStatus = row?.status === 'running' ? 'running' : t.status;
    return {
      index: t.index,
      name: t.name,
      ...(t.runId ? { runId: t.runId } : {}),
      params: t.params ?? {},
      status,
      reason: t.reason || row?.reason || '',
      bestLoss: row?.minLoss ?? t.testLoss,
      lastLoss: row?.lastLoss ?? t.testLoss,
      gbSeconds: t.gbSeconds,
      costUSD: t.costUSD,
      seconds: t.seconds || row?.seconds || 0,
    };
  });
  const parameters = Object.keys(record.config?.parameters ?? {});
  for (const t of trials) for (const k of Object.keys(t.params)) if (!parameters.includes(k)) parameters.push(k);
  const bestConfigPath = path.join(sweepFolder, 'best.cirrus.json');
  return {
    sweepId,
    name: record.name ?? own.runName,
    status: own.status,
    reason: own.reason,
    parameters,
    trials,
    bestIndex: record.best?.index ?? bestTrial(trials),
    ...(fs.existsSync(bestConfigPath) ? { bestConfigPath } : {}),
  };
}

/** The completed trial with the lowest final test loss, or null. */
export function bestTrial(trials: SweepTrialRow[]): number | null {
  let best: SweepTrialRow | undefined;
  for (const t of trials) if (t.status === 'completed' && t.lastLoss !== null && (!best || t.lastLoss < best.lastLoss!)) best = t;
  return best?.index ?? null;
}

/** Each sweep of the state directory and its trials' run ids (from the sweeps' sweep.json): the Runs tree groups them. */
export function listSweeps(stateDir: string): Array<{ sweepId: string; trialRunIds: string[] }> {
  return listRunFolders(stateDir).flatMap((r) => {
    const record = readSweepRecord(r.runFolder);
    if (!record || !Array.isArray(record.trials)) return [];
    return [{ sweepId: r.runId, trialRunIds: record.trials.map((t) => t.runId).filter((id): id is string => typeof id === 'string') }];
  });
}
