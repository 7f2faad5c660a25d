// A channel for synchronous training steps through storage (LambdaML's design space): workers cannot
// talk to each other, so each step they put objects (gradients, models, or slices of them) where the
// others can read them, and poll for the objects they need. Implementations: S3 (s3-channel.ts, the
// PyWren-style baseline) and Redis (redis-channel.ts). The schemes on top are in collectives.ts.

export interface Channel {
  readonly kind: 's3' | 'redis' | 'ps';
  /** How long to wait between two reads of an object that is not there yet (ms). */
  readonly pollMs: number;
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The object, or undefined when it does not exist (yet). */
  tryGet(key: string): Promise<Uint8Array | undefined>;
  delete(keys: string[]): Promise<void>;
}

/** A synchronous step waited longer than its timeout for another worker's object. */
export class StepTimeoutError extends Error {
  constructor(readonly step: number, readonly missing: string, readonly timeoutMs: number) {
    super(`step ${step}: ${missing} did not arrive within ${(timeoutMs / 1000).toFixed(1)} s (a worker died or is too slow)`);
    this.name = 'StepTimeoutError';
  }
}

/** Reads `key`, polling until it exists or `deadline` (Date.now() ms) passes. */
export async function waitFor(channel: Channel, key: string, deadline: number, onTimeout: () => Error): Promise<Uint8Array> {
  for (;;) {
    const bytes = await channel.tryGet(key);
    if (bytes) return bytes;
    if (Date.now() >= deadline) throw onTimeout();
    await new Promise((resolve) => setTimeout(resolve, Math.min(channel.pollMs, Math.max(0, deadline - Date.now()))));
  }
}
