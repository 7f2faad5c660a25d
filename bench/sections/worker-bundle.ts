// workerBundleBytes: the size of the Lambda function's one file (esbuild, minified), goal <= 1 MB.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, type SectionResult, SkipSection } from '../context';

export async function workerBundleBytes(): Promise<SectionResult> {
  const file = path.join(ROOT, 'dist', 'worker', 'index.js');
  if (!fs.existsSync(file)) throw new SkipSection('dist/worker/index.js is absent (run `npm run build`; the worker handler may not be written yet)');
  const bytes = fs.statSync(file).size;
  return { bytes, limitBytes: 1_000_000, withinGoal: bytes <= 1_000_000, goal: '<= 1 MB', notes: 'dist/worker/index.js as built by `npm run build` (esbuild, minified).' };
}
