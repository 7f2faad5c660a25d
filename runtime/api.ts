// The runtime's public surface: everything the CLI and the VS Code extension call. Host-independent
// (no `vscode` here or anywhere under runtime/). The implementations live in the folders named below.
// The extension and the panels import the runtime through this file only (checked by
// .dependency-cruiser.cjs): it holds types and pure helpers, so the webview can bundle it; the
// implementation (runtime/index.ts) is loaded lazily by extension/runtime-port.ts.
import type { AwsCredentials } from './backends/backend';
import type { BackendType, ResolvedRunConfig, RunConfig } from './config/run-config';
import type { DatasetFormat, DatasetManifest } from './data/manifest';
import type { RunEvent, RunSummary, StageName } from './recording/events';

export type { RunConfig, ResolvedRunConfig, BackendType, DatasetFormat, DatasetManifest, RunEvent, RunSummary, StageName, AwsCredentials };
// Pure helpers (no Node): the deploy summary's column table, CSV header reading.
export { formatColumnTable, columnWarnings } from './data/column-table';
export { detectDelimiter, splitCsvLine } from './data/csv-fields';
export type { SweepHandle, SweepSummary, TrialResult } from './tuning/sweep';
export type { NewConfigRequest } from './config/new-config';
export type { SweepConfig, Trial } from './tuning/sweep-config';
export type { PreprocessRequest, PreprocessOutcome } from './preprocess/run';
export type { ScoreResult } from './predict/score';
export type { RunTableRow, RowStatus, SweepView, SweepTrialRow, TrialStatus } from './tracking/run-table';
export type { RunMeta } from './recording/run-meta';
export type { Importance } from './tracking/importance';
// Pure: the sweep panel ranks parameters by importance itself.
export { paramImportance } from './tracking/importance';
export type { ModelDescription } from './driver/model-file';
export type { DoubleMLSummary, DoubleMLOptions } from './causal/run';
export type { DoubleMLConfig } from './causal/config';
export type { DoubleMLEstimate } from './causal/estimate';

/** Where a run's state lives: run folders, the embedded S3 server's objects, the local Lambda service's files. */
export interface RuntimeContext {
  /** Root of run-state (default: `<cwd>/.cirrus`). Run folders go to `<stateDir>/runs/<runId>/`. */
  stateDir: string;
  /** Receives every log line the runtime writes (the extension routes it to its LogOutputChannel). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Explicit credentials for the `aws` backend (VS Code's secret storage); absent: the SDK's standard
   *  chain. Kept in memory only: the runtime never writes them to a run folder, an event or the log. */
  awsCredentials?: AwsCredentials;
}

export interface RunHandle {
  runId: string;
  runFolder: string;
  /** Subscribe to the event stream (events already emitted are not replayed: read metrics.jsonl for those). */
  onEvent(listener: (event: RunEvent) => void): () => void;
  /** Ask the run to stop: workers are told to return, the model is saved, the summary is written. */
  stop(reason?: string): Promise<void>;
  /** Resolves when the run has finished (completed, stopped or failed) and its folder is complete. */
  done: Promise<RunSummary>;
}

export interface DeployProgress {
  phase: 'count' | 'convert' | 'upload' | 'manifest';
  bytesRead: number;
  totalBytes: number;
  rows: number;
  partitionsUploaded: number;
}

export interface DeployRequest {
  file: string;
  format: DatasetFormat;
  testFraction?: number;
  testFile?: string;
  labelColumn?: string;
  hashBits?: number;
  skipBad?: boolean;
  /** csv: column roles set by hand and the scaling (as dataset.columns and dataset.scaling). */
  columns?: RunConfig['dataset']['columns'];
  scaling?: 'auto' | 'none';
  /** s3://bucket/prefix; default: the embedded local S3, bucket `cirrus-datasets`, prefix from the file name. */
  destination?: string;
  onProgress?: (progress: DeployProgress) => void;
  signal?: AbortSignal;
}

export interface DeployOutcome {
  url: string; // s3://bucket/prefix of the deployed dataset
  manifest: DatasetManifest;
  seconds: number;
}

export interface RunEstimate {
  backend: 'local' | 'aws';
  workers: number;
  memoryMB: number;
  expectedSeconds: number;
  expectedUSD: number;
  breakdown: Record<string, number>;
  /** Low and high ends of the estimate (the fitted model's spread, at least 15 %). */
  range?: { seconds: [number, number]; usd: [number, number] };
  /** What the estimate rests on: past runs, a probe, or default figures. */
  basis?: string;
  /** What is predicted to end the run. */
  endsBy?: 'epochs' | 'target-loss' | 'time-limit';
  notes?: string[];
  /** LambdaML's analytic model for this run in every channel x sync cell under the "aws" network
   *  (runtime/channels/step-model.ts): seconds and dollars per step and for the run. */
  designSpace?: Array<{ cell: string; secondsPerStep: number; usdPerStep: number; seconds: number; usd: number }>;
}

// Implemented in runtime/index.ts (the CLI imports it; the extension loads it in extension/runtime-port.ts):
//   startTraining(config: RunConfig, ctx: RuntimeContext, opts?: { configPath?: string; signal?: AbortSignal }): Promise<RunHandle>
//   deployDataset(request: DeployRequest, ctx: RuntimeContext): Promise<DeployOutcome>
//   estimateRun(config: RunConfig, opts?: { stateDir?: string }): RunEstimate   (fitted from the state dir's past runs; runtime/provisioning)
//   validateRunConfig(json: unknown, file?: string): RunConfig   (throws ConfigError listing `file: field: problem` lines)
//   listRuns(ctx: RuntimeContext): Array<{ runId: string; runFolder: string; summary?: RunSummary; config?: RunConfig }>
//   readRunEvents(runFolder: string): RunEvent[]
//   listRunTable(ctx: RuntimeContext): RunTableRow[]   (the runs table: one row per run folder, newest first; runtime/tracking)
//   listSweeps(ctx: RuntimeContext): Array<{ sweepId: string; trialRunIds: string[] }>   (the Runs tree groups a sweep's trials)
//   readSweepView(sweepFolder: string): SweepView | undefined   (a sweep's trials, from its sweep.json and their run folders)
//   readRunMeta(runFolder: string): RunMeta   (throws naming an unreadable meta.json)
//   updateRunMeta(runFolder: string, change: { displayName?: string | null; tags?: string[] }): RunMeta   (Rename and Tags: meta.json in the run folder)
//   writeSweepTemplate(configFile: string): { file; sweep; trials }   (a random search around a run config's settings, written beside it)
//   listDatasets(ctx: RuntimeContext): Promise<Array<{ url: string; manifest: DatasetManifest }>>
//   shutdownEmbeddedServices(): Promise<void>   (stops the embedded S3 and Lambda service started on demand)

// Formatters shared by the CLI, the trees and the dashboard (pure: the webview bundles them).
export * from './util/format';
export { AWS_REGIONS } from './backends/aws/regions';
export { gbSecondsSaved } from './provisioning/right-size';
export type { WhatIfData } from './provisioning/what-if';
