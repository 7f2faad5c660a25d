// The driver's side of synchronous SGD (training.sync "sync-sgd"): the channel's service for the run
// (a private redis-server for channel "redis" on the local backend, behind the "aws" network's proxy
// when there is one), the settings each worker invocation gets, the watch on Redis (Redis dying stops
// the run with a clear reason; the model so far is in the parameter server and is saved), and the
// clean-up of the step objects when the run ends. The steps themselves: runtime/worker/sync-step.ts.
import * as path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Backend } from '../backends/backend';
import type { ResolvedRunConfig } from '../config/run-config';
import { startLocalRedis, type LocalRedis } from '../redis/server';
import { redactUrl } from '../redis/client';
import type { Log, RunTrainingMode } from '../recording/events';
import type { WorkerEvent } from '../worker/protocol';

/** The run's sync mode and channel, for the summary and the views. */
export function trainingMode(config: ResolvedRunConfig): RunTrainingMode {
  const s = config.training.synchronous;
  if (!s) return { sync: config.training.sync, channel: 'ps' };
  return { sync: config.training.sync, channel: s.channel, scheme: s.scheme, average: s.average, aggregation: s.aggregation.rule };
}

/** "sync-sgd through s3 (scatter-reduce, gradients, mean)", "async-sgd through the parameter server". */
export function describeTrainingMode(mode: RunTrainingMode): string {
  const through = mode.channel === 'ps' ? 'the parameter server' : mode.channel === 's3' ? 'S3' : 'Redis';
  const details = [mode.scheme, mode.average, mode.aggregation].filter((x) => x !== undefined);
  return `${mode.sync} through ${through}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}

export interface SyncRun {
  /** What every worker invocation is given (WorkerEvent.sync). */
  readonly event: NonNullable<WorkerEvent['sync']>;
  /** Why the run cannot go on (the channel's service died), or undefined. */
  readonly failure: string | undefined;
  /** Stops the run's Redis and deletes the run's step objects. */
  close(): Promise<void>;
}

/** "ps" through the parameter server's store, "s3" in the run's bucket, "redis" on its own server. */
export function syncPrefix(channel: string, runId: string): string {
  return channel === 'ps' ? 'sync' : `runs/${runId}/sync`;
}

export async function startSyncRun(o: { config: ResolvedRunConfig; backend: Backend; runId: string; bucket: string; stateDir: string; log: Log }): Promise<SyncRun | undefined> {
  const s = o.config.training.synchronous;
  if (!s) return undefined;
  let failure: string | undefined;
  let closing = false;
  let redis: LocalRedis | undefined;
  let redisUrl = s.redisUrl;
  if (s.channel === 'redis' && o.backend.kind === 'local') {
    redis = await startLocalRedis({ dir: path.join(o.stateDir, 'redis', o.runId) });
    const started = redis;
    // "aws" network: workers reach Redis through a proxy with the profile's round trip and bandwidth.
    const upstream = (await o.backend.network?.proxy('redis', () => ({ host: started.host, port: started.port }))) ?? { host: started.host, port: started.port };
    redisUrl = `redis://:${started.password}@${upstream.host}:${upstream.port}`;
    void started.exited.then((how) => {
      if (closing) return;
      failure = `Redis (training.channel "redis") died mid-run: ${how}. The run stops; the model trained so far is saved`;
      o.log('error', failure);
    });
    o.log('info', `Redis channel: redis-server pid ${started.pid} at ${redactUrl(redisUrl)}`);
  }
  const prefix = syncPrefix(s.channel, o.runId);
  return {
    event: {
      channel: s.channel,
      scheme: s.scheme,
      aggregation: s.aggregation,
      workers: o.config.training.workers,
      stepTimeoutMs: s.stepTimeoutSeconds * 1000,
      prefix,
      ...(redisUrl !== undefined ? { redisUrl } : {}),
    },
    get failure() {
      return failure;
    },
    async close() {
      closing = true;
      await redis?.stop();
      // Redis keys expire on their own; the parameter server's store goes with the server. S3 objects stay unless deleted.
      if (s.channel === 's3') await deletePrefix(o.backend, o.bucket, `${prefix}/`).catch((error: Error) => o.log('warn', `the run's step objects under ${prefix}/ were not all deleted: ${error.message}`));
    },
  };
}

async function deletePrefix(backend: Backend, bucket: string, prefix: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await backend.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    await Promise.all((page.Contents ?? []).map((object) => backend.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }))));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
