// Activation registers everything package.json contributes, and the manifest is consistent with itself.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { commands, fake } from './fake-vscode';
import { activate, ROOT } from './harness';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const contributes = pkg.contributes;
const declared: string[] = contributes.commands.map((c: { command: string }) => c.command);

test('every command in contributes.commands is registered at activation, and nothing else', async () => {
  const ext = activate();
  try {
    const registered = (await commands.getCommands()).filter((c) => c.startsWith('cirrus.'));
    assert.deepEqual([...registered].sort(), [...declared].sort());
    for (const c of contributes.commands) assert.equal(c.category, 'Cirrus', `${c.command} has category Cirrus`);
  } finally {
    await ext.dispose();
  }
});

test('the views, the log channel, the status bar and the dashboard serializer are created', async () => {
  const ext = activate();
  try {
    const viewIds = contributes.views.cirrus.map((v: { id: string }) => v.id);
    assert.deepEqual(viewIds, ['cirrus.runs', 'cirrus.datasets']);
    for (const id of viewIds) assert.ok(fake.treeViews.has(id), `tree view ${id} created`);
    assert.equal(fake.treeViews.get('cirrus.runs')!.canSelectMany, true, 'Runs allows multi-select for Compare Runs');
    assert.ok(fake.serializers.has('cirrus.dashboard'));
    assert.ok(pkg.activationEvents.includes('onWebviewPanel:cirrus.dashboard'), 'the serializer has its activation event');
    assert.ok(fake.logLines.some((l) => l.message.includes('Cirrus activated')), 'activation logs to the Cirrus channel');
    assert.equal(ext.host.runtimeContext().stateDir, ext.stateDir, 'state defaults to <workspace>/.cirrus');
  } finally {
    await ext.dispose();
  }
});

test('menus, welcome views and walkthrough refer only to declared commands and existing files', () => {
  for (const [where, items] of Object.entries(contributes.menus) as Array<[string, Array<{ command: string }>]>) {
    for (const item of items) assert.ok(declared.includes(item.command), `${where}: ${item.command} is declared`);
  }
  const links = (s: string) => [...s.matchAll(/command:(cirrus\.[A-Za-z]+)/g)].map((m) => m[1]);
  for (const w of contributes.viewsWelcome) for (const c of links(w.contents)) assert.ok(declared.includes(c), `welcome links ${c}`);
  for (const walk of contributes.walkthroughs) {
    for (const step of walk.steps) {
      for (const c of links(step.description)) assert.ok(declared.includes(c), `walkthrough links ${c}`);
      assert.ok(fs.existsSync(path.join(ROOT, step.media.markdown)), `${step.media.markdown} exists`);
    }
  }
  assert.ok(fs.existsSync(path.join(ROOT, contributes.viewsContainers.activitybar[0].icon)));
  assert.ok(fs.existsSync(path.join(ROOT, pkg.icon)) && pkg.icon.endsWith('.png'), 'the marketplace icon is a PNG (vsce rejects SVG)');
  for (const v of contributes.jsonValidation) assert.ok(fs.existsSync(path.join(ROOT, v.url)), `${v.fileMatch}: ${v.url} exists`);
  assert.deepEqual(contributes.jsonValidation.map((v: { fileMatch: string }) => v.fileMatch), ['*.cirrus.json', '*.sweep.json', '*.doubleml.json']);
});

test('explorer menu matches the data extensions and folders; editor title matches *.cirrus.json', () => {
  const explorer = contributes.menus['explorer/context'].find((m: { command: string }) => m.command === 'cirrus.deployDataset');
  assert.match(explorer.when, /explorerResourceIsFolder/);
  const re = /resourceExtname =~ \/(.*)\/i/.exec(explorer.when)!;
  const ext = new RegExp(re[1], 'i');
  for (const e of ['.tsv', '.csv', '.txt', '.libsvm', '.svm', '.data', '.dat', '.CSV']) assert.ok(ext.test(e), e);
  for (const e of ['.json', '.ts', '.tsvx']) assert.ok(!ext.test(e), e);
  const title = contributes.menus['editor/title'].find((m: { command: string }) => m.command === 'cirrus.startRun');
  const file = new RegExp(/resourceFilename =~ \/(.*)\//.exec(title.when)![1]);
  assert.ok(file.test('a9a.cirrus.json') && !file.test('package.json'));
});

test('every cirrus.* setting the extension reads is declared with a default', () => {
  const props = contributes.configuration.properties;
  for (const key of ['backend', 'aws.profile', 'aws.region', 's3.bucket', 'worker.memoryMB', 'worker.count', 'parameterServer.address', 'stateDirectory']) {
    assert.ok(props[`cirrus.${key}`], `cirrus.${key} declared`);
    assert.notEqual(props[`cirrus.${key}`].default, undefined, `cirrus.${key} has a default`);
  }
  assert.deepEqual(props['cirrus.backend'].enum, ['local', 'aws']);
});
