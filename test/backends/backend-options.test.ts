// The aws backend's options reach its SDK clients and nothing else: the profile goes to the clients'
// credential chain (process.env, shared by every extension in VS Code's host, stays as it was), the
// parameter-server address is parsed as host:port by the URL parser (IPv6 literals included), and
// close() destroys the clients.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { awsBackend, parameterServerPlace, parseHostPort } from '../../runtime/backends/backend';
import type { RunConfig } from '../../runtime/api';

const config = (aws: Partial<NonNullable<RunConfig['aws']>>) =>
  ({ backend: 'aws', aws: { region: 'eu-west-1', bucket: 'cirrus-test-bucket', parameterServerAddress: '203.0.113.7:7000', ...aws } }) as RunConfig;

test('host:port parsing: names, IPv4, IPv6 in brackets, no port; bad input names the setting', () => {
  assert.deepEqual(parseHostPort('ps.example.com:7000', 'x'), { host: 'ps.example.com', port: 7000 });
  assert.deepEqual(parseHostPort('203.0.113.7:7000', 'x'), { host: '203.0.113.7', port: 7000 });
  assert.deepEqual(parseHostPort('[::1]:9000', 'x'), { host: '::1', port: 9000 });
  assert.deepEqual(parseHostPort('[2001:db8::7]:7000', 'x'), { host: '2001:db8::7', port: 7000 });
  assert.deepEqual(parseHostPort('ps.example.com', 'x'), { host: 'ps.example.com', port: 0 });
  assert.throws(() => parseHostPort('ps.example.com:99999', 'aws.parameterServerAddress'), /aws\.parameterServerAddress: "ps\.example\.com:99999" is not host:port/);
  assert.throws(() => parseHostPort('::1:9000', 'aws.parameterServerAddress'), /is not host:port \(IPv6 in brackets/);
  assert.throws(() => parseHostPort('host:7000/path', 'aws.parameterServerAddress'), /is not host:port/);
});

test('the aws backend advertises the parsed address, IPv6 included', async () => {
  const backend = await awsBackend(config({ parameterServerAddress: '[2001:db8::7]:7000' }));
  assert.deepEqual(backend.parameterServer, { bindHost: '0.0.0.0', advertisedHost: '2001:db8::7', port: 7000 });
  backend.close();
});

test('without aws.parameterServerAddress the backend opens (stages without a parameter server), and a training is told which setting it needs', async () => {
  const backend = await awsBackend({ backend: 'aws', aws: { region: 'eu-west-1', bucket: 'cirrus-test-bucket' } });
  assert.equal(backend.parameterServer, undefined);
  assert.throws(() => parameterServerPlace(backend), /aws\.parameterServerAddress/);
  backend.close();
});

test('the profile goes to the SDK clients, not into process.env; close() destroys the clients', async () => {
  const before = process.env.AWS_PROFILE;
  const backend = await awsBackend(config({ profile: 'cirrus-test-profile' }));
  assert.equal(process.env.AWS_PROFILE, before, 'process.env untouched');
  assert.equal((backend.s3.config as { profile?: string }).profile, 'cirrus-test-profile', 'S3 client');
  assert.equal((backend.lambda.config as { profile?: string }).profile, 'cirrus-test-profile', 'Lambda client');
  let destroyed = 0;
  for (const client of [backend.s3, backend.lambda]) {
    const destroy = client.destroy.bind(client);
    client.destroy = () => {
      destroyed++;
      destroy();
    };
  }
  backend.close();
  assert.equal(destroyed, 2);
});

test('explicit credentials win over the profile', async () => {
  const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' };
  const backend = await awsBackend(config({ profile: 'cirrus-test-profile' }), credentials);
  assert.equal((backend.s3.config as { profile?: string }).profile, undefined);
  assert.equal((await backend.s3.config.credentials()).accessKeyId, 'AKIAEXAMPLE');
  backend.close();
});
