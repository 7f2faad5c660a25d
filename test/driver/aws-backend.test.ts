// A whole run on `backend: "aws"`: the driver's AWS code path (its SDK clients, explicit credentials,
// the worker deployment and invocations, the S3 uploads) pointed at the embedded S3 and local Lambda
// services through aws.endpoints, with the parameter server started as a local process standing in for
// the instance, over TLS (required on AWS), to the Criteo 10k target of train.test.ts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { LOCAL_BUCKET, localBackend } from '../../runtime/backends/backend';
import type { RunConfig } from '../../runtime/config/run-config';
import { startTraining } from '../../runtime/index';
import { PsClient } from '../../runtime/ps/client';
import { PsError, Status } from '../../runtime/ps/protocol';
import { sharedDataset } from '../helpers/shared';
import { runStateDir } from '../helpers/state-dir';

const stateDir = runStateDir('cirrus-aws-local-');

test('backend "aws" against the local services: Criteo 10k to log-loss <= 0.470 with the parameter server over TLS', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  // The "AWS account": the embedded services, reached only through their endpoints and key pair.
  const services = await localBackend(path.join(stateDir, 'services'));
  const config: RunConfig = {
    name: 'criteo-10k-aws',
    dataset: { path: file, format: 'criteo', testFraction: 0.1 },
    model: { type: 'logistic', hashBits: 20 },
    optimizer: { type: 'adagrad', learningRate: 0.02 },
    training: { workers: 2, minibatch: 20, maxSeconds: 120, epochs: 3, evalEverySeconds: 0.25 },
    lambda: { memoryMB: 1024, timeoutSeconds: 20, functionName: 'cirrus-aws-backend-test' },
    backend: 'aws',
    aws: {
      region: services.region,
      bucket: LOCAL_BUCKET,
      // The stand-in for the instance: a local parameter-server process the workers reach on the loopback.
      parameterServerAddress: '127.0.0.1:0',
      endpoints: { s3: services.storage.endpoint!, lambda: services.localLambdaEndpoint! },
    },
  };

  // While the run trains, its parameter server is probed from outside: it must speak TLS with the
  // certificate the log names, and refuse a client that has that certificate but not the run's token.
  let probe: Promise<{ plain: Error | undefined; noToken: unknown }> | undefined;
  const logLines: string[] = [];
  const log = (_level: string, message: string) => {
    logLines.push(message);
    const m = /parameter server on [^:]+:(\d+), TLS with the run's certificate \(SHA-256 ([0-9A-F:]{95})\)/.exec(message);
    if (m && !probe) probe = probeServer(Number(m[1]), m[2]);
  };
  const handle = await startTraining(config, { stateDir, log, awsCredentials: services.localCredentials });
  const summary = await handle.done;
  assert.equal(summary.status, 'completed', `${summary.reason}\n${logLines.join('\n')}`);
  assert.ok(summary.testLoss !== null && summary.testLoss <= 0.47, `test log-loss ${summary.testLoss}`);
  assert.ok(summary.testAccuracy !== null && summary.testAccuracy > 0.75, `accuracy ${summary.testAccuracy}`);
  assert.equal(summary.samples, 3 * 9000);
  t.diagnostic(`test log-loss ${summary.testLoss?.toFixed(4)}, accuracy ${summary.testAccuracy?.toFixed(4)}, ${summary.seconds.toFixed(1)} s`);
  assert.deepEqual(summary.stages.map((s) => s.stage), ['load', 'train']);

  const resolved = JSON.parse(fs.readFileSync(path.join(handle.runFolder, 'config.json'), 'utf8'));
  assert.equal(resolved.backend, 'aws');
  assert.equal(resolved.parameterServer.tls, true, 'TLS is on by default on AWS');
  assert.ok(probe, `the log names the parameter server's TLS certificate:\n${logLines.join('\n')}`);
  const { plain, noToken } = await probe;
  assert.ok(plain, 'a plain-TCP client gets nowhere');
  assert.ok(noToken instanceof PsError && noToken.status === Status.UNAUTHORIZED, `a TLS client without the token is refused (${noToken})`);

  // Everything went through the AWS code path to the "account": the function and the dataset are there.
  const { GetFunctionCommand } = await import('@aws-sdk/client-lambda');
  const fn = await services.lambda.send(new GetFunctionCommand({ FunctionName: 'cirrus-aws-backend-test' }));
  assert.equal(fn.Configuration?.State, 'Active');
});

async function probeServer(port: number, fingerprint: string): Promise<{ plain: Error | undefined; noToken: unknown }> {
  const plain = await PsClient.connect({ host: '127.0.0.1', port, token: 'x', workerId: 9, generation: 0, timeoutMs: 3000 }).then(
    (client) => (void client.close(), undefined),
    (error: Error) => error,
  );
  const noToken = await PsClient.connect({ host: '127.0.0.1', port, token: 'not-the-run-token', workerId: 9, generation: 0, tls: { fingerprint }, timeoutMs: 3000 }).then(
    (client) => (void client.close(), 'connected'),
    (error: unknown) => error,
  );
  return { plain, noToken };
}

