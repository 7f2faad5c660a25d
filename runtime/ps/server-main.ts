// Entry point of the parameter-server child process (bundled to dist/ps-server.js, started by launch.ts).
//
// IPC protocol with the parent (runtime/util/child-service.ts):
//   parent -> child  { type: 'start', config: ParameterServerConfig }   (the token travels here, never on argv,
//                                                                         where `ps` would show it to every user)
//   child -> parent  { type: 'ready', host, port }  once, then { type: 'stats', stats } about every second
//   parent -> child  { type: 'stop' }                   close the port and exit 0
//   child -> parent  { type: 'error', message }         startup failed; the child exits 1
// The child also exits when the IPC channel closes (the parent died or let go): no orphaned servers.
import { sendToParent, serveChildService } from '../util/child-service';
import { ParameterServer } from './server';
import type { ParameterServerConfig } from './types';

const STATS_INTERVAL_MS = 1000;

let server: ParameterServer | undefined;
let statsTimer: NodeJS.Timeout | undefined;

const served = serveChildService<{ config: ParameterServerConfig }>({
  async start({ config }) {
    server = new ParameterServer(config, {
      log: (level, message) => (level === 'error' ? console.error(message) : level === 'warn' ? console.warn(message) : console.log(message)),
    });
    const { host, port } = await server.listen();
    statsTimer = setInterval(() => sendToParent({ type: 'stats', stats: server!.stats() }), STATS_INTERVAL_MS);
    return { host, port };
  },
  async stop() {
    clearInterval(statsTimer);
    await server?.close();
  },
  // The driver decides when the server stops (a 'stop' message or its IPC channel closing): a Ctrl-C meant
  // for it must not take the model with it (Windows consoles deliver it to every process; on POSIX the
  // server has its own process group, see runtime/util/child-group.ts).
  sigint: 'ignore',
});

if (!served) {
  console.error('ps-server: must be started with an IPC channel (see runtime/ps/launch.ts)');
  process.exit(2);
}
