// Deploy a dataset: read the file(s) twice as streams (constant memory), cut the rows into binary
// partitions, upload them to S3, and write the manifest LAST (a prefix without one is not a dataset).
//
//   pass 1 (count):   parse and validate every row, learn labels / dimensions / column kinds, count
//                     rows (needed for the last-fraction split and the partition size), sha256 the file;
//   pass 2 (convert): featurize each row into the current partition; full partitions are uploaded
//                     while reading goes on (a few uploads in flight at most, so memory stays bounded).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AbortMultipartUploadCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DataFormatError, RowError } from './errors';
import { MANIFEST_NAME, MANIFEST_VERSION, type DatasetFormat, type DatasetManifest, type PartitionEntry } from './manifest';
import { partitionChecksum } from './partition';
import { forEachRow } from './read';
import { createReader, type FormatReader, type ReaderOptions } from './readers';
import { RatingBuilder, SampleBuilder, SparseRow } from './rows';
import { ensureBucket, headObject, joinKey, listKeys, putObjectBytes } from '../storage/s3';

export interface DeployProgressEvent {
  phase: 'count' | 'convert' | 'upload' | 'manifest';
  bytesRead: number; // bytes of the input file(s) read in this phase (compressed bytes for .gz)
  totalBytes: number;
  rows: number; // rows counted (count) or converted (convert and later)
  partitionsUploaded: number; // uploaded or reused
}

export interface DeployOptions {
  file: string;
  format: DatasetFormat;
  /** Hold out the LAST fraction of the rows as the test set (default 0 when no testFile). */
  testFraction?: number;
  /** A separate test file (a9a.t, u1.test); excludes testFraction. */
  testFile?: string;
  bucket: string;
  prefix: string;
  client: S3Client;
  hashBits?: number;
  labelColumn?: string;
  /** csv: column roles set by hand (`dataset.columns`). */
  columns?: ReaderOptions['columns'];
  /** csv: 'auto' (default) or 'none' (`dataset.scaling`). */
  scaling?: ReaderOptions['scaling'];
  /** Skip bad rows (counted, the first 100 listed in the manifest) instead of stopping at the first. */
  skipBad?: boolean;
  rowsPerPartition?: number;
  onProgress?(p: DeployProgressEvent): void;
  signal?: AbortSignal;
}

export interface DeployResult {
  manifest: DatasetManifest;
  manifestKey: string;
  seconds: number;
  uploadedBytes: number;
  reusedPartitions: number;
}

export const MAX_SKIPPED_LISTED = 100;
const UPLOADS_IN_FLIGHT = 3;
/** The buffers of encoded partitions (uploading, or free for the next partition) may hold at most this
 *  many bytes (one always may): a partition grows with the input up to defaultRowsPerPartition's cap, and
 *  a count alone would let the converter's memory grow with it. Three partitions of a 100 MB Criteo file
 *  (~6.3 MB each) fit; two at the cap (~12.6 MB) do not. */
const UPLOAD_BYTES_IN_FLIGHT = 20 * 1024 * 1024;
/** A partition buffer is made this much larger than the partition that needs it, so that the next ones
 *  (a few more features per row) still fit in it. */
const BUFFER_SLACK = 1 / 32;
const PROGRESS_INTERVAL_MS = 100;
/** lib-storage switches to multipart above this. Above the largest Criteo partition at the row cap
 *  (~12.6 MB), so such a partition is one PutObject, not four requests: every request leaves the SDK's
 *  short-lived objects (~300 KB) to the garbage collector, and their number grew the converter's heap. */
const PART_SIZE = 16 * 1024 * 1024;

/** Default partition size: ~16 partitions (so several workers get work), 1,000 to 50,000 rows each. */
export function defaultRowsPerPartition(trainRows: number): number {
  return Math.min(50_000, Math.max(1_000, Math.ceil(trainRows / 16)));
}

export function partitionKey(prefix: string, split: 'train' | 'test', n: number): string {
  return joinKey(prefix, split, `part-${String(n).padStart(5, '0')}.bin`);
}

