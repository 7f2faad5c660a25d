// `cirrus aws plan` against what the SDK really sends (issue 16). AWS itself is mocked here and only here:
// requests are captured after the SDK serialised and signed them (test/helpers/aws-capture.ts) and
// answered by the EC2/SSM stand-in (test/helpers/fake-ec2.ts) or canned S3/Lambda answers; no network.
// Checked: (1) every call the plan lists serialises to the parameter names the AWS API references document
// (EC2 Query API, SSM JSON, S3 and Lambda REST) with every value of the plan's input in the request (the
// SDK drops unknown members silently: this catches a misspelt one); (2) the driver's launch and teardown of
// the parameter server's instance send exactly the plan's calls, in order, one for one.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CreateFunctionCommand, GetFunctionCommand, InvokeCommand, LambdaClient, UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { resolveRunConfig } from '../../runtime/config/resolve';
import type { RunConfig } from '../../runtime/config/run-config';
import { commandFor, executeCalls, fillPlaceholders, type AwsClients, type Values } from '../../runtime/backends/aws/execute';
import { planAwsRun, type PlannedCall } from '../../runtime/backends/aws/plan';
import { launchParameterServerInstance } from '../../runtime/backends/aws/ps-instance';
import { RUN_TAG } from '../../runtime/backends/aws/tags';
import { capture, type Captured } from '../helpers/aws-capture';
import { FakeEc2 } from '../helpers/fake-ec2';

const REGION = 'eu-west-1';
const BUCKET = 'cirrus-plan-test';
const RUN = '20261130-170000-plan-test-abcd';
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

function config(aws: RunConfig['aws'] = {}) {
  return resolveRunConfig({ dataset: { path: 's3://cirrus-plan-test/datasets/ctr' }, model: { type: 'logistic' }, backend: 'aws', training: { workers: 4 }, aws: { region: REGION, bucket: BUCKET, roleArn: 'arn:aws:iam::123456789012:role/cirrus-worker', ...aws } }).config;
}

/** `canned`: every EC2 call succeeds with an empty answer (serialisation checks with made-up ids); else the stand-in's state machine. */
function clients(log: Captured[], ec2Fake = new FakeEc2(), canned = false) {
  const common = { region: REGION, credentials: creds, maxAttempts: 1 };
  const ec2 = new EC2Client(common);
  const ssm = new SSMClient(common);
  const s3 = new S3Client(common);
  const lambda = new LambdaClient(common);
  const fake = (c: Captured) => {
    if (canned && !c.headers['x-amz-target']) {
      const action = new URLSearchParams(c.body).get('Action');
      return { status: 200, headers: { 'content-type': 'text/xml' }, body: `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><return>true</return></${action}Response>` };
    }
    const out = ec2Fake.handle(c.body, c.headers['x-amz-target']);
    return { status: out.status, headers: { 'content-type': out.contentType }, body: out.body };
  };
  capture(ec2, 'ec2', log, fake);
  capture(ssm, 'ssm', log, fake);
  capture(s3, 's3', log, (c) => ({ status: c.method === 'DELETE' ? 204 : 200, headers: { etag: '"0123456789abcdef"' }, body: '' }));
  capture(lambda, 'lambda', log, (c) =>
    c.method === 'GET'
      ? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Configuration: { FunctionName: 'cirrus-worker', State: 'Active', LastUpdateStatus: 'Successful' } }) }
      : { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' },
  );
  return { ec2, ssm, s3, lambda, fake: ec2Fake };
}

const LAMBDA = { GetFunction: GetFunctionCommand, CreateFunction: CreateFunctionCommand, UpdateFunctionCode: UpdateFunctionCodeCommand, UpdateFunctionConfiguration: UpdateFunctionConfigurationCommand, Invoke: InvokeCommand } as const;

const SAMPLE: Values = {
  VpcId: 'vpc-0a1b2c3d',
  GroupId: 'sg-0a1b2c3d4e5f',
  ImageId: 'ami-0a1b2c3d4e5f6a7b8',
  InstanceId: 'i-0a1b2c3d4e5f6a7b8',
  UserData: Buffer.from('#!/bin/bash\nshutdown -h +25\n').toString('base64'),
  Bundle: new TextEncoder().encode('console.log("bundle")'),
  ServerConfig: new TextEncoder().encode('{"token":"t"}'),
  WorkerZip: new Uint8Array([80, 75, 5, 6, 0, 0, 0, 0]),
  WorkerEvent: new TextEncoder().encode('{"worker":0}'),
  seq: '7',
};

