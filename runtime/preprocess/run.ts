// The preprocess stage: a map phase over a deployed dataset's partitions on the worker function.
//   1. stats: each invocation computes per-feature statistics of its training partitions; the driver
//      merges them (the same result as one pass over all rows, up to rounding).
//   2. transform (when asked): each invocation normalises (with the merged statistics), hashes and
//      re-splits its partitions into a NEW dataset version under its own prefix;
//   3. stats again on the new training partitions, for the new version's manifest, written last.
// Recorded like a run: a run folder with one 'preprocess' stage (GB-seconds, cost, workers).
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { RuntimeContext } from '../api';
import { openBackend, type Backend } from '../backends/backend';
import { deployFunction, invokeFunction, workerZip } from '../backends/lambda-client';
import type { RunConfig } from '../config/run-config';
import { DEFAULTS } from '../config/defaults';
import { CostMeter } from '../cost/cost-model';
import type { RunEvent, RunSummary } from '../recording/events';
import { Recording } from '../recording/recorder';
import { MANIFEST_NAME, type DatasetManifest, type FeatureStats, type PartitionEntry } from '../data/manifest';
import { readManifest } from '../data/catalog';
import { getObjectBytes, joinKey, parseS3Url, putObjectBytes } from '../storage/s3';
import type { PreprocessTaskEvent, PreprocessTaskResult } from '../worker/preprocess-task';
import { decodeStats, mergeStats, scalingFromStats, type PreprocessSteps, type StatsTable } from '../data/partition-ops';

/** Features listed in a manifest's featureStats at most (wider data keeps the first ones). */
export const MAX_LISTED_FEATURES = 10_000;

export interface PreprocessRequest {
  /** s3://bucket/prefix of a deployed samples dataset. */
  dataset: string;
  steps: PreprocessSteps;
  /** Concurrent map invocations (default 4). */
  workers?: number;
  memoryMB?: number;
  /** s3://bucket/prefix for the new version (default: beside the source, named by the steps). */
  destination?: string;
  backend?: RunConfig['backend'];
  aws?: RunConfig['aws'];
  name?: string;
  onEvent?: (event: RunEvent) => void;
  signal?: AbortSignal;
}

export interface PreprocessOutcome {
  runId: string;
  runFolder: string;
  /** Statistics of the source's training rows, merged from the workers. */
  stats: StatsTable;
  /** The new version (undefined when only statistics were asked for). */
  url?: string;
  manifest?: DatasetManifest & { preprocess?: unknown };
  gbSeconds: number;
  costUSD: number;
  seconds: number;
  bytesRead: number;
}


export function statsToFeatureStats(stats: StatsTable, rows: number): FeatureStats[] {
  return [...stats.keys()]
    .sort((a, b) => a - b)
    .slice(0, MAX_LISTED_FEATURES)
    .map((f) => {
      const s = stats.get(f)!;
      return { name: String(f), kind: 'numeric', count: s.count, missing: rows - s.count, min: s.min, max: s.max, mean: s.mean, variance: s.m2 / s.count };
    });
}

