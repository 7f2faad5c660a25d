// What a run on AWS does to the account, before it does it: the resources it creates, uses or changes,
// every API call in order, what it costs, and the guardrails. `cirrus aws plan` prints this; the driver
// sends the instance's calls from the very same lists (ps-instance.ts runs `instanceStartCalls` and
// `instanceEndCalls` through execute.ts), so what the plan says is what is sent.
//
// A call's input is the SDK command's input. Values known only when the run happens (an id an earlier call
// returns, the bundle's bytes, a presigned URL) are placeholders `<Name>`; `take` says which earlier output
// fills one, and execute.ts substitutes them.
import { DEFAULTS } from '../../config/defaults';
import type { ResolvedRunConfig } from '../../config/run-config';
import { PRICES } from '../../cost/prices';
import { instanceObjectsPrefix, runTags, securityGroupName } from './tags';

export type AwsService = 'sts' | 'iam' | 'ssm' | 'ec2' | 's3' | 'lambda';

export interface PlannedCall {
  phase: 'start' | 'train' | 'end';
  service: AwsService;
  operation: string;
  input: Record<string, unknown>;
  /** Placeholder name -> dotted path in this call's output (e.g. `Parameter.Value`). */
  take?: Record<string, string>;
  /** Sent again (every POLL_SECONDS) until the output's `path` equals `equals`. */
  until?: { path: string; equals: string };
  /** Sent only in this case (the function exists or not, its code differs...). */
  when?: string;
  /** Sent this many times (e.g. one Invoke per worker and generation). */
  times?: string;
  why: string;
}

export interface PlannedResource {
  kind: 'lambda function' | 'iam role' | 's3 object' | 'ec2 instance' | 'security group' | 'security group rule' | 'ebs volume';
  name: string;
  action: 'create' | 'create or update' | 'use' | 'write' | 'create, then delete at the end';
  /** Removed by the driver at the end of the run (and by `cirrus aws cleanup` if the driver died). */
  removedAtEnd: boolean;
  detail: string;
}

export interface CostLine {
  item: string;
  perHourUSD: number;
}

export interface AwsPlan {
  runId: string;
  region: string;
  bucket: string;
  resources: PlannedResource[];
  calls: PlannedCall[];
  cost: { lines: CostLine[]; perHourUSD: number; hours: number; runUSD: number; /** The hard stop: the smaller of training.budgetUSD and aws.maxUSD. */ capUSD: number };
  guardrails: { maxConcurrency: number; maxUSD: number; maxInstanceMinutes: number; workers: number; budgetUSD: number };
  /** Absent when the run uses aws.parameterServerAddress (a server of the user's own). */
  instance?: InstancePlan;
}

export interface InstancePlan {
  instanceType: string;
  architecture: 'x86_64' | 'arm64';
  amiParameter: string;
  port: number;
  subnetId?: string;
  /** The instance halts (and so terminates) after this many minutes whatever happens. */
  selfTerminateMinutes: number;
  bundleKey: string;
  configKey: string;
  /** The user-data script, with the presigned URLs as placeholders. */
  userDataScript: string;
}

/** Polling of DescribeInstances while an instance starts or terminates. */
export const POLL_SECONDS = 5;
/** How long the presigned URLs in the user data stay valid: enough for the instance to boot. */
export const PRESIGN_SECONDS = 1800;

const AMI_PARAMETER = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-';

/** Graviton families (c7g, m6g, t4g, c8gd...) run arm64 images. */
export function architectureOf(instanceType: string): 'x86_64' | 'arm64' {
  return /^[a-z]+\d+g[a-z]*\./.test(instanceType) ? 'arm64' : 'x86_64';
}

export function instancePricePerHour(instanceType: string): number {
  const price = PRICES.ec2PerHour[instanceType];
  if (price === undefined) {
    throw new Error(`aws.instanceType: no price known for "${instanceType}" (the plan and the budget guard need one); known: ${Object.keys(PRICES.ec2PerHour).join(', ')}`);
  }
  return price;
}

/** The run's hard dollar stop on AWS: training.budgetUSD, capped by the aws.maxUSD guardrail. */
export function runBudgetUSD(config: ResolvedRunConfig): number | undefined {
  const guard = config.backend === 'aws' ? (config.aws?.maxUSD ?? DEFAULTS.aws.maxUSD) : undefined;
  const own = config.training.budgetUSD;
  if (guard === undefined) return own;
  return own === undefined ? guard : Math.min(own, guard);
}

export function selfTerminateMinutes(config: ResolvedRunConfig): number {
  const wanted = Math.ceil((config.training.maxSeconds + DEFAULTS.aws.instanceMarginSeconds) / 60);
  return Math.min(wanted, config.aws?.maxInstanceMinutes ?? DEFAULTS.aws.maxInstanceMinutes);
}

