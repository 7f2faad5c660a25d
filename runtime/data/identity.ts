// A dataset's identity: which deployed copy a local file with given conversion settings is. Equal
// file contents (sha256) and settings give the same prefix, so a run, a sweep's trials and a deploy by
// hand all reuse one deployment instead of converting the file again.
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { DEFAULTS } from '../config/defaults';
import type { ResolvedRunConfig } from '../config/run-config';
import { readFileChunks } from './lines';
import type { DatasetFormat } from './manifest';

/** Read through two reused buffers (a read stream makes a new one per 64 KB: a 1 GB file left 30 MB of
 *  them to the garbage collector at a time). */
export async function fileSha256(file: string, signal?: AbortSignal): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of readFileChunks(file)) {
    signal?.throwIfAborted();
    hash.update(chunk);
  }
  return hash.digest('hex');
}

/** How a local file is converted: equal settings of an unchanged file give the same deployment. */
export interface DeploySettings {
  file: string;
  testFile?: string;
  format: DatasetFormat;
  testFraction?: number;
  hashBits?: number;
  labelColumn?: string;
  skipBad?: boolean;
  columns?: ResolvedRunConfig['dataset']['columns'];
  scaling?: ResolvedRunConfig['dataset']['scaling'];
}

/** Hashing bits a deploy uses: none for ratings, none for LIBSVM unless asked (its indices are
 *  already a feature space), else the given bits or the default. */
export function effectiveHashBits(format: DatasetFormat, hashBits: number | undefined): number | undefined {
  if (format === 'ratings') return undefined;
  if (format === 'libsvm') return hashBits;
  return hashBits ?? DEFAULTS.model.hashBits;
}

/** The conversion settings a run config asks for (a local dataset file). */
export function deploySettings(config: ResolvedRunConfig): DeploySettings {
  const { dataset } = config;
  return {
    file: dataset.path,
    testFile: dataset.testPath,
    format: dataset.format!,
    testFraction: dataset.testFraction,
    hashBits: config.model.hashBits, // resolved with effectiveHashBits (config/resolve.ts); unset for mf
    labelColumn: dataset.labelColumn,
    skipBad: dataset.skipBad,
    columns: dataset.columns,
    scaling: dataset.scaling,
  };
}

/** The prefix under which a local file is deployed with given settings: equal inputs, equal prefix.
 *  Shared by the load stage and the deploy command, so a file deployed by hand is reused by a run. */
export async function deploymentPrefix(settings: DeploySettings, signal?: AbortSignal): Promise<string> {
  const digest = crypto.createHash('sha256');
  digest.update(await fileSha256(settings.file, signal));
  if (settings.testFile) digest.update(await fileSha256(settings.testFile, signal));
  digest.update(JSON.stringify([settings.format, settings.testFraction ?? null, settings.hashBits ?? null, settings.labelColumn ?? null, settings.skipBad ?? false]));
  // CSV reading settings, only for CSV (other formats' prefixes stay the same). The reader version:
  // CSV column roles and scaling changed how the same file is converted.
  if (settings.format === 'csv') digest.update(JSON.stringify(['csv-roles-1', settings.columns ?? null, settings.scaling ?? null]));
  const name = path.basename(settings.file).replace(/[^A-Za-z0-9._-]+/g, '-').toLowerCase();
  return `datasets/${name}-${digest.digest('hex').slice(0, 12)}`;
}

/** What identifies the deployed copy a run config trains on: its s3:// URL, or its file and conversion
 *  settings (equal keys, same deployment; sweeps that vary hashBits need several). */
export function datasetKey(config: ResolvedRunConfig): string {
  return config.dataset.path.startsWith('s3://') ? config.dataset.path : JSON.stringify(deploySettings(config));
}
