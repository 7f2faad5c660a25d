// The S3 client and the few object operations the runtime needs. The same code talks to real S3 and
// to the embedded s3rver (runtime/storage/embedded-s3.ts): only the StorageTarget differs. Bytes and
// keys only: what a dataset is (its manifest) is data/'s business (data/catalog.ts).
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

export interface StorageTarget {
  /** e.g. http://127.0.0.1:PORT for the embedded server; absent for real AWS. */
  endpoint?: string;
  region: string;
  /** Absent: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Needed by s3rver and most S3-compatible servers (bucket in the path, not the host name). */
  forcePathStyle?: boolean;
  /** With no explicit credentials: the shared-config profile the SDK's chain reads (~/.aws). */
  profile?: string;
}

export function createS3Client(target: StorageTarget): S3Client {
  return new S3Client({
    region: target.region,
    endpoint: target.endpoint,
    credentials: target.credentials,
    profile: target.profile,
    forcePathStyle: target.forcePathStyle ?? target.endpoint !== undefined,
    // Newer SDKs add CRC checksums to every request by default; s3rver and other S3-compatible
    // servers do not all understand them, so only send them when the operation requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Returns why `name` is not a valid S3 bucket name, or undefined when it is valid.
 *  Rules: docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (general purpose buckets). */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be 3 to 63 characters long (it has ${name.length})`;
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may contain only lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return 'must not start with xn--, sthree- or amzn-s3-demo-';
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3)$/.test(name)) return 'must not end with -s3alias, --ol-s3, .mrap or --x-s3';
  return undefined;
}

export function validateBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem) throw new Error(`invalid S3 bucket name "${name}": it ${problem}`);
}

/** `s3://bucket/some/prefix/` -> { bucket: 'bucket', prefix: 'some/prefix' } (no leading or trailing slash). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url.trim());
  if (!match) throw new Error(`not an S3 URL: "${url}" (expected s3://bucket/prefix)`);
  const bucket = match[1];
  if (!bucket) throw new Error(`S3 URL "${url}" has no bucket name (expected s3://bucket/prefix)`);
  const problem = bucketNameProblem(bucket);
  if (problem) throw new Error(`S3 URL "${url}": invalid bucket name "${bucket}": it ${problem}`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.includes('//')) throw new Error(`S3 URL "${url}" has an empty path segment ("//")`);
  return { bucket, prefix };
}

export function formatS3Url(bucket: string, prefix: string): string {
  return prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
}

/** Joins key parts with '/', ignoring an empty prefix. */
export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** A missing key or bucket (the SDK names it differently by operation; some servers only give the status). */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.name === 'NoSuchBucket' || e?.$metadata?.httpStatusCode === 404;
}

export async function getObjectBytes(client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<Uint8Array> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  if (!out.Body) throw new Error(`s3://${bucket}/${key}: empty response body`);
  return out.Body.transformToByteArray();
}

/** The object's bytes and its ETag (which changes when the object is replaced). */
export async function getObjectWithEtag(client: S3Client, bucket: string, key: string): Promise<{ bytes: Uint8Array; etag: string | undefined }> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`s3://${bucket}/${key}: empty response body`);
  return { bytes: await out.Body.transformToByteArray(), etag: out.ETag };
}

export async function putObjectBytes(
  client: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string,
  metadata?: Record<string, string>,
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
}

/** The object's head (size, metadata), or undefined when it does not exist. */
export async function headObject(client: S3Client, bucket: string, key: string): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  return (await headObject(client, bucket, key)) !== undefined;
}

/** Creates the bucket unless it exists already (ours or, on AWS, owned by this account). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  validateBucketName(bucket);
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    // Another process may have created it between the head and the create.
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}

/** Every key under `prefix`, page by page (S3 returns at most 1,000 keys a page). */
export async function* listKeys(client: S3Client, bucket: string, prefix = ''): AsyncGenerator<{ key: string; size: number }> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }));
    for (const obj of page.Contents ?? []) if (obj.Key) yield { key: obj.Key, size: obj.Size ?? 0 };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** Deletes every object under `prefix` (one request each: the embedded server and S3 alike accept it,
 *  and a dataset holds tens of partitions, not thousands); returns how many were deleted. */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string, first: string[] = []): Promise<number> {
  let deleted = 0;
  const remove = async (key: string) => {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    deleted++;
  };
  // Keys to go first (a manifest: without it the rest is no longer a dataset, should the deletion stop halfway).
  for (const key of first) if (await objectExists(client, bucket, key)) await remove(key);
  const keys: string[] = [];
  for await (const { key } of listKeys(client, bucket, prefix)) if (!first.includes(key)) keys.push(key);
  for (const key of keys) await remove(key);
  return deleted;
}
