// Bundles every entry point with esbuild into dist/. Child processes (S3 server, local Lambda
// service, parameter server, worker runtime) always run these bundles, from tests too.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';

const production = process.argv.includes('--production');

// mainFields: prefer ESM builds (jsonc-parser's UMD build hides its requires from esbuild).
const node = { platform: 'node', target: 'node20', format: 'cjs', bundle: true, mainFields: ['module', 'main'], sourcemap: !production, minify: production, logLevel: 'warning' };

/** Leaves `from` out of the bundle: it stays a require of `to`, a file built beside the bundle. */
function besideBundle(from, to) {
  const filter = new RegExp(`^${from.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
  return { name: 'beside-bundle', setup: (build) => build.onResolve({ filter }, () => ({ path: to, external: true })) };
}

const entries = [
  { in: 'extension/extension.ts', out: 'dist/extension.js', external: ['vscode'] },
  { in: 'runtime/cli/main.ts', out: 'dist/cli.js' },
  // The Lambda function: two files, minified always (their size is a measured goal). index.js has the
  // handler and what asynchronous training uses; extras.js what else the worker may need (the AWS SDK,
  // the Redis client: runtime/worker/extras.ts), loaded by index.js on first use, so that a cold start
  // compiles 1 MB less. Without import() (the SDK's import('node:http') becomes a require): the local
  // Lambda service's code cache only takes modules without one (runtime/backends/local-lambda/code-cache.ts).
  { in: 'runtime/worker/handler.ts', out: 'dist/worker/index.js', minify: true, sourcemap: false, supported: { 'dynamic-import': false }, plugins: [besideBundle('./extras', './extras.js')] },
  { in: 'runtime/worker/extras.ts', out: 'dist/worker/extras.js', minify: true, sourcemap: false, supported: { 'dynamic-import': false } },
  { in: 'runtime/storage/s3-server-main.ts', out: 'dist/s3-server.js' },
  { in: 'runtime/backends/local-lambda/service-main.ts', out: 'dist/lambda-service.js' },
  { in: 'runtime/backends/local-lambda/invoke-runner.ts', out: 'dist/lambda-runner.js' },
  { in: 'runtime/ps/server-main.ts', out: 'dist/ps-server.js' },
  // The parameter server on an EC2 instance (the aws backend): one file, fetched by the instance.
  { in: 'runtime/backends/aws/ps-instance-main.ts', out: 'dist/ps-instance.js', sourcemap: false },
  { in: 'runtime/network/proxy-main.ts', out: 'dist/network-proxy.js' },
  { in: 'webview/dashboard/main.ts', out: 'dist/webview/dashboard.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { in: 'webview/runs/main.ts', out: 'dist/webview/runs.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { in: 'webview/what-if/main.ts', out: 'dist/webview/what-if.js', platform: 'browser', format: 'iife', target: 'es2022' },
];

const missing = entries.filter((e) => !fs.existsSync(e.in));
for (const e of missing) console.warn(`build: skipping ${e.in} (not written yet)`);

await Promise.all(
  entries
    .filter((e) => fs.existsSync(e.in))
    .map((e) => esbuild.build({ ...node, ...Object.fromEntries(Object.entries(e).filter(([k]) => !['in', 'out'].includes(k))), entryPoints: [e.in], outfile: e.out })),
);
console.log(`build: ${entries.length - missing.length} bundles in dist/`);
