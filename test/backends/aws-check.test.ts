// `cirrus aws check` (issue 16): identity from STS, EC2's DryRun answers, the IAM simulator's verdicts,
// each one line with a clear verdict; and an expired SSO session says what to run. AWS is mocked at the
// SDK's transport (test/helpers/aws-capture.ts): the requests are the SDK's own, the answers canned as AWS documents them.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { checkAccess, minimalPolicy, principalArn, requiredActions } from '../../runtime/backends/aws/check';
import { explainAwsError } from '../../runtime/backends/aws/errors';
import { planAwsRun } from '../../runtime/backends/aws/plan';
import { resolveRunConfig } from '../../runtime/config/resolve';
import { capture, type Captured } from '../helpers/aws-capture';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const plan = planAwsRun(
  resolveRunConfig({ dataset: { path: 's3://b/d' }, model: { type: 'logistic' }, backend: 'aws', aws: { region: 'eu-west-1', bucket: 'my-bucket', roleArn: 'arn:aws:iam::123456789012:role/w' } }).config,
  { runId: 'r1', region: 'eu-west-1', bucket: 'my-bucket' },
);
const ec2Error = (code: string, message: string) => ({ status: code === 'DryRunOperation' ? 412 : 403, headers: { 'content-type': 'text/xml' }, body: `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>x</RequestID></Response>` });

test('check: identity, DryRun allowed and denied, simulator verdicts, all named', async () => {
  const log: Captured[] = [];
  const ec2 = new EC2Client({ region: 'eu-west-1', credentials: creds });
  const ssm = new SSMClient({ region: 'eu-west-1', credentials: creds });
  capture(ec2, 'ec2', log, (c) => (new URLSearchParams(c.body).get('Action') === 'CreateSecurityGroup' ? ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.') : ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')));
  capture(ssm, 'ssm', log, () => ({ status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify({ Parameter: { Value: 'ami-0123' } }) }));
  // STS and IAM clients are made inside checkAccess: point them at a capturing local endpoint.
  const http = await import('node:http');
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      bodies.push(body);
      const p = new URLSearchParams(body);
      res.writeHead(200, { 'content-type': 'text/xml' });
      if (p.get('Action') === 'GetCallerIdentity') {
        res.end('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/Dev/alice</Arn><UserId>AROA:alice</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>');
      } else {
        const actions = [...p.entries()].filter(([k]) => k.startsWith('ActionNames.member.')).map(([, v]) => v);
        const results = actions.map((a) => `<member><EvalActionName>${a}</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>${a === 'iam:PassRole' ? 'implicitDeny' : 'allowed'}</EvalDecision></member>`).join('');
        res.end(`<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>${results}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const result = await checkAccess({ plan, ec2, ssm, region: 'eu-west-1', credentials: creds, endpoints: { sts: url, iam: url } });
    assert.equal(result.identity?.arn, 'arn:aws:sts::123456789012:assumed-role/Dev/alice');
    const line = (what: string) => result.lines.find((l) => l.what.startsWith(what))!;
    assert.equal(line('ec2:RunInstances').ok, true);
    assert.match(line('ec2:RunInstances').detail, /DryRun/);
    assert.equal(line('ec2:CreateSecurityGroup').ok, false);
    assert.match(line('ec2:CreateSecurityGroup').detail, /denied \(EC2 DryRun\)/);
    assert.equal(line('iam:PassRole').ok, false);
    assert.equal(line('lambda:InvokeFunction').ok, true);
    assert.equal(result.ok, false);
    // Every EC2 call was a dry run; the simulator asked about the role, not the session.
    for (const r of log.filter((x) => x.service === 'ec2')) assert.equal(new URLSearchParams(r.body).get('DryRun'), 'true');
    const sim = new URLSearchParams(bodies.find((b) => b.includes('SimulatePrincipalPolicy'))!);
    assert.equal(sim.get('PolicySourceArn'), 'arn:aws:iam::123456789012:role/Dev');
  } finally {
    server.close();
    ec2.destroy();
    ssm.destroy();
  }
});

test('the minimal policy covers every action the plan needs, and nothing is granted on all of S3', () => {
  const actions = requiredActions(plan);
  for (const a of ['ec2:RunInstances', 'ec2:TerminateInstances', 'ec2:CreateSecurityGroup', 'ssm:GetParameter', 'lambda:InvokeFunction', 's3:PutObject', 'iam:PassRole']) assert.ok(actions.includes(a), a);
  const policy = minimalPolicy(plan) as { Statement: Array<{ Action: string[]; Resource: string }> };
  const granted = new Set(policy.Statement.flatMap((s) => s.Action));
  assert.deepEqual([...granted].sort(), actions);
  assert.ok(policy.Statement.every((s) => !String(s.Resource).startsWith('arn:aws:s3:::*')));
  assert.equal(principalArn('arn:aws:iam::1:user/bob'), 'arn:aws:iam::1:user/bob');
});

test('an expired SSO session says to run aws sso login with the profile', () => {
  const sso = Object.assign(new Error('The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.'), { name: 'CredentialsProviderError' });
  assert.equal(explainAwsError(sso, 'dev').message, 'AWS: the SSO session of profile "dev" has expired or is not signed in. Run `aws sso login --profile dev` and try again.');
  assert.match(explainAwsError(Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' }), 'dev').message, /aws sso login --profile dev/);
  const other = new Error('Throttling');
  assert.equal(explainAwsError(other, 'dev'), other);
});
