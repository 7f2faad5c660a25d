// A sharded parameter server (parameterServer.shards = N > 1): N server processes, each an ordinary
// ParameterServerSupervisor over its share of the rows (runtime/ps/sharding.ts) with its own
// checkpoints (runs/<runId>/shard-<s>/checkpoints/...). A shard that dies is restarted from its own
// last checkpoint by its own supervisor while the others keep serving. After each round in which every
// shard checkpointed, the run's pointer names that round's set (checkpoint.ts), which is what a resume
// after a driver crash loads, every shard from its own snapshot. A shard's older snapshots are deleted
// only after that switch, up to the one the run's pointer now names: a shard that could not checkpoint
// for several rounds while the others did leaves the last complete set whole for a resume. This class gives the train
// stage and the worker slots the same surface as one supervisor: a driver connection to all shards,
// one crash epoch, one `ready`.
import { ShardedPsClient, type PsConnection } from '../ps/sharded-client';
import { shardTables } from '../ps/sharding';
import type { PsClientTls } from '../ps/transport';
import type { ParameterServerConfig } from '../ps/types';
import { checkpointShards, pruneShardSnapshots, writeShardedPointer, type CheckpointPointer } from './checkpoint';
import type { Emit, Log } from '../recording/events';
import { ParameterServerSupervisor } from './ps-supervisor';

type Deps = Parameters<typeof ParameterServerSupervisor.start>[1];

