// The load stage: find the deployed dataset a run trains on. An s3:// path names one directly; a local
// file is deployed first, under a prefix derived from its checksum and the conversion settings, so an
// unchanged file is never converted twice.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../config/run-config';
import type { DatasetFormat, DatasetManifest } from '../data/manifest';
import { deployDataset } from '../data/deploy';
import { parseS3Url, readManifest } from '../storage/s3';
import type { DeployProgress } from '../api';
import type { Backend } from '../backends/backend';

export interface LoadedDataset {
  bucket: string;
  prefix: string;
  manifest: DatasetManifest;
  deployed: boolean; // false when an existing deployment was reused
  uploadedBytes: number;
  s3Puts: number;
}

export async function fileSha256(file: string, signal?: AbortSignal): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const DEFAULT_HASH_BITS = 20;

/** How a local file is converted: equal settings of an unchanged file give the same deployment. */
export interface DeploySettings {
  file: string;
  testFile?: string;
  format: DatasetFormat;
  testFraction?: number;
  hashBits?: number;
  labelColumn?: string;
  skipBad?: boolean;
}

/** Hashing bits a deploy uses: none for ratings, none for LIBSVM unless asked (its indices are
 *  already a feature space), else the given bits or the default. */
export function effectiveHashBits(format: DatasetFormat, hashBits: number | undefined): number | undefined {
  if (format === 'ratings') return undefined;
  if (format === 'libsvm') return hashBits;
  return hashBits ?? DEFAULT_HASH_BITS;
}

export function deploySettings(config: RunConfig): DeploySettings {
  const { dataset } = config;
  return {
    file: dataset.path,
    testFile: dataset.testPath,
    format: dataset.format!,
    testFraction: dataset.testFraction,
    hashBits: config.model.type === 'mf' ? undefined : effectiveHashBits(dataset.format!, config.model.hashBits),
    labelColumn: dataset.labelColumn,
    skipBad: dataset.skipBad,
  };
}

/** The prefix under which a local file is deployed with given settings: equal inputs, equal prefix.
 *  Shared by the load stage and the deploy command, so a file deployed by hand is reused by a run. */
export async function deploymentPrefix(settings: DeploySettings, signal?: AbortSignal): Promise<string> {
  const digest = crypto.createHash('sha256');
  digest.update(await fileSha256(settings.file, signal));
  if (settings.testFile) digest.update(await fileSha256(settings.testFile, signal));
  digest.update(JSON.stringify([settings.format, settings.testFraction ?? null, settings.hashBits ?? null, settings.labelColumn ?? null, settings.skipBad ?? false]));
  const name = path.basename(settings.file).replace(/[^A-Za-z0-9._-]+/g, '-').toLowerCase();
  return `datasets/${name}-${digest.digest('hex').slice(0, 12)}`;
}

export async function loadDataset(
  config: RunConfig,
  backend: Backend,
  onProgress: (progress: DeployProgress) => void,
  signal?: AbortSignal,
): Promise<LoadedDataset> {
  const { dataset } = config;
  if (dataset.path.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Url(dataset.path);
    const manifest = await readManifest(backend.s3, bucket, prefix);
    if (!manifest) throw new Error(`${dataset.path} holds no dataset manifest (deploy it first: cirrus deploy-dataset FILE --format ...)`);
    return { bucket, prefix, manifest, deployed: false, uploadedBytes: 0, s3Puts: 0 };
  }
  if (!fs.existsSync(dataset.path)) throw new Error(`dataset.path: ${dataset.path} does not exist`);
  if (dataset.testPath && !fs.existsSync(dataset.testPath)) throw new Error(`dataset.testPath: ${dataset.testPath} does not exist`);
  const settings = deploySettings(config);
  const prefix = await deploymentPrefix(settings, signal);
  const existing = await readManifest(backend.s3, backend.bucket, prefix);
  if (existing) return { bucket: backend.bucket, prefix, manifest: existing, deployed: false, uploadedBytes: 0, s3Puts: 0 };
  const result = await deployDataset({ ...settings, bucket: backend.bucket, prefix, client: backend.s3, onProgress, signal });
  const partitions = result.manifest.partitions.train.length + result.manifest.partitions.test.length;
  return { bucket: backend.bucket, prefix, manifest: result.manifest, deployed: true, uploadedBytes: result.uploadedBytes, s3Puts: partitions + 1 };
}
