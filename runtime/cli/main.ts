// `cirrus`: the headless front door over the same runtime the extension uses.
import { describeTrainingMode } from '../driver/sync-run';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  columnWarnings,
  defaultContext,
  deployDataset,
  estimateRun,
  formatColumnTable,
  formatProblem,
  loadRunConfigFile,
  probeRun,
  shutdownEmbeddedServices,
  startTraining,
  type DatasetFormat,
  type RunEvent,
  type RuntimeContext,
} from '../index';
import { doublemlCommand } from './doubleml';
import { localCommand } from './local';
import { awsCommand } from './aws';
import { simulateCommand } from './simulate';
import { resumeCommand } from './resume';
import { stopOnSignals } from './signals';
import { predictCommand } from './predict';
import { preprocessCommand } from './preprocess';
import { sweepCommand } from './sweep';
import { fmtBytes, fmtCount, fmtUSD } from '../util/format';
import { QUIET_SDK_ENV } from '../util/node-policy';
import { describeRange, inRange, limit } from '../config/limits';
import { nearest } from '../config/problems';
import { asUsageError, UsageError } from './usage';

const USAGE = `Usage:
  cirrus train RUN_CONFIG.json [--json] [--state-dir DIR]
  cirrus deploy-dataset FILE --format criteo|libsvm|csv|ratings [--test-fraction F | --test FILE]
                        [--bucket B --prefix P] [--hash-bits N] [--label-column NAME|N] [--column NAME=ROLE]...
                        [--scaling auto|none] [--skip-bad] [--json] [--state-dir DIR]
  cirrus estimate RUN_CONFIG.json [--probe] [--json] [--state-dir DIR]
  cirrus simulate RUN_CONFIG.json [--workers N,N,...] [--memory MB,MB,...] [--local] [--json] [--state-dir DIR]
  cirrus validate RUN_CONFIG.json
  cirrus resume RUN_FOLDER [--json] [--state-dir DIR]
  cirrus sweep SWEEP_CONFIG.json [--json] [--best-out FILE] [--state-dir DIR]
  cirrus predict MODEL DATA [--out FILE] [--skip-bad] [--json]
  cirrus preprocess s3://BUCKET/PREFIX [--normalize standard|minmax] [--hash-bits N] [--test-fraction F] [--workers N] [--json]
  cirrus doubleml DOUBLEML_CONFIG.json [--json] [--state-dir DIR]
  cirrus local start|status|stop [--json] [--state-dir DIR]
  cirrus aws plan RUN_CONFIG.json [--json]
  cirrus aws check RUN_CONFIG.json [--profile P] [--json]
  cirrus aws cleanup [RUN_CONFIG.json] [--run ID] [--region R] [--bucket B] [--profile P] [--json]

The local backend (default) runs an embedded S3 server and Lambda service under --state-dir
(default ./.cirrus). Run folders go to <state-dir>/runs/<run id>/.`;

const FORMATS: DatasetFormat[] = ['criteo', 'libsvm', 'csv', 'ratings'];
const HASH_BITS = limit('model.hashBits');
const TEST_FRACTION = limit('dataset.testFraction');

function context(stateDir: string | undefined, quiet: boolean): RuntimeContext {
  const ctx = stateDir ? { stateDir: path.resolve(stateDir) } : defaultContext();
  return { ...ctx, log: (level, message) => (level !== 'info' || !quiet) && process.stderr.write(`${level === 'info' ? '' : `${level}: `}${message}\n`) };
}

