// A run's seconds per step, measured, beside the analytic model's prediction from the primitives the
// run's own workers measured (step-model.ts measuredPrimitives): the check the designSpace bench prints
// per cell and test/channels/step-model-runs.test.ts asserts.
//
// "Measured" is the workers' own: the mean time of their steps (StepTiming.stepMs / steps), over the
// same steps whose requests gave the primitives. The pace between the run's first and last evaluation
// is reported beside it: it leaves out the first steps, whose requests are slow (every worker reading
// its partitions through the same emulated network), but the primitives do not, so the two windows
// differ by up to 2x on a short run.
import type { StepTiming } from '../ps/types';
import type { RunEvent } from '../recording/events';
import { measuredPrimitives, predictStep, type DesignCell, type StepInputs, type StepPrediction, type StepPrimitives } from './step-model';

/** The workers' StepTiming summed over the run's generations (worker-finished events), if they report it. */
export function runTiming(events: RunEvent[]): StepTiming | undefined {
  const all = events.flatMap((e) => (e.type === 'worker-finished' && e.timing ? [e.timing] : []));
  if (all.length === 0) return undefined;
  const sum: Record<string, number> = {};
  for (const t of all) for (const [k, v] of Object.entries(t)) if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v;
  return sum as unknown as StepTiming;
}

/** Seconds per step (a synchronous step, or one worker's minibatch asynchronously) between the first
 *  evaluation with samples and the last one: the workers' start-up is left out. */
export function measuredSecondsPerStep(events: RunEvent[], workers: number, minibatch: number): number | null {
  const evals = events.filter((e): e is Extract<RunEvent, { type: 'eval' }> => e.type === 'eval' && e.samples > 0);
  if (evals.length < 2) return null;
  const [a, b] = [evals[0], evals.at(-1)!];
  const steps = (b.samples - a.samples) / (workers * minibatch);
  return steps > 0 ? (b.t - a.t) / steps : null;
}

export interface StepCheck {
  /** The workers' mean step (seconds). */
  measured: number | null;
  /** The pace between the first and the last evaluation (seconds per step). */
  betweenEvaluations: number | null;
  /** Undefined when the workers reported no timing (an older worker bundle). */
  predicted?: StepPrediction;
  primitives?: StepPrimitives;
  timing?: StepTiming;
  /** predicted / measured - 1. */
  error: number | null;
}

/** `inputs`: the step's sizes (bytes, workers, memory); the primitives come from the run's events. */
export function checkStepModel(events: RunEvent[], cell: DesignCell, inputs: StepInputs, minibatch: number): StepCheck {
  const betweenEvaluations = measuredSecondsPerStep(events, inputs.workers, minibatch);
  const timing = runTiming(events);
  const measured = timing?.steps && timing.stepMs ? timing.stepMs / 1000 / timing.steps : null;
  const primitives = timing ? measuredPrimitives(timing, inputs) : undefined;
  const predicted = primitives ? predictStep(cell, inputs, primitives) : undefined;
  return { measured, betweenEvaluations, predicted, primitives, timing, error: measured !== null && predicted ? predicted.seconds / measured - 1 : null };
}
