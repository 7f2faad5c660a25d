// Where an asynchronous-SGD worker's CPU goes, without the rest of a run: one logistic step
// (runtime/worker/model-step.ts, minibatch 200, pulls ahead as in a run) over the Criteo sample
// against the parameter server in its own process (dist/ps-server.js, AdaGrad, 2^20 x 1), for a few
// seconds. Prints samples/s and the CPU µs per sample of this process (the worker) and of the
// server, with the step's own timing. Not a bench section: a tool for A/B runs of the per-minibatch
// path (docs/benchmarks.md). `node --import tsx bench/worker-cpu.ts [seconds] [averaging] [same-partition]`
// With `averaging`: model averaging as endToEnd runs it (minibatch 10000, local AdaGrad lr 0.05, the
// server's table plain SGD at rate 1), the sample cut into partitions of 5,625 rows as deploy cuts
// endToEnd's file, so each minibatch is a whole partition and the worker switches partition at each.
import * as fs from 'node:fs';
import { startParameterServer } from '../runtime/ps/launch';
import { PsClient } from '../runtime/ps/client';
import { createModelStep, PULL_DEPTH, type Upcoming } from '../runtime/worker/model-step';
import type { Partition } from '../runtime/data/partition';
import { CRITEO_10K } from './context';
import { loadCriteo, sliceRows } from './criteo';

const FEATURES = 2 ** 20;
/** endToEnd's partition size: defaultRowsPerPartition of its 90,000 training rows. */
const AVERAGING_PARTITION_ROWS = 5625;

/** CPU ms (user + system) a process has used so far, from /proc (Linux). */
function processCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

async function main(): Promise<void> {
  if (!fs.existsSync(CRITEO_10K)) throw new Error(`${CRITEO_10K} is absent`);
  const seconds = Number(process.argv[2] ?? 6);
  const averaging = process.argv[3] === 'averaging';
  const MINIBATCH = averaging ? 10000 : 200;
  const whole = await loadCriteo(CRITEO_10K);
  const parts = averaging ? [sliceRows(whole, 0, AVERAGING_PARTITION_ROWS), sliceRows(whole, AVERAGING_PARTITION_ROWS, whole.rows)] : [whole];
  const token = 'worker-cpu-bench-token-0123456789';
  const ps = await startParameterServer({ token, tables: [{ name: 'weights', rows: FEATURES, width: 1, optimizer: averaging ? { type: 'sgd', learningRate: 1 } : { type: 'adagrad', learningRate: 0.05 } }] });
  const client = await PsClient.connect({ host: ps.host, port: ps.port, token, workerId: 1, generation: 0 });
  const step = createModelStep({ type: 'logistic', featureCount: FEATURES, localLearningRate: averaging ? 0.05 : undefined });
  // As the handler cuts them: the last minibatch of a partition is cut short, and the next
  // partition's first minibatches follow (the handler's partitions are decoded ahead); with
  // `same-partition`, only this partition's (the handler before the pull ahead across partitions).
  const samePartition = process.argv.includes('same-partition');
  const upcoming = (index: number, to: number): Upcoming => {
    const out: Array<[number, number, Partition?]> = [];
    const rows = parts[index].rows;
    for (let at = to; at < rows && out.length < PULL_DEPTH; at += MINIBATCH) out.push([at, Math.min(rows, at + MINIBATCH)]);
    for (let n = 1; !samePartition && out.length < PULL_DEPTH; n++) {
      const next = parts[(index + n) % parts.length];
      for (let at = 0; at < next.rows && out.length < PULL_DEPTH; at += MINIBATCH) out.push([at, Math.min(next.rows, at + MINIBATCH), next]);
    }
    return out;
  };
  let samples = 0;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const server0 = processCpuMs(ps.pid);
  while (performance.now() - started < seconds * 1000) {
    for (const [index, part] of parts.entries()) {
      for (let from = 0; from < part.rows; from += MINIBATCH) {
        const to = Math.min(part.rows, from + MINIBATCH);
        await step.run(part, from, to, client, upcoming(index, to));
        samples += to - from;
      }
    }
  }
  await step.flush(client);
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const serverMs = processCpuMs(ps.pid) - server0;
  const t = step.timing!;
  const us = (ms: number) => ((ms * 1000) / samples).toFixed(3);
  console.log(
    `samples/s ${Math.round((samples / wall) * 1000)}; CPU µs/sample: worker ${us((cpu.user + cpu.system) / 1000)} (user ${us(cpu.user / 1000)}, system ${us(cpu.system / 1000)}), server ${us(serverMs)}; ` +
      `step µs/sample (wall): compute ${us(t.computeMs)}, pack ${us(t.packMs)}, pull wait ${us(t.pullWaitMs)}; pull trip ${((t.psTripMs ?? 0) / (t.psTrips ?? 1)).toFixed(2)} ms x ${t.psTrips}`,
  );
  await client.close();
  await ps.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