const fmt = (n: number, digits = 4) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function describeEvent(event: RunEvent): string | undefined {
  const at = `[${event.t.toFixed(1).padStart(6)}s]`;
  switch (event.type) {
    case 'stage-started':
      return `${at} stage ${event.stage} started${event.workers ? ` (${event.workers} workers x ${event.memoryMB} MB)` : ''}`;
    case 'stage-finished':
      return `${at} stage ${event.stage} finished in ${event.seconds.toFixed(1)} s, ${event.gbSeconds.toFixed(2)} GB-s, ${fmtUSD(event.costUSD)}`;
    case 'progress':
      return `${at} ${event.stage}: ${event.message}`;
    case 'eval': {
      const quality = event.testRMSE !== undefined && event.testRMSE !== null ? `test RMSE ${fmt(event.testRMSE)}` : `test loss ${fmt(event.testLoss)}${event.testAccuracy !== undefined ? ` acc ${(100 * event.testAccuracy).toFixed(2)}%` : ''}`;
      // train loss: the workers' running mean (RMSE for mf), once their first heartbeat has it
      const train = event.trainLoss !== undefined && event.trainLoss !== null && Number.isFinite(event.trainLoss) ? `  train ${event.testRMSE !== undefined && event.testRMSE !== null ? 'RMSE' : 'loss'} ${fmt(event.trainLoss)}` : '';
      return `${at} ${quality}${train}  samples ${fmtCount(event.samples)}  ${fmtUSD(event.costUSD)}`;
    }
    case 'worker-finished':
      return event.status === 'failed' ? `${at} worker ${event.worker} generation ${event.generation} failed: ${event.error}` : undefined;
    case 'resize':
      return `${at} adaptive: ${event.previousWorkers} -> ${event.workers} workers${event.memoryMB !== event.previousMemoryMB ? `, ${event.previousMemoryMB} -> ${event.memoryMB} MB` : ''}: ${event.reason}`;
    case 'worker-launched':
      return event.reason === 'start' ? undefined : `${at} worker ${event.worker} generation ${event.generation} launched (${event.reason})`;
    case 'run-finished':
      return `${at} run ${event.status}: ${event.reason}`;
    default:
      return undefined;
  }
}

