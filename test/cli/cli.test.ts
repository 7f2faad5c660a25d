// The `cirrus` command as a user runs it: the built bundle in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.join(__dirname, '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-cli-'));
const stateDir = path.join(work, 'state');
const dataFile = path.join(work, 'clicks.tsv');

function cirrus(...args: string[]) {
  return spawnSync(process.execPath, [path.join(root, 'bin', 'cirrus.js'), ...args], { encoding: 'utf8', timeout: 180_000 });
}

test.before(() => {
  const generated = spawnSync(process.execPath, [path.join(root, 'scripts', 'generate-demo-data.mjs'), dataFile, '6000'], { encoding: 'utf8' });
  assert.equal(generated.status, 0, generated.stderr);
});
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test('train --json: progress on stderr, one JSON summary as the last stdout line', () => {
  const config = path.join(work, 'run.cirrus.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      dataset: { path: 'clicks.tsv', format: 'criteo', testFraction: 0.2 },
      model: { type: 'logistic', hashBits: 16 },
      optimizer: { type: 'adagrad', learningRate: 0.05 },
      training: { workers: 2, minibatch: 50, maxSeconds: 30, epochs: 3 },
      lambda: { memoryMB: 256, timeoutSeconds: 10 },
    }),
  );
  const result = cirrus('train', config, '--json', '--state-dir', stateDir);
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]);
  for (const key of ['runId', 'testLoss', 'testAccuracy', 'seconds', 'samples', 'samplesPerSecond', 'costUSD']) assert.ok(key in summary, `${key} in the JSON`);
  assert.equal(summary.status, 'completed');
  // The generated data has a planted signal: the model must beat the base rate's log-loss (about 0.57).
  assert.ok(summary.testLoss < 0.5, `test loss ${summary.testLoss}`);
  assert.ok(summary.samples >= 3 * 4800 * 0.9 && summary.costUSD > 0);
  assert.match(result.stderr, /stage train started \(2 workers x 256 MB\)/);
  assert.ok(fs.existsSync(path.join(summary.runFolder, 'summary.json')));
});

test('deploy-dataset --json reports the deployed rows and partitions', () => {
  const result = cirrus('deploy-dataset', dataFile, '--format', 'criteo', '--test-fraction', '0.25', '--bucket', 'my-data', '--prefix', 'clicks/v1', '--json', '--state-dir', stateDir);
  assert.equal(result.status, 0, result.stderr);
  const out = JSON.parse(result.stdout.trim().split('\n').pop()!);
  assert.equal(out.url, 's3://my-data/clicks/v1');
  assert.deepEqual([out.counts.rows, out.counts.trainRows, out.counts.testRows], [6000, 4500, 1500]);
  assert.ok(out.partitions.train >= 1 && out.partitions.test >= 1);
});

test('deploy-dataset of a CSV prints the table of columns; an override naming no column is refused with the real ones', () => {
  const csv = path.join(work, 'visits.csv');
  const lines = ['visit_id;country;seconds;bought'];
  for (let i = 0; i < 120; i++) lines.push(`${5000 + i * 13};${['fr', 'it', 'de'][i % 3]};${(i * 7.3) % 50};${i % 4 === 0 ? 'yes' : 'no'}`);
  fs.writeFileSync(csv, lines.join('\n') + '\n');
  const result = cirrus('deploy-dataset', csv, '--format', 'csv', '--label-column', 'bought', '--test-fraction', '0.2', '--state-dir', stateDir);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /column\s+role\s+distinct\s+missing\s+range\s+scaling\s+why/);
  assert.match(result.stdout, /\nvisit_id\s+id\s+~?120\s+0%\s+5000\.\.6547\s+about 120 distinct integers/);
  assert.match(result.stdout, /\ncountry\s+categorical\s+3\s+0%/);
  assert.match(result.stdout, /\nseconds\s+numeric\s+\S+\s+0%\s+\S+\s+standardize/);
  assert.match(result.stdout, /\nbought\s+label\s+2/);
  assert.match(result.stderr, /warning: column "visit_id" looks like an id/);
  const wrong = cirrus('deploy-dataset', csv, '--format', 'csv', '--column', 'contry=categorical', '--state-dir', stateDir);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /visits\.csv:1: dataset\.columns names "contry", which is not a column \(columns: visit_id, country, seconds, bought\)/);
});

