// The "aws" network profile in a run: the config accepts and checks it, the local backend hands
// workers the proxies (the driver keeps the direct endpoints), and a training run goes through them.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { closeBackend, localBackend } from '../../runtime/backends/backend';
import type { RunConfig } from '../../runtime/config/run-config';
import { ConfigError, validateRunConfig } from '../../runtime/config/validate';
import { readRunEvents } from '../../runtime/recording/run-folder';
import { startTraining } from '../../runtime/index';
import { resolveNetwork } from '../../runtime/network/profile';
import { createS3Client, getObjectBytes, putObjectBytes } from '../../runtime/storage/s3';
import { sharedDataset } from '../helpers/shared';
import { isAlive } from '../data/fixtures';
import { runStateDir } from '../helpers/state-dir';
import { PULL_DEPTH } from '../../runtime/worker/model-step';

const stateDir = runStateDir('cirrus-network-');

const base: RunConfig = {
  dataset: { path: 'data.tsv', format: 'criteo', testFraction: 0.1 },
  model: { type: 'logistic' },
  optimizer: { type: 'adagrad', learningRate: 0.02 },
  training: { workers: 2, minibatch: 20, epochs: 1 },
};

function problems(config: unknown): string[] {
  try {
    validateRunConfig(config as RunConfig);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.field}: ${p.message}`);
  }
}

test('the run config takes a network profile or overridden figures, and names the setting when wrong', () => {
  assert.deepEqual(problems({ ...base, network: 'aws' }), []);
  assert.deepEqual(problems({ ...base, network: { tcpRttMs: 2, s3FirstByteMs: 15 } }), []);
  assert.deepEqual(resolveNetwork({ tcpRttMs: 2 }).figures?.tcpRttMs, 2);
  assert.equal(resolveNetwork({ tcpRttMs: 2 }).figures?.s3FirstByteMs, 30, 'the other figures stay the aws ones');
  assert.deepEqual(resolveNetwork(undefined), { profile: 'loopback' });
  assert.ok(problems({ ...base, network: 'slow' }).some((p) => p.startsWith('network')), 'an unknown profile');
  assert.ok(problems({ ...base, network: { tcpRttMs: -1 } }).some((p) => p.startsWith('network')), 'a negative RTT');
  assert.ok(problems({ ...base, network: { s3FirstByteMs: 10, bandwidth: 3 } }).some((p) => p.startsWith('network')), 'an unknown figure');
  const loopbackWithFigures = problems({ ...base, network: { profile: 'loopback', tcpRttMs: 3 } });
  assert.ok(loopbackWithFigures.some((p) => /^network: .*loopback/.test(p)), loopbackWithFigures.join('; '));
});

test('with the aws profile, workers get proxied endpoints and the driver the direct ones; closing releases them', async () => {
  const backend = await localBackend(stateDir, resolveNetwork({ profile: 'aws', s3FirstByteMs: 60 }));
  assert.ok(backend.network);
  assert.notEqual(backend.workerS3Endpoint, backend.storage.endpoint);
  await putObjectBytes(backend.s3, backend.bucket, 'net/x', 'through the proxy');
  const worker = createS3Client({ ...backend.storage, endpoint: backend.workerS3Endpoint });
  const start = performance.now();
  assert.equal(Buffer.from(await getObjectBytes(worker, backend.bucket, 'net/x')).toString(), 'through the proxy');
  assert.ok(performance.now() - start >= 60, 'the worker endpoint has the first-byte latency');
  worker.destroy();

  const echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const ps = await backend.network.proxy('ps', () => ({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port }));
  assert.deepEqual(backend.network.address('ps'), ps);
  const stats = await backend.network.s3Stats();
  assert.ok(stats.requests >= 1 && stats.slowDowns === 0, JSON.stringify(stats));
  const pid = backend.network.pid;
  assert.ok(pid > 0 && pid !== process.pid && isAlive(pid), 'the proxies run in their own process');
  await closeBackend(backend);
  assert.equal(isAlive(pid), false, 'closing the network ends its process');
  await new Promise<void>((resolve) => {
    const socket = net.connect(ps.port, ps.host);
    socket.on('error', () => resolve()); // refused: the proxy is gone
    socket.on('connect', () => socket.destroy());
  });
  echo.close();

  const loopback = await localBackend(stateDir);
  assert.equal(loopback.network, undefined);
  assert.equal(loopback.workerS3Endpoint, loopback.storage.endpoint, 'loopback: workers use the embedded S3 directly');
});

test('a run with a 150 ms round trip to the parameter server trains through the proxy, and pays for it', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const config = (network: RunConfig['network']): RunConfig => ({
    ...base,
    dataset: { ...base.dataset, path: file },
    training: { workers: 2, minibatch: 100, epochs: 1, maxSeconds: 120, evalEverySeconds: 0.5 },
    lambda: { memoryMB: 512, timeoutSeconds: 30 },
    network,
  });
  const fast = await (await startTraining(config('loopback'), { stateDir })).done;
  const slow = await (await startTraining(config({ tcpRttMs: 150 }), { stateDir })).done;
  const trainSeconds = (s: typeof fast) => s.stages.find((x) => x.stage === 'train')!.seconds;
  console.log(`# 1 epoch, 2 workers, minibatch 100: loopback ${trainSeconds(fast).toFixed(2)} s, 150 ms RTT ${trainSeconds(slow).toFixed(2)} s`);
  for (const summary of [fast, slow]) {
    assert.equal(summary.status, 'completed', summary.reason);
    assert.equal(summary.samples, 9000);
    assert.ok(summary.testLoss !== null && summary.testLoss < Math.LN2 - 0.1, `test loss ${summary.testLoss}`);
  }
  // 45 minibatches per worker; pushes are pipelined and pulls leave PULL_DEPTH minibatches ahead, so a
  // worker still waits a round trip per PULL_DEPTH minibatches: >= 45 x 150 ms / 2 = 3.4 s more (3.7 s
  // measured). 80 % of it leaves room for timing noise; without the proxy's delay the gap is ~0.
  const minExtra = (45 * 0.15) / PULL_DEPTH;
  assert.ok(trainSeconds(slow) >= trainSeconds(fast) + 0.8 * minExtra, `the round trip shows in the train time (${trainSeconds(slow)} s vs ${trainSeconds(fast)} s)`);
});

