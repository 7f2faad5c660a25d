// s3rver streams an object's file in fs.createReadStream's default 64 KiB chunks, so a partition of a
// few MB is dozens of file reads (each a trip through libuv's thread pool) and socket writes, each an
// event-loop turn of the server. On a loaded machine every turn waits for a core, and the worker's first
// partition read is on its cold start's path to the first gradient (docs/benchmarks.md, coldStart).
// Here object reads use 1 MiB chunks: the same bytes, headers and range handling as s3rver's own
// FilesystemStore.getObject (s3rver 3.7, copied below, range quirks included), in a few turns.
import * as fs from 'node:fs';

/** Bytes per file read of an object being served (s3rver: 64 KiB). */
export const OBJECT_READ_CHUNK_BYTES = 2 ** 20;

interface FilesystemStoreLike {
  getResourcePath(bucket: string, key: string, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string | number>>;
}

type S3ObjectClass = new (bucket: string, key: string, content: fs.ReadStream | null, metadata: Record<string, string | number>) => { range?: { start: number; end: number } };

export function readObjectsInLargeChunks(FilesystemStore: { prototype: FilesystemStoreLike & { getObject: unknown } }, S3Object: S3ObjectClass): void {
  FilesystemStore.prototype.getObject = async function (this: FilesystemStoreLike, bucket: string, key: string, options?: { start?: number; end?: number }) {
    try {
      const metadata = await this.getMetadata(bucket, key);
      const lastByte = Math.max(0, Number(metadata['content-length']) - 1);
      const range = { start: options?.start || 0, end: Math.min(options?.end || Infinity, lastByte) };
      const ranged = options !== undefined && (options.start !== undefined || Boolean(options.end));
      if (range.start < 0 || Math.min(range.end, lastByte) < range.start) {
        // the range is not satisfiable
        const object = new S3Object(bucket, key, null, metadata);
        if (ranged) object.range = range;
        return object;
      }
      const content = await new Promise<fs.ReadStream>((resolve, reject) => {
        const stream = fs
          .createReadStream(this.getResourcePath(bucket, key, 'object'), { ...range, highWaterMark: OBJECT_READ_CHUNK_BYTES })
          .on('error', reject)
          .on('open', () => resolve(stream));
      });
      const object = new S3Object(bucket, key, content, metadata);
      if (ranged) object.range = range;
      return object;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };
}
