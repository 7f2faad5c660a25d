// S3 fault injection for tests and demos (run-config `faults.s3ErrorRate`, `faults.s3DelayMs`): a
// middleware that slows every request and fails some with a 503 SlowDown, the way S3 throttles. It sits
// inside the SDK's retry loop, so the SDK's own retries (3 attempts) meet the faults as they would
// meet real ones; whatever still fails reaches our code.
import type { S3Client } from '@aws-sdk/client-s3';

export interface S3Faults {
  errorRate?: number; // 0..1 of requests
  delayMs?: number;
}

/** Adds the faults to `client` (a no-op when there are none) and returns it. */
export function withS3Faults(client: S3Client, faults: S3Faults | undefined): S3Client {
  const errorRate = faults?.errorRate ?? 0;
  const delayMs = faults?.delayMs ?? 0;
  if (errorRate <= 0 && delayMs <= 0) return client;
  client.middlewareStack.add(
    (next) => async (args) => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (Math.random() < errorRate) {
        const error = Object.assign(new Error('injected fault: S3 request failed (SlowDown)'), {
          name: 'SlowDown',
          $fault: 'server',
          $metadata: { httpStatusCode: 503 },
        });
        throw error;
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'cirrusFaultInjection' },
  );
  return client;
}