test('a bad row stops the deploy with file:line', () => {
  const bad = path.join(work, 'bad.tsv');
  const good = fs.readFileSync(dataFile, 'utf8').split('\n').slice(0, 5);
  good.splice(3, 0, 'x\t1\t2');
  fs.writeFileSync(bad, good.join('\n') + '\n');
  const result = cirrus('deploy-dataset', bad, '--format', 'criteo', '--test-fraction', '0.2', '--state-dir', stateDir);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /bad\.tsv:4: /);
});

test('an invalid run config exits 1 naming file, line and field; usage errors exit 2', () => {
  const config = path.join(work, 'broken.cirrus.json');
  fs.writeFileSync(config, '{\n  "dataset": { "path": "clicks.tsv", "format": "criteo", "testFraction": 0.2 },\n  "model": { "type": "logistic" },\n  "optimizer": { "type": "adagrad", "learningRate": 0.05 },\n  "training": { "workers": 0, "minibatch": 10, "epochs": 1 }\n}\n');
  const invalid = cirrus('validate', config);
  assert.equal(invalid.status, 1);
  assert.match(invalid.stderr, /broken\.cirrus\.json:5: training\.workers: must be >= 1/);
  const usage = cirrus('deploy-dataset', dataFile, '--format', 'parquet');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--format must be one of criteo, libsvm, csv, ratings/);
  assert.equal(cirrus('frobnicate').status, 2);
});

test('estimate prints workers, memory, time and dollars', () => {
  const result = cirrus('estimate', path.join(root, 'examples', 'demo.cirrus.json'), '--json');
  assert.equal(result.status, 0, result.stderr);
  const estimate = JSON.parse(result.stdout);
  assert.equal(estimate.workers, 2);
  assert.equal(estimate.memoryMB, 512);
  assert.ok(estimate.expectedSeconds > 0 && estimate.expectedUSD > 0);
  // LambdaML's analytic model per channel x sync cell: S3's synchronous steps are the slowest.
  const cells = estimate.designSpace as Array<{ cell: string; secondsPerStep: number; usd: number }>;
  assert.equal(cells.length, 7);
  const perStep = (name: string) => cells.find((c) => c.cell === name)!.secondsPerStep;
  assert.ok(perStep('async-sgd, parameter server') < perStep('sync-sgd, redis, all-reduce'));
  assert.ok(perStep('sync-sgd, redis, all-reduce') < perStep('sync-sgd, s3, all-reduce'));
  // PyWren-style (the model through S3 each step: 2^18 weights, 1 MiB, both ways) is slower still.
  assert.ok(perStep('sync-sgd, s3, all-reduce') < perStep('sync-sgd, s3, pywren'));
  const text = cirrus('estimate', path.join(root, 'examples', 'demo.cirrus.json'));
  assert.match(text.stdout, /per channel \(analytic model/);
  assert.match(text.stdout, /sync-sgd, s3, scatter-reduce +[\d.]+ ms\/step/);
});

test('a file deployed by hand is reused by a run on the same file and settings (nothing converted twice)', () => {
  const copy = path.join(work, 'clicks-copy.tsv');
  fs.copyFileSync(dataFile, copy);
  const deployed = cirrus('deploy-dataset', copy, '--format', 'criteo', '--test-fraction', '0.2', '--hash-bits', '16', '--json', '--state-dir', stateDir);
  assert.equal(deployed.status, 0, deployed.stderr);
  const url = JSON.parse(deployed.stdout.trim().split('\n').pop()!).url as string;
  const config = path.join(work, 'copy.cirrus.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      dataset: { path: 'clicks-copy.tsv', format: 'criteo', testFraction: 0.2 },
      model: { type: 'logistic', hashBits: 16 },
      optimizer: { type: 'adagrad', learningRate: 0.05 },
      training: { workers: 1, minibatch: 50, maxSeconds: 20, epochs: 1 },
      lambda: { memoryMB: 256, timeoutSeconds: 10 },
    }),
  );
  const run = cirrus('train', config, '--json', '--state-dir', stateDir);
  assert.equal(run.status, 0, run.stderr);
  assert.ok(run.stderr.includes(`reusing dataset ${url}`), `${url} reused:\n${run.stderr}`);
});