export async function preprocessDataset(request: PreprocessRequest, ctx: RuntimeContext): Promise<PreprocessOutcome> {
  const { bucket, prefix } = parseS3Url(request.dataset);
  const name = request.name ?? `preprocess-${path.basename(prefix)}`;
  const workers = request.workers ?? 4;
  const memoryMB = request.memoryMB ?? DEFAULTS.lambda.memoryMB;
  const recording = new Recording({ stateDir: ctx.stateDir, name, config: { name, dataset: { path: request.dataset }, preprocess: request.steps }, hostLog: ctx.log });
  const { runId, emit, log } = recording;
  if (request.onEvent) recording.onEvent(request.onEvent);
  const cost = new CostMeter();
  let peakMemoryMB = 0;
  let bytesRead = 0;
  let invocations = 0;
  let status: RunSummary['status'] = 'completed';
  let reason = '';
  let outcome: Partial<PreprocessOutcome> = {};
  let opened: Backend | undefined;
  try {
    emit({ type: 'run-started', name, config: { dataset: request.dataset, steps: request.steps, workers, memoryMB }, backend: request.backend ?? DEFAULTS.backend });
    emit({ type: 'stage-started', stage: 'preprocess', workers, memoryMB });
    const backend = (opened = await openBackend({ backend: request.backend, aws: request.aws }, ctx.stateDir, ctx.awsCredentials));
    const manifest = await readManifest(backend.s3, bucket, prefix);
    if (!manifest) throw new Error(`${request.dataset} holds no dataset manifest`);
    if (manifest.schema.kind !== 'samples') throw new Error(`preprocessing works on samples datasets; ${request.dataset} holds ratings`);
    cost.s3Gets++;
    const functionName = 'cirrus-worker';
    await deployFunction(backend.lambda, {
      name: functionName,
      zip: workerZip(),
      handler: 'index.handler',
      memoryMB,
      timeoutSeconds: DEFAULTS.lambda.timeoutSeconds[backend.kind],
      environment: backend.workerEnvironment,
    });
    const steps = request.steps;
    const digest = crypto.createHash('sha256').update(JSON.stringify(steps)).digest('hex').slice(0, 10);
    const out = request.destination ? parseS3Url(request.destination) : { bucket, prefix: `${prefix}-pp-${digest}` };

    /** One map phase: the entries split round-robin over the workers, invoked concurrently. */
    const mapPhase = async (phase: string, entries: Array<PartitionEntry & { split: 'train' | 'test' }>, task: (w: number) => Partial<PreprocessTaskEvent>): Promise<PreprocessTaskResult[]> => {
      const groups = Array.from({ length: Math.min(workers, entries.length) }, (_, w) => entries.filter((_, i) => i % workers === w));
      let finished = 0;
      return Promise.all(
        groups.map(async (group, w) => {
          const event: PreprocessTaskEvent = {
            task: 'preprocess',
            op: 'stats',
            bucket,
            s3Endpoint: backend.workerS3Endpoint,
            region: backend.region,
            partitions: group.map((p) => ({ key: p.key, crc32: p.crc32, split: p.split, id: `${p.split}-${path.basename(p.key, '.bin').replace(/^part-/, '')}` })),
            ...task(w),
          };
          const worker = invocations++;
          emit({ type: 'worker-launched', worker, generation: 0, reason: 'start' });
          const result = await invokeFunction(backend.lambda, functionName, event, { signal: request.signal });
          cost.addInvocation(result.billedMs ?? 0, memoryMB);
          peakMemoryMB = Math.max(peakMemoryMB, result.maxMemoryUsedMB ?? 0);
          const payload = result.payload as PreprocessTaskResult & { errorMessage?: string };
          if (result.functionError) {
            emit({ type: 'worker-finished', worker, generation: 0, status: 'failed', error: payload?.errorMessage ?? result.functionError, billedMs: result.billedMs ?? 0, memoryMB, samples: 0 });
            throw new Error(`${phase} task ${w} failed: ${payload?.errorMessage ?? result.functionError}`);
          }
          cost.s3Gets += payload.partitions;
          cost.s3Puts += (payload.written?.train.length ?? 0) + (payload.written?.test.length ?? 0) + (payload.statsKey ? 1 : 0);
          bytesRead += payload.bytesRead;
          emit({ type: 'worker-finished', worker, generation: 0, status: 'done', billedMs: result.billedMs ?? 0, memoryMB, samples: payload.rows });
          emit({ type: 'progress', stage: 'preprocess', message: `${phase}: ${++finished} of ${groups.length} tasks done`, fraction: finished / groups.length });
          return payload;
        }),
      );
    };
    const mergeFrom = async (results: PreprocessTaskResult[]): Promise<StatsTable> => {
      const merged: StatsTable = new Map();
      for (const r of results) {
        const bytes = await getObjectBytes(backend.s3, bucket, r.statsKey!);
        cost.s3Gets++;
        mergeStats(merged, decodeStats(JSON.parse(Buffer.from(bytes).toString('utf8'))));
      }
      return merged;
    };
    const withSplit = (list: PartitionEntry[], split: 'train' | 'test') => list.map((p) => ({ ...p, split }));

    // 1. statistics of the source's training rows
    const statsPrefix = joinKey(out.prefix, '_stats');
    const stats = await mergeFrom(await mapPhase('stats', withSplit(manifest.partitions.train, 'train'), (w) => ({ op: 'stats', statsKey: joinKey(statsPrefix, `source-${w}.json`) })));
    outcome = { stats };
    const transform = steps.normalize !== undefined || steps.hash !== undefined || steps.testFraction !== undefined;
    if (transform) {
      if (out.bucket !== bucket) throw new Error('the new version must be in the same bucket as the source');
      // 2. transform into the new version
      const scaling = steps.normalize ? scalingFromStats(stats, steps.normalize) : undefined;
      const all = [...withSplit(manifest.partitions.train, 'train'), ...withSplit(manifest.partitions.test, 'test')];
      const results = await mapPhase('transform', all, () => ({ op: 'transform', outPrefix: out.prefix, steps, scaling }));
      const byKey = (a: PartitionEntry, b: PartitionEntry) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
      const partitions = { train: results.flatMap((r) => r.written!.train).sort(byKey), test: results.flatMap((r) => r.written!.test).sort(byKey) };
      // 3. statistics of the new training rows, for its manifest
      const trainRows = partitions.train.reduce((a, p) => a + p.rows, 0);
      const testRows = partitions.test.reduce((a, p) => a + p.rows, 0);
      const newStats = await mergeFrom(await mapPhase('new-stats', withSplit(partitions.train, 'train'), (w) => ({ op: 'stats', statsKey: joinKey(statsPrefix, `result-${w}.json`) })));
      const newManifest = {
        ...manifest,
        createdAt: new Date().toISOString(),
        schema: steps.hash ? { ...manifest.schema, featureCount: Math.max(2 ** steps.hash.bits, steps.hash.features ? manifest.schema.featureCount : 1), hashBits: steps.hash.bits } : manifest.schema,
        split: steps.testFraction !== undefined ? { method: 'last-fraction' as const, testFraction: steps.testFraction } : manifest.split,
        partitions,
        counts: { ...manifest.counts, rows: trainRows + testRows, trainRows, testRows, bytes: [...partitions.train, ...partitions.test].reduce((a, p) => a + p.bytes, 0) },
        featureStats: statsToFeatureStats(newStats, trainRows),
        preprocess: { source: request.dataset, sourceCreatedAt: manifest.createdAt, steps, scaling: scaling ? { features: scaling.index.length } : undefined },
      };
      await putObjectBytes(backend.s3, out.bucket, joinKey(out.prefix, MANIFEST_NAME), JSON.stringify(newManifest, null, 1));
      cost.s3Puts++;
      outcome = { ...outcome, url: `s3://${out.bucket}/${out.prefix}`, manifest: newManifest };
      log('info', `new dataset version ${outcome.url}: ${trainRows} train rows, ${testRows} test rows`);
    }
  } catch (error) {
    status = request.signal?.aborted ? 'stopped' : 'failed';
    reason = error instanceof Error ? error.message : String(error);
    log('error', reason);
  }
  opened?.close();
  const seconds = recording.seconds();
  const stage = { stage: 'preprocess' as const, seconds, gbSeconds: cost.gbSeconds, peakMemoryMB, costUSD: cost.totalUSD(), workers, memoryMB };
  emit({ type: 'stage-finished', ...stage });
  emit({ type: 'cost', totalUSD: cost.totalUSD(), byComponent: { ...cost.breakdown() } });
  recording.finish({
    status, reason: reason || (outcome.url ? `wrote ${outcome.url}` : 'statistics computed'),
    testLoss: null, testAccuracy: null, seconds, samples: 0, samplesPerSecond: 0, costUSD: cost.totalUSD(), cost: { ...cost.breakdown() }, stages: [stage],
  });
  if (status !== 'completed') throw new Error(`preprocessing ${request.dataset} ${status}: ${reason}`);
  return { runId, runFolder: recording.dir, stats: outcome.stats!, url: outcome.url, manifest: outcome.manifest, gbSeconds: cost.gbSeconds, costUSD: cost.totalUSD(), seconds, bytesRead };
}

