// Entry point on the parameter server's EC2 instance (bundled to dist/ps-instance.js, uploaded to the run's
// S3 prefix and fetched by the instance's user data, plan.ts userDataScript): `node ps-instance.js CONFIG.json`.
// No IPC here: the driver reaches the server over TCP like the workers. The process exits when the
// server cannot listen or on SIGTERM; the user data then halts the instance, which terminates it.
import * as fs from 'node:fs';
import { ParameterServer } from '../../ps/server';
import type { ParameterServerConfig } from '../../ps/types';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node ps-instance.js CONFIG.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as ParameterServerConfig;
  const server = new ParameterServer(config, {
    log: (level, message) => (level === 'error' ? console.error(message) : level === 'warn' ? console.warn(message) : console.log(message)),
  });
  const { host, port } = await server.listen();
  console.log(`cirrus parameter server listening on ${host}:${port}`);
  const close = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
}

main().catch((error: Error) => {
  console.error(`ps-instance: ${error.message}`);
  process.exit(1);
});
