// A first sweep for a run configuration (Start Hyperparameter Sweep when the workspace has no
// `*.sweep.json`): a random search around the config's own settings, written beside it. The ranges
// centre on what the run uses now (its resolved values, so a config that leaves the learning rate out
// still gets a range around the default it trains with):
// - optimizer.learningRate: log-uniform from value / LR_SPREAD to value × LR_SPREAD;
// - training.minibatch: half, the same, double;
// - optimizer.l2: log-uniform a decade either side, when the config regularises at all (0 stays 0).
// Every trial is expanded and validated before the file is written, so the template always starts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveRunConfig } from '../config/resolve';
import { loadRunConfig } from '../config/validate';
import type { RunConfig } from '../config/run-config';
import { expandTrials, type ParameterSpace, type SweepConfig } from './sweep-config';

/** The template's learning-rate range spans value / LR_SPREAD .. value × LR_SPREAD (log scale). */
export const LR_SPREAD = 5;
/** L2 spans a decade either side of its value. */
export const L2_SPREAD = 10;
/** Random trials in the template: enough for successive halving to have rungs to compare at. */
export const TEMPLATE_TRIALS = 8;
const MINIBATCH_MAX = 100_000; // schemas/run-config.schema.json

const round2 = (x: number) => Number(x.toPrecision(2));

/** The sweep a template holds, for the run config `config` read from `configFile`. */
export function sweepTemplate(config: RunConfig, configFile: string): SweepConfig {
  const { config: resolved } = resolveRunConfig(config);
  const lr = resolved.optimizer.learningRate;
  const mb = resolved.training.minibatch;
  const l2 = resolved.optimizer.l2;
  const parameters: Record<string, ParameterSpace> = {
    'optimizer.learningRate': { min: round2(lr / LR_SPREAD), max: round2(lr * LR_SPREAD), scale: 'log' },
    'training.minibatch': [...new Set([Math.max(1, Math.round(mb / 2)), mb, Math.min(MINIBATCH_MAX, mb * 2)])],
  };
  if (l2 > 0) parameters['optimizer.l2'] = { min: round2(l2 / L2_SPREAD), max: round2(l2 * L2_SPREAD), scale: 'log' };
  const stem = path.basename(configFile).replace(/\.cirrus\.json$/, '');
  return {
    name: `${config.name ?? stem}-sweep`,
    base: path.basename(configFile),
    parameters,
    search: { method: 'random', trials: TEMPLATE_TRIALS, seed: 1 },
    earlyStopping: { rule: 'successive-halving' },
  };
}

/** `NAME.sweep.json` beside the run config, or `NAME-2.sweep.json`, ... when taken. */
export function sweepTemplatePath(configFile: string): string {
  const dir = path.dirname(path.resolve(configFile));
  const stem = path.basename(configFile).replace(/\.cirrus\.json$/, '').replace(/\.json$/, '');
  for (let i = 1; ; i++) {
    const file = path.join(dir, `${stem}${i === 1 ? '' : `-${i}`}.sweep.json`);
    if (!fs.existsSync(file)) return file;
  }
}

/**
 * Writes the template for the run config file `configFile` beside it (never over an existing file) and
 * returns its path, the sweep and its trial count. Throws a ConfigError naming the run config if it is
 * not valid, and writes nothing if a trial would not validate.
 */
export function writeSweepTemplate(configFile: string): { file: string; sweep: SweepConfig; trials: number } {
  const config = loadRunConfig(configFile);
  const sweep = sweepTemplate(config, configFile);
  const trials = expandTrials(sweep, config).length;
  const file = sweepTemplatePath(configFile);
  fs.writeFileSync(file, JSON.stringify(sweep, null, 2) + '\n', { flag: 'wx' });
  return { file, sweep, trials };
}