// Parameter names of each EC2 call as the EC2 API Reference documents them for the Query API
// (docs.aws.amazon.com/AWSEC2/latest/APIReference/API_<Action>.html; lists are Name.N, a Tag list's index as N here).
const TAGS = (n: number) => [`TagSpecification.${n}.ResourceType`, `TagSpecification.${n}.Tag.N.Key`, `TagSpecification.${n}.Tag.N.Value`];
const EC2_DOCUMENTED: Record<string, string[]> = {
  DescribeVpcs: ['Filter.1.Name', 'Filter.1.Value.1'],
  DescribeSubnets: ['SubnetId.1'],
  CreateSecurityGroup: ['GroupName', 'GroupDescription', 'VpcId', ...TAGS(1)],
  AuthorizeSecurityGroupIngress: ['GroupId', 'IpPermissions.1.IpProtocol', 'IpPermissions.1.FromPort', 'IpPermissions.1.ToPort', 'IpPermissions.1.IpRanges.1.CidrIp', 'IpPermissions.1.IpRanges.1.Description', ...TAGS(1)],
  RunInstances: [
    'ImageId', 'InstanceType', 'MinCount', 'MaxCount', 'UserData', 'InstanceInitiatedShutdownBehavior', 'ClientToken',
    'NetworkInterface.1.DeviceIndex', 'NetworkInterface.1.AssociatePublicIpAddress', 'NetworkInterface.1.SecurityGroupId.1', 'NetworkInterface.1.DeleteOnTermination',
    'MetadataOptions.HttpTokens', 'MetadataOptions.HttpEndpoint', ...TAGS(1), ...TAGS(2),
  ],
  DescribeInstances: ['InstanceId.1'],
  TerminateInstances: ['InstanceId.1'],
  DeleteSecurityGroup: ['GroupId'],
};
// Lambda REST routes (docs.aws.amazon.com/lambda/latest/api/API_<Action>.html).
const LAMBDA_DOCUMENTED: Record<string, { method: string; path: RegExp; body?: string[]; headers?: Record<string, string> }> = {
  GetFunction: { method: 'GET', path: /^\/2015-03-31\/functions\/cirrus-worker$/ },
  CreateFunction: { method: 'POST', path: /^\/2015-03-31\/functions$/, body: ['Code', 'Environment', 'FunctionName', 'Handler', 'MemorySize', 'Role', 'Runtime', 'Timeout'] },
  UpdateFunctionCode: { method: 'PUT', path: /^\/2015-03-31\/functions\/cirrus-worker\/code$/, body: ['ZipFile'] },
  UpdateFunctionConfiguration: { method: 'PUT', path: /^\/2015-03-31\/functions\/cirrus-worker\/configuration$/, body: ['Environment', 'Handler', 'MemorySize', 'Runtime', 'Timeout'] },
  Invoke: { method: 'POST', path: /^\/2015-03-31\/functions\/cirrus-worker\/invocations$/, headers: { 'x-amz-invocation-type': 'RequestResponse', 'x-amz-log-type': 'Tail' } },
};

/** Every leaf value of an input, as the wire carries it (bytes: base64 in JSON and Query bodies, raw in S3 bodies). */
function leaves(v: unknown, out: string[] = []): string[] {
  if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('base64'), Buffer.from(v).toString('utf8'));
  else if (Array.isArray(v)) v.forEach((x) => leaves(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => leaves(x, out));
  else if (v !== undefined) out.push(String(v));
  return out;
}

