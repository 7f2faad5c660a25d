// A client of a sharded parameter server (parameterServer.shards = N > 1): one PsClient per shard,
// each request split by row (runtime/ps/sharding.ts: row r on shard r mod N) and sent to every shard
// it touches at once; the replies are put back in the caller's row order. The key-value store
// (heartbeats, the stop flag) lives on shard 0. It offers what the worker and the driver use of a
// PsClient (the `PsConnection` interface), so the same worker code runs against one server or N.
import { mergeScreenRecords } from '../aggregation/screen';
import { PsClient, type PsConnectOptions, type PsTableInfo } from './client';
import { joinShards, ShardSplit } from './sharding';
import { addTraffic, emptyTraffic, type ParameterServerStats, type PsTraffic } from './types';

/** What workers and the driver need of a parameter-server connection, one server or sharded. */
export interface PsConnection {
  readonly tables: readonly PsTableInfo[];
  readonly traffic: PsTraffic;
  readonly closed: Promise<Error | undefined>;
  readonly isOpen: boolean;
  pull(table: number, rows: Uint32Array, out?: Float32Array): Promise<Float32Array>;
  push(table: number, rows: Uint32Array, grads: Float32Array): Promise<void>;
  pullFull(table: number): Promise<Float32Array>;
  /** Runs `send` with the connection(s) corked: the requests it issues leave in one write each. */
  corked(send: () => void): void;
  stats(): Promise<ParameterServerStats>;
  kvGet(key: string): Promise<Buffer | undefined>;
  kvSet(key: string, value: Uint8Array): Promise<void>;
  onClosed(cb: (err: Error | undefined) => void): () => void;
  /** HELLO again on the open connection(s), as another worker or generation (PsClient.reidentify). */
  reidentify(workerId: number, generation: number): Promise<void>;
  abort(reason?: string): void;
  close(): Promise<void>;
}

export interface ShardAddress {
  host: string;
  port: number;
}

/** Connects to one server, or to every shard when `shards` lists more than one. */
export async function connectParameterServer(opts: PsConnectOptions & { shards?: ShardAddress[] }): Promise<PsConnection> {
  if (!opts.shards || opts.shards.length <= 1) return PsClient.connect(opts);
  return ShardedPsClient.connect(opts.shards, opts);
}

export class ShardedPsClient implements PsConnection {
  /** The whole tables' shapes (the shards' HELLO replies give each shard's part). */
  readonly tables: readonly PsTableInfo[];
  readonly closed: Promise<Error | undefined>;

  private constructor(readonly shards: PsClient[], tableRows: number[]) {
    this.tables = shards[0].tables.map((t, i) => ({ ...t, rows: tableRows[i] }));
    // Settles when the first shard connection closes. The others are left alone: a request to the
    // lost shard fails the worker's step (its invocation ends and closes them), and the driver's
    // connections to live shards must stay up while a dead one is restarted.
    this.closed = Promise.race(shards.map((c) => c.closed));
  }

  /** A sharded connection over connected shard clients (shard order), `tableRows` the whole tables' rows. */
  static over(clients: PsClient[], tableRows: number[]): ShardedPsClient {
    return new ShardedPsClient(clients, tableRows);
  }

  /** `tableRows`: each table's total rows; by default the sum of the shards' rows. */
  static async connect(addresses: ShardAddress[], opts: Omit<PsConnectOptions, 'host' | 'port'>, tableRows?: number[]): Promise<ShardedPsClient> {
    const settled = await Promise.allSettled(addresses.map((a) => PsClient.connect({ ...opts, host: a.host, port: a.port })));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failed) {
      clients.forEach((c) => c.abort('another shard could not be reached'));
      throw failed.reason;
    }
    // (A shard holds at least one row of each table: for a table with fewer rows than shards the sum overcounts.)
    const rows = tableRows ?? clients[0].tables.map((_, i) => clients.reduce((sum, c) => sum + c.tables[i].rows, 0));
    return new ShardedPsClient(clients, rows);
  }

  get isOpen(): boolean {
    return this.shards.every((c) => c.isOpen);
  }

  /** What every shard connection sent, summed. */
  get traffic(): PsTraffic {
    return this.shards.reduce((sum, c) => addTraffic(sum, c.traffic), emptyTraffic());
  }

  async pull(table: number, rows: Uint32Array, out?: Float32Array): Promise<Float32Array> {
    const width = this.width(table);
    const result = out && out.length >= rows.length * width ? out.subarray(0, rows.length * width) : new Float32Array(rows.length * width);
    const split = new ShardSplit(rows, this.shards.length);
    await Promise.all(
      this.shards.map(async (c, s) => {
        if (split.ids[s].length === 0) return;
        split.scatter(s, await c.pull(table, split.ids[s]), result, width);
      }),
    );
    return result;
  }

  async push(table: number, rows: Uint32Array, grads: Float32Array): Promise<void> {
    const width = this.width(table);
    if (grads.length !== rows.length * width) throw new RangeError(`push to table ${table}: ${grads.length} gradients for ${rows.length} rows of width ${width}`);
    const split = new ShardSplit(rows, this.shards.length);
    await Promise.all(this.shards.map((c, s) => (split.ids[s].length > 0 ? c.push(table, split.ids[s], split.gather(s, grads, width)) : undefined)));
  }

  corked(send: () => void): void {
    // Each shard's socket corked around the next: all of them stay corked while `send` runs.
    let i = 0;
    const nest = (): void => (i < this.shards.length ? this.shards[i++].corked(nest) : send());
    nest();
  }

  async pullFull(table: number): Promise<Float32Array> {
    const parts = await Promise.all(this.shards.map((c) => c.pullFull(table)));
    return joinShards(parts, this.tables[table].rows, this.width(table));
  }

  /** The shards' stats added up (rates and counts summed; uptime and window from shard 0). */
  async stats(): Promise<ParameterServerStats> {
    const all = await Promise.all(this.shards.map((c) => c.stats()));
    const sum = { ...all[0] };
    for (const s of all.slice(1)) {
      for (const key of ['updates', 'updatesPerSecond', 'rowUpdates', 'rowUpdatesPerSecond', 'pulls', 'pullsPerSecond', 'connections', 'totalConnections', 'rejectedConnections', 'errors', 'throttled', 'bytesIn', 'bytesOut', 'rssBytes'] as const) {
        sum[key] += s[key];
      }
    }
    // A push split over shards counts once per shard it reached: `updates` counts shard frames.
    if (all.some((s) => s.screen)) sum.screen = mergeScreenRecords(all.map((s) => s.screen ?? []));
    return sum;
  }

  kvGet(key: string): Promise<Buffer | undefined> {
    return this.shards[0].kvGet(key);
  }

  kvSet(key: string, value: Uint8Array): Promise<void> {
    return this.shards[0].kvSet(key, value);
  }

  onClosed(cb: (err: Error | undefined) => void): () => void {
    let called = false;
    const once = (err: Error | undefined) => {
      if (called) return;
      called = true;
      offs.forEach((off) => off());
      cb(err);
    };
    const offs = this.shards.map((c) => c.onClosed(once));
    return () => offs.forEach((off) => off());
  }

  async reidentify(workerId: number, generation: number): Promise<void> {
    await Promise.all(this.shards.map((c) => c.reidentify(workerId, generation)));
  }

  abort(reason?: string): void {
    for (const c of this.shards) c.abort(reason);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((c) => c.close()));
  }

  private width(table: number): number {
    const t = this.tables[table];
    if (!t) throw new RangeError(`unknown table ${table} (the server has ${this.tables.length})`);
    return t.width;
  }
}
