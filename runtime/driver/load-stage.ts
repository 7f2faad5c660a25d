// The load stage: find the deployed dataset a run trains on. An s3:// path names one directly; a local
// file is deployed first, under the prefix its identity gives (data/identity.ts), so an unchanged file
// is never converted twice.
import * as fs from 'node:fs';
import type { ResolvedRunConfig } from '../config/run-config';
import type { DatasetManifest } from '../data/manifest';
import { readManifest } from '../data/catalog';
import { deployDataset } from '../data/deploy';
import { deploySettings, deploymentPrefix } from '../data/identity';
import { parseS3Url } from '../storage/s3';
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

export async function loadDataset(
  config: ResolvedRunConfig,
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
