// converterPeakMemory: the converter must stream, so its memory stays flat whatever the input size.
// Deploys generated Criteo inputs of ~100 MB and ~1 GB (the 10k sample repeated) with the project's
// deployDataset in child processes, and compares their peak RSS.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { type BenchContext, CRITEO_10K, ROOT, round, type SectionResult, SkipSection } from '../context';

/** bench/deploy-child.ts bundled as scripts/build.mjs bundles the runtime (under dist/, so that the
 *  runtime finds the package root and its other bundles; dist/bench is not packaged). */
async function bundleChild(): Promise<string> {
  const outfile = path.join(ROOT, 'dist', 'bench', 'deploy-child.js');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'bench', 'deploy-child.ts')],
    outfile,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    bundle: true,
    mainFields: ['module', 'main'],
    logLevel: 'warning',
  });
  return outfile;
}

const SIZES_MB = [100, 1000];

export async function converterPeakMemory(ctx: BenchContext): Promise<SectionResult> {
  if (!fs.existsSync(CRITEO_10K)) throw new SkipSection(`${CRITEO_10K} is absent`);
  if (!fs.existsSync(path.join(ROOT, 'dist', 's3-server.js'))) throw new SkipSection('dist/s3-server.js is absent: run `npm run build`');
  const child = await bundleChild();
  const sample = fs.readFileSync(CRITEO_10K);
  const runs: Array<{
    inputMB: number;
    peakRssMB: number;
    baselineRssMB: number;
    deployAddsMB: number;
    sampledPeak: { rssMB: number; heapTotalMB: number; arrayBuffersMB: number };
    seconds: number;
    rows: number;
    partitions: number;
    megabytesPerSecond: number;
  }> = [];
  for (const mb of SIZES_MB) {
    const file = path.join(ctx.tmp, `criteo-${mb}mb.txt`);
    const copies = Math.ceil((mb * 1e6) / sample.length);
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < copies; i++) fs.writeSync(fd, sample);
    fs.closeSync(fd);
    const bytes = fs.statSync(file).size;
    const stateDir = path.join(ctx.tmp, `deploy-state-${mb}`);
    try {
      const out = execFileSync(process.execPath, [child, file, stateDir], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 400_000,
      });
      const r = JSON.parse(out.trim().split('\n').pop()!);
      const sampled = Object.fromEntries(Object.entries(r.sampledPeak as Record<string, number>).map(([k, v]) => [k, round(v, 1)]));
      runs.push({
        inputMB: round(bytes / 1e6, 1),
        peakRssMB: round(r.peakRssBytes / 1e6, 1),
        baselineRssMB: round(r.baselineRssBytes / 1e6, 1),
        deployAddsMB: round((r.peakRssBytes - r.baselineRssBytes) / 1e6, 1),
        sampledPeak: sampled as (typeof runs)[number]['sampledPeak'],
        seconds: round(r.seconds, 1),
        rows: r.rows,
        partitions: r.partitions,
        megabytesPerSecond: round(bytes / 1e6 / r.seconds, 1),
      });
    } finally {
      fs.rmSync(file, { force: true });
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  }
  const [small, large] = runs;
  return {
    peakRssMB: large.peakRssMB,
    peakRssMBAt100MB: small.peakRssMB,
    growthRatio: round(large.peakRssMB / small.peakRssMB),
    goal: 'growthRatio close to 1 (constant memory)',
    runs,
    notes:
      'deployDataset (runtime/index.ts: count pass + convert pass + uploads to the embedded S3, test fraction 0.1) of the Criteo 10k sample repeated to ~100 MB and ~1 GB, ' +
      'each in its own child process running bench/deploy-child.ts bundled with esbuild as the CLI and extension run the runtime (not through tsx, whose caches add ~90 MB); ' +
      'peak RSS = the kernel\'s maxRSS of that process (the embedded S3 server and the local Lambda service are other processes, not counted); ' +
      'baselineRssMB = its RSS with the runtime loaded, before the deploy; deployAddsMB = peak - baseline; sampledPeak = memoryUsage() at the highest RSS seen every 20 ms. ' +
      'megabytesPerSecond = input bytes / deploy seconds (both passes and the upload).',
  };
}
