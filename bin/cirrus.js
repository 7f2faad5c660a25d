#!/usr/bin/env node
// The `cirrus` command: the bundled CLI (built by `npm run build`).
require('../dist/cli.js');