/** Calls onProgress at most every 100 ms, except on phase changes and when forced. */
class ProgressReporter {
  private last = 0;
  private lastPhase = '';
  constructor(private readonly onProgress?: (p: DeployProgressEvent) => void) {}
  report(p: DeployProgressEvent, force = false): void {
    if (!this.onProgress) return;
    const now = Date.now();
    if (!force && p.phase === this.lastPhase && now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    this.lastPhase = p.phase;
    this.onProgress({ ...p });
  }
}

/** Uploads partitions with a bounded number in flight; skips those already there with the same checksum.
 *  The partitions are encoded into buffers it lends (reserve) and takes back once their upload is done,
 *  so a deploy allocates a few buffers at its start and then reuses them: its memory does not depend on
 *  when the garbage collector runs, and stays within UPLOAD_BYTES_IN_FLIGHT plus the partition being built. */
class PartitionUploader {
  uploadedBytes = 0;
  reused = 0;
  done = 0;
  private inFlight = new Set<Promise<void>>();
  private free: Buffer[] = [];
  /** Bytes of every buffer lent or free. */
  private bufferBytes = 0;
  private largestMade = 0;
  private uploads = new Set<Upload>();
  private failure: unknown;

  /** `existing`: the sizes of the objects under the dataset's prefix before the deploy (listed once, so
   *  that only a partition an object of its size is already there for is checked with a HEAD). */
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly existing: ReadonlyMap<string, number>,
    private readonly signal?: AbortSignal,
  ) {}

  /** A buffer of at least `bytes` to encode the next partition into; waits first while UPLOADS_IN_FLIGHT
   *  are running, or while no free buffer fits and a new one would pass UPLOAD_BYTES_IN_FLIGHT
   *  (back-pressure on the reader). Give it back with upload(). */
  async reserve(bytes: number): Promise<Buffer> {
    for (;;) {
      this.throwIfFailed();
      if (this.inFlight.size < UPLOADS_IN_FLIGHT) {
        const fits = this.free.filter((b) => b.length >= bytes).sort((a, b) => a.length - b.length)[0];
        if (fits) {
          this.free.splice(this.free.indexOf(fits), 1);
          return fits;
        }
        // None fits: the free ones are too small for partitions this size, so they go. A new buffer is as
        // large as the largest made, so that a smaller partition (a split's last) adds no smaller one.
        for (const b of this.free) this.bufferBytes -= b.length;
        this.free = [];
        const size = Math.max(Math.ceil(bytes * (1 + BUFFER_SLACK)), this.largestMade);
        if (this.inFlight.size === 0 || this.bufferBytes + size <= UPLOAD_BYTES_IN_FLIGHT) {
          this.bufferBytes += size;
          this.largestMade = Math.max(this.largestMade, size);
          return Buffer.allocUnsafeSlow(size);
        }
      }
      await Promise.race(this.inFlight);
    }
  }

