// The Redis channel: one key per put, with an expiry so that a run that dies leaves nothing behind
// for long; polled with GET (cheap: one round trip on an open connection, no request price).
import type { Channel } from './channel';
import type { RedisConnection } from '../redis/client';
import { redisECPUs } from '../cost/cost-model';

export interface RedisChannelOptions {
  client: RedisConnection;
  /** Between two polls of a missing key (default 2 ms). */
  pollMs?: number;
  /** Keys expire after this long even if nobody deletes them (default 1 h). */
  ttlMs?: number;
}

export class RedisChannel implements Channel {
  readonly kind = 'redis';
  /** Requests made and their ElastiCache Serverless ECPUs (runtime/cost: CostMeter.addChannelRequests). */
  readonly requests = { commands: 0, ecpus: 0 };
  readonly pollMs: number;
  private readonly ttlMs: number;

  constructor(private readonly options: RedisChannelOptions) {
    this.pollMs = options.pollMs ?? 2;
    this.ttlMs = options.ttlMs ?? 3_600_000;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.count(bytes.length);
    await this.options.client.set(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), { expiration: { type: 'PX', value: this.ttlMs } });
  }

  async tryGet(key: string): Promise<Uint8Array | undefined> {
    const value = (await this.options.client.get(key)) as unknown as Buffer | null;
    this.count(value?.length ?? 0);
    return value ?? undefined;
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    this.count(0);
    await this.options.client.del(keys);
  }

  private count(bytes: number): void {
    this.requests.commands++;
    this.requests.ecpus += redisECPUs(bytes);
  }
}
