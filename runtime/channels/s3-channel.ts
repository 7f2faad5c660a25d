// The S3 channel: one object per put, polled with GET until it exists (a missing key is a 404).
// Every poll is a billed GET and counts against the prefix's request rate, as on AWS.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Channel } from './channel';

export interface S3ChannelOptions {
  client: S3Client;
  bucket: string;
  /** Between two polls of a missing object (default 20 ms). */
  pollMs?: number;
}

export class S3Channel implements Channel {
  readonly kind = 's3';
  readonly pollMs: number;
  /** Requests made, for the cost meter (PUT and GET are priced differently). */
  readonly requests = { puts: 0, gets: 0 };

  constructor(private readonly options: S3ChannelOptions) {
    this.pollMs = options.pollMs ?? 20;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.requests.puts++;
    await this.options.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: bytes, ContentLength: bytes.length }));
  }

  async tryGet(key: string): Promise<Uint8Array | undefined> {
    this.requests.gets++;
    try {
      const output = await this.options.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return await output.Body!.transformToByteArray();
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw error;
    }
  }

  async delete(keys: string[]): Promise<void> {
    // One DELETE each (free on S3): DeleteObjects needs a checksum header not every S3-compatible server takes.
    await Promise.all(keys.map((key) => this.options.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }))));
  }
}
