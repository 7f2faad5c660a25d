// Datasets (issue 14): Deploy on any file the readers accept (ratings `.base`/`.test`, gzipped files,
// LIBSVM files without an extension), the detected format shown, the test file beside offered, the
// Datasets view's Copy S3 URI and Delete, the state folder's .gitignore, and New Run Configuration's
// files (unique run names, the test file beside). Real runtime and embedded S3.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, test } from 'node:test';
import { commands, fake, Uri, type Shown } from './fake-vscode';
import { activate } from './harness';
import * as runtime from '../../runtime/index';
import { dataFilesIn, detectFormat, firstLines, isDataFile, siblingTestFile } from '../../extension/deploy/detect-format';
import type { DeployOutcome } from '../../runtime/api';
import { listKeys, parseS3Url } from '../../runtime/storage/s3';
import { localBackend } from '../../runtime/backends/backend';
import { STATE_GITIGNORE } from '../../runtime/util/state-dir';

after(() => runtime.shutdownEmbeddedServices());

/** MovieLens-shaped ratings: user, item, rating, time stamp, tab-separated. */
function ratings(file: string, rows: number, offset = 0): string {
  const lines = Array.from({ length: rows }, (_, i) => `${1 + ((i + offset) % 40)}\t${1 + ((i * 7 + offset) % 60)}\t${1 + ((i + offset) % 5)}\t${881250949 + i}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

interface Asked {
  titles: string[];
  items: string[][];
}

/** Answers the deploy's questions: the first matching item of each quick pick, "Local" as the destination. */
function deployAnswers(prefer: RegExp, asked: Asked, then?: (kind: string, shown: Shown) => unknown) {
  return (kind: string, shown: unknown) => {
    if (kind === 'quickPick') {
      const s = shown as { items: Array<{ label: string }>; options?: { title?: string } };
      asked.titles.push(String(s.options?.title));
      asked.items.push(s.items.map((i) => i.label));
      return s.items.find((i) => prefer.test(i.label)) ?? s.items.find((i) => /^Local/.test(i.label));
    }
    if (kind === 'inputBox') return '0.2';
    return then?.(kind, shown as Shown);
  };
}

test('file names the readers accept: ratings splits, gzip, LIBSVM without an extension; the test file beside', () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cirrus-files-'));
  try {
    for (const name of ['u1.base', 'u1.test', 'a9a', 'a9a.t', 'ratings.dat.gz', 'x.train', 'clicks.tsv']) assert.ok(isDataFile(name), name);
    assert.ok(!isDataFile('notes.md') && !isDataFile('model.json'));
    ratings(path.join(dir, 'u1.base'), 10);
    ratings(path.join(dir, 'u1.test'), 5);
    fs.writeFileSync(path.join(dir, 'a9a'), '-1 3:1 11:1\n+1 5:1\n');
    fs.writeFileSync(path.join(dir, 'a9a.t'), '-1 3:1\n');
    fs.writeFileSync(path.join(dir, 'README'), 'MovieLens 100k, see the site\n');
    fs.writeFileSync(path.join(dir, 'ratings.dat.gz'), zlib.gzipSync(Buffer.from('1::1193::5::978300760\n2::661::3::978302109\n')));
    assert.equal(siblingTestFile(path.join(dir, 'u1.base')), path.join(dir, 'u1.test'));
    assert.equal(siblingTestFile(path.join(dir, 'a9a')), path.join(dir, 'a9a.t'));
    assert.equal(siblingTestFile(path.join(dir, 'u1.test')), undefined);
    assert.equal(detectFormat(path.join(dir, 'u1.base'), firstLines(path.join(dir, 'u1.base'))), 'ratings');
    assert.deepEqual(firstLines(path.join(dir, 'ratings.dat.gz'), 1), ['1::1193::5::978300760'], 'gzip unpacked');
    assert.equal(detectFormat(path.join(dir, 'ratings.dat.gz'), firstLines(path.join(dir, 'ratings.dat.gz'))), 'ratings');
    // A folder's data files: the README (no extension, not data) is left out, a9a (no extension, LIBSVM) is in.
    assert.deepEqual(dataFilesIn(dir).map((f) => path.basename(f)), ['a9a', 'a9a.t', 'ratings.dat.gz', 'u1.base', 'u1.test']);
    // The explorer menu offers Deploy on the same names.
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const when: string = pkg.contributes.menus['explorer/context'].find((m: { command: string }) => m.command === 'cirrus.deployDataset').when;
    for (const ext of ['.base', '.test', '.t', '.gz', '.tsv']) assert.ok(new RegExp(when.match(/=~ \/(.*)\/i/)![1], 'i').test(ext), `${ext} in ${when}`);
    assert.match(when, /resourceExtname == ''/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Deploy u1.base: format shown, u1.test offered and used; the state folder gets a .gitignore; Copy S3 URI; Delete', { timeout: 120_000 }, async () => {
  const ext = activate();
  try {
    const base = ratings(path.join(ext.workspace, 'u1.base'), 800);
    ratings(path.join(ext.workspace, 'u1.test'), 200, 3);
    const asked: Asked = { titles: [], items: [] };
    fake.answer = deployAnswers(/^Use u1\.test/, asked);
    const [outcome] = (await commands.executeCommand('cirrus.deployDataset', Uri.file(base))) as DeployOutcome[];
    assert.ok(outcome, fake.messages.map((m) => m.message).join('\n'));
    assert.equal(asked.titles[0], 'Test split for u1.base (format: ratings (user, item, rating))', 'the detected format is shown');
    assert.deepEqual(asked.items[0], ['Use u1.test as the test set', 'Hold out the last fraction of rows as the test set', 'Use a separate test file…', 'Not ratings (user, item, rating)? Pick the format…']);
    assert.equal(outcome.manifest.schema.format, 'ratings');
    assert.deepEqual([outcome.manifest.counts.trainRows, outcome.manifest.counts.testRows], [800, 200], 'u1.test is the test set');
    const summary = fake.messages.find((m) => m.message.startsWith('Deployed u1.base'))!;
    assert.match(summary.message, /^Deployed u1\.base \(ratings \(user, item, rating\)\) to s3:\/\//);
    assert.equal(fs.readFileSync(path.join(ext.stateDir, '.gitignore'), 'utf8'), STATE_GITIGNORE, 'the state folder is kept out of git');

    // Copy S3 URI, from the Datasets view's item.
    const node = { url: outcome.url, manifest: outcome.manifest };
    assert.equal(await commands.executeCommand('cirrus.copyDatasetUri', node), outcome.url);
    assert.equal(fake.clipboard, outcome.url);

    // Delete: the confirm names it; dismissing it keeps the dataset.
    fake.answer = () => undefined;
    assert.equal(await commands.executeCommand('cirrus.deleteDataset', node), false);
    const confirm = fake.messages.find((m) => m.options?.modal)!;
    assert.equal(confirm.message, 'Delete dataset "u1.base"?');
    assert.match(confirm.options!.detail!, /1,000 rows in \d+ partitions/);
    assert.ok((await runtime.listDatasets(ext.host.runtimeContext())).some((d) => d.url === outcome.url));
    fake.answer = (_kind, shown) => ((shown as Shown).options?.modal ? 'Delete' : undefined);
    assert.equal(await commands.executeCommand('cirrus.deleteDataset', node), true);
    assert.ok(!(await runtime.listDatasets(ext.host.runtimeContext())).some((d) => d.url === outcome.url), 'gone from the list');
    const backend = await localBackend(ext.stateDir);
    const { bucket, prefix } = parseS3Url(outcome.url);
    const left: string[] = [];
    for await (const { key } of listKeys(backend.s3, bucket, `${prefix}/`)) left.push(key);
    assert.deepEqual(left, [], 'every object under the prefix deleted');
    assert.ok(fs.existsSync(base), 'the source file is untouched');
    // Deleting it again is an error that names it, not a crash.
    fake.messages.length = 0;
    assert.equal(await commands.executeCommand('cirrus.deleteDataset', node), false);
    assert.match(fake.messages.find((m) => m.kind === 'error')?.message ?? '', /holds no dataset manifest: nothing deleted/);
  } finally {
    await ext.dispose();
  }
});

test('the detected format can be changed from the split question', { timeout: 60_000 }, async () => {
  const ext = activate();
  try {
    // Four numbers a line, tab-separated: detected as ratings, but here it is something else.
    const file = ratings(path.join(ext.workspace, 'odd.data'), 10);
    const asked: Asked = { titles: [], items: [] };
    fake.answer = (kind, shown) => {
      const s = shown as { items: Array<{ label: string }>; options?: { title?: string } };
      if (kind !== 'quickPick') return undefined;
      asked.titles.push(String(s.options?.title));
      if (asked.titles.length === 1) return s.items.find((i) => /Pick the format/.test(i.label));
      return undefined; // dismissed
    };
    await commands.executeCommand('cirrus.deployDataset', Uri.file(file));
    assert.deepEqual(asked.titles, ['Test split for odd.data (format: ratings (user, item, rating))', 'Format of odd.data']);
  } finally {
    await ext.dispose();
  }
});

test('New Run Configuration: one file per config with its own run name; a local u1.base gets u1.test; the validation rule ends runs', { timeout: 120_000 }, async () => {
  const ext = activate();
  try {
    const base = ratings(path.join(ext.workspace, 'u1.base'), 300);
    ratings(path.join(ext.workspace, 'u1.test'), 100, 3);
    // From a local file (the Explorer or the palette's file pick): the test file beside is the split.
    const first = (await commands.executeCommand('cirrus.newRunConfig', Uri.file(base))) as Uri;
    const second = (await commands.executeCommand('cirrus.newRunConfig', Uri.file(base))) as Uri;
    assert.deepEqual([path.basename(first.fsPath), path.basename(second.fsPath)], ['u1.cirrus.json', 'u1-2.cirrus.json']);
    const a = JSON.parse(fs.readFileSync(first.fsPath, 'utf8'));
    const b = JSON.parse(fs.readFileSync(second.fsPath, 'utf8'));
    assert.deepEqual([a.name, b.name], ['u1', 'u1-2'], 'run names unique per file');
    assert.deepEqual(a.dataset, { path: 'u1.base', format: 'ratings', testPath: 'u1.test', skipBad: false });
    assert.equal(a.model.type, 'mf');
    assert.equal(a.training.epochs, runtime.DEFAULTS.newConfigEpochs.mf);
    assert.ok(a.training.patience > 0, 'the validation rule is on');
    runtime.validateRunConfig(a);

    // From a deployed dataset (the Datasets view's item): a logistic config with a cap the validation rule reaches first.
    const libsvm = path.join(ext.workspace, 'clicks.libsvm');
    fs.writeFileSync(libsvm, Array.from({ length: 300 }, (_, i) => `${i % 2 ? 1 : -1} ${1 + (i % 2)}:1 ${3 + (i % 5)}:1`).join('\n') + '\n');
    const outcome = await runtime.deployDataset({ file: libsvm, format: 'libsvm', testFraction: 0.2 }, ext.host.runtimeContext());
    const node = { url: outcome.url, manifest: outcome.manifest };
    const c1 = (await commands.executeCommand('cirrus.newRunConfig', node)) as Uri;
    const c2 = (await commands.executeCommand('cirrus.newRunConfig', node)) as Uri;
    const [x, y] = [c1, c2].map((u) => JSON.parse(fs.readFileSync(u.fsPath, 'utf8')));
    assert.deepEqual([x.name, y.name], ['clicks', 'clicks-2']);
    assert.equal(x.dataset.path, outcome.url);
    assert.equal(x.training.epochs, runtime.DEFAULTS.newConfigEpochs.logistic);
    assert.equal(x.training.workers, 4, 'cirrus.worker.count');
    assert.equal(x.backend, undefined, 'the backend comes from the settings');
  } finally {
    await ext.dispose();
  }
});
