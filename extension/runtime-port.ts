// The slice of the runtime the extension calls (the functions runtime/index.ts exports, typed from
// runtime/api.ts). Activation takes an implementation of this, so tests can hand in the real runtime
// or, where it cannot run, a stand-in.
import type {
  DeployOutcome, DeployRequest, ResolvedRunConfig, RunConfig, RunEstimate, RunEvent, RunHandle, RunSummary, RuntimeContext, DatasetManifest,
  NewConfigRequest, PreprocessOutcome, PreprocessRequest, RunMeta, RunTableRow, SweepView, SweepConfig, SweepHandle, Trial, DoubleMLConfig, DoubleMLOptions, DoubleMLSummary,
} from '../runtime/api';
import type { WhatIfData } from '../runtime/api';

export interface CirrusRuntime {
  startTraining(config: RunConfig, ctx: RuntimeContext, opts?: { configPath?: string; signal?: AbortSignal }): Promise<RunHandle>;
  deployDataset(request: DeployRequest, ctx: RuntimeContext): Promise<DeployOutcome>;
  estimateRun(config: RunConfig, opts?: { stateDir?: string }): RunEstimate;
  /** The simulator's time and dollars against workers per memory size (optional: stand-in runtimes may lack it). */
  whatIf?(config: RunConfig, stateDir?: string): WhatIfData;
  /** Throws a ConfigError (`name === 'ConfigError'`, `problems: [{ field, message, line? }]`); `text` lets problems carry lines. */
  validateRunConfig(json: unknown, file?: string, text?: string): RunConfig;
  /** A first run config for a dataset (New Run Configuration): defaults that stop on the validation loss. */
  newRunConfig(request: NewConfigRequest): RunConfig;
  /** Every default filled in (runtime/config/defaults.ts), and the settings the run would ignore. */
  resolveRunConfig(config: RunConfig): { config: ResolvedRunConfig; warnings: Array<{ field: string; message: string }> };
  listRuns(ctx: RuntimeContext): Array<{ runId: string; runFolder: string; summary?: RunSummary; config?: RunConfig }>;
  readRunEvents(runFolder: string): RunEvent[];
  /** The runs table's rows: one per run folder, newest first (runtime/tracking/run-table.ts). */
  listRunTable(ctx: RuntimeContext): RunTableRow[];
  /** Every sweep in the state directory with its trials' run ids (the Runs tree groups them). */
  listSweeps(ctx: RuntimeContext): Array<{ sweepId: string; trialRunIds: string[] }>;
  /** A sweep's trials (parameters, status, figures) from its run folder; undefined if it holds no sweep. */
  readSweepView(sweepFolder: string): SweepView | undefined;
  /** A run's name and tags from its meta.json (none: no name, no tags); throws naming an unreadable file. */
  readRunMeta(runFolder: string): RunMeta;
  /** Rename and tag a run (its meta.json); throws naming the problem without writing. */
  updateRunMeta(runFolder: string, change: { displayName?: string | null; tags?: string[] }): RunMeta;
  listDatasets(ctx: RuntimeContext): Promise<Array<{ url: string; manifest: DatasetManifest }>>;
  /** Deletes a dataset of the embedded local S3 (manifest first); resolves with the objects deleted. */
  deleteDataset(url: string, ctx: RuntimeContext): Promise<number>;
  /** Every problem that would fail the run, found before it starts (schema, cross-field rules, missing
   *  files, an s3:// dataset without a manifest, AWS region, bucket, address and credentials): throws
   *  one ConfigError listing them all; resolves with the config as written and its resolution. */
  preflightRun(json: unknown, opts: { file?: string; text?: string; stateDir: string; awsCredentials?: RuntimeContext['awsCredentials'] }): Promise<{ config: RunConfig; resolved: ResolvedRunConfig; warnings: Array<{ field: string; message: string; line?: number }> }>;
  shutdownEmbeddedServices(): Promise<void>;
  /** Reads and validates a `*.sweep.json` and its base run config (throws a ConfigError). */
  loadSweepConfig(file: string): { sweep: SweepConfig; base: RunConfig };
  expandTrials(sweep: SweepConfig, base: RunConfig): Trial[];
  /** A first sweep around a run config's settings, written beside it (a unique name); throws a ConfigError for an invalid config. */
  writeSweepTemplate(configFile: string): { file: string; sweep: SweepConfig; trials: number };
  startSweep(sweep: SweepConfig, base: RunConfig, ctx: RuntimeContext, opts?: { sweepPath?: string; signal?: AbortSignal }): Promise<SweepHandle>;
  /** Runs whose driver died (VS Code or the CLI was killed): no summary and no live driver process. */
  listInterruptedRuns(ctx: RuntimeContext): Array<{ runId: string; runFolder: string; config?: RunConfig }>;
  /** Continues an interrupted run from its last checkpoint (or marks it stopped when it has none). */
  resumeTraining(runFolder: string, ctx: RuntimeContext, opts?: { signal?: AbortSignal }): Promise<RunHandle>;
  /** Closes an interrupted run as stopped (summary from its recorded events), without resuming it. */
  markRunStopped(runFolder: string, reason?: string): RunSummary;
  preprocessDataset(request: PreprocessRequest, ctx: RuntimeContext): Promise<PreprocessOutcome>;
  /** Reads and validates a `*.doubleml.json` (throws a ConfigError); its data path becomes absolute. */
  loadDoubleMLConfig(file: string): DoubleMLConfig;
  /** A causal estimate by double machine learning; resolves with its summary (failed or stopped ones too). */
  runDoubleML(config: DoubleMLConfig, ctx: RuntimeContext, opts?: DoubleMLOptions): Promise<DoubleMLSummary>;
  /** backend "aws": every resource and API call, the cost and the guardrails, creating nothing (docs/aws.md). */
  planAws(config: RunConfig): { text: string };
  /** An AWS error as the user can act on it (an expired SSO session: run `aws sso login --profile NAME`). */
  explainAwsError(error: unknown, profile?: string): Error;
}

