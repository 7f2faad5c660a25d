// Entry point of the parameter-server child process (bundled to dist/ps-server.js, started by launch.ts).
//
// IPC protocol with the parent:
//   parent -> child  { type: 'start', config: ParameterServerConfig }   (the token travels here, never on argv,
//                                                                         where `ps` would show it to every user)
//   child -> parent  { type: 'listening', host, port }  once, then { type: 'stats', stats } about every second
//   parent -> child  { type: 'stop' }                   close the port and exit 0
//   child -> parent  { type: 'error', message }         startup failed; the child exits 1
// The child also exits when the IPC channel closes (the parent died or let go): no orphaned servers.
import { ParameterServer } from './server';
import type { ParameterServerConfig } from './types';

type ParentMessage = { type: 'start'; config: ParameterServerConfig } | { type: 'stop' };

const STATS_INTERVAL_MS = 1000;

let server: ParameterServer | undefined;
let statsTimer: NodeJS.Timeout | undefined;
let exiting = false;

function send(message: unknown): void {
  if (process.connected) process.send!(message, undefined, undefined, () => {});
}

async function shutdown(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  clearInterval(statsTimer);
  try {
    await server?.close();
  } finally {
    process.exit(code);
  }
}

async function start(config: ParameterServerConfig): Promise<void> {
  server = new ParameterServer(config, {
    log: (level, message) => (level === 'error' ? console.error(message) : level === 'warn' ? console.warn(message) : console.log(message)),
  });
  const { host, port } = await server.listen();
  send({ type: 'listening', host, port });
  statsTimer = setInterval(() => send({ type: 'stats', stats: server!.stats() }), STATS_INTERVAL_MS);
}

if (!process.send) {
  console.error('ps-server: must be started with an IPC channel (see runtime/ps/launch.ts)');
  process.exit(2);
}

process.on('message', (message: ParentMessage) => {
  if (message?.type === 'start' && !server) {
    start(message.config).catch((err: Error) => {
      send({ type: 'error', message: err?.message ?? String(err) });
      void shutdown(1);
    });
  } else if (message?.type === 'stop') {
    void shutdown(0);
  }
});
process.on('disconnect', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// The driver decides when the server stops (a 'stop' message or its IPC channel closing): a Ctrl-C meant
// for it must not take the model with it (Windows consoles deliver it to every process; on POSIX the
// server has its own process group, see runtime/util/child-group.ts).
process.on('SIGINT', () => undefined);
