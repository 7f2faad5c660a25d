// The runtime's front door: the CLI and the VS Code extension import only this module.
// Types and contracts are described in ./api.ts.
import * as path from 'node:path';
import type { DeployOutcome, DeployRequest, RuntimeContext } from './api';
import { localBackend, stopLocalServices } from './backends/backend';
import { deployDataset as deployToS3 } from './data/deploy';
import { deleteDataset as deleteDatasetInBucket, listDatasets as listDatasetsInBucket } from './data/catalog';
import { deploymentPrefix, effectiveHashBits, type DeploySettings } from './data/identity';
import { listInterruptedRunFolders, listRunFolders, readRunEvents } from './recording/run-folder';
import { listRunTable as listRunTableRows, listSweeps as listSweepFolders } from './tracking/run-table';
import { parseS3Url } from './storage/s3';

export * from './api';
export { startTraining, resumeTraining, markRunStopped } from './driver/run';
export { preflightRun } from './driver/preflight';
export { estimateRun } from './cost/estimate';
export { validateRunConfig, checkRunConfig, loadRunConfig, loadRunConfigFile, missingDataFiles, ConfigError, formatProblem } from './config/validate';
export { resolveRunConfig } from './config/resolve';
export { newRunConfig } from './config/new-config';
export { DEFAULTS } from './config/defaults';
export { perfModelFor } from './provisioning/estimate';
export { probeRun, simulate, planRun, awsEnvironment, localEnvironment, whatIf, MEMORY_GRID, WORKER_GRID, type WhatIfData } from './provisioning';
export { readRunEvents };
export { readRunMeta, updateRunMeta } from './recording/run-meta';
export { readSweepView } from './tracking/run-table';

/** Every sweep of the state directory with its trials' run ids. */
export function listSweeps(ctx: RuntimeContext) {
  return listSweepFolders(ctx.stateDir);
}

/** The runs table: one row per run folder of the state directory, newest first. */
export function listRunTable(ctx: RuntimeContext) {
  return listRunTableRows(ctx.stateDir);
}

export const DEFAULT_STATE_DIR = '.cirrus';

export function defaultContext(cwd = process.cwd()): RuntimeContext {
  return { stateDir: path.resolve(cwd, DEFAULT_STATE_DIR) };
}

export function listRuns(ctx: RuntimeContext) {
  return listRunFolders(ctx.stateDir);
}

/** Runs whose driver died before they ended (no summary, no live driver): resumeTraining or markRunStopped them. */
export function listInterruptedRuns(ctx: RuntimeContext) {
  return listInterruptedRunFolders(ctx.stateDir);
}

/** Deploys a file to S3: the given s3:// destination, or the embedded local S3 by default. */
export async function deployDataset(request: DeployRequest, ctx: RuntimeContext): Promise<DeployOutcome> {
  const backend = await localBackend(ctx.stateDir);
  const settings: DeploySettings = {
    file: request.file,
    testFile: request.testFile,
    format: request.format,
    testFraction: request.testFraction,
    hashBits: effectiveHashBits(request.format, request.hashBits),
    labelColumn: request.labelColumn,
    skipBad: request.skipBad,
    columns: request.columns,
    scaling: request.scaling,
  };
  // By default the same prefix a run's load stage would pick: a run on this file reuses the deployment.
  const { bucket, prefix } = request.destination ? parseS3Url(request.destination) : { bucket: backend.bucket, prefix: await deploymentPrefix(settings, request.signal) };
  const result = await deployToS3({
    ...settings,
    bucket,
    prefix,
    client: backend.s3,
    onProgress: request.onProgress,
    signal: request.signal,
  });
  return { url: `s3://${bucket}/${prefix}`, manifest: result.manifest, seconds: result.seconds };
}

export async function listDatasets(ctx: RuntimeContext) {
  const backend = await localBackend(ctx.stateDir);
  return listDatasetsInBucket(backend.s3, backend.bucket);
}

/** Deletes a dataset deployed to the embedded local S3 (the Datasets view lists those); returns the objects deleted. */
export async function deleteDataset(url: string, ctx: RuntimeContext): Promise<number> {
  const backend = await localBackend(ctx.stateDir);
  const { bucket, prefix } = parseS3Url(url);
  if (bucket !== backend.bucket) throw new Error(`${url} is not in the local bucket ${backend.bucket}: delete it with the AWS console or CLI`);
  return deleteDatasetInBucket(backend.s3, bucket, prefix);
}

export async function shutdownEmbeddedServices(): Promise<void> {
  await stopLocalServices();
}

// Stages beyond one training run: sweeps (runtime/tuning), preprocessing (runtime/preprocess), scoring.
export { startSweep } from './tuning/sweep';
export { planAws } from './backends/aws/format';
export { explainAwsError } from './backends/aws/errors';
export { loadSweepConfig, validateSweepConfig, expandTrials } from './tuning/sweep-config';
export { writeSweepTemplate } from './tuning/sweep-template';
export { preprocessDataset } from './preprocess/run';
export { scoreFile } from './predict/score';
export { loadModel } from './driver/model-file';

// Causal estimates: double machine learning with cross-fitting on the workers (runtime/causal, docs/doubleml.md).
export { runDoubleML } from './causal/run';
export { loadDoubleMLConfig, validateDoubleMLConfig } from './causal/config';
export { describeDoubleML } from './causal/report';
export { formatColumnTable, columnWarnings } from './data/column-table';