test('a config with only dataset trains with the defaults; the plain summary names the model file', () => {
  const config = path.join(work, 'minimal.cirrus.json');
  fs.writeFileSync(config, JSON.stringify({ dataset: { path: 'clicks.tsv', format: 'criteo' }, training: { epochs: 2 } }));
  const result = cirrus('train', config, '--state-dir', stateDir);
  assert.equal(result.status, 0, result.stderr);
  const summary = /^summary: completed; test loss ([0-9.]+), accuracy/m.exec(result.stdout);
  assert.ok(summary, result.stdout);
  assert.ok(Number(summary[1]) < 0.5, `test loss ${summary[1]} with the default AdaGrad settings`);
  const model = /^model: (.+model\.json)$/m.exec(result.stdout);
  assert.ok(model && fs.existsSync(model[1]), `model path printed and written:\n${result.stdout}`);
  // The workers' train loss is shown where it is known: always on the final evaluation (an evaluation
  // before their first heartbeat has none; eval lines are at most one per 2 s, the final one always shows).
  const evalLines = result.stdout.split('\n').filter((l) => /test loss [0-9.]+ acc/.test(l) && !/samples 0 /.test(l));
  assert.ok(evalLines.length > 0, result.stdout);
  assert.match(evalLines[evalLines.length - 1], /train loss [0-9.]+/);
  assert.match(evalLines[evalLines.length - 1], new RegExp(`test loss ${summary[1]}`), 'the last eval line is the model the summary reports');
  assert.doesNotMatch(result.stdout + result.stderr, /NodeVersionSupportWarning|train loss -/);
  const recorded = JSON.parse(fs.readFileSync(path.join(path.dirname(model[1]), 'config.json'), 'utf8'));
  assert.deepEqual(recorded.optimizer, { type: 'adagrad', learningRate: 0.02, l2: 0 }, 'the run folder records the resolved settings');
});

test('validate: warnings for ignored settings, a missing data file with its line, suggestions; usage errors exit 2 on stderr', () => {
  const s3 = path.join(work, 's3.cirrus.json');
  fs.writeFileSync(s3, '{\n  "dataset": { "path": "s3://b/p" },\n  "model": { "type": "logistic", "hashBits": 18 }\n}\n');
  const warned = cirrus('validate', s3);
  assert.equal(warned.status, 0, warned.stderr);
  assert.match(warned.stderr, /warning: .*s3\.cirrus\.json:3: model\.hashBits: is ignored: the s3:\/\/ dataset was converted/);
  assert.match(warned.stdout, /valid \(1 warning\)/);

  const missing = path.join(work, 'missing.cirrus.json');
  fs.writeFileSync(missing, '{\n  "dataset": {\n    "path": "nothing-here.tsv",\n    "format": "criteo"\n  }\n}\n');
  const runs = path.join(work, 'state-missing');
  for (const command of ['validate', 'train']) {
    const result = cirrus(command, missing, ...(command === 'train' ? ['--state-dir', runs] : []));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /missing\.cirrus\.json:3: dataset\.path: .*nothing-here\.tsv does not exist/);
  }
  assert.ok(!fs.existsSync(path.join(runs, 'runs')), 'no run folder for a run that cannot start');

  const typo = path.join(work, 'typo.cirrus.json');
  fs.writeFileSync(typo, '{\n  "dataset": { "path": "clicks.tsv", "format": "criteo" },\n  "training": { "maxSecond": 10 }\n}\n');
  assert.match(cirrus('validate', typo).stderr, /typo\.cirrus\.json:3: training\.maxSecond: is not a known setting: did you mean "maxSeconds"\?/);

  const none = cirrus();
  assert.equal(none.status, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /no command given[\s\S]*Usage:/);
  const unknown = cirrus('trian', typo);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "trian" \(did you mean train\?\)/);
  const option = cirrus('validate', typo, '--jsn');
  assert.equal(option.status, 2);
  assert.match(option.stderr, /Unknown option '--jsn' \(did you mean --json\?\)/);
  const bits = cirrus('deploy-dataset', dataFile, '--format', 'criteo', '--hash-bits', '30');
  assert.equal(bits.status, 2);
  assert.match(bits.stderr, /--hash-bits must be an integer from 4 to 26 \(got 30\)/);
  assert.equal(cirrus('--help').status, 0);
});
