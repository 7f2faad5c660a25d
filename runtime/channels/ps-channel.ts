// The parameter server as a synchronous channel (training.channel "ps"): the step's objects are
// key-value entries of the server the workers already talk to, so a step's barrier lives in the
// parameter server and costs one round trip per poll on an open connection (no request price).
// A value is at most 1 MB (the server's limit): a larger update is refused with that reason. The
// store has no delete: a consumed object is emptied (an empty value reads as absent here), so each
// step leaves its key names behind (~20 bytes each, a few per worker and step) until the server ends.
import type { Channel } from './channel';
import type { PsConnection as PsClient } from '../ps/sharded-client';

export class PsChannel implements Channel {
  readonly kind = 'ps';
  readonly pollMs: number;

  constructor(private readonly client: PsClient, pollMs = 1) {
    this.pollMs = pollMs;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.client.kvSet(key, bytes);
  }

  async tryGet(key: string): Promise<Uint8Array | undefined> {
    const value = await this.client.kvGet(key);
    return value && value.length > 0 ? value : undefined; // emptied = deleted
  }

  async delete(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.client.kvSet(key, new Uint8Array(0))));
  }
}
