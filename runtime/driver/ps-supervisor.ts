// The parameter server's life during a train stage: start it, hold the driver's own connection to it,
// checkpoint it to S3, and when it dies, start a new one (on the same port when it can) from the last
// checkpoint. Workers whose connection broke fail and are relaunched against the new one.
//
// Coordination is by events, never by timers: one restart runs at a time (a crash during a restart is
// taken up by the same restart), a failure's cause is decided by asking the server or waiting for its
// exit, and once the run is stopping nothing is restarted.
import type { S3Client } from '@aws-sdk/client-s3';
import { PsClient } from '../ps/client';
import { startParameterServer, type ParameterServerProcess } from '../ps/launch';
import { certificateFingerprint, type PsClientTls } from '../ps/transport';
import { ChildServiceStartError } from '../util/child-service';
import type { ParameterServerConfig } from '../ps/types';
import { checkpointShards, readCheckpoint, writeCheckpoint, type CheckpointPointer } from './checkpoint';
import type { Emit, Log } from '../recording/events';

const MAX_FAILED_STARTS = 3;

interface Crash {
  why: string;
  at: number; // epoch ms
}

export class ParameterServerSupervisor {
  /** Bumped at every crash: failures of that moment are not the workers' fault. */
  epoch = 0;
  restartFailure: Error | undefined;
  private lastCheckpoint: { pointer: CheckpointPointer; takenAt: number } | undefined;
  private nextSeq = 0;
  /** No restart from now on (the run is ending: a stop request, its normal end, or stop()). */
  private stopping = false;
  private finished = false;
  private killTimer: NodeJS.Timeout | undefined;
  /** The one restart in progress, if any; a crash meanwhile is queued in `pendingCrash` for it. */
  private restarting: Promise<void> | undefined;
  private pendingCrash: Crash | undefined;
  private readonly exited = new WeakSet<ParameterServerProcess>();
  private crashListeners: Array<() => void> = [];
  /** New servers in a row that failed before they were ready (a cap, so a broken setup fails the run). */
  private failedStarts = 0;
  readonly startedAt = Date.now();

  private constructor(
    private server: ParameterServerProcess,
    private driverClient: PsClient,
    private readonly psConfig: ParameterServerConfig,
    private readonly deps: {
      s3: S3Client;
      bucket: string;
      runId: string;
      emit: Emit;
      log: Log;
      trainStartedAt: number;
      /** Starts a server (and its replacements); default a child process on this machine. The aws
       *  backend's starts an EC2 instance (runtime/backends/aws/ps-instance.ts). */
      startServer?: (config: ParameterServerConfig) => Promise<ParameterServerProcess>;
      /** A shard of a sharded server: its old snapshots are deleted by ShardedSupervisor, once the run's pointer names a newer one. */
      keepOlderSnapshots?: boolean;
    },
  ) {
    this.watch(server);
    this.watchClient(driverClient, server);
  }

