// `cirrus aws check`: who the caller is (STS GetCallerIdentity) and whether it may make the calls a run's
// plan lists: EC2's DryRun where EC2 has it, the IAM policy simulator for the rest. Nothing is created.
import { CreateSecurityGroupCommand, DescribeVpcsCommand, RunInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentials } from '../backend';
import { explainAwsError } from './errors';
import type { AwsPlan, PlannedCall } from './plan';

export interface CheckLine {
  what: string;
  ok: boolean;
  detail: string;
}

export interface CheckResult {
  identity?: { account: string; arn: string };
  lines: CheckLine[];
  ok: boolean;
}

/** IAM action of a planned call (Lambda's Invoke is lambda:InvokeFunction; listing is s3:ListBucket). */
export function iamAction(call: Pick<PlannedCall, 'service' | 'operation'>): string {
  if (call.service === 'lambda' && call.operation === 'Invoke') return 'lambda:InvokeFunction';
  if (call.service === 's3' && call.operation === 'ListObjectsV2') return 's3:ListBucket';
  return `${call.service}:${call.operation}`;
}

/** Every IAM action the plan needs, plus what cleanup and the role's use need. Sorted, once each. */
export function requiredActions(plan: AwsPlan): string[] {
  const actions = new Set(plan.calls.map(iamAction));
  if (plan.instance) ['ec2:DescribeSecurityGroups', 's3:ListBucket'].forEach((a) => actions.add(a)); // cleanup
  if (plan.calls.some((c) => c.operation === 'CreateFunction' || c.operation === 'UpdateFunctionConfiguration')) actions.add('iam:PassRole');
  return [...actions].sort();
}

/** The minimal identity policy for the plan's calls (docs/aws.md shows it). */
export function minimalPolicy(plan: AwsPlan): object {
  const actions = requiredActions(plan);
  const pick = (prefix: string) => actions.filter((a) => a.startsWith(prefix));
  const statements: object[] = [];
  if (pick('ec2:').length) {
    statements.push({ Sid: 'CirrusParameterServer', Effect: 'Allow', Action: pick('ec2:'), Resource: '*' });
  }
  if (pick('ssm:').length) statements.push({ Sid: 'CirrusAmi', Effect: 'Allow', Action: pick('ssm:'), Resource: 'arn:aws:ssm:*::parameter/aws/service/ami-amazon-linux-latest/*' });
  statements.push({ Sid: 'CirrusWorkers', Effect: 'Allow', Action: pick('lambda:'), Resource: `arn:aws:lambda:${plan.region}:*:function:*` });
  statements.push({ Sid: 'CirrusBucket', Effect: 'Allow', Action: pick('s3:').filter((a) => a !== 's3:ListBucket'), Resource: `arn:aws:s3:::${plan.bucket}/*` });
  if (actions.includes('s3:ListBucket')) statements.push({ Sid: 'CirrusBucketList', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: `arn:aws:s3:::${plan.bucket}` });
  if (actions.includes('iam:PassRole')) statements.push({ Sid: 'CirrusWorkerRole', Effect: 'Allow', Action: ['iam:PassRole'], Resource: '*', Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } } });
  return { Version: '2012-10-17', Statement: statements };
}

/** arn:aws:sts::ACCT:assumed-role/ROLE/SESSION -> arn:aws:iam::ACCT:role/ROLE (what the simulator takes; a role's path is not in the STS ARN). */
export function principalArn(callerArn: string): string {
  const m = /^arn:(aws[\w-]*):sts::(\d+):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : callerArn;
}

function errorName(error: unknown): string {
  return (error as { name?: string; Code?: string })?.name ?? (error as { Code?: string })?.Code ?? '';
}

/** A DryRun call: DryRunOperation means allowed, UnauthorizedOperation denied. */
async function dryRun(what: string, send: () => Promise<unknown>): Promise<CheckLine> {
  try {
    await send();
    return { what, ok: true, detail: 'allowed' };
  } catch (error) {
    const name = errorName(error);
    if (name === 'DryRunOperation') return { what, ok: true, detail: 'allowed (EC2 DryRun)' };
    if (name === 'UnauthorizedOperation') return { what, ok: false, detail: `denied (EC2 DryRun): ${(error as Error).message.slice(0, 300)}` };
    return { what, ok: false, detail: `${name || 'error'}: ${(error as Error).message}` };
  }
}

