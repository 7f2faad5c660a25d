// Preprocess Dataset from VS Code, with the real runtime on the local backend: from a Datasets tree
// item, asks normalisation and re-split, runs the map phase in a cancellable progress notification,
// and the new version appears in the refreshed Datasets tree. From the palette it picks a dataset.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands, fake } from './fake-vscode';
import { activate } from './harness';
import * as runtime from '../../runtime/index';
import type { DatasetNode, DatasetsTreeProvider } from '../../extension/datasets/datasets-tree';

after(() => runtime.shutdownEmbeddedServices());

type Item = { label: string; normalize?: string; resplit?: boolean };

test('Preprocess Dataset on a tree item writes a new version that the Datasets tree shows; Cancel aborts it; nothing to do asks nothing of the runtime', { timeout: 180_000 }, async () => {
  const ext = activate();
  try {
    const file = path.join(ext.workspace, 'pp.libsvm');
    fs.writeFileSync(file, Array.from({ length: 3000 }, (_, i) => `${i % 2 ? 1 : -1} 1:${(i % 13) * 3} 2:${i % 5} ${3 + (i % 7)}:1`).join('\n') + '\n');
    await runtime.deployDataset({ file, format: 'libsvm', testFraction: 0.1 }, ext.host.runtimeContext());
    const tree = fake.treeViews.get('cirrus.datasets')!.treeDataProvider as DatasetsTreeProvider;
    const before = await tree.getChildren();
    assert.equal(before.length, 1);
    let refreshed = 0;
    tree.onDidChangeTreeData(() => refreshed++);

    const asked: string[] = [];
    fake.answer = (kind, shown) => {
      const s = shown as { items?: Item[]; options?: { title?: string }; title?: string };
      if (kind === 'quickPick' || kind === 'inputBox') asked.push(`${kind}: ${s.options?.title ?? s.title}`);
      if (kind === 'quickPick' && /^Normalise/.test(s.options!.title!)) return s.items!.find((i) => i.label === 'Standard');
      if (kind === 'quickPick' && /^Test split/.test(s.options!.title!)) return s.items!.find((i) => i.resplit);
      if (kind === 'inputBox') return '0.25';
      return undefined;
    };
    const outcome = (await commands.executeCommand('cirrus.preprocessDataset', before[0])) as Awaited<ReturnType<typeof runtime.preprocessDataset>>;
    assert.ok(outcome?.url, JSON.stringify(fake.messages));
    assert.deepEqual(asked, ['quickPick: Normalise pp.libsvm', 'quickPick: Test split of pp.libsvm', 'inputBox: Test fraction']);
    assert.deepEqual((outcome.manifest as { preprocess?: { steps?: unknown } }).preprocess?.steps, { normalize: 'standard', testFraction: 0.25 });
    const progress = fake.progress.find((p) => p.title === 'Cirrus: preprocessing pp.libsvm')!;
    assert.ok(progress, 'ran in a progress notification');
    assert.ok(progress.reports.some((r) => /tasks done/.test(r.message ?? '')), JSON.stringify(progress.reports));
    assert.ok(refreshed > 0, 'the Datasets tree was refreshed');
    const after_ = await tree.getChildren();
    assert.deepEqual(after_.map((d) => d.url).sort(), [before[0].url, outcome.url].sort(), 'the new version is listed');
    const fresh = after_.find((d) => d.url === outcome.url)!;
    const testShare = fresh.manifest.counts.testRows / fresh.manifest.counts.rows;
    assert.ok(testShare > 0.18 && testShare < 0.32, `re-split to about 25 % (${testShare})`);
    assert.match(fake.messages.find((m) => m.kind === 'info')!.message, /^Preprocessed pp\.libsvm into s3:\/\//);

    // Cancel from the progress notification: the map phase is aborted and no version appears.
    fake.answer = (kind, shown) => {
      const s = shown as { items?: Item[]; options?: { title?: string } };
      if (kind === 'quickPick' && /^Normalise/.test(s.options!.title!)) return s.items!.find((i) => i.label === 'Min-max');
      if (kind === 'quickPick') return s.items!.find((i) => i.resplit === false);
      return undefined;
    };
    const started = fake.progress.length;
    const cancelled = commands.executeCommand('cirrus.preprocessDataset', before[0]);
    while (fake.progress.length === started) await new Promise((r) => setTimeout(r, 20));
    fake.progress.at(-1)!.source.cancel();
    assert.equal(await cancelled, undefined);
    assert.ok(fake.messages.some((m) => /cancelled/.test(m.message)), JSON.stringify(fake.messages));
    assert.equal((await tree.getChildren()).length, 2, 'no new version from the cancelled run');

    // From the palette: the deployed datasets are offered; "None" and "keep the split" is nothing to do.
    fake.messages.length = 0;
    let offered: string[] = [];
    fake.answer = (kind, shown) => {
      const s = shown as { items?: Array<Item & { detail?: string; dataset?: DatasetNode }>; options?: { title?: string } };
      if (kind !== 'quickPick') return undefined;
      if (s.options?.title === 'Preprocess Dataset') {
        offered = s.items!.map((i) => i.detail!);
        return s.items!.find((i) => i.detail === before[0].url);
      }
      if (/^Normalise/.test(s.options!.title!)) return s.items!.find((i) => i.label === 'None');
      return s.items!.find((i) => i.resplit === false);
    };
    const calls = fake.progress.length;
    assert.equal(await commands.executeCommand('cirrus.preprocessDataset'), undefined);
    assert.deepEqual(offered.sort(), after_.map((d) => d.url).sort());
    assert.match(fake.messages[0].message, /Nothing to do/);
    assert.equal(fake.progress.length, calls, 'the runtime was not called');
  } finally {
    await ext.dispose();
  }
});
