// Byzantine corruptions of an update, for fault injection: what a faulty or malicious worker sends
// instead of its honest update. `factor` scales the corruption (flip: -factor x update; scale:
// factor x update; random: Gaussian noise with factor x the update's RMS as standard deviation; zero).

export type ByzantineKind = 'flip' | 'scale' | 'random' | 'zero';
export const BYZANTINE_KINDS: readonly ByzantineKind[] = ['flip', 'scale', 'random', 'zero'];

/** A small seeded generator (mulberry32): runs are reproducible. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Corrupts `values` in place. */
export function corrupt(values: Float32Array, kind: ByzantineKind, factor: number, random: () => number): Float32Array {
  switch (kind) {
    case 'flip':
      for (let j = 0; j < values.length; j++) values[j] = -factor * values[j];
      return values;
    case 'scale':
      for (let j = 0; j < values.length; j++) values[j] *= factor;
      return values;
    case 'zero':
      return values.fill(0);
    case 'random': {
      let s = 0;
      for (let j = 0; j < values.length; j++) s += values[j] * values[j];
      const std = factor * Math.sqrt(s / Math.max(1, values.length));
      for (let j = 0; j < values.length; j++) {
        // Box-Muller; 1 - u keeps the logarithm finite.
        const u = 1 - random();
        values[j] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
      }
      return values;
    }
  }
}
