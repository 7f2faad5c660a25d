// The train stage's side of the run's own parameter server on EC2 (aws backend without
// aws.parameterServerAddress): a starter the supervisor calls for the server and for any replacement.
import type { ResolvedRunConfig } from '../../config/run-config';
import type { ParameterServerProcess } from '../../ps/launch';
import type { ParameterServerConfig } from '../../ps/types';
import type { Backend } from '../backend';
import { createControlClients } from './execute';
import { selfTerminateMinutes } from './plan';
import { asServerProcess, launchParameterServerInstance } from './ps-instance';

/** Whether this training starts its parameter server on EC2. */
export function serverOnEc2(backend: Backend): boolean {
  return backend.kind === 'aws' && !backend.parameterServer;
}

export function ec2ServerStarter(
  backend: Backend,
  config: ResolvedRunConfig,
  runId: string,
  log: (line: string) => void,
): { start: (psConfig: ParameterServerConfig) => Promise<ParameterServerProcess>; close: () => void } {
  const aws = config.aws!;
  const { ec2, ssm } = createControlClients({ region: backend.region, credentials: backend.storage.credentials, profile: backend.storage.profile });
  let launch = 0;
  return {
    async start(psConfig) {
      const server = await launchParameterServerInstance(
        { ec2, ssm, s3: backend.s3 },
        { runId, bucket: backend.bucket, instanceType: aws.instanceType, port: aws.parameterServerPort, subnetId: aws.subnetId, launch: launch++, selfTerminateMinutes: selfTerminateMinutes(config), psConfig, log },
      );
      log(`parameter server on EC2: ${server.instanceId} at ${server.host}:${server.port}`);
      return asServerProcess(server, log);
    },
    close() {
      ec2.destroy();
      ssm.destroy();
    },
  };
}
