// coldStart: from the driver launching a worker (invoke) to that worker's first gradient, seen in
// the endToEnd training run's event stream.
import { type BenchContext, round, type SectionResult } from '../context';
import { trainingRun } from './end-to-end';

export async function coldStart(ctx: BenchContext): Promise<SectionResult> {
  const run = await trainingRun(ctx);
  const launched = new Map<string, number>();
  const delays: number[] = [];
  for (const { at, event } of run.events) {
    if (event.type === 'worker-launched') launched.set(`${event.worker}/${event.generation}`, at);
    if (event.type === 'worker-heartbeat' && event.samples > 0) {
      const key = `${event.worker}/${event.generation}`;
      const t0 = launched.get(key);
      if (t0 !== undefined) {
        delays.push(at - t0);
        launched.delete(key);
      }
    }
  }
  if (delays.length === 0) throw new Error('no worker reported a gradient in the training run');
  delays.sort((a, b) => a - b);
  return {
    milliseconds: Math.round(delays[Math.floor(delays.length / 2)]),
    minMilliseconds: Math.round(delays[0]),
    workers: delays.length,
    notes:
      'Median over the workers of the endToEnd run: the driver\'s worker-launched event to the first heartbeat that counts samples. ' +
      'An upper bound with coarse resolution: workers heartbeat every 500 ms and the driver reads heartbeats on its own polling cadence (about 1 s in this run), ' +
      'so the first gradient came up to ~1.5 s earlier. The worker measures the exact figure (WorkerResult.firstGradientMs) but the driver does not emit it yet. ' +
      'Includes the local Lambda service starting a child process and loading dist/worker/index.js, the S3 read of the first partition and the first pull.',
  };
}