async function train(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, 'state-dir': { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('train needs one RUN_CONFIG.json');
  const configPath = path.resolve(positionals[0]);
  const { config } = loadRunConfigFile(configPath); // its warnings go to the run's log (startTraining)
  const ctx = context(values['state-dir'], false);
  const out = values.json ? process.stderr : process.stdout;
  const handle = await startTraining(config, ctx, { configPath });
  out.write(`run ${handle.runId} -> ${handle.runFolder}\n`);
  let lastEvalLine = 0;
  // At most one eval line per 2 s keeps the terminal readable; one held back is printed before the next
  // other line, so the final evaluation (the model the summary reports) always shows.
  let heldEval: string | undefined;
  handle.onEvent((event) => {
    const line = describeEvent(event);
    if (!line) return;
    if (event.type === 'eval') {
      if (Date.now() - lastEvalLine < 2000) {
        heldEval = line;
        return;
      }
      lastEvalLine = Date.now();
      heldEval = undefined;
    } else if (heldEval) {
      out.write(heldEval + '\n');
      heldEval = undefined;
    }
    out.write(line + '\n');
  });
  const stopListening = stopOnSignals((reason) => void handle.stop(reason), (line) => out.write(line));
  const summary = await handle.done;
  stopListening();
  if (values.json) {
    process.stdout.write(
      JSON.stringify({
        runId: summary.runId,
        status: summary.status,
        reason: summary.reason,
        testLoss: summary.testLoss,
        testAccuracy: summary.testAccuracy,
        ...(summary.testRMSE !== undefined && summary.testRMSE !== null ? { testRMSE: summary.testRMSE } : {}),
        seconds: summary.seconds,
        samples: summary.samples,
        samplesPerSecond: summary.samplesPerSecond,
        costUSD: summary.costUSD,
        cost: summary.cost,
        runFolder: summary.runFolder,
        modelPath: summary.modelPath,
        ...(summary.traffic ? { traffic: summary.traffic } : {}),
        ...(summary.training ? { training: summary.training } : {}),
      }) + '\n',
    );
  } else {
    const quality =
      summary.testRMSE !== undefined && summary.testRMSE !== null
        ? `test RMSE ${fmt(summary.testRMSE)}`
        : `test loss ${fmt(summary.testLoss ?? NaN)}${summary.testAccuracy !== null ? `, accuracy ${(100 * summary.testAccuracy).toFixed(2)}%` : ''}`;
    out.write(
      `summary: ${summary.status}; ${quality}; ` +
        `${fmtCount(summary.samples)} samples in ${summary.seconds.toFixed(1)} s (${fmtCount(summary.samplesPerSecond)}/s); cost ${fmtUSD(summary.costUSD)}\n` +
        (summary.training ? `trained: ${describeTrainingMode(summary.training)}\n` : '') +
        (summary.modelPath ? `model: ${summary.modelPath}\n` : ''),
    );
    const traffic = summary.traffic;
    if (traffic && traffic.total.requests > 0) {
      const perWorker = traffic.perWorker.map((t, w) => `w${w} ${fmtBytes(t.bytesSent)}/${fmtCount(t.requests)}`).join(', ');
      // sync-sgd: updates are those contributed to the steps, and S3/Redis PUTs count too (docs/filters.md).
      const to = summary.training?.sync === 'sync-sgd' ? 'sent to the parameter server and the sync channel' : 'sent to the parameter server';
      out.write(`${to}: ${fmtBytes(traffic.total.bytesSent)} in ${fmtCount(traffic.total.requests)} requests (updates ${fmtBytes(traffic.total.pushBytes)} in ${fmtCount(traffic.total.pushes)} pushes); per worker: ${perWorker}\n`);
    }
    if (summary.rejectedUpdates) {
      const from = summary.rejectedUpdates.flatMap((n, w) => (n > 0 ? [`w${w} ${fmtCount(n)}`] : [])).join(', ');
      out.write(`updates refused by the parameter server's screen: ${from}\n`);
    }
  }
  return summary.status === 'failed' ? 1 : 0;
}

const COLUMN_ROLES = ['numeric', 'categorical', 'ignore', 'label', 'timestamp'] as const;

/** --column NAME=ROLE options as dataset.columns. */
function parseColumnOptions(options: string[] | undefined): Record<string, (typeof COLUMN_ROLES)[number]> | undefined {
  if (!options?.length) return undefined;
  const columns: Record<string, (typeof COLUMN_ROLES)[number]> = {};
  for (const option of options) {
    const at = option.lastIndexOf('=');
    const role = option.slice(at + 1) as (typeof COLUMN_ROLES)[number];
    if (at <= 0 || !COLUMN_ROLES.includes(role)) throw new UsageError(`--column must be NAME=ROLE with ROLE one of ${COLUMN_ROLES.join(', ')} (got "${option}")`);
    columns[option.slice(0, at)] = role;
  }
  return columns;
}

async function deploy(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      'test-fraction': { type: 'string' },
      test: { type: 'string' },
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      'hash-bits': { type: 'string' },
      'label-column': { type: 'string' },
      column: { type: 'string', multiple: true },
      scaling: { type: 'string' },
      'skip-bad': { type: 'boolean' },
      json: { type: 'boolean' },
      'state-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('deploy-dataset needs one FILE');
  const format = values.format as DatasetFormat | undefined;
  if (!format || !FORMATS.includes(format)) {
    const guess = format ? nearest(format, FORMATS) : undefined;
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}${format ? ` (got ${JSON.stringify(format)}${guess ? `: did you mean ${guess}?` : ''})` : ''}`);
  }
  if (values['test-fraction'] !== undefined && values.test !== undefined) throw new UsageError('give --test-fraction or --test, not both');
  const testFraction = values['test-fraction'] !== undefined ? Number(values['test-fraction']) : undefined;
  if (testFraction !== undefined && !inRange(testFraction, TEST_FRACTION)) throw new UsageError(`--test-fraction must be ${describeRange(TEST_FRACTION)} (got ${values['test-fraction']})`);
  const hashBits = values['hash-bits'] !== undefined ? Number(values['hash-bits']) : undefined;
  if (hashBits !== undefined && !inRange(hashBits, HASH_BITS)) throw new UsageError(`--hash-bits must be ${describeRange(HASH_BITS)} (got ${values['hash-bits']})`);
  if ((values.bucket === undefined) !== (values.prefix === undefined)) throw new UsageError('give --bucket and --prefix together');
  if (values.scaling !== undefined && values.scaling !== 'auto' && values.scaling !== 'none') throw new UsageError('--scaling must be auto or none');
  const file = path.resolve(positionals[0]);
  if (!fs.existsSync(file)) throw new UsageError(`${file} does not exist`);
  const ctx = context(values['state-dir'], !!values.json);
  const abort = new AbortController();
  const onInterrupt = () => abort.abort('interrupted (Ctrl-C)');
  process.on('SIGINT', onInterrupt);
  const progressOut = process.stderr;
  const outcome = await deployDataset(
    {
      file,
      format,
      testFraction,
      testFile: values.test ? path.resolve(values.test) : undefined,
      hashBits,
      labelColumn: values['label-column'],
      columns: parseColumnOptions(values.column),
      scaling: values.scaling as 'auto' | 'none' | undefined,
      skipBad: values['skip-bad'],
      destination: values.bucket ? `s3://${values.bucket}/${values.prefix}` : undefined,
      signal: abort.signal,
      onProgress: (p) => {
        const percent = p.totalBytes ? ` ${((100 * p.bytesRead) / p.totalBytes).toFixed(0)}%` : '';
        if (progressOut.isTTY) progressOut.write(`\r${p.phase}${percent}: ${fmtCount(p.rows)} rows, ${p.partitionsUploaded} partitions uploaded   `);
        else progressOut.write(`${p.phase}${percent}: ${fmtCount(p.rows)} rows, ${p.partitionsUploaded} partitions uploaded\n`);
      },
    },
    ctx,
  ).finally(() => process.off('SIGINT', onInterrupt));
  if (progressOut.isTTY) progressOut.write('\n');
  const { counts, partitions } = outcome.manifest;
  if (values.json) {
    process.stdout.write(JSON.stringify({ url: outcome.url, counts, partitions: { train: partitions.train.length, test: partitions.test.length }, seconds: outcome.seconds }) + '\n');
  } else {
    process.stdout.write(
      `deployed ${outcome.url}: ${fmtCount(counts.rows)} rows (${fmtCount(counts.trainRows)} train, ${fmtCount(counts.testRows)} test), ` +
        `${partitions.train.length + partitions.test.length} partitions, ${(counts.bytes / 2 ** 20).toFixed(1)} MB, ${counts.skippedRows} rows skipped, in ${outcome.seconds.toFixed(1)} s\n`,
    );
    const columns = outcome.manifest.columns;
    if (columns?.length) {
      process.stdout.write(formatColumnTable(columns) + '\n');
      for (const warning of columnWarnings(columns)) process.stderr.write(`warning: ${warning}\n`);
    }
  }
  return 0;
}

