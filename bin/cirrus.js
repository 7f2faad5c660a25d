#!/usr/bin/env node
// The `cirrus` command: the bundled CLI. `npm install` builds dist/ (the package's `prepare` script);
// when dist/ is missing anyway (installed with --ignore-scripts, or after a clean) it is built here
// once: a run needs the bundles of the worker function and the local services, not only the CLI's.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
if (!fs.existsSync(path.join(root, 'dist', 'cli.js'))) {
  const { spawnSync } = require('node:child_process');
  process.stderr.write('cirrus: dist/ is missing; building it once (npm run build)...\n');
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) {
    process.stderr.write('cirrus: the build failed; run `npm install` (it installs the build tools), then `npm run build`\n');
    process.exit(1);
  }
}
require('../dist/cli.js');
