// SHA-256 of the model one model-averaging worker trains over the Criteo sample (3 epochs, two
// partitions of 5,625 and 4,375 rows, pulled ahead across them as the handler does), for checking that
// a change to the step leaves the trained model bit for bit the same (docs/benchmarks.md).
// `node --import tsx bench/averaging-model-hash.ts [minibatch] [epochs]`
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { startParameterServer } from '../runtime/ps/launch';
import { PsClient } from '../runtime/ps/client';
import { createModelStep, PULL_DEPTH, type Upcoming } from '../runtime/worker/model-step';
import type { Partition } from '../runtime/data/partition';
import { CRITEO_10K } from './context';
import { loadCriteo, sliceRows } from './criteo';

const FEATURES = 2 ** 20;

async function main(): Promise<void> {
  if (!fs.existsSync(CRITEO_10K)) throw new Error(`${CRITEO_10K} is absent`);
  const minibatch = Number(process.argv[2] ?? 10000);
  const epochs = Number(process.argv[3] ?? 3);
  const whole = await loadCriteo(CRITEO_10K);
  const parts = [sliceRows(whole, 0, 5625), sliceRows(whole, 5625, whole.rows)];
  const token = 'averaging-hash-token-0123456789ab';
  const ps = await startParameterServer({ token, tables: [{ name: 'weights', rows: FEATURES, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }] });
  const client = await PsClient.connect({ host: ps.host, port: ps.port, token, workerId: 1, generation: 0 });
  const step = createModelStep({ type: 'logistic', featureCount: FEATURES, localLearningRate: 0.05 });
  const upcoming = (index: number, to: number): Upcoming => {
    const out: Array<[number, number, Partition?]> = [];
    for (let at = to; at < parts[index].rows && out.length < PULL_DEPTH; at += minibatch) out.push([at, Math.min(parts[index].rows, at + minibatch)]);
    for (let n = 1; out.length < PULL_DEPTH; n++) {
      const next = parts[(index + n) % parts.length];
      for (let at = 0; at < next.rows && out.length < PULL_DEPTH; at += minibatch) out.push([at, Math.min(next.rows, at + minibatch), next]);
    }
    return out;
  };
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const [index, part] of parts.entries()) {
      for (let from = 0; from < part.rows; from += minibatch) await step.run(part, from, Math.min(part.rows, from + minibatch), client, upcoming(index, Math.min(part.rows, from + minibatch)));
    }
  }
  await step.flush(client);
  const all = Uint32Array.from({ length: FEATURES }, (_, i) => i);
  const model = await client.pull(0, all, new Float32Array(FEATURES));
  console.log(createHash('sha256').update(new Uint8Array(model.buffer, model.byteOffset, model.byteLength)).digest('hex'), `minibatch ${minibatch}, ${epochs} epochs, ${model.filter((w) => w !== 0).length} non-zero weights`);
  await client.close();
  await ps.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
