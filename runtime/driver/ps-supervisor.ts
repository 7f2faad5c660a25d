// The parameter server's life during a train stage: start it, hold the driver's own connection to it,
// checkpoint it to S3, and when it dies, start a new one (on the same port when it can) from the last
// checkpoint. Workers whose connection broke fail and are relaunched against the new one.
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { PsClient } from '../ps/client';
import { startParameterServer, type ParameterServerProcess } from '../ps/launch';
import type { ParameterServerConfig } from '../ps/types';
import { readCheckpoint, writeCheckpoint, type CheckpointPointer } from './checkpoint';
import type { Emit, Log } from '../recording/events';

export class ParameterServerSupervisor {
  /** Bumped at every crash: failures of that moment are not the workers' fault. */
  epoch = 0;
  /** Settles when no restart is in progress (a crash replaces the process and the driver's client). */
  ready: Promise<void> = Promise.resolve();
  restartFailure: Error | undefined;
  private lastCheckpoint: { pointer: CheckpointPointer; takenAt: number } | undefined;
  private nextSeq = 0;
  private finishing = false;
  private killTimer: NodeJS.Timeout | undefined;
  readonly startedAt = Date.now();

  private constructor(
    private server: ParameterServerProcess,
    private driverClient: PsClient,
    private readonly psConfig: ParameterServerConfig,
    private readonly deps: { s3: S3Client; bucket: string; runId: string; emit: Emit; log: Log; trainStartedAt: number },
  ) {
    this.watch();
  }

  static async start(psConfig: ParameterServerConfig, deps: ParameterServerSupervisor['deps']): Promise<ParameterServerSupervisor> {
    const server = await startParameterServer(psConfig);
    try {
      const client = await connect(server, psConfig.token);
      return new ParameterServerSupervisor(server, client, psConfig, deps);
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  get port(): number {
    return this.server.port;
  }

  /** The driver's connection (valid until the next crash: read it again after `ready`). */
  get client(): PsClient {
    return this.driverClient;
  }

  /** Continue a run whose driver died: load its last checkpoint. */
  async resumeFrom(pointer: CheckpointPointer, snapshot: Uint8Array): Promise<void> {
    await this.driverClient.restore(snapshot);
    this.lastCheckpoint = { pointer, takenAt: Date.now() };
    this.nextSeq = pointer.seq + 1;
  }

  /** Fault injection: the parameter server dies abruptly at `atMs` (epoch ms), as a crashed host process would. */
  killAt(atMs: number): void {
    this.killTimer = setTimeout(() => {
      this.deps.log('warn', 'fault injection: killing the parameter server');
      process.kill(this.server.pid, 'SIGKILL');
    }, Math.max(0, atMs - Date.now()));
  }

  /** Snapshot first, then upload: the checkpoint is the state at `takenAt`, whatever lands meanwhile.
   *  Returns whether it was written (the previous checkpoint stays when it was not). */
  async checkpoint(state: { trainSeconds: number; updates: number; slots: CheckpointPointer['slots'] }): Promise<boolean> {
    const takenAt = Date.now();
    const snapshot = await this.driverClient.snapshot();
    try {
      const pointer = await writeCheckpoint(this.deps.s3, this.deps.bucket, this.deps.runId, this.nextSeq, snapshot, state);
      this.lastCheckpoint = { pointer, takenAt };
      this.deps.emit({ type: 'checkpoint', seq: pointer.seq, key: pointer.key, bytes: pointer.bytes, seconds: (Date.now() - takenAt) / 1000, updates: state.updates });
      this.nextSeq++;
      return true;
    } catch (error) {
      this.deps.log('warn', `checkpoint ${this.nextSeq} could not be written (${(error as Error).message}); the previous one stays`);
      return false;
    }
  }

  /** Whether the parameter server crashed since `epoch` (waits briefly: its exit may lag a broken socket). */
  async crashedSince(epoch: number): Promise<boolean> {
    for (let i = 0; i < 30 && this.epoch === epoch; i++) await sleep(100);
    return this.epoch !== epoch;
  }

  async stop(): Promise<void> {
    this.finishing = true;
    clearTimeout(this.killTimer);
    await this.ready;
    await this.driverClient.close().catch(() => undefined);
    await this.server.stop();
  }

  private watch(): void {
    this.server.onExit((code, signal) => {
      if (this.finishing) return;
      this.epoch++;
      const crashedAt = Date.now();
      this.ready = this.restart(`exited (code ${code}, signal ${signal})`, crashedAt).catch((error) => {
        this.restartFailure = new Error(`the parameter server crashed and could not be restarted: ${(error as Error).message}`);
      });
    });
  }

  private async restart(why: string, crashedAt: number): Promise<void> {
    const from = this.lastCheckpoint;
    this.deps.log('warn', `parameter server ${why}; restarting it${from ? ` from checkpoint ${from.pointer.seq}` : ' with fresh tables (no checkpoint yet)'}`);
    this.driverClient.abort('the parameter server died');
    try {
      this.server = await startParameterServer({ ...this.psConfig, port: this.server.port });
    } catch {
      this.server = await startParameterServer(this.psConfig); // the old port is taken: workers get the new one at relaunch
    }
    this.watch();
    this.driverClient = await connect(this.server, this.psConfig.token);
    if (from) await this.driverClient.restore(await readCheckpoint(this.deps.s3, this.deps.bucket, from.pointer));
    this.deps.emit({
      type: 'ps-restarted',
      checkpoint: from?.pointer.seq ?? null,
      lostSeconds: (crashedAt - (from?.takenAt ?? this.deps.trainStartedAt)) / 1000,
      downSeconds: (Date.now() - crashedAt) / 1000,
      reason: why,
    });
  }
}

function connect(server: ParameterServerProcess, token: string): Promise<PsClient> {
  return PsClient.connect({ host: '127.0.0.1', port: server.port, token, workerId: 0xffffffff, generation: 0 });
}
