// `cirrus sweep SWEEP_CONFIG.json [--json] [--state-dir DIR] [--best-out FILE]`: runs a hyperparameter
// sweep, prints each trial as it starts and ends, then the ranking, the best config and the cost.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './usage';
import { defaultContext, loadSweepConfig, startSweep, type RuntimeContext, type SweepSummary } from '../index';
import { fmtUSD } from '../util/format';
import { stopOnSignals } from './signals';

export function cliContext(stateDir: string | undefined, quiet: boolean): RuntimeContext {
  const ctx = stateDir ? { stateDir: path.resolve(stateDir) } : defaultContext();
  return { ...ctx, log: (level, message) => (level !== 'info' || !quiet) && process.stderr.write(`${level === 'info' ? '' : `${level}: `}${message}\n`) };
}

const loss = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(4));

export function describeRanking(summary: SweepSummary): string {
  const lines = summary.ranking.map((r, i) => {
    const params = Object.entries(r.params)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
      .join(' ');
    return `${String(i + 1).padStart(3)}. ${r.name.padEnd(20)} ${loss(r.testLoss).padStart(7)}  ${r.status.padEnd(13)} ${(100 * r.progress).toFixed(0).padStart(3)} %  ${r.gbSeconds.toFixed(2).padStart(7)} GB-s  ${params}`;
  });
  return ['rank trial                  loss    status        done     compute     parameters', ...lines].join('\n');
}

export async function sweepCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, 'state-dir': { type: 'string' }, 'best-out': { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('sweep needs one SWEEP_CONFIG.json (see docs/sweeps.md)');
  const file = path.resolve(positionals[0]);
  const { sweep, base } = loadSweepConfig(file);
  const ctx = cliContext(values['state-dir'], true);
  const out = values.json ? process.stderr : process.stdout;
  const handle = await startSweep(sweep, base, ctx, { sweepPath: file });
  out.write(`sweep ${handle.sweepId}: ${handle.trials.length} trials, ${handle.parallel} at a time -> ${handle.folder}\n`);
  handle.onEvent((event) => {
    if (event.type === 'progress' || (event.type === 'log' && event.level !== 'info')) out.write(`[${event.t.toFixed(1).padStart(6)}s] ${event.message}\n`);
  });
  const stopListening = stopOnSignals((reason) => void handle.stop(reason), (line) => out.write(line));
  const summary = await handle.done;
  stopListening();
  if (summary.best && values['best-out']) fs.copyFileSync(summary.best.configPath, path.resolve(values['best-out']));
  if (values.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
  } else {
    out.write(describeRanking(summary) + '\n');
    out.write(
      `sweep ${summary.status}: ${summary.reason}\n` +
        (summary.best ? `best: ${summary.best.name}, test loss ${loss(summary.best.testLoss)}; config written to ${values['best-out'] ? path.resolve(values['best-out']) : summary.best.configPath}\n` : 'no trial completed: no best config\n') +
        `whole sweep: ${summary.gbSeconds.toFixed(2)} GB-s, ${fmtUSD(summary.costUSD)}, ${summary.seconds.toFixed(1)} s\n`,
    );
  }
  return summary.status === 'failed' ? 1 : 0;
}