async function estimate(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, probe: { type: 'boolean' }, 'state-dir': { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('estimate needs one RUN_CONFIG.json');
  const { resolved } = loadRunConfigFile(path.resolve(positionals[0]), { checkFiles: false });
  const ctx = context(values['state-dir'], true);
  // --probe: a few seconds of real training on this data first, so the estimate is fitted from a measurement.
  if (values.probe) await probeRun(resolved, ctx);
  const result = estimateRun(resolved, { stateDir: ctx.stateDir });
  if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const range = result.range ? ` (${result.range.seconds[0].toFixed(1)}-${result.range.seconds[1].toFixed(1)} s, ${fmtUSD(result.range.usd[0])}-${fmtUSD(result.range.usd[1])})` : '';
    process.stdout.write(`${result.workers} workers x ${result.memoryMB} MB, about ${result.expectedSeconds.toFixed(1)} s, about ${fmtUSD(result.expectedUSD)}${range}\n`);
    if (result.basis) process.stdout.write(`basis: ${result.basis}\n`);
    for (const note of result.notes ?? []) process.stdout.write(`note: ${note}\n`);
    if (result.designSpace) {
      // Which channel to pick: LambdaML's analytic model per cell (docs/design-space.md), under the "aws" network figures.
      process.stdout.write(`per channel (analytic model, "aws" network figures, ${result.workers} workers):\n`);
      for (const row of result.designSpace) {
        process.stdout.write(`  ${row.cell.padEnd(32)} ${(1000 * row.secondsPerStep).toFixed(1).padStart(8)} ms/step  about ${row.seconds.toFixed(1)} s, ${fmtUSD(row.usd)}\n`);
      }
    }
  }
  return 0;
}

async function validate(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('validate needs one RUN_CONFIG.json');
  const file = path.resolve(positionals[0]);
  const { warnings } = loadRunConfigFile(file);
  for (const w of warnings) process.stderr.write(`warning: ${formatProblem(file, w)}\n`);
  process.stdout.write(`${positionals[0]}: valid${warnings.length ? ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''})` : ''}\n`);
  return 0;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = { train, 'deploy-dataset': deploy, estimate, validate, sweep: sweepCommand, predict: predictCommand, preprocess: preprocessCommand, resume: resumeCommand, doubleml: doublemlCommand, local: localCommand, aws: awsCommand, simulate: simulateCommand };

async function main(argv: string[]): Promise<number> {
  // The CLI is its own process (unlike the extension host): its SDK clients stay quiet about Node's version (util/node-policy.ts).
  for (const [key, value] of Object.entries(QUIET_SDK_ENV)) process.env[key] ??= value;
  const [command, ...rest] = argv;
  if (!command) throw new UsageError('no command given');
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    const guess = nearest(command, Object.keys(COMMANDS));
    throw new UsageError(`unknown command "${command}"${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  try {
    return await run(rest);
  } finally {
    await shutdownEmbeddedServices();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (thrown: unknown) => {
    const error = asUsageError(thrown, USAGE) ?? thrown;
    if (error instanceof UsageError) process.stderr.write(`cirrus: ${error.message}\n\n${USAGE}\n`);
    else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`cirrus: ${error instanceof Error ? error.message : String(error)}\n`);
    return shutdownEmbeddedServices().finally(() => process.exit(error instanceof UsageError ? 2 : 1));
  },
);
