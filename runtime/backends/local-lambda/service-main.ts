// Entry of the local Lambda service's own process (bundled to dist/lambda-service.js, started by
// embedded.ts through runtime/util/child-service.ts). Options, with the key pair, come in the start
// message over IPC (or `--state-dir DIR [--max-concurrency N]` on the command line for manual use,
// with the key pair of DIR/credentials.json); it listens on 127.0.0.1, reports the port, and exits,
// killing its running invocations, when told to stop or when its parent goes away.
import { serveChildService } from '../../util/child-service';
import type { SerializableServiceOptions } from './protocol';
import { LocalLambdaService } from './service';

let service: LocalLambdaService | undefined;

async function start(options: SerializableServiceOptions): Promise<{ port: number }> {
  service = new LocalLambdaService(options);
  return { port: await service.listen(options.port ?? 0) };
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const served = serveChildService<{ options: SerializableServiceOptions }>({
  start: ({ options }) => start(options),
  stop: async () => service?.close(),
});

if (!served) {
  const stateDir = argValue('--state-dir');
  if (!stateDir) {
    console.error('usage: node dist/lambda-service.js --state-dir DIR [--max-concurrency N]');
    process.exit(2);
  }
  const max = argValue('--max-concurrency');
  start({ stateDir, maxConcurrency: max ? Number(max) : undefined }).then(
    ({ port }) => console.log(`local Lambda service on http://127.0.0.1:${port} (credentials in ${stateDir}/credentials.json)`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
