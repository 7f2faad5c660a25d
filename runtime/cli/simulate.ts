// `cirrus simulate RUN_CONFIG [--workers N,...] [--memory MB,...] [--local]`: the fitted performance model
// plus AWS's limits and prices (runtime/provisioning/simulator.ts) predicts time and dollars at each size.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { awsEnvironment, loadRunConfig, resolveRunConfig, localEnvironment, MEMORY_GRID, perfModelFor, simulate, WORKER_GRID } from '../index';
import { cliContext } from './sweep';

function numberList(text: string | undefined, name: string, min: number, max: number): number[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((x) => Number(x.trim()));
  const bad = list.find((n) => !Number.isInteger(n) || n < min || n > max);
  if (bad !== undefined || list.length === 0) throw new Error(`--${name} must be a comma-separated list of integers from ${min} to ${max} (got "${text}")`);
  return list;
}

export async function simulateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { workers: { type: 'string' }, memory: { type: 'string' }, local: { type: 'boolean' }, json: { type: 'boolean' }, 'state-dir': { type: 'string' } },
  });
  if (positionals.length !== 1) throw new Error('simulate needs one RUN_CONFIG.json');
  const config = resolveRunConfig(loadRunConfig(path.resolve(positionals[0]))).config;
  const ctx = cliContext(values['state-dir'], true);
  const workers = numberList(values.workers, 'workers', 1, 1000) ?? WORKER_GRID;
  const memoryMB = numberList(values.memory, 'memory', 128, 10240) ?? (values.local ? undefined : MEMORY_GRID);
  const model = perfModelFor(config, ctx.stateDir);
  const rows = simulate(model, config, { workers, memoryMB, environment: values.local ? localEnvironment() : awsEnvironment(config) });
  if (values.json) {
    process.stdout.write(JSON.stringify({ model: { source: model.source, runs: model.runs, samplesPerSecondPerCore: model.samplesPerSecondPerCore }, rows }) + '\n');
    return 0;
  }
  process.stdout.write(`${values.local ? 'this machine' : 'AWS Lambda'}; model ${model.source === 'default' ? 'from default figures (no past run on this data: `cirrus estimate --probe` first)' : `fitted from ${model.runs.length} run(s)`}\n`);
  process.stdout.write(' workers  memory MB    seconds        dollars   samples/s  ends by\n');
  for (const r of rows) {
    process.stdout.write(
      `${String(r.workers).padStart(8)}  ${String(r.memoryMB).padStart(9)}  ${r.seconds.toFixed(1).padStart(9)}  ${('$' + r.usd.toFixed(6)).padStart(13)}  ${Math.round(r.samplesPerSecond).toString().padStart(10)}  ${r.endsBy}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}\n`,
    );
  }
  return 0;
}
