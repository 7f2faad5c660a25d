// The probe: a few seconds of real training on a sample of the run's own data (local backend), so the
// performance model has a measurement to fit from when no past run exists. It trains a bounded number
// of samples (at most the run's own epochs, at most PROBE_SAMPLES) rather than for a wall-clock slice: on a loaded
// machine the set-up alone can take longer than a slice. The probe is an ordinary run folder (named
// `<name>-probe`) and deploys the dataset, which the real run then reuses.
import type { RuntimeContext } from '../api';
import type { ResolvedRunConfig as RunConfig, RunConfig as GivenRunConfig } from '../config/run-config';
import { resolveRunConfig } from '../config/resolve';
import type { RunSummary } from '../recording/events';
import { startTraining } from '../driver/run';
import { estimateRows } from './estimate';

/** Samples a probe trains at most: a few seconds at this project's local rates (50,000-100,000 samples/s
 *  per worker on 2026-11-30). An invocation also pays a fixed part (start, the first pulls: about 0.5 s
 *  whether it trained 13,500 or 54,000 samples), so a probe much shorter than the run counts that part as
 *  slow training: the former 60,000 (a third of a second by then) predicted runs twice its length at
 *  +75 to +160 %. */
export const PROBE_SAMPLES = 300_000;
/** The probe's time limit, a safety net only. */
export const PROBE_MAX_SECONDS = 60;

export async function probeRun(given: GivenRunConfig | RunConfig, ctx: RuntimeContext, samples = PROBE_SAMPLES): Promise<RunSummary> {
  const config = resolveRunConfig(given).config;
  const { deadlineSeconds: _d, budgetUSD: _b, ...training } = config.training;
  const rows = config.dataset.path.startsWith('s3://') ? undefined : estimateRows(config.dataset.path);
  const epochs = Math.min(config.training.epochs ?? Infinity, rows ? samples / rows : 1);
  const probe: RunConfig = {
    ...config,
    name: `${config.name ?? 'run'}-probe`,
    backend: 'local',
    training: { ...training, epochs, maxSeconds: PROBE_MAX_SECONDS, targetLoss: undefined },
    lambda: config.lambda,
    faults: {},
  };
  const handle = await startTraining(probe, ctx);
  const summary = await handle.done;
  if (summary.status === 'failed') throw new Error(`the probe run failed: ${summary.reason} (${summary.runFolder})`);
  return summary;
}
