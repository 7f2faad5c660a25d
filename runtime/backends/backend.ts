// Where workers run and data lives. Both backends are the same AWS SDK code paths; only endpoints and
// credentials differ. `local` starts (once per process, on demand) the embedded S3 server and the
// local Lambda service under the state directory, with one pair of SDK clients for them; `aws` uses
// the standard credential chain (with the run's profile, if any), or the explicit credentials the host
// hands in (VS Code's secret storage), held in memory by the SDK clients only. Nothing here changes
// process.env: in VS Code the process is the extension host, shared with other extensions.
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import * as path from 'node:path';
import type { RunConfig } from '../config/run-config';
import { DEFAULTS } from '../config/defaults';
import { startEmbeddedS3, type EmbeddedS3 } from '../storage/embedded-s3';
import { createS3Client, ensureBucket, type StorageTarget } from '../storage/s3';
import { localCredentials, type LocalCredentials } from '../util/local-credentials';
import { prepareStateDir } from '../util/state-dir';
import { resolveNetwork, type ResolvedNetwork } from '../network/profile';
import { WorkerNetwork } from '../network/worker-network';
import { startLocalLambda, type LocalLambda } from './local-lambda/embedded';
import { createLambdaClient } from './lambda-client';

/** Explicit AWS credentials (e.g. from VS Code's SecretStorage). Passed to the SDK clients and nowhere
 *  else: never into a run config, an event, a log line, or the workers' environment. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The part of a run config that picks and configures the backend (preprocessing has only this). */
export type BackendChoice = Pick<RunConfig, 'backend' | 'aws' | 'network'>;

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_BUCKET = 'cirrus-local';

export interface Backend {
  kind: 'local' | 'aws';
  region: string;
  bucket: string;
  s3: S3Client;
  storage: StorageTarget;
  lambda: LambdaClient;
  /** Environment for the worker function. Credentials never go here: AWS gives workers their
   *  execution role's, and the local service gives them the embedded S3's, the same way. */
  workerEnvironment: Record<string, string>;
  /** Endpoint the workers use for S3 (undefined = the regional AWS endpoint). */
  workerS3Endpoint?: string;
  /** Where the parameter server listens and the address workers dial (aws: only when
   *  aws.parameterServerAddress is set; stages without a parameter server need none). Read it through
   *  parameterServerPlace(). */
  parameterServer?: { bindHost: string; advertisedHost: string; port: number };
  /** Local only: the Lambda service's admin URL (list and kill invocations, for fault tests; sign
   *  requests with `localCredentials`, e.g. through localAdmin in local-lambda/embedded.ts). */
  localLambdaEndpoint?: string;
  /** Local only: the key pair of the embedded services (random per state folder). */
  localCredentials?: LocalCredentials;
  defaultTimeoutSeconds: number;
  /** Releases what this opening holds: an aws backend's SDK clients are destroyed (close it when done);
   *  the local backend's are shared by every opening and live until stopLocalServices. */
  close(): void;
  /** Local backend with the "aws" network profile: this run's proxies, which workers go through
   *  (docs/network.md). close() ends them; `closeBackend` also waits for that. */
  network?: WorkerNetwork;
}

interface LocalServices {
  s3: EmbeddedS3;
  /** Replaced when the service is restarted after it died. */
  lambda: LocalLambda;
  credentials: LocalCredentials;
  backend: Backend;
}

let localServices: Promise<LocalServices> | undefined;
let localStateDir: string | undefined;
let currentServices: LocalServices | undefined;

/** Where notices about the local services go (a restart after a crash); default stderr. */
let noticeSink: (line: string) => void = (line) => process.stderr.write(`[cirrus] ${line}\n`);
export function setLocalServiceLog(sink: (line: string) => void): void {
  noticeSink = sink;
}