export async function checkAccess(o: {
  plan: AwsPlan;
  ec2: EC2Client;
  ssm: SSMClient;
  region: string;
  credentials?: AwsCredentials;
  profile?: string;
  endpoints?: { sts?: string; iam?: string };
}): Promise<CheckResult> {
  const common = { region: o.region, credentials: o.credentials && { ...o.credentials }, profile: o.credentials ? undefined : o.profile };
  const sts = new STSClient({ ...common, endpoint: o.endpoints?.sts });
  const iam = new IAMClient({ ...common, endpoint: o.endpoints?.iam });
  const lines: CheckLine[] = [];
  try {
    let identity: CheckResult['identity'];
    try {
      const me = await sts.send(new GetCallerIdentityCommand({}));
      identity = { account: me.Account ?? '?', arn: me.Arn ?? '?' };
      lines.push({ what: 'identity (sts:GetCallerIdentity)', ok: true, detail: `${identity.arn} in account ${identity.account}` });
    } catch (error) {
      lines.push({ what: 'identity (sts:GetCallerIdentity)', ok: false, detail: explainAwsError(error, o.profile).message });
      return { lines, ok: false };
    }

    // EC2 has DryRun: the real authorisation, conditions and all.
    if (o.plan.instance) {
      let imageId: string | undefined;
      try {
        imageId = (await o.ssm.send(new GetParameterCommand({ Name: o.plan.instance.amiParameter }))).Parameter?.Value;
        lines.push({ what: 'ssm:GetParameter (AMI)', ok: !!imageId, detail: imageId ?? 'no value' });
      } catch (error) {
        lines.push({ what: 'ssm:GetParameter (AMI)', ok: false, detail: `${errorName(error)}: ${(error as Error).message}` });
      }
      lines.push(await dryRun('ec2:DescribeVpcs', () => o.ec2.send(new DescribeVpcsCommand({ DryRun: true }))));
      lines.push(await dryRun('ec2:CreateSecurityGroup', () => o.ec2.send(new CreateSecurityGroupCommand({ DryRun: true, GroupName: 'cirrus-check', Description: 'cirrus aws check (dry run)' }))));
      if (imageId) {
        const run = o.plan.calls.find((c) => c.operation === 'RunInstances')!.input as { InstanceType: string; TagSpecifications: unknown };
        lines.push(
          await dryRun('ec2:RunInstances (with tags)', () =>
            // eslint-disable-next-line @typescript-eslint/no-explicit-any
            o.ec2.send(new RunInstancesCommand({ DryRun: true, ImageId: imageId, InstanceType: run.InstanceType as any, MinCount: 1, MaxCount: 1, TagSpecifications: run.TagSpecifications as any })),
          ),
        );
      }
    }

    // The rest through the policy simulator (it needs iam:SimulatePrincipalPolicy on oneself).
    const actions = requiredActions(o.plan).filter((a) => !a.startsWith('ec2:') || !lines.some((l) => l.what.startsWith(a)));
    try {
      const out = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: principalArn(identity!.arn), ActionNames: actions }));
      for (const r of out.EvaluationResults ?? []) {
        const ok = r.EvalDecision === 'allowed';
        lines.push({ what: r.EvalActionName ?? '?', ok, detail: ok ? 'allowed (IAM policy simulator)' : `${r.EvalDecision} (IAM policy simulator)` });
      }
    } catch (error) {
      lines.push({
        what: 'iam:SimulatePrincipalPolicy',
        ok: false,
        detail: `the policy simulator could not be asked (${errorName(error)}: ${(error as Error).message}); not checked: ${actions.join(', ')}`,
      });
    }
    return { identity, lines, ok: lines.every((l) => l.ok) };
  } finally {
    sts.destroy();
    iam.destroy();
  }
}
