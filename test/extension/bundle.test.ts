// The shipped bundle (dist/extension.js, built by `npm run build`) activates on its own: every
// dependency is bundled (only `vscode` is external) and all commands register.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { commands, fake, fakeExtensionContext, Uri } from './fake-vscode';
import { ROOT, tempDir } from './harness';

const bundle = path.join(ROOT, 'dist', 'extension.js');

test('dist/extension.js activates and registers every contributed command', async (t) => {
  if (!fs.existsSync(bundle)) return t.skip('dist/extension.js not built (npm run build)');
  fake.reset();
  const workspace = tempDir();
  fake.workspaceFolders = [{ uri: Uri.file(workspace), name: 'ws', index: 0 }];
  const context = fakeExtensionContext(ROOT, path.join(workspace, '.global'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ext = require(bundle) as { activate(c: unknown): unknown; deactivate(): Promise<void> };
  try {
    ext.activate(context);
    const declared = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).contributes.commands.map((c: { command: string }) => c.command);
    assert.deepEqual((await commands.getCommands()).sort(), [...declared].sort());
    // e.g. "Cannot find module './impl/format'": jsonc-parser's UMD build cannot be bundled; esbuild
    // needs mainFields ['module', 'main'] to take its ESM build.
    assert.ok(!fake.logLines.some((l) => l.level === 'warn' || l.level === 'error'), `the bundle logged problems: ${JSON.stringify(fake.logLines)}`);
  } finally {
    await ext.deactivate();
    for (const d of context.subscriptions) d.dispose();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