  static async start(psConfig: ParameterServerConfig, deps: ParameterServerSupervisor['deps']): Promise<ParameterServerSupervisor> {
    const server = await (deps.startServer ?? startParameterServer)(psConfig);
    try {
      const client = await connect(server, psConfig);
      return new ParameterServerSupervisor(server, client, psConfig, deps);
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  get port(): number {
    return this.server.port;
  }

  /** What clients pin beside the token (the certificate's fingerprint with TLS; the same after a restart). */
  get pin(): { tls?: PsClientTls } {
    return pinOf(this.psConfig);
  }

  /** The address workers dial when the server is not on the driver's machine (EC2); else undefined. */
  get host(): string | undefined {
    return this.server.connectHost;
  }

  get ports(): number[] {
    return [this.server.port];
  }

  /** The driver's connection (valid until the next crash: read it again after `ready`). */
  get client(): PsClient {
    return this.driverClient;
  }

  /** Settles when no restart is in progress (a crash replaces the process and the driver's client). */
  get ready(): Promise<void> {
    return this.restarting ?? Promise.resolve();
  }

  /** The run is ending: a crash from now on is not restarted (the driver keeps the last evaluated model). */
  stopRestarting(): void {
    this.stopping = true;
  }

  /** Continue a run whose driver died: load its last checkpoint (`snapshots`: the one snapshot the pointer names). */
  async resumeFrom(pointer: CheckpointPointer, snapshots: Uint8Array[]): Promise<void> {
    if (checkpointShards(pointer) !== 1 || snapshots.length !== 1) {
      throw new Error(`the run's checkpoint ${pointer.seq} holds ${checkpointShards(pointer)} shards; this run has one parameter server (parameterServer.shards)`);
    }
    await this.driverClient.restore(snapshots[0]);
    this.lastCheckpoint = { pointer, takenAt: Date.now() };
    this.nextSeq = pointer.seq + 1;
  }

  /** Fault injection: the parameter server dies abruptly at `atMs` (epoch ms), as a crashed host process would. */
  killAt(atMs: number): void {
    this.killTimer = setTimeout(() => {
      this.deps.log('warn', 'fault injection: killing the parameter server');
      this.server.kill();
    }, Math.max(0, atMs - Date.now()));
  }

  /** The last checkpoint written or resumed from (a sharded run's pointer lists its shards'). */
  get lastPointer(): CheckpointPointer | undefined {
    return this.lastCheckpoint?.pointer;
  }

  /** Snapshot first, then upload: the checkpoint is the state at `takenAt`, whatever lands meanwhile.
   *  Returns whether it was written (the previous checkpoint stays when it was not). */
  async checkpoint(state: { trainSeconds: number; updates: number; slots: CheckpointPointer['slots'] }): Promise<boolean> {
    const takenAt = Date.now();
    const snapshot = await this.driverClient.snapshot();
    try {
      const pointer = await writeCheckpoint(this.deps.s3, this.deps.bucket, this.deps.runId, this.nextSeq, snapshot, state, { keepOlder: this.deps.keepOlderSnapshots });
      this.lastCheckpoint = { pointer, takenAt };
      this.deps.emit({ type: 'checkpoint', seq: pointer.seq, key: pointer.key, bytes: pointer.bytes, seconds: (Date.now() - takenAt) / 1000, updates: state.updates });
      this.nextSeq++;
      return true;
    } catch (error) {
      this.deps.log('warn', `checkpoint ${this.nextSeq} could not be written (${(error as Error).message}); the previous one stays`);
      return false;
    }
  }

  /**
   * Whether the parameter server crashed since `epoch` (the cause of a failure seen then). A failure
   * can show before the server's exit does (a broken socket): the server is asked, and when it does not
   * answer, the answer is its exit (a broken driver connection to a live server ends it too, see watchClient).
   */
  async crashedSince(epoch: number): Promise<boolean> {
    if (this.epoch !== epoch) return true;
    try {
      await this.driverClient.stats();
    } catch {
      if (this.epoch === epoch && !this.finished) await new Promise<void>((resolve) => this.crashListeners.push(resolve));
    }
    return this.epoch !== epoch || this.finished; // (after stop(), failures are the shutdown's)
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.finished = true;
    this.notifyCrashListeners();
    clearTimeout(this.killTimer);
    await this.restarting;
    await this.driverClient.close().catch(() => undefined);
    await this.server.stop();
  }

  private watch(server: ParameterServerProcess): void {
    server.onExit((code, signal) => {
      this.exited.add(server);
      if (server !== this.server || this.finished) return;
      this.epoch++; // (before the listeners run: they read it)
      const crash = { why: `exited (code ${code}, signal ${signal})`, at: Date.now() };
      if (this.stopping) {
        this.deps.log('warn', `parameter server ${crash.why} while the run was stopping: not restarted`);
      } else {
        this.pendingCrash = crash;
        this.restarting ??= this.restartLoop();
      }
      this.notifyCrashListeners();
    });
  }

  private notifyCrashListeners(): void {
    const listeners = this.crashListeners;
    this.crashListeners = [];
    for (const resolve of listeners) resolve();
  }

  /** The driver cannot work without its connection: if it breaks while the server lives, the server is
   *  replaced like a crashed one (its exit then drives the restart). */
  private watchClient(client: PsClient, server: ParameterServerProcess): void {
    client.onClosed((error) => {
      if (!error || this.finished || client !== this.driverClient || server !== this.server || this.exited.has(server)) return;
      this.deps.log('warn', `the driver's connection to the parameter server broke (${error.message}); replacing the server`);
      server.kill();
    });
  }

  /** Replaces the server until no crash is pending. No await between the last check and clearing
   *  `restarting`, so a crash either lands in this loop or starts the next one. */
  private async restartLoop(): Promise<void> {
    try {
      while (this.pendingCrash && !this.stopping) {
        const crash = this.pendingCrash;
        this.pendingCrash = undefined;
        await this.replace(crash);
      }
    } catch (error) {
      this.restartFailure = new Error(`the parameter server crashed and could not be restarted: ${(error as Error).message}`);
    } finally {
      this.restarting = undefined;
    }
  }

  private async replace(crash: Crash): Promise<void> {
    const from = this.lastCheckpoint;
    this.deps.log('warn', `parameter server ${crash.why}; restarting it${from ? ` from checkpoint ${from.pointer.seq}` : ' with fresh tables (no checkpoint yet)'}`);
    this.driverClient.abort('the parameter server died');
    const snapshot = from && (await readCheckpoint(this.deps.s3, this.deps.bucket, from.pointer));
    let server: ParameterServerProcess;
    try {
      server = await (this.deps.startServer ?? startParameterServer)({ ...this.psConfig, port: this.server.port });
    } catch (error) {
      if (error instanceof ChildServiceStartError && error.exited) {
        // The new server died before it was ready (killed as it started): that is the next crash, for the
        // next round of this restart; this one is recorded.
        if (++this.failedStarts >= MAX_FAILED_STARTS) throw error;
        this.pendingCrash = { why: `the new server exited before it was ready (${error.message.split('\n')[0]})`, at: Date.now() };
        return this.restarted(crash, from, `${crash.why}; the new server exited before it was ready`);
      }
      server = await (this.deps.startServer ?? startParameterServer)(this.psConfig); // the old port is taken: workers get the new one at relaunch
    }
    this.server = server;
    this.watch(server);
    if (this.stopping) return; // stop() ends it
    try {
      const client = await connect(server, this.psConfig);
      this.driverClient = client;
      this.watchClient(client, server);
      if (snapshot) await client.restore(snapshot);
      this.failedStarts = 0;
    } catch (error) {
      // It failed before it was ready: dying (the broken connection shows before its exit) or broken.
      // Either way it goes, and its exit (a pending crash) gets the next round of this restart.
      if (++this.failedStarts >= MAX_FAILED_STARTS) throw error;
      if (!this.exited.has(server)) server.stop(0).catch(() => undefined);
      await new Promise<void>((resolve) => server.onExit(() => resolve()));
      return this.restarted(crash, from, `${crash.why}; the new server failed before it was ready (${(error as Error).message})`);
    }
    this.restarted(crash, from, crash.why);
  }

  /** One `ps-restarted` a crash. */
  private restarted(crash: Crash, from: ParameterServerSupervisor['lastCheckpoint'], reason: string): void {
    this.deps.emit({
      type: 'ps-restarted',
      checkpoint: from?.pointer.seq ?? null,
      lostSeconds: (crash.at - (from?.takenAt ?? this.deps.trainStartedAt)) / 1000,
      downSeconds: (Date.now() - crash.at) / 1000,
      reason,
    });
  }
}

function connect(server: ParameterServerProcess, config: ParameterServerConfig): Promise<PsClient> {
  return PsClient.connect({ host: server.connectHost ?? '127.0.0.1', port: server.port, token: config.token, ...pinOf(config), workerId: 0xffffffff, generation: 0 });
}

/** What a client of this server pins (TLS) beside the token: nothing for plain TCP. */
export function pinOf(config: ParameterServerConfig): { tls?: PsClientTls } {
  return config.tls ? { tls: { fingerprint: certificateFingerprint(config.tls.cert) } } : {};
}
