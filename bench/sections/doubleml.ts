// Double machine learning (runtime/causal, docs/doubleml.md):
//   coverage: share of seeded replications of make_plr_CCDDHNR2018 (theta 0.5, n 5,000, p 20, 5 folds,
//             lasso nuisances, single process) whose 95 % interval covers theta (the must-reach: >= 0.9 of 50);
//   scaling:  wall time of one estimate (K 5 x R 10 = 50 fold tasks, n 5,000, p 20) through the local
//             Lambda service with 1, 2 and 4 workers, and the speed-ups over 1 worker (bounded by this
//             machine's cores: every local invocation is a process on it).
//   simulator: the map-stage model (runtime/provisioning/map-stage.ts) fitted from the 1-worker run,
//             its calibration error on the 2- and 4-worker runs, and its AWS prediction for 100 workers.
// Smaller sizes for a quick check: BENCH_DOUBLEML_REPLICATIONS, BENCH_DOUBLEML_ROWS, BENCH_DOUBLEML_REPETITIONS.
import * as os from 'node:os';
import * as path from 'node:path';
import { crossFitInProcess } from '../../runtime/causal/crossfit';
import { aggregate } from '../../runtime/causal/estimate';
import { assignFolds, encodeFolds } from '../../runtime/causal/folds';
import { encodeCausalData } from '../../runtime/causal/data';
import { runDoubleML } from '../../runtime/causal/run';
import { makePlrCCDDHNR2018, writeCausalCsv } from '../../runtime/causal/synthetic';
import { fitMapStage, predictMapStage, type MapStageRun } from '../../runtime/provisioning/map-stage';
import { localEnvironment } from '../../runtime/provisioning/perf-model';
import { awsEnvironment } from '../../runtime/provisioning/simulator';
import { type BenchContext, round, type SectionResult } from '../context';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);

export async function doubleml(ctx: BenchContext): Promise<SectionResult> {
  const replications = env('BENCH_DOUBLEML_REPLICATIONS', 50);
  const n = env('BENCH_DOUBLEML_ROWS', 5000);
  const repetitions = env('BENCH_DOUBLEML_REPETITIONS', 10);
  const folds = 5;

  let covered = 0;
  const coverageStarted = Date.now();
  for (let seed = 1; seed <= replications; seed++) {
    const data = makePlrCCDDHNR2018({ n, p: 20, theta: 0.5, seed });
    const assignment = assignFolds(data.n, folds, 1, seed);
    const plan = { model: 'plr' as const, learners: { outcome: { type: 'lasso' }, treatment: { type: 'lasso' } }, seed };
    const e = aggregate(data, assignment, plan, crossFitInProcess(data, assignment, plan), 0.01);
    if (e.ci95[0] <= 0.5 && 0.5 <= e.ci95[1]) covered++;
  }
  const coverageSeconds = (Date.now() - coverageStarted) / 1000;

  const file = path.join(ctx.tmp, 'doubleml-plr.csv');
  const benchData = makePlrCCDDHNR2018({ n, p: 20, theta: 0.5, seed: 1000 });
  writeCausalCsv(file, benchData);
  const bytesReadPerTask = encodeCausalData(benchData).length + encodeFolds(assignFolds(n, folds, repetitions, 7)).length;
  const runs: Record<number, MapStageRun> = {};
  const state = { stateDir: path.join(ctx.tmp, 'state') };
  const wall: Record<number, number> = {};
  const thetas = new Set<number>();
  for (const workers of [1, 2, 4]) {
    const started = Date.now();
    const s = await runDoubleML({ name: `bench-doubleml-${workers}`, data: { path: file, outcome: 'y', treatment: 'd' }, model: 'plr', folds, repetitions, seed: 7, workers, lambda: { memoryMB: 512 } }, state);
    if (s.status !== 'completed') throw new Error(`doubleml with ${workers} workers ${s.status}: ${s.reason}`);
    wall[workers] = (Date.now() - started) / 1000;
    thetas.add(s.estimate!.theta);
    const crossfit = s.stages.find((stage) => stage.stage === 'crossfit')!;
    runs[workers] = { tasks: s.tasks.total, workers, stageSeconds: crossfit.seconds, fixedSeconds: wall[workers] - crossfit.seconds, taskSecondsTotal: s.tasks.seconds, bytesReadPerTask };
  }
  const model = fitMapStage(runs[1]);
  const local = localEnvironment();
  const calibrationError = (workers: number) => round(predictMapStage(model, local, workers, 512).seconds / wall[workers] - 1, 3);
  const aws100 = predictMapStage(model, awsEnvironment(), 100, 512);
  const aws100OneVcpu = predictMapStage(model, awsEnvironment(), 100, 1769);
  return {
    coverage: round(covered / replications, 3),
    coverageReplications: replications,
    coverageSecondsPerReplication: round(coverageSeconds / replications, 3),
    wallSeconds1: round(wall[1], 2),
    wallSeconds2: round(wall[2], 2),
    wallSeconds4: round(wall[4], 2),
    speedup2: round(wall[1] / wall[2], 2),
    speedup4: round(wall[1] / wall[4], 2),
    sameEstimate: thetas.size === 1,
    simulator: {
      fittedFrom: '1 worker',
      taskSeconds: round(model.taskSeconds, 4),
      overheadSecondsPerTask: round(model.overheadSeconds, 4),
      calibrationError2Workers: calibrationError(2),
      calibrationError4Workers: calibrationError(4),
      aws100Workers512MB: { seconds: round(aws100.seconds, 2), usd: round(aws100.usd, 6) },
      aws100Workers1769MB: { seconds: round(aws100OneVcpu.seconds, 2), usd: round(aws100OneVcpu.usd, 6) },
      speedup100Over1LocalWorker: round(wall[1] / aws100OneVcpu.seconds, 1),
    },
    notes:
      `coverage: ${replications} seeded replications of make_plr_CCDDHNR2018 (n ${n}, p 20, K ${folds}, lasso), single process. ` +
      `scaling: K ${folds} x R ${repetitions} fold tasks (n ${n}, p 20, lasso) on the local Lambda service, 512 MB, whole estimate wall time incl. load and aggregate; ${os.cpus().length} cores. ` +
      'sameEstimate: the three runs give the same theta bit for bit. simulator: runtime/provisioning/map-stage.ts fitted from the 1-worker run ' +
      '(task compute as the workers measured it, the rest of the stage as per-task overhead); calibration error = predicted/measured - 1 on the ' +
      '2- and 4-worker runs; AWS: 100 concurrent environments, one cold start, memory-proportional CPU, S3 reads at the function bandwidth, Lambda and S3 list prices.',
  };
}
