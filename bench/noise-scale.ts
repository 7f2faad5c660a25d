// Measures how the gradient noise scale of logistic regression on the Criteo sample changes as the loss
// falls (McCandlish et al. 2018, "An Empirical Model of Large-Batch Training": one sample of a batch of
// B makes 1 / (1 + B / B_noise) of the progress it makes alone, and B_noise grows as the loss falls).
// The project's own kernel trains the model sample by sample (AdaGrad, as the reference kernel); at
// checkpoints along that trajectory runtime/provisioning/noise-scale.ts computes the exact noise scale
// over every row (plain, and as AdaGrad's preconditioned steps see it).
// Several row orders give the spread. The phase is the loss over the same rows (the bench's Criteo sample
// x3 tests on copies of rows it trains on, so its test loss is this training loss).
// Used by the provisioning bench section; runs alone with `node --import tsx bench/noise-scale.ts`.
import { PartitionKind, type SamplePartition } from '../runtime/data/partition';
import { trainAdagradLocal } from '../runtime/models/logistic';
import { noiseScaleAt, type NoiseMeasurement } from '../runtime/provisioning/noise-scale';
import { loadCriteo, sliceRows } from './criteo';
import { CRITEO_10K } from './context';

export interface NoisePoint extends NoiseMeasurement {
  samples: number;
}

export const NOISE_DEFAULTS = { hashBits: 18, learningRate: 0.02, samples: 216_000, orders: 3, checkpoints: [0, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 216_000] };

/** The rows of `part` in the order `order`. */
function permute(part: SamplePartition, order: number[]): SamplePartition {
  const rowStart = new Uint32Array(part.rows + 1);
  const nnz = part.rowStart[part.rows];
  const indices = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  const labels = new Float32Array(part.rows);
  let at = 0;
  order.forEach((r, i) => {
    labels[i] = part.labels[r];
    for (let k = part.rowStart[r]; k < part.rowStart[r + 1]; k++, at++) {
      indices[at] = part.indices[k];
      values[at] = part.values[k];
    }
    rowStart[i + 1] = at;
  });
  return { kind: PartitionKind.Samples, rows: part.rows, labels, rowStart, indices, values };
}

/** A deterministic shuffle (order 0 is the file's order). */
function orderOf(rows: number, seed: number): number[] {
  const o = Array.from({ length: rows }, (_, i) => i);
  let s = seed * 2654435761 + 1;
  for (let i = rows - 1; i > 0 && seed > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [o[i], o[j]] = [o[j], o[i]];
  }
  return o;
}

/** Trains sample by sample along each row order (`orders` of them), measuring at each checkpoint. */
export async function measureNoiseScale(file = CRITEO_10K, o = NOISE_DEFAULTS): Promise<Array<{ order: number; points: NoisePoint[] }>> {
  const all = await loadCriteo(file, o.hashBits);
  const out = [];
  for (let seed = 0; seed < o.orders; seed++) {
    const part = permute(all, orderOf(all.rows, seed));
    const w = new Float32Array(2 ** o.hashBits);
    const g2 = new Float32Array(w.length).fill(1e-6);
    const points: NoisePoint[] = [];
    let trained = 0;
    let cursor = 0;
    for (const target of o.checkpoints) {
      while (trained < target) {
        const n = Math.min(target - trained, part.rows - cursor);
        trainAdagradLocal(sliceRows(part, cursor, cursor + n), w, g2, o.learningRate, 1);
        trained += n;
        cursor = (cursor + n) % part.rows;
      }
      points.push({ samples: trained, ...noiseScaleAt(part, w, g2) });
    }
    out.push({ order: seed, points });
  }
  return out;
}

if (process.argv[1]?.endsWith('noise-scale.ts')) {
  measureNoiseScale()
    .then((r) => console.log(JSON.stringify(r, null, 1)))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
