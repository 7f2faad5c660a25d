// The one retry loop of the runtime: S3 reads and writes left failing after the SDK's own retries,
// Lambda control-plane calls AWS throttles or refuses while an update is in progress, invocations
// refused for lack of concurrency. Each caller says which errors are worth another try and how long to wait.
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Tries in all, the first included (default 4). */
  attempts?: number;
  /** Pause before try `n + 1` after the n-th failed (n from 1), in ms (default 200 ms x n). */
  delayMs?: (failures: number) => number;
  /** Whether an error is worth another try (default: every error). */
  retryable?: (error: unknown) => boolean;
  /** No further try once aborted: the last error is thrown. */
  signal?: AbortSignal;
}

/** Calls `fn` until it succeeds, it fails with an error not worth retrying, or the tries run out (then
 *  the last error is thrown, unchanged). */
export async function withRetries<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 4, delayMs = (n) => 200 * n, retryable = () => true, signal } = options;
  for (let failures = 1; ; failures++) {
    try {
      return await fn();
    } catch (error) {
      if (failures >= attempts || !retryable(error) || signal?.aborted) throw error;
      await sleep(delayMs(failures));
    }
  }
}