export interface InstanceCallsInput {
  runId: string;
  bucket: string;
  instanceType: string;
  port: number;
  subnetId?: string;
  /** 0 for the run's first instance; a replacement after a crash counts up (its own group and client token). */
  launch?: number;
}

/** Start: the bundle and config to S3, the AMI, the network, the group, the instance, until it runs. */
export function instanceStartCalls(p: InstanceCallsInput): PlannedCall[] {
  const launch = p.launch ?? 0;
  const tags = runTags(p.runId);
  const prefix = instanceObjectsPrefix(p.runId);
  const calls: PlannedCall[] = [
    {
      phase: 'start',
      service: 's3',
      operation: 'PutObject',
      input: { Bucket: p.bucket, Key: `${prefix}ps-instance.js`, Body: '<Bundle>', ContentType: 'application/javascript' },
      why: "the parameter server's code, which the instance fetches through a presigned URL (no instance role needed)",
    },
    {
      phase: 'start',
      service: 's3',
      operation: 'PutObject',
      input: { Bucket: p.bucket, Key: `${prefix}ps-config.json`, Body: '<ServerConfig>', ContentType: 'application/json' },
      why: "the server's tables and the run's token, fetched the same way (the token is never in the user data)",
    },
    {
      phase: 'start',
      service: 'ssm',
      operation: 'GetParameter',
      input: { Name: `${AMI_PARAMETER}${architectureOf(p.instanceType)}` },
      take: { ImageId: 'Parameter.Value' },
      why: "the current Amazon Linux 2023 AMI, from AWS's public parameter",
    },
    p.subnetId
      ? {
          phase: 'start',
          service: 'ec2',
          operation: 'DescribeSubnets',
          input: { SubnetIds: [p.subnetId] },
          take: { VpcId: 'Subnets.0.VpcId' },
          why: 'the VPC of the given subnet (aws.subnetId), for the security group',
        }
      : {
          phase: 'start',
          service: 'ec2',
          operation: 'DescribeVpcs',
          input: { Filters: [{ Name: 'is-default', Values: ['true'] }] },
          take: { VpcId: 'Vpcs.0.VpcId' },
          why: 'the default VPC (no aws.subnetId given)',
        },
    {
      phase: 'start',
      service: 'ec2',
      operation: 'CreateSecurityGroup',
      input: {
        GroupName: securityGroupName(p.runId, launch),
        Description: `Cirrus parameter server of run ${p.runId}: its port only`.slice(0, 255),
        VpcId: '<VpcId>',
        TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
      },
      take: { GroupId: 'GroupId' },
      why: "a group of the run's own, opening only the server's port",
    },
    {
      phase: 'start',
      service: 'ec2',
      operation: 'AuthorizeSecurityGroupIngress',
      input: {
        GroupId: '<GroupId>',
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: p.port,
            ToPort: p.port,
            // Lambda has no fixed addresses: the port is open to all, and TLS plus the run's token guard it.
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'Lambda workers and the driver (TLS + run token)' }],
          },
        ],
        TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: tags }],
      },
      why: `TCP ${p.port} in, nothing else (no SSH)`,
    },
    {
      phase: 'start',
      service: 'ec2',
      operation: 'RunInstances',
      input: {
        ImageId: '<ImageId>',
        InstanceType: p.instanceType,
        MinCount: 1,
        MaxCount: 1,
        UserData: '<UserData>',
        InstanceInitiatedShutdownBehavior: 'terminate',
        NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: true, Groups: ['<GroupId>'], ...(p.subnetId ? { SubnetId: p.subnetId } : {}), DeleteOnTermination: true }],
        MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
        TagSpecifications: [
          { ResourceType: 'instance', Tags: tags },
          { ResourceType: 'volume', Tags: tags },
        ],
        ClientToken: `cirrus-${p.runId}-${launch}`.slice(0, 64),
      },
      take: { InstanceId: 'Instances.0.InstanceId' },
      why: 'the parameter server; it halts itself (shutdown behaviour: terminate) after the time limit plus a margin',
    },
    {
      phase: 'start',
      service: 'ec2',
      operation: 'DescribeInstances',
      input: { InstanceIds: ['<InstanceId>'] },
      until: { path: 'Reservations.0.Instances.0.State.Name', equals: 'running' },
      take: { PublicIp: 'Reservations.0.Instances.0.PublicIpAddress' },
      why: 'waits until it runs, for its public address',
    },
  ];
  return calls;
}

