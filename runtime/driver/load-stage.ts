// The load stage: find the deployed dataset a run trains on. An s3:// path names one directly; a local
// file is deployed first, under a prefix derived from its checksum and the conversion settings, so an
// unchanged file is never converted twice.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../config/run-config';
import type { DatasetManifest } from '../data/manifest';
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

/** Hashing bits used to deploy a local file: none for ratings, and none for LIBSVM unless asked
 *  (its indices are already a feature space). */
export function effectiveHashBits(config: RunConfig): number | undefined {
  if (config.model.type === 'mf' || config.dataset.format === 'ratings') return undefined;
  if (config.dataset.format === 'libsvm') return config.model.hashBits;
  return config.model.hashBits ?? DEFAULT_HASH_BITS;
}

/** The prefix under which a local file is deployed with given settings: equal inputs, equal prefix. */
export async function deploymentPrefix(config: RunConfig, signal?: AbortSignal): Promise<string> {
  const { dataset } = config;
  const digest = crypto.createHash('sha256');
  digest.update(await fileSha256(dataset.path, signal));
  if (dataset.testPath) digest.update(await fileSha256(dataset.testPath, signal));
  digest.update(JSON.stringify([dataset.format, dataset.testFraction ?? null, effectiveHashBits(config) ?? null, dataset.labelColumn ?? null, dataset.skipBad ?? false]));
  const name = path.basename(dataset.path).replace(/[^A-Za-z0-9._-]+/g, '-').toLowerCase();
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
  const prefix = await deploymentPrefix(config, signal);
  const existing = await readManifest(backend.s3, backend.bucket, prefix);
  if (existing) return { bucket: backend.bucket, prefix, manifest: existing, deployed: false, uploadedBytes: 0, s3Puts: 0 };
  const result = await deployDataset({
    file: dataset.path,
    format: dataset.format!,
    testFraction: dataset.testFraction,
    testFile: dataset.testPath,
    labelColumn: dataset.labelColumn,
    skipBad: dataset.skipBad,
    hashBits: effectiveHashBits(config),
    bucket: backend.bucket,
    prefix,
    client: backend.s3,
    onProgress,
    signal,
  });
  const partitions = result.manifest.partitions.train.length + result.manifest.partitions.test.length;
  return { bucket: backend.bucket, prefix, manifest: result.manifest, deployed: true, uploadedBytes: result.uploadedBytes, s3Puts: partitions + 1 };
}
