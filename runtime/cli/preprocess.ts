// `cirrus preprocess s3://BUCKET/PREFIX [--normalize standard|minmax] [--hash-bits N [--hash-features 1,2,..]]
//   [--test-fraction F] [--workers N] [--memory MB] [--to s3://...] [--json] [--state-dir DIR]`:
// the map phase on workers (docs/preprocessing.md). Without a transform option it only computes statistics.
import { parseArgs } from 'node:util';
import { describeRange, inRange, limit } from '../config/limits';
import { UsageError } from './usage';

const HASH_BITS = limit('model.hashBits');
const TEST_FRACTION = limit('dataset.testFraction');
import { preprocessDataset } from '../preprocess/run';
import { cliContext } from './sweep';
import { fmtCount, fmtUSD } from '../util/format';

export async function preprocessCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      normalize: { type: 'string' },
      'hash-bits': { type: 'string' },
      'hash-features': { type: 'string' },
      'test-fraction': { type: 'string' },
      workers: { type: 'string' },
      memory: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean' },
      'state-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1 || !positionals[0].startsWith('s3://')) throw new UsageError('preprocess needs one deployed dataset, s3://bucket/prefix (deploy a file first: cirrus deploy-dataset)');
  const normalize = values.normalize as 'standard' | 'minmax' | undefined;
  if (normalize !== undefined && normalize !== 'standard' && normalize !== 'minmax') throw new UsageError(`--normalize must be standard or minmax (got ${JSON.stringify(normalize)})`);
  const bits = values['hash-bits'] !== undefined ? Number(values['hash-bits']) : undefined;
  if (bits !== undefined && !inRange(bits, HASH_BITS)) throw new UsageError(`--hash-bits must be ${describeRange(HASH_BITS)} (got ${values['hash-bits']})`);
  const testFraction = values['test-fraction'] !== undefined ? Number(values['test-fraction']) : undefined;
  if (testFraction !== undefined && !inRange(testFraction, TEST_FRACTION)) throw new UsageError(`--test-fraction must be ${describeRange(TEST_FRACTION)} (got ${values['test-fraction']})`);
  const features = values['hash-features']?.split(',').map(Number);
  const out = values.json ? process.stderr : process.stdout;
  const outcome = await preprocessDataset(
    {
      dataset: positionals[0],
      steps: { normalize, hash: bits !== undefined ? { bits, features } : undefined, testFraction },
      workers: values.workers !== undefined ? Number(values.workers) : undefined,
      memoryMB: values.memory !== undefined ? Number(values.memory) : undefined,
      destination: values.to,
      onEvent: (e) => e.type === 'progress' && out.write(`[${e.t.toFixed(1).padStart(6)}s] ${e.message}\n`),
    },
    cliContext(values['state-dir'], !!values.json),
  );
  const features_ = [...outcome.stats.values()];
  if (values.json) {
    process.stdout.write(JSON.stringify({ runId: outcome.runId, url: outcome.url, counts: outcome.manifest?.counts, features: features_.length, gbSeconds: outcome.gbSeconds, costUSD: outcome.costUSD, seconds: outcome.seconds, mbPerSecond: outcome.bytesRead / 2 ** 20 / outcome.seconds }) + '\n');
  } else {
    out.write(
      `statistics of ${fmtCount(features_.length)} features merged from the workers` +
        (outcome.url ? `; new version ${outcome.url} (${outcome.manifest!.counts.trainRows} train, ${outcome.manifest!.counts.testRows} test rows)` : '') +
        `; ${outcome.gbSeconds.toFixed(2)} GB-s, ${fmtUSD(outcome.costUSD)}, ${outcome.seconds.toFixed(1)} s (run folder ${outcome.runFolder})\n`,
    );
  }
  return 0;
}