  /** Uploads `body` (the start of `buffer`, from reserve) without waiting; the buffer is free again
   *  once the upload is done. After a failed one it is dropped: a request may still be reading it. */
  upload(key: string, body: Buffer, buffer: Buffer): void {
    const task = this.send(key, body).then(
      () => {
        this.free.push(buffer);
      },
      (err) => {
        this.bufferBytes -= buffer.length;
        this.failure ??= err;
      },
    );
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  /** Aborts the uploads in flight (multipart ones are aborted on S3 too) and waits for them to settle. */
  async abortAll(): Promise<void> {
    await Promise.all([...this.uploads].map((u) => u.abort().catch(() => {})));
    await Promise.allSettled([...this.inFlight]);
  }

  /** lib-storage's done() rejects as soon as abort() is called, but sends its AbortMultipartUpload only
   *  later, in the background, once the part requests in flight have finished. Send it here, so that
   *  when a deploy rejects its unfinished multipart upload is gone from S3 (no orphaned parts). */
  private async abortMultipart(upload: Upload, key: string): Promise<void> {
    const uploadId = (upload as unknown as { uploadId?: string }).uploadId;
    if (!uploadId) return;
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => {
      // Already aborted by lib-storage itself: nothing left to clean up.
    });
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async send(key: string, body: Buffer): Promise<void> {
    const crc = String(partitionChecksum(body));
    const head = this.existing.get(key) === body.length ? await headObject(this.client, this.bucket, key) : undefined;
    if (head && head.Metadata?.crc32 === crc && head.ContentLength === body.length) {
      this.reused++;
      this.done++;
      return;
    }
    this.signal?.throwIfAborted();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/octet-stream', Metadata: { crc32: crc } },
      partSize: PART_SIZE,
      queueSize: 2,
    });
    this.uploads.add(upload);
    try {
      await upload.done();
    } catch (err) {
      await this.abortMultipart(upload, key);
      throw err;
    } finally {
      this.uploads.delete(upload);
    }
    this.uploadedBytes += body.length;
    this.done++;
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${file}: no such file`);
    throw err;
  }
}

function checkOptions(opts: DeployOptions): void {
  const { testFraction, rowsPerPartition } = opts;
  if (testFraction !== undefined && (!(testFraction >= 0) || testFraction >= 1)) {
    throw new Error(`testFraction must be at least 0 and below 1 (got ${testFraction})`);
  }
  if (testFraction && opts.testFile) throw new Error('give either testFraction or testFile, not both');
  if (rowsPerPartition !== undefined && (!Number.isInteger(rowsPerPartition) || rowsPerPartition < 1)) {
    throw new Error(`rowsPerPartition must be a positive integer (got ${rowsPerPartition})`);
  }
}

export async function deployDataset(opts: DeployOptions): Promise<DeployResult> {
  const started = performance.now();
  checkOptions(opts);
  const { client, bucket, prefix, signal } = opts;
  signal?.throwIfAborted();
  const files = opts.testFile ? [opts.file, opts.testFile] : [opts.file];
  const sizes = await Promise.all(files.map(fileSize));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const reader = createReader(opts.format, { hashBits: opts.hashBits, labelColumn: opts.labelColumn, columns: opts.columns, scaling: opts.scaling });
  const progress = new ProgressReporter(opts.onProgress);
  const skipped: string[] = [];
  let skippedRows = 0;

  const onSkip = (file: string, line: number, reason: string) => {
    skippedRows++;
    if (skipped.length < MAX_SKIPPED_LISTED) skipped.push(`${path.basename(file)}:${line}: ${reason}`);
  };

  // Pass 1: count, validate, learn the schema, checksum the source.
  let bytesRead = 0;
  let counted = 0;
  const rowsPerFile: number[] = [];
  const sha256: string[] = [];
  for (let f = 0; f < files.length; f++) {
    const hash = createHash('sha256');
    const onRaw = (chunk: Buffer) => {
      hash.update(chunk);
      bytesRead += chunk.length;
    };
    // Bad rows are listed in this pass only: the convert pass meets the same ones again.
    const rows = await forEachRow(reader, files[f], f === 0 ? 'train' : 'test', { skipBad: opts.skipBad, onSkip, onRaw, signal }, () => {
      reader.learn();
      counted++;
      // Reported from the rows, not the chunks (a chunk is read before its rows are parsed: "0 rows so far").
      if ((counted & 1023) === 0) progress.report({ phase: 'count', bytesRead, totalBytes, rows: counted, partitionsUploaded: 0 });
    });
    if (rows === 0) {
      throw new DataFormatError(files[f], undefined, sizes[f] === 0 ? 'the file is empty' : skippedRows > 0 ? `no valid rows (${skippedRows} bad rows skipped)` : 'the file holds no rows');
    }
    rowsPerFile.push(rows);
    sha256.push(hash.digest('hex'));
  }
  const testRows = opts.testFile ? rowsPerFile[1] : Math.floor(rowsPerFile[0] * (opts.testFraction ?? 0) + 1e-9);
  const trainRows = opts.testFile ? rowsPerFile[0] : rowsPerFile[0] - testRows;
  if (trainRows === 0) throw new Error(`${opts.file}: no training rows left after holding out ${testRows} test rows`);
  try {
    reader.finishLearning(trainRows);
  } catch (err) {
    if (err instanceof RowError) throw new DataFormatError(files[0], undefined, err.reason);
    throw err;
  }
  const rowsPerPartition = opts.rowsPerPartition ?? defaultRowsPerPartition(trainRows);

  // Pass 2: convert and upload. The old manifest goes first, so an interrupted redeploy leaves no
  // manifest describing partitions that are being replaced.
  await ensureBucket(client, bucket);
  const manifestKey = joinKey(prefix, MANIFEST_NAME);
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifestKey }));

  const existing = new Map<string, number>();
  for await (const { key, size } of listKeys(client, bucket, prefix && `${prefix}/`)) existing.set(key, size);
  const uploader = new PartitionUploader(client, bucket, existing, signal);
  const entries: { train: PartitionEntry[]; test: PartitionEntry[] } = { train: [], test: [] };
  const sampleBuilder = new SampleBuilder(rowsPerPartition);
  const ratingBuilder = new RatingBuilder();
  const sparse = new SparseRow();
  const builder = reader.kind === 'samples' ? sampleBuilder : ratingBuilder;
  let converted = 0;
  bytesRead = 0;
  const report = (phase: DeployProgressEvent['phase'], force = false) =>
    progress.report({ phase, bytesRead, totalBytes, rows: converted, partitionsUploaded: uploader.done }, force);

  async function flush(split: 'train' | 'test'): Promise<void> {
    if (builder.rows === 0) return;
    const rows = builder.rows;
    const nnz = builder.nnz;
    const buffer = await uploader.reserve(builder.encodedBytes);
    const body = builder.take(buffer);
    const key = partitionKey(prefix, split, entries[split].length);
    entries[split].push({ key, rows, nnz, bytes: body.length, crc32: partitionChecksum(body) });
    uploader.upload(key, body, buffer);
    report('convert');
  }

  const onAbort = () => void uploader.abortAll();
  signal?.addEventListener('abort', onAbort);
  try {
    let rowIndex = 0; // rows of the first file so far: its rows from trainRows on are the held-out tail
    const addRow = (split: 'train' | 'test'): Promise<void> | void => {
      const observe = split === 'train'; // statistics describe the training rows only
      if (reader.kind === 'samples') {
        if (reader.toSampleInto) reader.toSampleInto(sampleBuilder, observe);
        else sampleBuilder.add(reader.toSample(sparse, observe), sparse);
      }
      else {
        const r = reader.toRating(observe);
        ratingBuilder.add(r.user, r.item, r.rating);
      }
      converted++;
      if ((converted & 1023) === 0) report('convert'); // from the rows, as in the count pass
      if (builder.rows >= rowsPerPartition) return flush(split);
    };
    for (let f = 0; f < files.length; f++) {
      const onRaw = (chunk: Buffer) => {
        bytesRead += chunk.length;
      };
      await forEachRow(reader, files[f], f === 0 ? 'train' : 'test', { skipBad: opts.skipBad, onRaw, signal }, () => {
        if (f === 1) return addRow('test');
        const index = rowIndex++;
        if (index < trainRows) return addRow('train');
        // The first held-out row: close the last training partition before it.
        if (index === trainRows) return flush('train').then(() => addRow('test'));
        return addRow('test');
      });
      await flush(f === 0 && rowIndex <= trainRows ? 'train' : 'test');
    }

    report('upload', true);
    await uploader.drain();
    signal?.throwIfAborted();
  } catch (err) {
    await uploader.abortAll();
    throw signal?.aborted ? signal.reason ?? err : err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }

  report('manifest', true);
  const manifest = buildManifest(opts, reader, sizes[0], sha256, entries, trainRows, testRows, skippedRows, skipped);
  signal?.throwIfAborted();
  await putObjectBytes(client, bucket, manifestKey, JSON.stringify(manifest, null, 1));
  return {
    manifest,
    manifestKey,
    seconds: (performance.now() - started) / 1000,
    uploadedBytes: uploader.uploadedBytes,
    reusedPartitions: uploader.reused,
  };
}

function buildManifest(
  opts: DeployOptions,
  reader: FormatReader,
  bytes: number,
  sha256: string[],
  partitions: { train: PartitionEntry[]; test: PartitionEntry[] },
  trainRows: number,
  testRows: number,
  skippedRows: number,
  skipped: string[],
): DatasetManifest {
  const all = [...partitions.train, ...partitions.test];
  return {
    manifestVersion: MANIFEST_VERSION,
    createdAt: new Date().toISOString(),
    source: {
      file: path.basename(opts.file),
      bytes,
      sha256: sha256[0],
      ...(opts.testFile ? { testFile: path.basename(opts.testFile), testSha256: sha256[1] } : {}),
    },
    schema: reader.schema(),
    split: opts.testFile ? { method: 'test-file' } : { method: 'last-fraction', testFraction: opts.testFraction ?? 0 },
    partitions,
    counts: { rows: trainRows + testRows, trainRows, testRows, skippedRows, bytes: all.reduce((a, p) => a + p.bytes, 0) },
    skipped,
    featureStats: reader.featureStats(),
    ...(reader.columnReport ? { columns: reader.columnReport() } : {}),
  };
}
