// filters: what training.filter saves. Dense pushes, the MLLess significance filter and top-k with error
// feedback on the same Criteo run (asynchronous SGD), each worker's bytes and requests to the parameter
// server counted by its client (the run summary's traffic), with the final test log-loss beside them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig, RunSummary } from '../../runtime/api';
import { type BenchContext, CRITEO_10K, round, type SectionResult, SkipSection } from '../context';

const REPEAT = 5; // Criteo 10k x 5 = 50k rows (the 500k-row run takes minutes on this machine)
const EPOCHS = 2;
type Filter = NonNullable<NonNullable<RunConfig['training']>['filter']>;
const VARIANTS: Array<[string, Filter | undefined]> = [
  ['dense', undefined],
  ['significance', { type: 'significance', threshold: 0.7 }],
  ['topk', { type: 'topk', fraction: 0.01 }],
];

export async function filters(ctx: BenchContext): Promise<SectionResult> {
  if (!fs.existsSync(CRITEO_10K)) throw new SkipSection(`${CRITEO_10K} is absent`);
  const runtime = (await import('../../runtime')) as typeof import('../../runtime');
  const file = path.join(ctx.tmp, `criteo-10k-x${REPEAT}-filters.txt`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.concat(Array.from({ length: REPEAT }, () => fs.readFileSync(CRITEO_10K))));
  const runs: Record<string, RunSummary> = {};
  try {
    for (const [name, filter] of VARIANTS) {
      const config: RunConfig = {
        name: `bench-filters-${name}`,
        dataset: { path: file, format: 'criteo', testFraction: 0.1 },
        model: { type: 'logistic', hashBits: 20 },
        optimizer: { type: 'adagrad', learningRate: 0.02 },
        training: { workers: 2, minibatch: 20, maxSeconds: 300, epochs: EPOCHS, evalEverySeconds: 1, ...(filter ? { filter } : {}) },
        backend: 'local',
        lambda: { memoryMB: 1024, timeoutSeconds: 60 },
      };
      const summary = await (await runtime.startTraining(config, { stateDir: path.join(ctx.tmp, 'state') })).done;
      if (summary.status !== 'completed') throw new Error(`${name}: ${summary.status}: ${summary.reason}`);
      runs[name] = summary;
    }
  } finally {
    await runtime.shutdownEmbeddedServices();
  }
  const dense = runs.dense.traffic!.total;
  const figures = (s: RunSummary) => {
    const t = s.traffic!.total;
    return {
      testLogLoss: s.testLoss === null ? null : round(s.testLoss, 5),
      updateBytes: t.pushBytes,
      bytesSent: t.bytesSent,
      requests: t.requests,
      pushes: t.pushes,
      updateBytesSaving: round(dense.pushBytes / t.pushBytes),
      bytesSentSaving: round(dense.bytesSent / t.bytesSent),
      seconds: round(s.seconds, 1),
    };
  };
  return {
    significanceUpdateBytesSaving: round(dense.pushBytes / runs.significance.traffic!.total.pushBytes),
    topkUpdateBytesSaving: round(dense.pushBytes / runs.topk.traffic!.total.pushBytes),
    significanceLossDelta: round((runs.significance.testLoss ?? NaN) - (runs.dense.testLoss ?? NaN), 5),
    topkLossDelta: round((runs.topk.testLoss ?? NaN) - (runs.dense.testLoss ?? NaN), 5),
    dense: figures(runs.dense),
    significance: figures(runs.significance),
    topk: figures(runs.topk),
    notes:
      `startTraining on Criteo 10k repeated ${REPEAT}x, local backend, 2 workers, asynchronous SGD (AdaGrad lr 0.02, minibatch 20), ${EPOCHS} epochs; ` +
      'training.filter unset (dense), {significance, threshold 0.7} and {topk, fraction 0.01}. updateBytes: PUSH_SPARSE frames (headers included) ' +
      "the workers' parameter-server clients sent, the end-of-generation flush of held-back updates included; bytesSent: every request (pulls and heartbeats too). " +
      'Time and dollars under an "aws" network profile are not measured (the network-emulation layer is another issue\'s).',
  };
}
