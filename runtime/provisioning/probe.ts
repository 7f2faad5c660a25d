// The probe: a few seconds of real training on a sample of the run's own data (local backend), so the
// performance model has a measurement to fit from when no past run exists. It trains a bounded number
// of samples (at most one epoch, at most PROBE_SAMPLES) rather than for a wall-clock slice: on a loaded
// machine the set-up alone can take longer than a slice. The probe is an ordinary run folder (named
// `<name>-probe`) and deploys the dataset, which the real run then reuses.
import type { RuntimeContext } from '../api';
import type { ResolvedRunConfig as RunConfig, RunConfig as GivenRunConfig } from '../config/run-config';
import { resolveRunConfig } from '../config/resolve';
import type { RunSummary } from '../recording/events';
import { startTraining } from '../driver/run';
import { estimateRows } from './estimate';

/** Samples a probe trains at most (a few seconds at this project's typical local rates). */
export const PROBE_SAMPLES = 60_000;
/** The probe's time limit, a safety net only. */
export const PROBE_MAX_SECONDS = 60;

export async function probeRun(given: GivenRunConfig | RunConfig, ctx: RuntimeContext, samples = PROBE_SAMPLES): Promise<RunSummary> {
  const config = resolveRunConfig(given).config;
  const { deadlineSeconds: _d, budgetUSD: _b, ...training } = config.training;
  const rows = config.dataset.path.startsWith('s3://') ? undefined : estimateRows(config.dataset.path);
  const epochs = Math.min(1, config.training.epochs ?? 1, rows ? samples / rows : 1);
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
