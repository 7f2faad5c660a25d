// Feature hashing, the same scheme as the reference kernel (../shared/reference/refkernel.c), so
// hashed datasets and results compare with it:
//   fnv(s, seed): FNV-1a 32-bit over the UTF-8 bytes of s, offset basis 2166136261 xor seed
//   categorical column c (0-based over Criteo's 39 feature columns: I1..I13 are 0..12, C1 is 13)
//     -> bucket fnv(value, c) & (2^hashBits - 1), value 1
//   integer column c -> bucket fnv("I", c) & mask, value log1p(max(x, 0))
//   feature 0 -> the bias, value 1
import { DEFAULTS } from '../config/defaults';

/** The run config's default (runtime/config/defaults.ts), for readers given no bits. */
export const DEFAULT_HASH_BITS: number = DEFAULTS.model.hashBits;
export const MAX_HASH_BITS = 31;

const FNV_OFFSET = 2166136261;
const FNV_PRIME = 16777619;

export function fnv1aBytes(bytes: Uint8Array, seed = 0): number {
  let h = (FNV_OFFSET ^ seed) >>> 0;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], FNV_PRIME) >>> 0;
  return h;
}

/** FNV-1a of the string's UTF-8 bytes (ASCII fast path: no encoding step). */
export function fnv1a(text: string, seed = 0): number {
  let h = (FNV_OFFSET ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return fnv1aBytes(Buffer.from(text, 'utf8'), seed);
    h = Math.imul(h ^ c, FNV_PRIME) >>> 0;
  }
  return h;
}

export function hashMask(hashBits: number): number {
  return hashBits >= 32 ? 0xffffffff : (2 ** hashBits - 1) >>> 0;
}

export function checkHashBits(hashBits: number): void {
  if (!Number.isInteger(hashBits) || hashBits < 1 || hashBits > MAX_HASH_BITS) {
    throw new Error(`hashBits must be an integer from 1 to ${MAX_HASH_BITS} (got ${hashBits})`);
  }
}

/** Bucket of categorical value `value` in feature column `column`. */
export function categoricalBucket(value: string, column: number, mask: number): number {
  return (fnv1a(value, column) & mask) >>> 0;
}

/** Bucket of integer feature column `column` (all its values share one weight, scaled by the value). */
export function integerBucket(column: number, mask: number): number {
  return (fnv1a('I', column) & mask) >>> 0;
}

/** The transform of Criteo's integer counts: log1p(max(x, 0)). */
export function integerTransform(x: number): number {
  return Math.log1p(x > 0 ? x : 0);
}
