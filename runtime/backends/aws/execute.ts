// Sends planned calls (plan.ts) through the SDK clients, in order: placeholders filled from earlier
// outputs and the caller's values, `until` calls polled, `take` outputs recorded. The one table from
// operation to SDK command is here, so the plan cannot name a call the driver has no way to send.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { AwsCredentials } from '../backend';
import { setTimeout as sleep } from 'node:timers/promises';
import { POLL_SECONDS, type PlannedCall } from './plan';

export interface AwsClients {
  ec2: EC2Client;
  ssm: SSMClient;
  s3: S3Client;
}

export interface ClientOptions {
  region: string;
  credentials?: AwsCredentials;
  profile?: string;
  /** Endpoint overrides (tests: a local stand-in). */
  endpoints?: { ec2?: string; ssm?: string };
}

/** EC2 and SSM clients like the backend's own: explicit credentials or the standard chain with the profile. */
export function createControlClients(o: ClientOptions): { ec2: EC2Client; ssm: SSMClient } {
  const common = { region: o.region, credentials: o.credentials && { ...o.credentials }, profile: o.credentials ? undefined : o.profile };
  return { ec2: new EC2Client({ ...common, endpoint: o.endpoints?.ec2 }), ssm: new SSMClient({ ...common, endpoint: o.endpoints?.ssm }) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = new (input: any) => any;
const COMMANDS: Record<string, { client: keyof AwsClients; command: AnyCommand }> = {
  'ssm:GetParameter': { client: 'ssm', command: GetParameterCommand },
  'ec2:DescribeVpcs': { client: 'ec2', command: DescribeVpcsCommand },
  'ec2:DescribeSubnets': { client: 'ec2', command: DescribeSubnetsCommand },
  'ec2:CreateSecurityGroup': { client: 'ec2', command: CreateSecurityGroupCommand },
  'ec2:AuthorizeSecurityGroupIngress': { client: 'ec2', command: AuthorizeSecurityGroupIngressCommand },
  'ec2:RunInstances': { client: 'ec2', command: RunInstancesCommand },
  'ec2:DescribeInstances': { client: 'ec2', command: DescribeInstancesCommand },
  'ec2:TerminateInstances': { client: 'ec2', command: TerminateInstancesCommand },
  'ec2:DescribeSecurityGroups': { client: 'ec2', command: DescribeSecurityGroupsCommand },
  'ec2:DeleteSecurityGroup': { client: 'ec2', command: DeleteSecurityGroupCommand },
  's3:PutObject': { client: 's3', command: PutObjectCommand },
  's3:DeleteObject': { client: 's3', command: DeleteObjectCommand },
  's3:GetObject': { client: 's3', command: GetObjectCommand },
  's3:ListObjectsV2': { client: 's3', command: ListObjectsV2Command },
};

/** The SDK command a planned call becomes (undefined: the driver's other code sends it, e.g. Lambda's). */
export function commandFor(call: Pick<PlannedCall, 'service' | 'operation'>): { client: keyof AwsClients; command: AnyCommand } | undefined {
  return COMMANDS[`${call.service}:${call.operation}`];
}

export type Values = Record<string, string | Uint8Array>;

/** Replaces every `<Name>` string whose name is in `values` (a whole-string placeholder may become bytes). */
export function fillPlaceholders<T>(input: T, values: Values): T {
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = /^<([A-Za-z]+)>$/.exec(v);
      if (whole && values[whole[1]] !== undefined) return values[whole[1]];
      return v.replace(/<([A-Za-z]+)>/g, (m, name: string) => (typeof values[name] === 'string' ? (values[name] as string) : m));
    }
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === 'object' && !(v instanceof Uint8Array)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(input) as T;
}

/** A placeholder left after filling: the call cannot be sent (a bug, or a value the caller forgot). */
function unfilled(input: unknown): string | undefined {
  const text = JSON.stringify(input, (_k, v) => (v instanceof Uint8Array ? '' : v));
  return /<([A-Za-z]+)>/.exec(text)?.[1];
}

export function readPath(output: unknown, path: string): unknown {
  let at: unknown = output;
  for (const part of path.split('.')) at = at == null ? undefined : (at as Record<string, unknown>)[part];
  return at;
}

export interface ExecuteOptions {
  /** Poll at most this long for an `until` call (default 10 min). */
  waitSeconds?: number;
  pollSeconds?: number;
  signal?: AbortSignal;
  /** Told about every call before it is sent (the driver's log). */
  onCall?: (call: PlannedCall) => void;
}

/** Sends `calls` in order; `values` gains every `take`n output. Stops at the first failure (the caller cleans up). */
export async function executeCalls(clients: AwsClients, calls: PlannedCall[], values: Values, opts: ExecuteOptions = {}): Promise<Values> {
  for (const call of calls) {
    const entry = commandFor(call);
    if (!entry) throw new Error(`aws: no command for ${call.service}:${call.operation}`);
    const input = fillPlaceholders(call.input, values);
    const missing = unfilled(input);
    if (missing) throw new Error(`aws ${call.operation}: no value for <${missing}>`);
    opts.onCall?.(call);
    const deadline = Date.now() + (opts.waitSeconds ?? 600) * 1000;
    let output: unknown;
    for (;;) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const client = clients[entry.client] as { send(command: any, options?: { abortSignal?: AbortSignal }): Promise<unknown> };
      try {
        output = await client.send(new entry.command(input), { abortSignal: opts.signal });
      } catch (error) {
        // EC2 is eventually consistent: an instance just made may be "not found" for a moment. A wait goes on.
        if (!call.until || !/NotFound/.test((error as Error).name ?? '') || Date.now() > deadline) throw error;
        output = undefined;
      }
      if (!call.until || readPath(output, call.until.path) === call.until.equals) break;
      if (Date.now() > deadline) throw new Error(`aws ${call.operation}: ${call.until.path} still "${String(readPath(output, call.until.path))}" after ${opts.waitSeconds ?? 600} s (wanted "${call.until.equals}")`);
      await sleep((opts.pollSeconds ?? POLL_SECONDS) * 1000);
    }
    for (const [name, path] of Object.entries(call.take ?? {})) {
      const value = readPath(output, path);
      if (typeof value !== 'string' || !value) throw new Error(`aws ${call.operation}: the response has no ${path}`);
      values[name] = value;
    }
  }
  return values;
}