/** End (after the final model is read and the last checkpoint is in S3): the instance, its group, its objects. */
export function instanceEndCalls(p: InstanceCallsInput): PlannedCall[] {
  const prefix = instanceObjectsPrefix(p.runId);
  return [
    { phase: 'end', service: 'ec2', operation: 'TerminateInstances', input: { InstanceIds: ['<InstanceId>'] }, why: 'the parameter server goes' },
    {
      phase: 'end',
      service: 'ec2',
      operation: 'DescribeInstances',
      input: { InstanceIds: ['<InstanceId>'] },
      until: { path: 'Reservations.0.Instances.0.State.Name', equals: 'terminated' },
      why: 'a group in use cannot be deleted: wait until the instance is gone',
    },
    { phase: 'end', service: 'ec2', operation: 'DeleteSecurityGroup', input: { GroupId: '<GroupId>' }, why: "the run's group" },
    { phase: 'end', service: 's3', operation: 'DeleteObject', input: { Bucket: p.bucket, Key: `${prefix}ps-instance.js` }, why: "the server's code" },
    { phase: 'end', service: 's3', operation: 'DeleteObject', input: { Bucket: p.bucket, Key: `${prefix}ps-config.json` }, why: "the server's config (with the token)" },
  ];
}

/** What the training itself sends (runtime/driver): the worker function, the dataset, checkpoints, the model. */
function trainCalls(config: ResolvedRunConfig, runId: string, bucket: string): PlannedCall[] {
  const fn = config.lambda.functionName;
  const settings = { FunctionName: fn, Runtime: 'nodejs22.x', Handler: 'index.handler', MemorySize: config.lambda.memoryMB, Timeout: config.lambda.timeoutSeconds };
  return [
    { phase: 'train', service: 'lambda', operation: 'GetFunction', input: { FunctionName: fn }, why: 'is the worker function there, and is it current?' },
    {
      phase: 'train',
      service: 'lambda',
      operation: 'CreateFunction',
      input: { ...settings, Role: config.aws?.roleArn ?? '<aws.roleArn>', Code: { ZipFile: '<WorkerZip>' }, Environment: { Variables: {} } },
      when: 'the function does not exist',
      why: 'the worker function',
    },
    { phase: 'train', service: 'lambda', operation: 'UpdateFunctionCode', input: { FunctionName: fn, ZipFile: '<WorkerZip>' }, when: "the function's code differs", why: 'the current worker code' },
    {
      phase: 'train',
      service: 'lambda',
      operation: 'UpdateFunctionConfiguration',
      input: { ...settings, Environment: { Variables: {} } },
      when: "the function's settings differ",
      why: "this run's memory and time limit",
    },
    {
      phase: 'train',
      service: 'lambda',
      operation: 'Invoke',
      input: { FunctionName: fn, InvocationType: 'RequestResponse', LogType: 'Tail', Payload: '<WorkerEvent>' },
      times: `${config.training.workers} at once (aws.maxConcurrency ${config.aws?.maxConcurrency}), again per generation`,
      why: 'the workers',
    },
    { phase: 'train', service: 's3', operation: 'GetObject', input: { Bucket: bucket, Key: '<dataset partition>' }, times: 'per partition and worker', why: 'training data' },
    { phase: 'train', service: 's3', operation: 'PutObject', input: { Bucket: bucket, Key: `runs/${runId}/checkpoints/<seq>` }, times: `every ${config.training.checkpointEverySeconds} s`, why: 'checkpoints' },
  ];
}

