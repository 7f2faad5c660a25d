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
