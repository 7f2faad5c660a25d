// One resolved configuration: the config as written plus the defaults of ./defaults.ts, inferred
// settings (the model from the data format), the cross-field rules, and a warning for each setting
// the run would ignore. Every consumer in the runtime reads the ResolvedRunConfig this returns.
import { DEFAULTS } from './defaults';
import { ConfigError, type ConfigProblem } from './problems';
import { effectiveHashBits } from '../data/identity';
import { resolveNetwork } from '../network/profile';
import { resolveSynchronous } from './synchronous';
import type { ModelType, ResolvedRunConfig, RunConfig } from './run-config';
import type { FilterSettings } from '../aggregation/filters';
import { DEFAULT_SCREEN, screenProblem } from '../aggregation/screen';

export interface Resolution {
  config: ResolvedRunConfig;
  /** Settings given but ignored in this context (e.g. model.hashBits for an s3:// dataset). */
  warnings: ConfigProblem[];
}

/** Resolves a schema-valid config; throws ConfigError when its settings contradict each other.
 *  Idempotent: a resolved config resolves to itself, with no warnings. */
export function resolveRunConfig(input: RunConfig | ResolvedRunConfig, file?: string): Resolution {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const ignored = (field: string, value: unknown, why: string) => {
    if (value !== undefined) warnings.push({ field, message: `is ignored: ${why}` });
  };

  const ds = input.dataset;
  const isS3 = ds.path.startsWith('s3://');
  const converted = 'the s3:// dataset was converted when it was deployed (its manifest says how)';
  if (isS3) {
    for (const key of ['format', 'testFraction', 'testPath', 'labelColumn', 'columns', 'scaling'] as const) ignored(`dataset.${key}`, ds[key], converted);
    ignored('dataset.skipBad', ds.skipBad || undefined, converted); // false: the resolved default
  }
  const format = isS3 ? undefined : ds.format;
  if (!isS3 && !format) problems.push({ field: 'dataset.format', message: 'is required for a local file (criteo, libsvm, csv or ratings)' });
  if (!isS3 && ds.testFraction !== undefined && ds.testPath !== undefined) problems.push({ field: 'dataset.testPath', message: 'give either testFraction or testPath, not both' });
  if (format !== undefined && format !== 'csv') for (const key of ['labelColumn', 'columns', 'scaling'] as const) ignored(`dataset.${key}`, ds[key], 'it is for csv files');

  const m = input.model ?? {};
  const type: ModelType | undefined = m.type ?? (format === 'ratings' ? 'mf' : format ? 'logistic' : undefined);
  if (!type) problems.push({ field: 'model.type', message: 'is required for an s3:// dataset (logistic, softmax or mf)' });
  if (type === 'mf' && format && format !== 'ratings') problems.push({ field: 'model.type', message: '"mf" needs dataset.format "ratings"' });
  if (type && type !== 'mf' && format === 'ratings') problems.push({ field: 'model.type', message: 'ratings data trains an "mf" model' });
  const model = type ?? 'logistic';
  const byFormat: Partial<(typeof DEFAULTS.byModel)['logistic']> = model === 'logistic' && format === 'libsvm' ? DEFAULTS.byFormat.libsvm : {};
  const byModel = { ...DEFAULTS.byModel[model], ...byFormat };

  let hashBits: number | undefined;
  if (model === 'mf') ignored('model.hashBits', m.hashBits, 'an mf model is not hashed');
  else if (isS3) ignored('model.hashBits', m.hashBits, converted);
  else hashBits = effectiveHashBits(format!, m.hashBits);
  if (model !== 'mf') ignored('model.factors', m.factors, 'it is for mf models');
  if (model !== 'softmax') ignored('model.classes', m.classes, 'it is for softmax models');

  const o = input.optimizer ?? {};
  const optimizerType = o.type ?? byModel.optimizer;
  if (optimizerType !== 'momentum') ignored('optimizer.momentum', o.momentum, `it is for the momentum optimizer (this one is ${optimizerType})`);

  const t = input.training ?? {};
  const noStoppingRule = t.maxSeconds === undefined && t.targetLoss === undefined && t.epochs === undefined;
  const sync = t.sync ?? DEFAULTS.training.sync;
  if (sync === 'model-averaging' && (model !== 'logistic' || optimizerType !== 'adagrad')) {
    problems.push({ field: 'training.sync', message: '"model-averaging" is implemented for model.type "logistic" with optimizer.type "adagrad"' });
  }
  const given = t.filter;
  if (given) {
    // The schema allows both numbers on either type; each type takes its own and ignores nothing silently.
    const others = given.type === 'significance' ? ['fraction'] : ['threshold', 'maxThreshold'];
    if (given.type === 'topk' && given.fraction === undefined) problems.push({ field: 'training.filter.fraction', message: 'is required with type "topk"' });
    for (const other of others) {
      if ((given as Record<string, unknown>)[other] !== undefined) problems.push({ field: `training.filter.${other}`, message: `does not apply to type "${given.type}"` });
    }
  }
  const filter: FilterSettings | undefined =
    given?.type === 'significance'
      ? {
          type: 'significance',
          threshold: given.threshold ?? DEFAULTS.training.significanceThreshold,
          maxThreshold: given.maxThreshold ?? DEFAULTS.training.significanceMaxThreshold,
        }
      : (given as FilterSettings | undefined);

  if (t.adaptive && sync === 'sync-sgd') problems.push({ field: 'training.adaptive', message: 'applies to asynchronous training: a synchronous step needs every worker at once' });
  if (!t.adaptive) ignored('training.adaptiveEverySeconds', t.adaptiveEverySeconds, 'training.adaptive is not on');
  const adaptive = t.adaptive ? { adaptive: true as const, adaptiveEverySeconds: t.adaptiveEverySeconds ?? DEFAULTS.training.adaptiveEverySeconds } : undefined;

  const byzantine = input.faults?.byzantineWorkers;
  const workers = t.workers ?? DEFAULTS.training.workers;
  if (byzantine && byzantine.count > workers) problems.push({ field: 'faults.byzantineWorkers.count', message: `${byzantine.count} Byzantine workers of ${workers} (training.workers)` });

  const backend = input.backend ?? DEFAULTS.backend;
  const synchronous = resolveSynchronous(t, { sync, workers, model, optimizer: optimizerType, backend }, problems, ignored);
  const ps = input.parameterServer;
  // true: the defaults ({} here; runtime/aggregation/screen.ts fills them); false or unset: off.
  const screenGiven = ps?.screen === true ? {} : ps?.screen === false ? undefined : ps?.screen;
  // The quorum defaults to 3 workers, or all of them when there are fewer (runtime/aggregation/screen.ts).
  const screen = screenGiven && { ...screenGiven, quorum: screenGiven.quorum ?? Math.min(DEFAULT_SCREEN.quorum, workers) };
  if (screen) {
    const problem = screenProblem(screen, 'parameterServer.screen');
    if (problem) problems.push({ field: 'parameterServer.screen', message: problem.replace(/^parameterServer\.screen\S* /, '') });
  }
  if ((ps?.shards ?? 1) > 1 && backend !== 'local') {
    problems.push({ field: 'parameterServer.shards', message: 'more than one shard runs on the local backend only (aws.parameterServerAddress names one server)' });
  }
  if (backend === 'local') ignored('aws', input.aws, 'the local backend uses no AWS settings');
  const lambda = input.lambda ?? {};
  let aws: ResolvedRunConfig['aws'];
  if (backend === 'aws') {
    ignored('network', input.network, 'on AWS the network is the real one');
    aws = resolveAws(input.aws ?? {});
    if (workers > aws.maxConcurrency) problems.push({ field: 'training.workers', message: `${workers} workers pass the guardrail aws.maxConcurrency (${aws.maxConcurrency}); raise it on purpose to run more` });
    const lifetime = (t.maxSeconds ?? DEFAULTS.training.maxSeconds) + DEFAULTS.aws.instanceMarginSeconds;
    if (!aws.parameterServerAddress && lifetime > aws.maxInstanceMinutes * 60) {
      problems.push({ field: 'training.maxSeconds', message: `the parameter server's instance would need ${Math.ceil(lifetime / 60)} min (time limit + ${DEFAULTS.aws.instanceMarginSeconds / 60} min margin), past the guardrail aws.maxInstanceMinutes (${aws.maxInstanceMinutes})` });
    }
  } else {
    try {
      resolveNetwork(input.network);
    } catch (error) {
      problems.push({ field: 'network', message: (error as Error).message.replace(/^network(\.\w+)?: /, '') });
    }
  }

  const tls = input.parameterServer?.tls ?? DEFAULTS.parameterServer.tls[backend];
  if (backend === 'aws' && !tls) {
    problems.push({ field: 'parameterServer.tls', message: 'must be true on AWS: workers reach the parameter server over the internet, and only TLS keeps its token and the model to the run' });
  }

  if (problems.length > 0) throw new ConfigError(file, problems);
  const config: ResolvedRunConfig = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    dataset: {
      path: ds.path,
      ...(isS3
        ? {}
        : {
            format,
            ...(ds.testPath !== undefined ? { testPath: ds.testPath } : { testFraction: ds.testFraction ?? DEFAULTS.dataset.testFraction }),
            ...(format === 'csv' && ds.labelColumn !== undefined ? { labelColumn: ds.labelColumn } : {}),
            ...(format === 'csv' && ds.columns !== undefined ? { columns: ds.columns } : {}),
            ...(format === 'csv' && ds.scaling !== undefined ? { scaling: ds.scaling } : {}),
          }),
      skipBad: isS3 ? DEFAULTS.dataset.skipBad : (ds.skipBad ?? DEFAULTS.dataset.skipBad),
    },
    model: {
      type: model,
      ...(hashBits !== undefined ? { hashBits } : {}),
      ...(model === 'mf' ? { factors: m.factors ?? DEFAULTS.model.factors } : {}),
      ...(model === 'softmax' && m.classes !== undefined ? { classes: m.classes } : {}),
    },
    optimizer: {
      type: optimizerType,
      // The model's measured rate goes with the model's optimiser; another optimiser gets its own.
      learningRate: o.learningRate ?? (optimizerType === byModel.optimizer ? byModel.learningRate : DEFAULTS.learningRate[optimizerType]),
      l2: o.l2 ?? byModel.l2,
      ...(optimizerType === 'momentum' ? { momentum: o.momentum ?? DEFAULTS.momentum } : {}),
      ...(o.clipNorm !== undefined ? { clipNorm: o.clipNorm } : {}),
    },
    training: {
      workers,
      minibatch: t.minibatch ?? byModel.minibatch,
      maxSeconds: t.maxSeconds ?? DEFAULTS.training.maxSeconds,
      ...(t.targetLoss !== undefined ? { targetLoss: t.targetLoss } : {}),
      ...(noStoppingRule ? { epochs: byModel.epochs } : t.epochs !== undefined ? { epochs: t.epochs } : {}),
      patience: t.patience ?? DEFAULTS.training.patience,
      evalEverySeconds: t.evalEverySeconds ?? DEFAULTS.training.evalEverySeconds,
      sync,
      ...(synchronous ? { synchronous } : {}),
      ...(filter ? { filter } : {}),
      checkpointEverySeconds: t.checkpointEverySeconds ?? DEFAULTS.training.checkpointEverySeconds,
      // No default: unset means no deadline and no budget (runtime/provisioning).
      ...(t.deadlineSeconds !== undefined ? { deadlineSeconds: t.deadlineSeconds } : {}),
      ...(t.budgetUSD !== undefined ? { budgetUSD: t.budgetUSD } : {}),
      ...adaptive,
    },
    backend,
    lambda: {
      // "auto" starts from the default until the planner (runtime/provisioning) has a measured peak.
      memoryMB: typeof lambda.memoryMB === 'number' ? lambda.memoryMB : DEFAULTS.lambda.memoryMB,
      ...(lambda.memoryMB === 'auto' || ('autoMemory' in lambda && lambda.autoMemory) ? { autoMemory: true as const } : {}),
      timeoutSeconds: lambda.timeoutSeconds ?? DEFAULTS.lambda.timeoutSeconds[backend],
      functionName: lambda.functionName ?? DEFAULTS.lambda.functionName,
    },
    ...(backend === 'local' && input.network !== undefined ? { network: input.network } : {}),
    parameterServer: {
      tls,
      shards: input.parameterServer?.shards ?? DEFAULTS.parameterServer.shards,
      ...(screen ? { screen } : {}),
    },
    faults: input.faults ?? {},
    ...(aws ? { aws } : {}),
  };
  return { config, warnings };
}

/** The aws settings with the instance's and the guardrails' defaults filled in. */
function resolveAws(input: NonNullable<RunConfig['aws']>): NonNullable<ResolvedRunConfig['aws']> {
  return {
    ...input,
    instanceType: input.instanceType ?? DEFAULTS.aws.instanceType,
    parameterServerPort: input.parameterServerPort ?? DEFAULTS.aws.parameterServerPort,
    maxConcurrency: input.maxConcurrency ?? DEFAULTS.aws.maxConcurrency,
    maxUSD: input.maxUSD ?? DEFAULTS.aws.maxUSD,
    maxInstanceMinutes: input.maxInstanceMinutes ?? DEFAULTS.aws.maxInstanceMinutes,
  };
}