function checkDocumented(call: PlannedCall, sent: Captured, input: Record<string, unknown>): void {
  const what = `${call.service}:${call.operation}`;
  if (call.service === 'ec2') {
    const params = new URLSearchParams(sent.body);
    assert.equal(sent.method, 'POST', what);
    assert.equal(params.get('Action'), call.operation, what);
    assert.equal(params.get('Version'), '2016-11-15', what);
    const names = [...new Set([...params.keys()].filter((k) => k !== 'Action' && k !== 'Version').map((k) => k.replace(/\.Tag\.\d+\./, '.Tag.N.')))].sort();
    // A given subnet adds the interface's SubnetId (documented: NetworkInterface.N.SubnetId).
    const subnet = call.operation === 'RunInstances' && JSON.stringify(input).includes('"SubnetId"') ? ['NetworkInterface.1.SubnetId'] : [];
    assert.deepEqual(names, [...EC2_DOCUMENTED[call.operation], ...subnet].sort(), `${what}: the serialised parameters are the documented ones`);
    const values = new Set(params.values());
    for (const leaf of leaves(input)) assert.ok(values.has(leaf), `${what}: "${leaf}" of the plan is in the request`);
  } else if (call.service === 'ssm') {
    assert.equal(sent.headers['x-amz-target'], `AmazonSSM.${call.operation}`, what);
    assert.equal(sent.headers['content-type'], 'application/x-amz-json-1.1', what);
    assert.deepEqual(JSON.parse(sent.body), input, `${what}: the JSON body is the plan's input`);
  } else if (call.service === 's3') {
    const { Bucket, Key } = input as { Bucket: string; Key: string };
    assert.equal(sent.hostname, `${Bucket}.s3.${REGION}.amazonaws.com`, `${what}: virtual-hosted bucket`);
    assert.equal(decodeURIComponent(sent.path), `/${Key}`, what);
    assert.equal(sent.method, { PutObject: 'PUT', DeleteObject: 'DELETE', GetObject: 'GET' }[call.operation], what);
    if (call.operation === 'PutObject' && input.ContentType) assert.equal(sent.headers['content-type'], input.ContentType, what);
  } else if (call.service === 'lambda') {
    const doc = LAMBDA_DOCUMENTED[call.operation];
    assert.equal(sent.method, doc.method, what);
    assert.match(sent.path, doc.path, what);
    if (doc.body) assert.deepEqual(Object.keys(JSON.parse(sent.body)).sort(), doc.body.filter((k) => k in input).sort(), `${what}: documented body members, none dropped`);
    for (const [k, v] of Object.entries(doc.headers ?? {})) assert.equal(sent.headers[k], v, `${what}: ${k}`);
    const wire = `${sent.path} ${sent.body} ${Object.values(sent.headers).join(' ')}`;
    // (a byte leaf is given both ways, base64 and raw: the JSON body carries the one, a blob payload the other)
    const raw = new Set(leaves(input).filter((_, i, all) => i > 0 && Buffer.from(all[i - 1], 'base64').toString('utf8') === all[i]));
    for (const leaf of leaves(input)) {
      if (raw.has(leaf) || (Buffer.from(leaf, 'base64').toString('base64') === leaf && wire.includes(Buffer.from(leaf, 'base64').toString('utf8')) && leaf.length > 8)) continue;
      assert.ok(wire.includes(leaf), `${what}: "${leaf}" of the plan is in the request`);
    }
  }
}

for (const [label, aws] of [
  ['default VPC', {}],
  ['a given subnet, an arm64 type', { subnetId: 'subnet-0abc1234', instanceType: 'c7g.large' }],
] as const) {
  test(`every call the plan lists serialises as the API references document (${label})`, async () => {
    const c = config(aws as RunConfig['aws']);
    if (label !== 'default VPC') (await import('../../runtime/cost/prices')).PRICES.ec2PerHour['c7g.large'] ??= 0.0725;
    const plan = planAwsRun(c, { runId: RUN, region: REGION, bucket: BUCKET });
    const log: Captured[] = [];
    const cl = clients(log, new FakeEc2(), true);
    let sent = 0;
    for (const call of plan.calls) {
      const input = fillPlaceholders(call.input, SAMPLE) as Record<string, unknown>;
      const before = log.length;
      if (call.service === 'lambda') {
        const Command = LAMBDA[call.operation as keyof typeof LAMBDA] as unknown as new (input: unknown) => GetFunctionCommand;
        assert.ok(Command, `the plan's lambda:${call.operation} is a Lambda API operation`);
        await cl.lambda.send(new Command(input));
      } else {
        const entry = commandFor(call);
        assert.ok(entry, `the plan's ${call.service}:${call.operation} has an SDK command`);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        await (cl as any)[entry.client].send(new entry.command(input));
      }
      assert.equal(log.length, before + 1, `${call.operation}: one request`);
      checkDocumented(call, log[before], input);
      sent++;
    }
    assert.equal(sent, plan.calls.length);
    assert.ok(plan.calls.some((c) => c.operation === 'RunInstances'));
    const run = log.find((r) => r.body.includes('Action=RunInstances'))!;
    const p = new URLSearchParams(run.body);
    assert.equal(p.get('InstanceInitiatedShutdownBehavior'), 'terminate');
    if (label !== 'default VPC') {
      assert.equal(p.get('NetworkInterface.1.SubnetId'), 'subnet-0abc1234');
      assert.equal(JSON.parse(log.find((r) => r.service === 'ssm')!.body).Name, '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64');
    }
    for (const k of ['ec2', 'ssm', 's3', 'lambda'] as const) cl[k].destroy();
  });
}

