// Distinct-value counting in constant memory: a small HyperLogLog (Flajolet et al. 2007) with the
// linear-counting correction for small counts. 2^12 registers of one byte each: about 1.6 % standard
// error, 4 KB a column, whatever the number of rows. Used by the CSV reader to tell ids (nearly one
// value per row), codes (few values, repeated) and constants apart in the counting pass.
import { fnv1a } from './hashing';

const P = 12;
const M = 1 << P;
const ALPHA = 0.7213 / (1 + 1.079 / M);

/** murmur3's finaliser: FNV-1a's high bits mix poorly for short strings, and HLL reads them. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class HyperLogLog {
  private readonly registers = new Uint8Array(M);

  add(value: string): void {
    const h = mix32(fnv1a(value));
    const bucket = h >>> (32 - P);
    const rest = (h << P) >>> 0;
    // Rank: position of the first 1 bit in the remaining 32 - P bits (32 - P + 1 when all are 0).
    const rank = rest === 0 ? 32 - P + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[bucket]) this.registers[bucket] = rank;
  }

  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < M; i++) {
      sum += 2 ** -this.registers[i];
      if (this.registers[i] === 0) zeros++;
    }
    const raw = (ALPHA * M * M) / sum;
    if (raw <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros)); // linear counting
    if (raw > 2 ** 32 / 30) return Math.round(-(2 ** 32) * Math.log(1 - raw / 2 ** 32));
    return Math.round(raw);
  }
}
