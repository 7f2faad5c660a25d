// `cirrus local start|status|stop`: the embedded S3 server and local Lambda service standalone, for the
// AWS CLI or any SDK. `start` stays in the foreground (Ctrl-C or `cirrus local stop` ends it) and
// prints the endpoints and the state folder's key pair; it records them in <state-dir>/local-services.json
// (user-only), which `status` and `stop` read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_BUCKET, LOCAL_REGION, localBackend, stopLocalServices } from '../backends/backend';
import { DEFAULT_STATE_DIR } from '../index';
import { stopOnSignals } from './signals';
import { UsageError } from './usage';
import { processAlive } from '../util/process-alive';

const SERVICES_FILE = 'local-services.json';

export interface LocalServicesInfo {
  pid: number;
  region: string;
  bucket: string;
  s3Endpoint: string;
  lambdaEndpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

function servicesFile(stateDir: string): string {
  return path.join(stateDir, SERVICES_FILE);
}

function readInfo(stateDir: string): LocalServicesInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(servicesFile(stateDir), 'utf8')) as LocalServicesInfo;
  } catch {
    return undefined;
  }
}


/** What a shell needs to point the AWS CLI at the services. */
function describe(info: LocalServicesInfo): string {
  return [
    `S3:     ${info.s3Endpoint} (bucket ${info.bucket}, path-style)`,
    `Lambda: ${info.lambdaEndpoint}`,
    'For the AWS CLI or an SDK:',
    `  export AWS_ACCESS_KEY_ID=${info.accessKeyId}`,
    `  export AWS_SECRET_ACCESS_KEY=${info.secretAccessKey}`,
    `  export AWS_DEFAULT_REGION=${info.region}`,
    `  aws --endpoint-url ${info.lambdaEndpoint} lambda list-functions`,
    `  aws --endpoint-url ${info.s3Endpoint} s3 ls s3://${info.bucket}`,
  ].join('\n');
}

export async function localCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, 'state-dir': { type: 'string' } } });
  const action = positionals[0];
  if (positionals.length !== 1 || !['start', 'status', 'stop'].includes(action)) throw new UsageError('local needs one of start, status, stop');
  const stateDir = path.resolve(values['state-dir'] ?? DEFAULT_STATE_DIR);
  const recorded = readInfo(stateDir);
  const running = recorded && processAlive(recorded.pid) ? recorded : undefined;

  if (action === 'status') {
    if (values.json) process.stdout.write(JSON.stringify(running ? { running: true, ...running } : { running: false }) + '\n');
    else process.stdout.write(running ? `running (pid ${running.pid})\n${describe(running)}\n` : `not running (state folder ${stateDir})\n`);
    return running ? 0 : 3;
  }
  if (action === 'stop') {
    if (!running) {
      process.stdout.write(`not running (state folder ${stateDir})\n`);
      return 0;
    }
    process.kill(running.pid, 'SIGTERM');
    for (let waited = 0; processAlive(running.pid); waited += 100) {
      if (waited > 15_000) throw new Error(`the local services (pid ${running.pid}) did not stop within 15 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    process.stdout.write(`stopped (pid ${running.pid})\n`);
    return 0;
  }

  if (running) throw new Error(`the local services already run for ${stateDir} (pid ${running.pid}): \`cirrus local status\` shows them`);
  const backend = await localBackend(stateDir);
  const info: LocalServicesInfo = {
    pid: process.pid,
    region: LOCAL_REGION,
    bucket: LOCAL_BUCKET,
    s3Endpoint: backend.workerS3Endpoint!,
    lambdaEndpoint: backend.localLambdaEndpoint!,
    accessKeyId: backend.localCredentials!.accessKeyId,
    secretAccessKey: backend.localCredentials!.secretAccessKey,
  };
  fs.writeFileSync(servicesFile(stateDir), JSON.stringify(info, null, 2), { mode: 0o600 });
  process.stdout.write(values.json ? JSON.stringify(info) + '\n' : `local services running (Ctrl-C or \`cirrus local stop\` ends them)\n${describe(info)}\n`);
  // The services' child processes do not keep this process alive (a run's driver must be able to exit): this does.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => stopOnSignals(() => resolve(), (line) => process.stderr.write(line)));
  clearInterval(keepAlive);
  fs.rmSync(servicesFile(stateDir), { force: true });
  await stopLocalServices();
  return 0;
}
