// The map-stage model (DoubleML's fold tasks): fitted from one run it reproduces that run, extra local
// workers beyond the cores do not help, AWS spreads tasks over environments with memory-proportional CPU,
// and the dollars do not depend on the parallelism. Its calibration on real runs is in the bench
// (section doubleml).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitMapStage, predictMapStage } from '../../runtime/provisioning/map-stage';
import { localEnvironment } from '../../runtime/provisioning/perf-model';
import { awsEnvironment } from '../../runtime/provisioning/simulator';

const run = { tasks: 50, workers: 1, stageSeconds: 30, fixedSeconds: 2, taskSecondsTotal: 25, bytesReadPerTask: 1e6 };

test('fitted from one run, the model predicts that run', () => {
  const model = fitMapStage(run);
  assert.equal(model.taskSeconds, 0.5);
  assert.ok(Math.abs(model.overheadSeconds - 0.1) < 1e-12);
  const back = predictMapStage(model, localEnvironment(2), 1, 512);
  assert.ok(Math.abs(back.seconds - 32) < 1e-9, `${back.seconds}`);
});

test('locally, workers beyond the cores share them', () => {
  const model = fitMapStage(run);
  const two = predictMapStage(model, localEnvironment(2), 2, 512);
  const four = predictMapStage(model, localEnvironment(2), 4, 512);
  assert.equal(two.waves, 25);
  assert.ok(Math.abs(two.seconds - (2 + 25 * 0.6)) < 1e-9);
  assert.ok(four.seconds >= two.seconds, `4 workers on 2 cores (${four.seconds}) faster than 2 (${two.seconds})`);
});

test('on AWS, 100 workers run 50 tasks in one wave; CPU follows memory; dollars do not follow workers', () => {
  const model = fitMapStage(run);
  const env = awsEnvironment();
  const hundred = predictMapStage(model, env, 100, 1769);
  const one = predictMapStage(model, env, 1, 1769);
  assert.equal(hundred.waves, 1);
  // The stage itself (not the fixed deploy, load and aggregate) is 50 times shorter, less one cold start.
  const stage = (p: { seconds: number }) => p.seconds - model.fixedSeconds - env.coldStartSeconds;
  assert.ok(Math.abs(stage(one) / stage(hundred) - 50) < 1e-9, `${stage(hundred)} vs ${stage(one)}`);
  assert.ok(Math.abs(hundred.usd - one.usd) < 1e-15);
  const small = predictMapStage(model, env, 100, 512);
  assert.ok(small.seconds > hundred.seconds, 'a third of a vCPU is slower than one vCPU');
});