/** The real runtime, loaded on its first call: esbuild bundles runtime/index.ts into dist/extension.js
 *  and initialises it only when required, so activation stays fast (the AWS SDK is set up when a command
 *  first needs it). */
export function lazyRuntime(): CirrusRuntime {
  let loaded: CirrusRuntime | undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const real = (): CirrusRuntime => (loaded ??= require('../runtime/index') as CirrusRuntime);
  return {
    startTraining: (...a) => real().startTraining(...a),
    deployDataset: (...a) => real().deployDataset(...a),
    estimateRun: (...a) => real().estimateRun(...a),
    whatIf: (...a) => real().whatIf!(...a),
    validateRunConfig: (...a) => real().validateRunConfig(...a),
    resolveRunConfig: (...a) => real().resolveRunConfig(...a),
    newRunConfig: (...a) => real().newRunConfig(...a),
    listRuns: (...a) => real().listRuns(...a),
    readRunEvents: (...a) => real().readRunEvents(...a),
    listRunTable: (...a) => real().listRunTable(...a),
    readSweepView: (...a) => real().readSweepView(...a),
    listSweeps: (...a) => real().listSweeps(...a),
    readRunMeta: (...a) => real().readRunMeta(...a),
    updateRunMeta: (...a) => real().updateRunMeta(...a),
    listDatasets: (...a) => real().listDatasets(...a),
    deleteDataset: (...a) => real().deleteDataset(...a),
    preflightRun: (...a) => real().preflightRun(...a),
    loadSweepConfig: (...a) => real().loadSweepConfig(...a),
    expandTrials: (...a) => real().expandTrials(...a),
    writeSweepTemplate: (...a) => real().writeSweepTemplate(...a),
    startSweep: (...a) => real().startSweep(...a),
    listInterruptedRuns: (...a) => real().listInterruptedRuns(...a),
    resumeTraining: (...a) => real().resumeTraining(...a),
    markRunStopped: (...a) => real().markRunStopped(...a),
    preprocessDataset: (...a) => real().preprocessDataset(...a),
    loadDoubleMLConfig: (...a) => real().loadDoubleMLConfig(...a),
    runDoubleML: (...a) => real().runDoubleML(...a),
    planAws: (...a) => real().planAws(...a),
    explainAwsError: (...a) => real().explainAwsError(...a),
    // Nothing to shut down when the runtime was never loaded.
    shutdownEmbeddedServices: () => (loaded ? loaded.shutdownEmbeddedServices() : Promise.resolve()),
  };
}

// Compile-time check that runtime/index.ts still provides everything above with these signatures.
type Conforms<T extends CirrusRuntime> = T;
export type RealRuntimeConforms = Conforms<typeof import('../runtime/index')>;