test("the driver's launch and teardown of the parameter server send the plan's calls one for one, and tag everything with the run id", async () => {
  const c = config();
  const plan = planAwsRun(c, { runId: RUN, region: REGION, bucket: BUCKET });
  const log: Captured[] = [];
  const cl = clients(log);
  const aws: AwsClients = { ec2: cl.ec2, ssm: cl.ssm, s3: cl.s3 };
  const server = await launchParameterServerInstance(aws, {
    runId: RUN,
    bucket: BUCKET,
    instanceType: c.aws!.instanceType,
    port: c.aws!.parameterServerPort,
    selfTerminateMinutes: plan.instance!.selfTerminateMinutes,
    psConfig: { token: 'f'.repeat(64), tables: [] },
    bundle: new TextEncoder().encode('// bundle'),
    execute: { pollSeconds: 0.01 },
  });
  assert.equal(server.host, cl.fake.publicIp);
  await server.terminate();
  await server.terminate(); // idempotent: nothing more is sent

  const expected = plan.calls.filter((x) => x.phase !== 'train');
  // An `until` call is polled: consecutive repeats of it are one planned call.
  const sent = log.map((r) => ({ r, op: r.service === 'ec2' ? new URLSearchParams(r.body).get('Action')! : r.service === 'ssm' ? r.headers['x-amz-target'].split('.')[1] : { PUT: 'PutObject', DELETE: 'DeleteObject' }[r.method]! }));
  const collapsed = sent.filter((s, i) => !(i > 0 && s.op === 'DescribeInstances' && sent[i - 1].op === 'DescribeInstances'));
  assert.deepEqual(
    collapsed.map((s) => `${s.r.service}:${s.op}`),
    expected.map((x) => `${x.service}:${x.operation}`),
    'the requests sent are the plan\'s calls, in order',
  );
  assert.ok(sent.length > collapsed.length, 'the wait for "running" polled');
  // Each request carries its planned call's input (placeholders filled with what earlier calls returned).
  // (the ids the stand-in handed out, read back from its state)
  const values: Values = {
    VpcId: 'vpc-0default',
    ImageId: cl.fake.amiId,
    GroupId: cl.fake.requests.find((q) => q.action === 'DeleteSecurityGroup')!.params.get('GroupId')!,
    InstanceId: cl.fake.requests.find((q) => q.action === 'TerminateInstances')!.params.get('InstanceId.1')!,
    UserData: new URLSearchParams(log.find((r) => r.body.includes('Action=RunInstances'))!.body).get('UserData')!,
  };
  collapsed.forEach((s, i) => {
    const call = expected[i];
    const input = fillPlaceholders(call.input, values) as Record<string, unknown>;
    if (call.service === 's3') delete input.Body; // (the bundle's and config's bytes)
    checkDocumented(call, s.r, input);
  });
  // Everything created carries the run id; the user data halts the instance after the plan's minutes.
  const run = new URLSearchParams(log.find((r) => r.body.includes('Action=RunInstances'))!.body);
  const userData = Buffer.from(run.get('UserData')!, 'base64').toString('utf8');
  assert.match(userData, new RegExp(`^shutdown -h \\+${plan.instance!.selfTerminateMinutes}$`, 'm'));
  assert.match(userData, /X-Amz-Signature=/, 'the bundle comes through presigned URLs');
  assert.doesNotMatch(userData, /f{64}/, 'the token is not in the user data');
  for (const action of ['RunInstances', 'CreateSecurityGroup', 'AuthorizeSecurityGroupIngress']) {
    const p = cl.fake.requests.find((q) => q.action === action)!.params;
    const specs = [...p.keys()].filter((k) => /^TagSpecification\.\d+\.ResourceType$/.test(k));
    assert.ok(specs.length > 0, `${action} tags what it creates`);
    for (const spec of specs) {
      const n = spec.split('.')[1];
      const tags = [...p.entries()].filter(([k]) => k.startsWith(`TagSpecification.${n}.Tag.`));
      assert.ok(tags.some(([k, v]) => k.endsWith('.Key') && v === RUN_TAG), `${action} ${p.get(spec)}: tagged ${RUN_TAG}`);
      assert.ok(tags.some(([, v]) => v === RUN), `${action} ${p.get(spec)}: tagged with the run id`);
    }
  }
  assert.deepEqual(cl.fake.leftovers(), { instances: [], groups: [] }, 'nothing is left after the teardown');
  for (const k of ['ec2', 'ssm', 's3', 'lambda'] as const) cl[k].destroy();
});

