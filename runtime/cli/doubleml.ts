// `cirrus doubleml CONFIG.json [--json] [--state-dir DIR]`: a causal estimate by double machine learning
// with cross-fitting on the workers (docs/doubleml.md). Prints progress, then the estimate; with
// --json, progress goes to stderr and the last stdout line is the summary as one JSON object.
// Ctrl-C or SIGTERM cancels (the run folder records it as stopped).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadDoubleMLConfig } from '../causal/config';
import { describeDoubleML } from '../causal/report';
import { runDoubleML } from '../causal/run';
import { stopOnSignals } from './signals';
import { cliContext } from './sweep';

export async function doublemlCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, 'state-dir': { type: 'string' } } });
  if (positionals.length !== 1) throw new Error('doubleml needs one CONFIG.json (see docs/doubleml.md)');
  const config = loadDoubleMLConfig(path.resolve(positionals[0]));
  const out = values.json ? process.stderr : process.stdout;
  const abort = new AbortController();
  const stopListening = stopOnSignals((reason) => abort.abort(reason), (line) => out.write(line));
  let lastProgress = 0;
  const summary = await runDoubleML(config, cliContext(values['state-dir'], true), {
    signal: abort.signal,
    onEvent: (e) => {
      const at = `[${e.t.toFixed(1).padStart(6)}s]`;
      if (e.type === 'progress' && (e.fraction === undefined || e.fraction === 1 || Date.now() - lastProgress > 1000)) {
        lastProgress = Date.now();
        out.write(`${at} ${e.stage}: ${e.message}\n`);
      } else if (e.type === 'worker-finished' && e.status === 'failed') out.write(`${at} fold task ${e.worker} attempt ${e.generation + 1} failed: ${e.error} (retrying)\n`);
      else if (e.type === 'log' && e.level === 'info') out.write(`${at} ${e.message}\n`);
    },
  }).finally(stopListening);
  if (values.json) {
    const { runId, runFolder, status, reason, estimate, seconds, costUSD, cost, stages, folds, tasks } = summary;
    process.stdout.write(JSON.stringify({ runId, runFolder, status, reason, ...estimate, folds, tasks, seconds, costUSD, cost, stages }) + '\n');
  } else {
    out.write(describeDoubleML(summary) + `\nrun folder ${summary.runFolder}\n`);
  }
  return summary.status === 'completed' ? 0 : 1;
}
