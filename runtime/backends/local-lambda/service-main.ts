// Entry of the local Lambda service's own process (bundled to dist/lambda-service.js, forked by
// embedded.ts). Options come over IPC (or `--state-dir DIR [--max-concurrency N]` on the command
// line for manual use); it listens on 127.0.0.1 on a free port, reports the port, and exits,
// killing its running invocations, when told to stop or when its parent goes away.
import type { ServiceControlMessage, ServiceStatusMessage, SerializableServiceOptions } from './protocol';
import { LocalLambdaService } from './service';

let service: LocalLambdaService | undefined;
let stopping = false;

function report(message: ServiceStatusMessage): void {
  if (process.send && process.connected) process.send(message);
  else if (message.type === 'listening') console.log(`local Lambda service on http://127.0.0.1:${message.port}`);
  else console.error(message.message);
}

async function start(options: SerializableServiceOptions): Promise<void> {
  try {
    service = new LocalLambdaService(options);
    const port = await service.listen(0);
    report({ type: 'listening', port });
  } catch (error) {
    report({ type: 'error', message: (error as Error)?.message ?? String(error) });
    process.exit(1);
  }
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Never hang on the way out: the parent is waiting for this process to exit.
  setTimeout(() => process.exit(0), 5000).unref();
  await service?.close().catch(() => undefined);
  process.exit(0);
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.send) {
  process.on('message', (message: ServiceControlMessage) => {
    if (message?.type === 'start' && !service) void start(message.options);
    else if (message?.type === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
} else {
  const stateDir = argValue('--state-dir');
  if (!stateDir) {
    console.error('usage: node dist/lambda-service.js --state-dir DIR [--max-concurrency N]');
    process.exit(2);
  }
  const max = argValue('--max-concurrency');
  void start({ stateDir, maxConcurrency: max ? Number(max) : undefined });
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