test('a launch that fails half-way ends what it began, with the end calls that apply', async () => {
  const log: Captured[] = [];
  const fake = new FakeEc2();
  const cl = clients(log, fake);
  fake.amiId = ''; // SSM answers with no AMI: RunInstances cannot be sent
  await assert.rejects(
    launchParameterServerInstance({ ec2: cl.ec2, ssm: cl.ssm, s3: cl.s3 }, { runId: RUN, bucket: BUCKET, instanceType: 'c6i.large', port: 7070, selfTerminateMinutes: 30, psConfig: { token: 't', tables: [] }, bundle: new Uint8Array(1), execute: { pollSeconds: 0.01 } }),
    /GetParameter: the response has no Parameter\.Value/,
  );
  // The two objects were written before: both are deleted; no EC2 resource was made, none is touched.
  const ops = log.map((r) => `${r.service}:${r.method}`);
  assert.deepEqual(ops, ['s3:PUT', 's3:PUT', 'ssm:POST', 's3:DELETE', 's3:DELETE']);
  for (const k of ['ec2', 'ssm', 's3', 'lambda'] as const) cl[k].destroy();
});

test('the plan shows the guardrails and the cost; the guardrails refuse a run past them, naming the setting', () => {
  const plan = planAwsRun(config({ maxUSD: 2 }), { runId: RUN, region: REGION, bucket: BUCKET });
  assert.deepEqual(plan.guardrails, { maxConcurrency: 100, maxUSD: 2, maxInstanceMinutes: 180, workers: 4, budgetUSD: 2 });
  assert.equal(plan.cost.capUSD, 2);
  const ec2 = plan.cost.lines.find((l) => l.item.startsWith('EC2 c6i.large'))!;
  assert.equal(ec2.perHourUSD, 0.085);
  assert.ok(Math.abs(plan.cost.perHourUSD - plan.cost.lines.reduce((s, l) => s + l.perHourUSD, 0)) < 1e-12);
  assert.ok(plan.cost.runUSD <= 2);
  assert.equal(plan.instance!.selfTerminateMinutes, Math.ceil((600 + 900) / 60));
  assert.ok(plan.resources.every((r) => r.kind !== 'ec2 instance' || r.removedAtEnd));
  assert.throws(() => config({ maxConcurrency: 2 }), /training\.workers[\s\S]*aws\.maxConcurrency \(2\)/);
  assert.throws(() => resolveRunConfig({ dataset: { path: 's3://b/d' }, model: { type: 'logistic' }, backend: 'aws', training: { maxSeconds: 3600 }, aws: { maxInstanceMinutes: 30 } }), /training\.maxSeconds[\s\S]*aws\.maxInstanceMinutes \(30\)/);
  assert.throws(() => planAwsRun(config({ instanceType: 'x9z.mega' }), { runId: RUN, region: REGION, bucket: BUCKET }), /aws\.instanceType: no price known for "x9z\.mega"/);
  // A budget below the guardrail is the hard stop; above it the guardrail is.
  const own = resolveRunConfig({ dataset: { path: 's3://b/d' }, model: { type: 'logistic' }, backend: 'aws', training: { budgetUSD: 0.5 } }).config;
  assert.equal(planAwsRun(own, { runId: RUN, region: REGION, bucket: BUCKET }).cost.capUSD, 0.5);
  // A server of the user's own: no instance, no EC2 call.
  const external = planAwsRun(config({ parameterServerAddress: 'ps.example.com:7000' }), { runId: RUN, region: REGION, bucket: BUCKET });
  assert.equal(external.instance, undefined);
  assert.ok(external.calls.every((x) => x.service !== 'ec2' && x.service !== 'ssm'));
});

test('executeCalls refuses a call whose placeholder has no value, before sending it', async () => {
  const log: Captured[] = [];
  const cl = clients(log);
  await assert.rejects(executeCalls({ ec2: cl.ec2, ssm: cl.ssm, s3: cl.s3 }, [{ phase: 'end', service: 'ec2', operation: 'DeleteSecurityGroup', input: { GroupId: '<GroupId>' }, why: 'x' }], {}), /no value for <GroupId>/);
  assert.equal(log.length, 0);
  for (const k of ['ec2', 'ssm', 's3', 'lambda'] as const) cl[k].destroy();
});
