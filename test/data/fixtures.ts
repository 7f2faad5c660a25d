// Small helpers for the data and storage tests: temporary folders and fixtures, an embedded S3 per test file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { TestContext } from 'node:test';
import { startEmbeddedS3, type EmbeddedS3 } from '../../runtime/storage/embedded-s3';
import { createS3Client, ensureBucket } from '../../runtime/storage/s3';
import type { S3Client } from '@aws-sdk/client-s3';

export function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cirrus-${name}-`));
}

/** Writes `lines` (joined with \n, ending with one) to dir/name; gzips when the name ends in .gz. */
export function writeFixture(dir: string, name: string, lines: string[] | string): string {
  const text = typeof lines === 'string' ? lines : lines.join('\n') + '\n';
  const file = path.join(dir, name);
  fs.writeFileSync(file, name.endsWith('.gz') ? zlib.gzipSync(text) : text);
  return file;
}

export interface S3Fixture {
  s3: EmbeddedS3;
  client: S3Client;
  bucket: string;
  dir: string;
}

/** An embedded S3 server with one bucket, stopped (and its folder removed) after the tests. */
export async function withEmbeddedS3(after: (fn: () => Promise<void>) => void, bucket = 'cirrus-test'): Promise<S3Fixture> {
  const dir = tmpDir('s3');
  const s3 = await startEmbeddedS3({ dataDir: path.join(dir, 'objects') });
  const client = createS3Client(s3.target);
  await ensureBucket(client, bucket);
  after(async () => {
    client.destroy();
    await s3.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { s3, client, bucket, dir };
}

export { processAlive as isAlive } from '../../runtime/util/process-alive';

export type { TestContext };
