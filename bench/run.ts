// `npm run bench`: measures the project beside the reference in one run and writes
// bench/results/latest.json (ratios, not just absolute times). See docs/benchmarks.md.
// Each section is independent: one that fails records its error and the others still run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchContext, ROOT, type SectionResult, SkipSection } from './context';
import { coldStart } from './sections/cold-start';
import { converter } from './sections/converter';
import { converterPeakMemory } from './sections/converter-memory';
import { designSpace } from './sections/design-space';
import { doubleml } from './sections/doubleml';
import { endToEnd } from './sections/end-to-end';
import { filters } from './sections/filters';
import { filtersSync } from './sections/filters-sync';
import { shards } from './sections/shards';
import { kernel } from './sections/kernel';
import { provisioning } from './sections/provisioning';
import { psUpdates } from './sections/ps-updates';
import { workerBundleBytes } from './sections/worker-bundle';
import { mfRatingsPerWorker, preprocessMBps, sweepSaving } from './sections/workflow';

const sections: Array<[string, (ctx: BenchContext) => Promise<SectionResult>]> = [
  ['kernel', kernel],
  ['converter', converter],
  ['psUpdates', psUpdates],
  ['endToEnd', endToEnd],
  ['coldStart', coldStart],
  ['workerBundleBytes', workerBundleBytes],
  ['converterPeakMemory', converterPeakMemory],
  ['mfRatingsPerWorker', mfRatingsPerWorker],
  ['preprocessMBps', preprocessMBps],
  ['sweepSaving', sweepSaving],
  ['doubleml', doubleml],
  ['provisioning', provisioning],
  ['filters', filters],
  ['filtersSync', filtersSync],
  ['designSpace', designSpace],
  ['shards', shards],
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const ctx = new BenchContext();
  const results: Record<string, SectionResult> = {};
  const started = Date.now();
  try {
    for (const [name, run] of sections) {
      if (only.length && !only.includes(name)) continue;
      const t0 = Date.now();
      process.stdout.write(`bench: ${name} ... `);
      try {
        results[name] = await run(ctx);
      } catch (err) {
        results[name] = err instanceof SkipSection ? { skipped: err.message } : { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      }
      results[name].seconds = Math.round((Date.now() - t0) / 100) / 10;
      console.log(summary(results[name]));
    }
  } finally {
    ctx.cleanup();
  }
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    totalSeconds: Math.round((Date.now() - started) / 1000),
    sections: results,
  };
  const file = path.join(ROOT, 'bench', 'results', only.length ? `partial-${only.join('-')}.json` : 'latest.json');
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`bench: wrote ${path.relative(ROOT, file)} in ${out.totalSeconds} s`);
}

function summary(r: SectionResult): string {
  if (r.skipped) return `skipped (${r.skipped})`;
  if (r.error) return `FAILED: ${String(r.error).split('\n')[0]}`;
  const shown = Object.entries(r).filter(([k, v]) => typeof v === 'number' && k !== 'seconds');
  return shown.map(([k, v]) => `${k}=${v}`).join(' ');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
