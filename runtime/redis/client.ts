// The Redis client the channel uses: node-redis's core (@redis/client: maintained by Redis, no
// dependencies, RESP2/3, pipelining, binary values). One place for its options: fail fast with a
// clear error when Redis is gone, instead of reconnecting forever while a training step waits.
// Imported from the client's own module, not the package index: the index also loads the cluster,
// sentinel and pool clients (about 80 KB of the worker's code) that the channel never uses.
import RedisClient from '@redis/client/dist/lib/client';
import { RESP_TYPES } from '@redis/client/dist/lib/RESP/decoder';

const createClient = RedisClient.create;

/** A client whose string replies come back as Buffers (the channel stores binary arrays). */
function makeClient(url: string) {
  return createClient({
    url,
    socket: {
      connectTimeout: 5000,
      // A dropped connection is retried briefly (a restart, a blip), then the commands fail.
      reconnectStrategy: (retries: number) => (retries < 3 ? 100 * (retries + 1) : new Error(`Redis at ${redactUrl(url)} is unreachable`)),
    },
  }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

export type RedisConnection = ReturnType<typeof makeClient>;

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`);
}

/** Connects (and authenticates) to `url` (redis://:PASSWORD@HOST:PORT). */
export async function connectRedis(url: string): Promise<RedisConnection> {
  const client = makeClient(url);
  let lastError: Error | undefined;
  // An 'error' listener is required (node-redis emits errors there); the last one names the cause.
  client.on('error', (error: Error) => (lastError = error));
  try {
    await client.connect();
  } catch (error) {
    try {
      client.destroy();
    } catch {
      /* never opened */
    }
    throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${(lastError ?? (error as Error)).message}`);
  }
  return client;
}