async function startLocalServices(stateDir: string): Promise<LocalServices> {
  prepareStateDir(stateDir);
  // One key pair per state folder, for both services; invocations get it as their "execution role".
  const credentials = localCredentials(stateDir);
  const s3 = await startEmbeddedS3({ dataDir: path.join(stateDir, 's3'), credentials });
  const lambdaOptions = { stateDir: path.join(stateDir, 'lambda'), credentials, roleCredentials: credentials };
  try {
    const lambda = await startLocalLambda(lambdaOptions);
    const storage = s3.target;
    const backend: Backend = {
      kind: 'local',
      region: LOCAL_REGION,
      bucket: LOCAL_BUCKET,
      s3: createS3Client(storage),
      storage,
      lambda: createLambdaClient({ endpoint: lambda.endpoint, region: LOCAL_REGION, credentials: { ...credentials } }),
      workerEnvironment: {},
      workerS3Endpoint: storage.endpoint,
      parameterServer: { bindHost: '127.0.0.1', advertisedHost: '127.0.0.1', port: 0 },
      localLambdaEndpoint: lambda.endpoint,
      localCredentials: { ...credentials },
      defaultTimeoutSeconds: DEFAULTS.lambda.timeoutSeconds.local,
      close: () => undefined, // shared: destroyed with the services
    };
    const services: LocalServices = { s3, lambda, credentials, backend };
    // If the Lambda service dies (killed, out of memory), start it again on the same port, so the
    // clients already made keep working; the invocations it was running are lost (their callers see
    // the error and the driver relaunches its workers as after any failed invocation).
    const watch = (running: LocalLambda) =>
      running.onUnexpectedExit((why) => {
        if (services.lambda !== running || currentServices !== services) return;
        noticeSink(`local Lambda service (pid ${running.pid}) ${why}; restarting it on port ${running.port}`);
        startLocalLambda({ ...lambdaOptions, port: running.port }).then(
          (again) => {
            services.lambda = again;
            watch(again);
            noticeSink(`local Lambda service restarted (pid ${again.pid}, ${again.endpoint})`);
          },
          (error: Error) => {
            noticeSink(`local Lambda service could not be restarted: ${error.message}`);
            if (localServices) void stopLocalServices(); // the next run starts both afresh
          },
        );
      });
    watch(lambda);
    currentServices = services;
    return services;
  } catch (error) {
    await s3.stop();
    throw error;
  }
}

/** Worker networks still open, closed with the local services at the latest. */
const openNetworks = new Set<WorkerNetwork>();

/** With an "aws" network, an opening of its own: the shared services and clients, plus this run's
 *  proxies, which workers get instead of the services' addresses (the driver keeps the direct ones). */
export async function localBackend(stateDir: string, network: ResolvedNetwork = { profile: 'loopback' }): Promise<Backend> {
  if (localServices && localStateDir !== stateDir) await stopLocalServices();
  if (!localServices) {
    localStateDir = stateDir;
    localServices = startLocalServices(stateDir);
    localServices.catch(() => (localServices = undefined));
  }
  const { backend } = await localServices;
  await ensureBucket(backend.s3, LOCAL_BUCKET);
  if (!network.figures) return backend;
  const workerNetwork = await WorkerNetwork.open(network.figures, backend.storage.endpoint!);
  openNetworks.add(workerNetwork);
  return {
    ...backend,
    workerS3Endpoint: workerNetwork.s3Endpoint,
    network: workerNetwork,
    close: () => {
      openNetworks.delete(workerNetwork);
      void workerNetwork.close();
    },
  };
}

