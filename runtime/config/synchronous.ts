// Resolves training's synchronous settings (training.sync "sync-sgd": channel, scheme, average,
// aggregation, step timeout) and checks the conditions each needs, naming the setting at fault.
// Kept apart from resolve.ts: one place for the synchronous mode's rules.
import { aggregationProblem, type AggregationRule } from '../aggregation/robust';
import { DEFAULTS } from './defaults';
import type { ConfigProblem } from './problems';
import type { ModelType, OptimizerType, ResolvedRunConfig, ResolvedSynchronous, RunConfig } from './run-config';

type TrainingInput = NonNullable<RunConfig['training']> & Partial<Pick<ResolvedRunConfig['training'], 'synchronous'>>;

const SYNC_ONLY = ['channel', 'scheme', 'average', 'aggregation', 'stepTimeoutSeconds', 'redisUrl'] as const;

export function resolveSynchronous(
  t: TrainingInput,
  context: { sync: string; workers: number; model: ModelType; optimizer: OptimizerType; backend: string },
  problems: ConfigProblem[],
  ignored: (field: string, value: unknown, why: string) => void,
): ResolvedSynchronous | undefined {
  if (context.sync !== 'sync-sgd') {
    for (const key of SYNC_ONLY) ignored(`training.${key}`, t[key], `it is for training.sync "sync-sgd" (this run is "${context.sync}")`);
    return undefined;
  }
  const given = t.synchronous; // an already resolved config resolves to itself
  const channel = t.channel ?? given?.channel ?? DEFAULTS.training.channel;
  const scheme = t.scheme ?? given?.scheme ?? DEFAULTS.training.scheme;
  const average = t.average ?? given?.average ?? DEFAULTS.training.average;
  const a = t.aggregation ?? given?.aggregation ?? DEFAULTS.training.aggregation;
  const rule: AggregationRule = typeof a === 'string' ? a : a.rule;
  const needsF = rule === 'krum' || rule === 'multi-krum' || rule === 'trimmed-mean';
  const f = typeof a === 'object' && a.f !== undefined ? a.f : needsF ? DEFAULTS.training.byzantineTolerance : 0;
  const m = typeof a === 'object' ? a.m : undefined;
  const redisUrl = t.redisUrl ?? given?.redisUrl;
  const stepTimeoutSeconds = t.stepTimeoutSeconds ?? given?.stepTimeoutSeconds ?? DEFAULTS.training.stepTimeoutSeconds;

  // A filter holds rows back and sends them later, accumulated: docs/filters.md (synchronous SGD).
  if (t.filter && scheme === 'pywren') {
    problems.push({ field: 'training.filter', message: 'is not implemented with training.scheme "pywren" (its workers send whole dense gradients through S3; use scheme "all-reduce" or "scatter-reduce")' });
  }
  if (t.filter && rule !== 'mean') {
    problems.push({
      field: 'training.filter',
      message: `cannot be combined with training.aggregation "${rule}": a filtered update is sparse and delayed (a row is sent only when its accumulated change is large), so honest updates differ from each other by construction and ${rule} would discard or distort them; use aggregation "mean"`,
    });
  }
  if (context.model === 'mf' && scheme === 'pywren') problems.push({ field: 'training.scheme', message: '"pywren" is implemented for logistic and softmax models (its model object is one dense table; mf has two): use "all-reduce" or "scatter-reduce"' });
  if (average === 'models' && (context.model !== 'logistic' || context.optimizer !== 'adagrad')) {
    problems.push({ field: 'training.average', message: '"models" is implemented for model.type "logistic" with optimizer.type "adagrad"' });
  }
  const problem = aggregationProblem(rule, context.workers, f, m);
  if (problem) problems.push({ field: 'training.aggregation', message: `${problem} (training.workers is ${context.workers})` });
  if ((rule === 'krum' || rule === 'multi-krum') && scheme === 'scatter-reduce') {
    problems.push({ field: 'training.aggregation', message: `${rule} compares whole updates, so it needs training.scheme "all-reduce" (scatter-reduce splits each update across workers)` });
  }
  if (scheme === 'pywren' && channel !== 's3') {
    problems.push({ field: 'training.scheme', message: `"pywren" moves the whole model through S3 each step, so it needs training.channel "s3" (got "${channel}")` });
  }
  if (scheme === 'pywren' && average === 'models') {
    problems.push({ field: 'training.average', message: '"models" is not implemented with training.scheme "pywren" (its workers send gradients, as PyWren\'s)' });
  }
  if (channel === 'redis' && context.backend === 'aws' && redisUrl === undefined) {
    problems.push({ field: 'training.redisUrl', message: 'is required for channel "redis" on the aws backend (an ElastiCache URL: redis://:PASSWORD@HOST:6379)' });
  }
  if (channel !== 'redis') ignored('training.redisUrl', redisUrl, `it is for training.channel "redis" (this run's is "${channel}")`);
  else if (context.backend === 'local') ignored('training.redisUrl', redisUrl, 'the local backend starts its own redis-server');

  return {
    channel,
    scheme,
    average,
    aggregation: { rule, f, ...(m !== undefined ? { m } : {}) },
    stepTimeoutSeconds,
    ...(channel === 'redis' && context.backend === 'aws' && redisUrl !== undefined ? { redisUrl } : {}),
  };
}