/** What the train stage and the worker slots use of a supervisor (one server or sharded). */
export interface Supervisor {
  readonly epoch: number;
  readonly restartFailure: Error | undefined;
  readonly startedAt: number;
  /** Shard 0's port (the only one without shards). */
  readonly port: number;
  /** Every shard's port, in shard order (one entry without shards). */
  readonly ports: number[];
  /** The address workers dial when the server is not on the driver's machine (EC2); else undefined. */
  readonly host: string | undefined;
  /** What clients pin beside the token (TLS: the run's certificate, the same for every shard). */
  readonly pin: { tls?: PsClientTls };
  readonly client: PsConnection;
  readonly ready: Promise<void>;
  stopRestarting(): void;
  /** Continue a run whose driver died from `pointer`'s checkpoint: `snapshots` in shard order (one without shards). */
  resumeFrom(pointer: CheckpointPointer, snapshots: Uint8Array[]): Promise<void>;
  killAt(atMs: number): void;
  checkpoint(state: { trainSeconds: number; updates: number; slots: CheckpointPointer['slots'] }): Promise<boolean>;
  crashedSince(epoch: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** One supervisor, or a sharded one over `shards` servers. */
export async function startSupervisor(psConfig: ParameterServerConfig, deps: Deps, shards: number): Promise<Supervisor> {
  if (shards <= 1) {
    return ParameterServerSupervisor.start(psConfig, deps);
  }
  return ShardedSupervisor.start(psConfig, deps, shards);
}

export class ShardedSupervisor implements Supervisor {
  private connection: { clients: PsConnection[]; sharded: ShardedPsClient } | undefined;

  private constructor(
    private readonly shards: ParameterServerSupervisor[],
    private readonly tableRows: number[],
    private readonly deps: Deps,
  ) {}

  static async start(psConfig: ParameterServerConfig, deps: Deps, shards: number): Promise<ShardedSupervisor> {
    const started = await Promise.allSettled(
      Array.from({ length: shards }, (_, s) =>
        ParameterServerSupervisor.start(
          // Shard 0 keeps the configured port (the one an "aws" network proxy or a firewall rule names); the others take free ones.
          { ...psConfig, tables: shardTables(psConfig.tables, s, shards), port: s === 0 ? psConfig.port : 0 },
          { ...deps, runId: shardRunId(deps.runId, s), keepOlderSnapshots: true, emit: withShard(deps.emit, s), log: (level, message) => deps.log(level, `shard ${s}: ${message}`) },
        ),
      ),
    );
    const ok = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(ok.map((s) => s.stop()));
      throw failed.reason;
    }
    return new ShardedSupervisor(ok, psConfig.tables.map((t) => t.rows), deps);
  }

  get epoch(): number {
    return this.shards.reduce((sum, s) => sum + s.epoch, 0);
  }

  get restartFailure(): Error | undefined {
    return this.shards.find((s) => s.restartFailure)?.restartFailure;
  }

  get startedAt(): number {
    return Math.min(...this.shards.map((s) => s.startedAt));
  }

  get port(): number {
    return this.shards[0].port;
  }

  get host(): string | undefined {
    return undefined; // shards run on the local backend only
  }

  get ports(): number[] {
    return this.shards.map((s) => s.port);
  }

  get pin(): { tls?: PsClientTls } {
    return this.shards[0].pin;
  }

  /** The driver's connection to every shard; a new one after a shard was replaced. */
  get client(): PsConnection {
    const clients = this.shards.map((s) => s.client);
    if (!this.connection || clients.some((c, i) => c !== this.connection!.clients[i])) {
      this.connection = { clients, sharded: ShardedPsClient.over(clients, this.tableRows) };
    }
    return this.connection.sharded;
  }

  get ready(): Promise<void> {
    return Promise.all(this.shards.map((s) => s.ready)).then(() => undefined);
  }

  stopRestarting(): void {
    for (const s of this.shards) s.stopRestarting();
  }

  async resumeFrom(pointer: CheckpointPointer, snapshots: Uint8Array[]): Promise<void> {
    const shards = pointer.shards;
    if (!shards || shards.length !== this.shards.length || snapshots.length !== this.shards.length) {
      throw new Error(`the run's checkpoint ${pointer.seq} holds ${checkpointShards(pointer)} shard(s); this run has ${this.shards.length} (parameterServer.shards)`);
    }
    await Promise.all(this.shards.map((s, i) => s.resumeFrom(shards[i], [snapshots[i]])));
  }

  /** Fault injection: the last shard dies (shard 0, with the key-value store, keeps serving). */
  killAt(atMs: number): void {
    this.shards[this.shards.length - 1].killAt(atMs);
  }

  /** Every shard checkpoints (each under its own prefix); when all were written, the run's pointer names
   *  this round's set. True when all that was written (else the previous set stays the run's). */
  async checkpoint(state: { trainSeconds: number; updates: number; slots: CheckpointPointer['slots'] }): Promise<boolean> {
    const written = await Promise.all(this.shards.map((s) => s.checkpoint(state)));
    if (!written.every(Boolean)) return false;
    const round = this.shards.map((s) => s.lastPointer!);
    try {
      await writeShardedPointer(this.deps.s3, this.deps.bucket, this.deps.runId, round);
    } catch (error) {
      this.deps.log('warn', `the run's checkpoint pointer could not be switched (${(error as Error).message}); the previous set stays`);
      return false;
    }
    // The run's pointer names this round now, each shard's latest snapshot: a resume reads these, a
    // shard's restart its own latest. Every other snapshot of the shard can go.
    await Promise.all(round.map((p, s) => pruneShardSnapshots(this.deps.s3, this.deps.bucket, shardRunId(this.deps.runId, s), p.seq)));
    return true;
  }

  /** Whether any shard crashed since `epoch` (the sum of the shards' epochs then). */
  async crashedSince(epoch: number): Promise<boolean> {
    if (this.epoch !== epoch) return true;
    const crashed = await Promise.all(this.shards.map((s) => s.crashedSince(s.epoch)));
    return crashed.some(Boolean);
  }

  async stop(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.stop()));
  }
}

/** Where shard `s` keeps its checkpoints: runs/<runId>/shard-<s>/checkpoints/. */
const shardRunId = (runId: string, s: number) => `${runId}/shard-${s}`;

/** The shard's checkpoint and restart events carry its number. */
function withShard(emit: Emit, shard: number): Emit {
  return (event) => emit(event.type === 'checkpoint' || event.type === 'ps-restarted' ? { ...event, shard } : event);
}