export function planAwsRun(config: ResolvedRunConfig, opts: { runId: string; region: string; bucket: string }): AwsPlan {
  if (config.backend !== 'aws' || !config.aws) throw new Error('aws plan: the run config must have "backend": "aws"');
  const aws = config.aws;
  const { runId, region, bucket } = opts;
  const own = !aws.parameterServerAddress;
  const resources: PlannedResource[] = [
    { kind: 'lambda function', name: config.lambda.functionName, action: 'create or update', removedAtEnd: false, detail: `${config.lambda.memoryMB} MB, ${config.lambda.timeoutSeconds} s, nodejs22.x` },
    { kind: 'iam role', name: aws.roleArn ?? '(aws.roleArn not set: required when the function is created)', action: 'use', removedAtEnd: false, detail: "the worker function's execution role (S3 read of the dataset)" },
    { kind: 's3 object', name: `s3://${bucket}/runs/${runId}/`, action: 'write', removedAtEnd: false, detail: 'checkpoints and the model (kept)' },
  ];
  const calls: PlannedCall[] = [];
  let instance: InstancePlan | undefined;
  const workersPerHour = config.training.workers * (config.lambda.memoryMB / 1024) * 3600 * PRICES.lambdaPerGBSecond;
  const lines: CostLine[] = [{ item: `Lambda: ${config.training.workers} workers x ${config.lambda.memoryMB} MB`, perHourUSD: workersPerHour }];
  if (own) {
    const p: InstanceCallsInput = { runId, bucket, instanceType: aws.instanceType, port: aws.parameterServerPort, subnetId: aws.subnetId };
    const prefix = instanceObjectsPrefix(runId);
    instance = {
      instanceType: aws.instanceType,
      architecture: architectureOf(aws.instanceType),
      amiParameter: `${AMI_PARAMETER}${architectureOf(aws.instanceType)}`,
      port: aws.parameterServerPort,
      ...(aws.subnetId ? { subnetId: aws.subnetId } : {}),
      selfTerminateMinutes: selfTerminateMinutes(config),
      bundleKey: `${prefix}ps-instance.js`,
      configKey: `${prefix}ps-config.json`,
      userDataScript: userDataScript({ bundleUrl: '<presigned URL of the bundle>', configUrl: '<presigned URL of the config>', selfTerminateMinutes: selfTerminateMinutes(config) }),
    };
    resources.push(
      { kind: 's3 object', name: `s3://${bucket}/${instance.bundleKey}`, action: 'create, then delete at the end', removedAtEnd: true, detail: "the parameter server's code" },
      { kind: 's3 object', name: `s3://${bucket}/${instance.configKey}`, action: 'create, then delete at the end', removedAtEnd: true, detail: 'its tables and the run token' },
      { kind: 'security group', name: securityGroupName(runId, 0), action: 'create, then delete at the end', removedAtEnd: true, detail: `${aws.subnetId ? `VPC of ${aws.subnetId}` : 'default VPC'}; tagged cirrus:run=${runId}` },
      { kind: 'security group rule', name: `tcp ${aws.parameterServerPort} from 0.0.0.0/0`, action: 'create, then delete at the end', removedAtEnd: true, detail: 'the only inbound rule' },
      {
        kind: 'ec2 instance',
        name: `cirrus-ps-${runId}`,
        action: 'create, then delete at the end',
        removedAtEnd: true,
        detail: `${aws.instanceType} (${instance.architecture}), Amazon Linux 2023, public IP, IMDSv2, terminates itself after ${instance.selfTerminateMinutes} min`,
      },
      { kind: 'ebs volume', name: `root volume of cirrus-ps-${runId}`, action: 'create, then delete at the end', removedAtEnd: true, detail: 'deleted with the instance' },
    );
    calls.push(...instanceStartCalls(p), ...trainCalls(config, runId, bucket), ...instanceEndCalls(p));
    lines.push(
      { item: `EC2 ${aws.instanceType} (parameter server)`, perHourUSD: instancePricePerHour(aws.instanceType) },
      { item: 'public IPv4 address', perHourUSD: PRICES.publicIPv4PerHour },
    );
  } else {
    calls.push(...trainCalls(config, runId, bucket));
  }
  const perHourUSD = lines.reduce((sum, l) => sum + l.perHourUSD, 0);
  const hours = config.training.maxSeconds / 3600;
  const budgetUSD = runBudgetUSD(config)!;
  return {
    runId,
    region,
    bucket,
    resources,
    calls,
    cost: { lines, perHourUSD, hours, runUSD: Math.min(perHourUSD * hours, budgetUSD), capUSD: budgetUSD },
    guardrails: { maxConcurrency: aws.maxConcurrency, maxUSD: aws.maxUSD, maxInstanceMinutes: aws.maxInstanceMinutes, workers: config.training.workers, budgetUSD },
    ...(instance ? { instance } : {}),
  };
}

/**
 * The instance's boot script: the self-terminate timer first (so nothing after it can keep the instance
 * alive), then Node, the bundle and the config, then the server; when the server exits the instance halts
 * (and, with shutdown behaviour "terminate", is gone).
 */
export function userDataScript(o: { bundleUrl: string; configUrl: string; selfTerminateMinutes: number }): string {
  return [
    '#!/bin/bash',
    '# Cirrus parameter server (cirrus-vscode). Halts itself: shutdown behaviour is terminate.',
    `shutdown -h +${o.selfTerminateMinutes}`,
    'set -u',
    'mkdir -p /opt/cirrus && cd /opt/cirrus',
    'dnf install -y nodejs22 || dnf install -y nodejs20 || dnf install -y nodejs',
    'NODE=$(ls /usr/bin/node-2* 2>/dev/null | sort | tail -1); NODE=${NODE:-node}',
    `curl -fsS --retry 5 -o ps-instance.js '${o.bundleUrl}' || shutdown -h now`,
    `curl -fsS --retry 5 -o ps-config.json '${o.configUrl}' || shutdown -h now`,
    'chmod 600 ps-config.json',
    '"$NODE" ps-instance.js ps-config.json',
    'shutdown -h now',
    '',
  ].join('\n');
}
