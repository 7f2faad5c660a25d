// workerBundleBytes: the size of the Lambda function's code (esbuild, minified), goal <= 1 MB in all:
// index.js (the handler and asynchronous training, which every cold start compiles) and extras.js (the
// AWS SDK, the Redis client and the synchronous step, loaded on first use: runtime/worker/extras.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, type SectionResult, SkipSection } from '../context';

export async function workerBundleBytes(): Promise<SectionResult> {
  const size = (name: string) => {
    const file = path.join(ROOT, 'dist', 'worker', name);
    if (!fs.existsSync(file)) throw new SkipSection(`dist/worker/${name} is absent (run \`npm run build\`)`);
    return fs.statSync(file).size;
  };
  const indexBytes = size('index.js');
  const extrasBytes = size('extras.js');
  const bytes = indexBytes + extrasBytes;
  return {
    bytes,
    indexBytes,
    extrasBytes,
    limitBytes: 1_000_000,
    withinGoal: bytes <= 1_000_000,
    goal: '<= 1 MB',
    notes: 'dist/worker/index.js + extras.js as built by `npm run build` (esbuild, minified); a cold start compiles index.js only, extras.js when a task needs it.',
  };
}
