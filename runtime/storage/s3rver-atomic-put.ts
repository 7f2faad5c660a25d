// s3rver writes a PUT's body straight into the object's file, and reports the PUT done when its own
// hashing stream finishes, before the file is flushed. A GET during or just after a PUT then sees a
// partial object (and may even store an MD5 of it). Real S3 PUTs are atomic: an object is absent
// until it is complete. The synchronous channels poll for objects other workers are writing, so
// they hit this at once. Here a PUT is written to a temporary file and renamed into place once it
// is on disk; its metadata goes first, and without the object file the key does not exist yet.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

interface StoredObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, string>;
}

interface FilesystemStoreLike {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}

let next = 0;

export function makePutsAtomic(FilesystemStore: { prototype: FilesystemStoreLike }): void {
  FilesystemStore.prototype.putObject = async function (this: FilesystemStoreLike, object: StoredObject) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
    // Not named like an s3rver file, so listings never show it.
    const temp = `${objectPath}.${process.pid}-${next++}.partial`;
    const md5 = crypto.createHash('md5');
    let size = 0;
    try {
      if (Buffer.isBuffer(object.content)) {
        md5.update(object.content);
        size = object.content.length;
        await fs.promises.writeFile(temp, object.content);
      } else {
        const count = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        await pipeline(object.content, count, fs.createWriteStream(temp)); // resolves once the file is closed
      }
      const digest = md5.digest('hex');
      await this.putMetadata(object.bucket, object.key, object.metadata, digest);
      await fs.promises.rename(temp, objectPath);
      return { size, md5: digest };
    } catch (error) {
      await fs.promises.rm(temp, { force: true });
      throw error;
    }
  };
}