/** `credentials` absent: the SDK's standard chain (environment, profile, SSO, instance role). */
export async function awsBackend(config: BackendChoice, credentials?: AwsCredentials): Promise<Backend> {
  const region = config.aws?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('AWS backend: no region. Set "aws.region" in the run config or the cirrus.aws.region setting (or AWS_REGION).');
  const bucket = config.aws?.bucket;
  if (!bucket) throw new Error('AWS backend: no bucket. Set "aws.bucket" in the run config or the cirrus.s3.bucket setting.');
  const address = config.aws?.parameterServerAddress;
  const psAddress = address ? parseHostPort(address, 'aws.parameterServerAddress') : undefined;
  // Explicit credentials win; else the standard chain, reading the run's profile (given to the clients,
  // not put in process.env). Copies: the SDK marks the credentials object it is given, and the caller's must stay as it was.
  const profile = credentials ? undefined : config.aws?.profile || undefined;
  // Endpoints other than AWS's (an AWS-compatible stack, VPC endpoints): the workers use the S3 one too.
  const endpoints = config.aws?.endpoints;
  const storage: StorageTarget = { region, credentials: credentials && { ...credentials }, profile, ...(endpoints?.s3 ? { endpoint: endpoints.s3 } : {}) };
  const s3 = createS3Client(storage);
  const lambda = createLambdaClient({ region, credentials: credentials && { ...credentials }, profile, ...(endpoints?.lambda ? { endpoint: endpoints.lambda } : {}) });
  return {
    kind: 'aws',
    region,
    bucket,
    s3,
    storage,
    lambda,
    workerEnvironment: {},
    ...(endpoints?.s3 ? { workerS3Endpoint: endpoints.s3 } : {}),
    ...(psAddress ? { parameterServer: { bindHost: '0.0.0.0', advertisedHost: psAddress.host, port: psAddress.port } } : {}),
    defaultTimeoutSeconds: DEFAULTS.lambda.timeoutSeconds.aws,
    close() {
      s3.destroy();
      lambda.destroy();
    },
  };
}

/** Where a training's parameter server listens and the address its workers dial. */
export function parameterServerPlace(backend: Backend): NonNullable<Backend['parameterServer']> {
  if (!backend.parameterServer) {
    throw new Error('AWS backend: Lambda workers must reach the parameter server. Set "aws.parameterServerAddress" (host:port reachable from Lambda) in the run config or cirrus.parameterServer.address.');
  }
  return backend.parameterServer;
}

/** `host:port`, `host`, `[::1]:9000` -> host (IPv6 without brackets, as sockets take it) and port (0: none given).
 *  Parsed by the URL parser, so IPv6 literals work; anything else is refused naming the setting. */
export function parseHostPort(address: string, setting: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(`tcp://${address.trim()}`);
  } catch {
    throw new Error(`${setting}: "${address}" is not host:port (IPv6 in brackets: [::1]:9000)`);
  }
  if (!url.hostname || url.pathname || url.search || url.hash || url.username) {
    throw new Error(`${setting}: "${address}" is not host:port (IPv6 in brackets: [::1]:9000)`);
  }
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : 0 };
}

/** `credentials` are used only by the aws backend (the local one has its embedded services' own). */
export async function openBackend(config: BackendChoice, stateDir: string, credentials?: AwsCredentials): Promise<Backend> {
  // On AWS the network is the real one: `network` applies to the local backend only.
  return (config.backend ?? DEFAULTS.backend) === 'aws' ? awsBackend(config, credentials) : localBackend(stateDir, resolveNetwork(config.network));
}

/** close(), and waits until the run's worker network (if any) has gone. */
export async function closeBackend(backend: Backend): Promise<void> {
  backend.close();
  await backend.network?.close();
}

/** The running local Lambda service's process, if this process started one (tests, diagnostics). */
export function localLambdaProcess(): { pid: number; port: number } | undefined {
  return currentServices ? { pid: currentServices.lambda.pid, port: currentServices.lambda.port } : undefined;
}

/** Whether this process runs the local Lambda service for `stateDir` (its warm execution environments
 *  outlive a run; a new process starts every environment cold). */
export function localServicesRunningFor(stateDir: string): boolean {
  return currentServices !== undefined && localStateDir === stateDir;
}

/** Stops the embedded S3 server and local Lambda service, if this process started them. */
export async function stopLocalServices(): Promise<void> {
  const networks = [...openNetworks];
  openNetworks.clear();
  await Promise.allSettled(networks.map((n) => n.close()));
  const services = localServices;
  localServices = undefined;
  localStateDir = undefined;
  currentServices = undefined;
  if (!services) return;
  const started = await services.catch(() => undefined);
  if (!started) return;
  started.backend.s3.destroy();
  started.backend.lambda.destroy();
  await Promise.allSettled([started.lambda.stop(), started.s3.stop()]);
}
