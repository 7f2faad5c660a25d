// The run's parameter server on EC2, started and ended by the driver with the calls the plan lists
// (plan.ts: instanceStartCalls, instanceEndCalls). The instance fetches its code and config through
// presigned URLs, listens on the one port its group opens, and halts itself when its server exits or its
// timer runs out (shutdown behaviour: terminate): a dead driver leaves nothing running for long, and
// `cirrus aws cleanup` removes what is left.
import * as fs from 'node:fs';
import type { ParameterServerProcess } from '../../ps/launch';
import type { ParameterServerConfig } from '../../ps/types';
import { distFile } from '../../util/paths';
import { executeCalls, fillPlaceholders, type AwsClients, type ExecuteOptions, type Values } from './execute';
import { instanceEndCalls, instanceStartCalls, PRESIGN_SECONDS, userDataScript, type InstanceCallsInput, type PlannedCall } from './plan';
import { presignGet } from './presign';

export interface InstanceLaunch extends InstanceCallsInput {
  selfTerminateMinutes: number;
  /** The server's config; its host and port are set here (all interfaces, the group's port). */
  psConfig: ParameterServerConfig;
  /** Default dist/ps-instance.js. */
  bundle?: Uint8Array;
  log?: (line: string) => void;
  execute?: ExecuteOptions;
}

export interface Ec2ParameterServer {
  host: string;
  port: number;
  instanceId: string;
  /** The end calls, in order; tolerates what already went. Idempotent. */
  terminate(): Promise<void>;
}

/** The values the start calls need that no call returns: the bundle, the config, the user data. */
async function startValues(clients: AwsClients, o: InstanceLaunch, calls: PlannedCall[]): Promise<Values> {
  const bundle = o.bundle ?? fs.readFileSync(distFile('ps-instance.js'));
  const config: ParameterServerConfig = { ...o.psConfig, host: '0.0.0.0', port: o.port };
  const [bundlePut, configPut] = calls.filter((c) => c.operation === 'PutObject').map((c) => c.input as { Bucket: string; Key: string });
  const script = userDataScript({
    bundleUrl: await presignGet(clients.s3, bundlePut.Bucket, bundlePut.Key, PRESIGN_SECONDS),
    configUrl: await presignGet(clients.s3, configPut.Bucket, configPut.Key, PRESIGN_SECONDS),
    selfTerminateMinutes: o.selfTerminateMinutes,
  });
  return { Bundle: bundle, ServerConfig: new TextEncoder().encode(JSON.stringify(config)), UserData: Buffer.from(script).toString('base64') };
}

/** Sends the end calls whose placeholders are known (a failed start ends what it began). */
async function endCalls(clients: AwsClients, o: InstanceLaunch, values: Values): Promise<void> {
  const calls = instanceEndCalls(o).filter((c) => !/<([A-Za-z]+)>/.test(JSON.stringify(fillPlaceholders(c.input, values))));
  const errors: string[] = [];
  for (const call of calls) {
    try {
      await executeCalls(clients, [call], values, o.execute);
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (/NotFound/.test(name)) continue; // already gone
      errors.push(`${call.operation}: ${(error as Error).message}`);
    }
  }
  if (errors.length) throw new Error(`the parameter server's AWS resources were not all removed (run \`cirrus aws cleanup --run ${o.runId}\`): ${errors.join('; ')}`);
}

export async function launchParameterServerInstance(clients: AwsClients, o: InstanceLaunch): Promise<Ec2ParameterServer> {
  const calls = instanceStartCalls(o);
  const values = await startValues(clients, o, calls);
  const log = o.log ?? (() => undefined);
  try {
    await executeCalls(clients, calls, values, { ...o.execute, onCall: (c) => log(`aws ${c.service}:${c.operation} (${c.why})`) });
  } catch (error) {
    await endCalls(clients, o, values).catch((e: Error) => log(e.message));
    throw error;
  }
  let ended: Promise<void> | undefined;
  return {
    host: values.PublicIp as string,
    port: o.port,
    instanceId: values.InstanceId as string,
    terminate: () => (ended ??= endCalls(clients, o, values)),
  };
}

/** The instance as the supervisor's server: it dials `host`; a kill (its connection broke) terminates the
 *  instance and counts as its exit; stop() ends everything the launch made. */
export function asServerProcess(server: Ec2ParameterServer, log: (line: string) => void): ParameterServerProcess {
  const exitListeners = new Set<(code: number | null, signal: NodeJS.Signals | null) => void>();
  let exited = false;
  const exit = () => {
    if (exited) return;
    exited = true;
    for (const cb of exitListeners) cb(null, 'SIGKILL');
  };
  return {
    host: server.host,
    connectHost: server.host,
    port: server.port,
    pid: 0,
    lastStats: undefined,
    async stop() {
      try {
        await server.terminate();
      } finally {
        exit();
      }
    },
    kill() {
      server.terminate().catch((error: Error) => log(error.message));
      exit();
    },
    onExit(cb) {
      exitListeners.add(cb);
      return () => exitListeners.delete(cb);
    },
    onStats: () => () => undefined,
  };
}
