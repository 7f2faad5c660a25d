// The datasets stored in S3: a deployed dataset is a prefix holding partitions and, written last, its
// manifest.json. Reading one manifest and listing every dataset of a bucket.
import type { S3Client } from '@aws-sdk/client-s3';
import { deletePrefix, formatS3Url, getObjectBytes, isNotFound, joinKey, listKeys } from '../storage/s3';
import { MANIFEST_NAME, MANIFEST_VERSION, type DatasetManifest } from './manifest';

/** Reads `<prefix>/manifest.json`; undefined when the prefix holds no manifest (not a finished dataset). */
export async function readManifest(client: S3Client, bucket: string, prefix: string): Promise<DatasetManifest | undefined> {
  const key = joinKey(prefix, MANIFEST_NAME);
  let bytes: Uint8Array;
  try {
    bytes = await getObjectBytes(client, bucket, key);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  let manifest: DatasetManifest;
  try {
    manifest = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new Error(`s3://${bucket}/${key}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof manifest !== 'object' || manifest === null || typeof manifest.manifestVersion !== 'number') {
    throw new Error(`s3://${bucket}/${key}: not a Cirrus dataset manifest (no manifestVersion)`);
  }
  if (manifest.manifestVersion > MANIFEST_VERSION) {
    throw new Error(`s3://${bucket}/${key}: manifest version ${manifest.manifestVersion} is newer than this build reads (${MANIFEST_VERSION})`);
  }
  return manifest;
}

/** Every dataset in the bucket: each prefix holding a manifest.json. Unreadable manifests are left out;
 *  a bucket that does not exist holds no datasets. */
export async function listDatasets(client: S3Client, bucket: string): Promise<Array<{ url: string; manifest: DatasetManifest }>> {
  const prefixes: string[] = [];
  try {
    for await (const { key } of listKeys(client, bucket)) {
      if (key === MANIFEST_NAME) prefixes.push('');
      else if (key.endsWith('/' + MANIFEST_NAME)) prefixes.push(key.slice(0, -MANIFEST_NAME.length - 1));
    }
  } catch (err) {
    if (isNotFound(err)) return []; // no bucket yet: no datasets yet
    throw err;
  }
  const found: Array<{ url: string; manifest: DatasetManifest }> = [];
  for (const prefix of prefixes) {
    try {
      const manifest = await readManifest(client, bucket, prefix);
      if (manifest) found.push({ url: formatS3Url(bucket, prefix), manifest });
    } catch {
      // A corrupt or foreign manifest.json is not a dataset we can use; listing the rest matters more.
    }
  }
  return found;
}

/** Deletes a deployed dataset: its manifest first (so a deletion cut short leaves no half dataset that
 *  lists as one), then its partitions. Refuses a prefix without a manifest: that is not a dataset.
 *  Returns the number of objects deleted. */
export async function deleteDataset(client: S3Client, bucket: string, prefix: string): Promise<number> {
  if (!prefix) throw new Error(`s3://${bucket}: refusing to delete a whole bucket; name the dataset's prefix`);
  const manifestKey = joinKey(prefix, MANIFEST_NAME);
  if (!(await readManifest(client, bucket, prefix).catch(() => undefined))) {
    throw new Error(`${formatS3Url(bucket, prefix)} holds no dataset manifest: nothing deleted`);
  }
  // The trailing slash keeps `clicks` from matching `clicks-2/...`.
  return deletePrefix(client, bucket, prefix.replace(/\/*$/, '/'), [manifestKey]);
}