test('aws network: the parameter server killed mid-run restarts behind the same proxy address, workers reconnect, the run completes', async (t) => {
  const file = sharedDataset(t, 'criteo-kaggle-head10k/train_head10000.txt');
  if (!file) return;
  const handle = await startTraining(
    {
      ...base,
      dataset: { ...base.dataset, path: file },
      // A time limit with the validation rule off (patience 0) keeps it going past the crash: with the validation rule's default
      // patience the run stopped on CI before the kill at 5 s. The slow rate with l2 stays near 0.465 for
      // however many epochs the machine's speed fits in (as test/security/reliability.test.ts).
      optimizer: { type: 'adagrad', learningRate: 0.005, l2: 0.01 },
      training: { workers: 2, minibatch: 20, maxSeconds: 12, patience: 0, evalEverySeconds: 0.5, checkpointEverySeconds: 2 },
      lambda: { memoryMB: 512, timeoutSeconds: 20 },
      faults: { killParameterServerAtSeconds: 5 },
      network: 'aws',
    },
    { stateDir },
  );
  const summary = await handle.done;
  assert.equal(summary.status, 'completed', summary.reason);
  const events = readRunEvents(handle.runFolder);
  const restart = events.find((e) => e.type === 'ps-restarted');
  assert.ok(restart, 'the parameter server was restarted');
  const heartbeatsAfter = events.filter((e) => e.type === 'worker-heartbeat' && e.t > restart.t).length;
  console.log(`# aws network, PS killed at 5 s: ${summary.status}, ${heartbeatsAfter} heartbeats after the restart, test loss ${summary.testLoss?.toFixed(4)}`);
  if (heartbeatsAfter === 0) console.log(events.filter((e) => e.t > restart.t - 1 && e.type !== 'eval').map((e) => `# ${JSON.stringify(e).slice(0, 200)}`).join('\n'));
  assert.ok(heartbeatsAfter > 0, 'workers reached the restarted server through the proxy');
  assert.ok(summary.testLoss !== null && summary.testLoss < Math.LN2 - 0.1, `test loss ${summary.testLoss}`);
});
