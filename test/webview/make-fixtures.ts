// Writes test/fixtures/recorded-run.jsonl and recorded-run-2.jsonl: two plausible runs' event streams,
// in the format of a run folder's metrics.jsonl (one RunEvent per line), until fixtures recorded from
// real runs replace them. Deterministic (seeded), so regenerating gives the same files.
//   node --import tsx test/webview/make-fixtures.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunEvent, RunSummary, StageName } from '../../runtime/recording/events';

// Prices used by the fake cost lines (AWS list prices, us-east-1).
const LAMBDA_GB_SECOND = 0.0000166667;
const LAMBDA_REQUEST = 0.2 / 1e6;
const S3_GET = 0.0004 / 1000;
const S3_PUT = 0.005 / 1000;
const PS_HOST_PER_SECOND = 0.0416 / 3600;

function rng(seed: number): () => number {
  // mulberry32: a tiny seeded generator, good enough for plausible noise.
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (v: number, d = 6) => Number(v.toFixed(d));

interface RunSpec {
  runId: string;
  name: string;
  seed: number;
  withLoad: boolean;
  workers: number;
  memoryMB: number;
  trainSeconds: number;
  lossFloor: number;
  lossDecay: number; // seconds
  ratePerWorker: number;
  end: { status: 'completed' | 'stopped'; reason: string };
}

function makeRun(spec: RunSpec): RunEvent[] {
  const rand = rng(spec.seed);
  const noise = (scale: number) => (rand() - 0.5) * 2 * scale;
  const out: RunEvent[] = [];
  const base = { runId: spec.runId };
  const push = (e: Record<string, unknown> & { t: number; type: RunEvent['type'] }) => out.push({ ...base, ...e, t: round(e.t, 3) } as RunEvent);

  const cost = { lambdaCompute: 0, lambdaRequests: 0, s3Requests: 0, parameterServer: 0 };
  const total = () => cost.lambdaCompute + cost.lambdaRequests + cost.s3Requests + cost.parameterServer;
  const stages: RunSummary['stages'] = [];

  push({
    t: 0, type: 'run-started', name: spec.name, backend: 'local',
    config: { dataset: 's3://cirrus-data/criteo-1m/manifest.json', model: 'logistic', optimizer: spec.name.includes('adam') ? 'adam' : 'sgd', workers: spec.workers, memoryMB: spec.memoryMB },
  });
  let t = 0.15;

  function stage(name: StageName, workers: number, memoryMB: number, seconds: number, peakMemoryMB: number, extraCost: number) {
    const gbSeconds = round(workers * seconds * (memoryMB / 1024), 3);
    const stageCost = round(gbSeconds * LAMBDA_GB_SECOND + workers * LAMBDA_REQUEST + extraCost, 8);
    stages.push({ stage: name, seconds: round(seconds, 3), gbSeconds, peakMemoryMB, costUSD: stageCost, workers, memoryMB });
    return { type: 'stage-finished' as const, stage: name, seconds: round(seconds, 3), gbSeconds, peakMemoryMB, costUSD: stageCost, workers, memoryMB };
  }

  if (spec.withLoad) {
    // load: the host converts the TSV and uploads 40 partitions.
    push({ t, type: 'stage-started', stage: 'load', workers: 1, memoryMB: 512 });
    for (let i = 1; i <= 4; i++) push({ t: t + i * 1.9, type: 'progress', stage: 'load', message: `Uploaded ${i * 10}/40 partitions`, fraction: i / 4 });
    const loadSeconds = 8.2;
    cost.s3Requests += 40 * S3_PUT;
    push({ t: t + loadSeconds, ...stage('load', 1, 512, loadSeconds, 318, 40 * S3_PUT) });
    t += loadSeconds + 0.2;

    // preprocess: a map phase over the partitions on 8 workers.
    const pre = { workers: 8, memoryMB: 1024, seconds: 6.4 };
    push({ t, type: 'stage-started', stage: 'preprocess', workers: pre.workers, memoryMB: pre.memoryMB });
    let peak = 0;
    for (let w = 0; w < pre.workers; w++) push({ t: t + 0.05 * w, type: 'worker-launched', worker: w, generation: 0, reason: 'start' });
    for (let s = 1; s <= 6; s++) {
      for (let w = 0; w < pre.workers; w++) {
        const mem = Math.round(380 + s * 25 + noise(20));
        peak = Math.max(peak, mem);
        push({ t: t + s + 0.05 * w, type: 'worker-heartbeat', worker: w, generation: 0, samples: s * 21000, samplesPerSecond: Math.round(21000 + noise(1500)), s3MBps: round(38 + noise(6), 1), memoryMB: mem });
      }
    }
    for (let w = 0; w < pre.workers; w++) push({ t: t + pre.seconds - 0.1 + 0.01 * w, type: 'worker-finished', worker: w, generation: 0, status: 'done', billedMs: 6300, memoryMB: pre.memoryMB, samples: 125000 });
    cost.lambdaCompute += pre.workers * 6.3 * LAMBDA_GB_SECOND;
    cost.lambdaRequests += pre.workers * LAMBDA_REQUEST;
    cost.s3Requests += 80 * S3_GET + 40 * S3_PUT;
    push({ t: t + pre.seconds, ...stage('preprocess', pre.workers, pre.memoryMB, pre.seconds, peak, 80 * S3_GET + 40 * S3_PUT) });
    t += pre.seconds + 0.3;
  }

  // train: asynchronous SGD; each worker returns near its 60 s limit and the next generation takes over.
  const trainStart = t;
  push({ t, type: 'stage-started', stage: 'train', workers: spec.workers, memoryMB: spec.memoryMB });
  push({ t: t + 0.1, type: 'progress', stage: 'train', message: 'Parameter server listening; invoking workers' });
  const generation = new Array(spec.workers).fill(0);
  const launchedAt = new Array(spec.workers).fill(0);
  const samples = new Array(spec.workers).fill(0);
  let billedMs = 0;
  let peak = 0;
  let totalSamples = 0;
  for (let w = 0; w < spec.workers; w++) {
    launchedAt[w] = t + 0.4 + 0.03 * w;
    push({ t: launchedAt[w], type: 'worker-launched', worker: w, generation: 0, reason: 'start' });
  }
  const loss = (x: number) => spec.lossFloor + 0.24 * Math.exp(-x / spec.lossDecay);
  const end = trainStart + spec.trainSeconds;
  let updates = 0;
  let nextEval = trainStart + 5;
  let nextCost = trainStart + 10;
  let failed = false;
  for (let now = trainStart + 1; now <= end + 1e-9; now += 1) {
    const x = now - trainStart;
    // Heartbeats every 2 s per worker, staggered.
    for (let w = 0; w < spec.workers; w++) {
      if (Math.round(x) % 2 !== w % 2) continue;
      const rate = Math.round(spec.ratePerWorker * (0.92 + 0.16 * rand()) * Math.min(1, x / 6));
      samples[w] += rate * 2;
      totalSamples += rate * 2;
      const mem = Math.round(spec.memoryMB * 0.33 + Math.min(x, 60) * 3 + noise(25));
      peak = Math.max(peak, mem);
      push({ t: now + 0.011 * w, type: 'worker-heartbeat', worker: w, generation: generation[w], samples: samples[w], samplesPerSecond: rate, s3MBps: round(9 + noise(2), 1), memoryMB: mem, trainLoss: round(loss(x) - 0.01 + noise(0.035), 5) });
      // Generations: a worker returns about 60 s after its launch; the driver relaunches it.
      const age = now - launchedAt[w];
      const failNow = !failed && w === 5 && x > 70;
      if (age >= 59 || failNow) {
        if (failNow) failed = true;
        const ms = Math.round(age * 1000);
        billedMs += ms;
        push({ t: now + 0.2 + 0.011 * w, type: 'worker-finished', worker: w, generation: generation[w], status: failNow ? 'failed' : 'time-limit', ...(failNow ? { error: 'Connection reset by parameter server' } : {}), billedMs: ms, memoryMB: spec.memoryMB, samples: samples[w] });
        generation[w]++;
        launchedAt[w] = now + 0.6 + 0.011 * w;
        samples[w] = 0;
        push({ t: launchedAt[w], type: 'worker-launched', worker: w, generation: generation[w], reason: failNow ? 'relaunch-after-failure' : 'time-limit' });
      }
    }
    const ups = Math.round(spec.workers * (spec.ratePerWorker / 128) * Math.min(1, x / 6) * (0.95 + 0.1 * rand()));
    updates += ups;
    push({ t: now + 0.5, type: 'ps-stats', updates, updatesPerSecond: ups, connections: spec.workers });

    // Running cost: Lambda time so far, requests, S3 reads, the parameter server's host.
    const liveMs = launchedAt.reduce((s, at) => s + Math.max(0, now - at) * 1000, 0);
    const trainCompute = ((billedMs + liveMs) / 1000) * (spec.memoryMB / 1024) * LAMBDA_GB_SECOND;
    const preCompute = spec.withLoad ? 8 * 6.3 * LAMBDA_GB_SECOND : 0;
    cost.lambdaCompute = preCompute + trainCompute;
    cost.lambdaRequests = (spec.withLoad ? 8 : 0) * LAMBDA_REQUEST + generation.reduce((s, g) => s + g + 1, 0) * LAMBDA_REQUEST;
    cost.s3Requests = (spec.withLoad ? 80 * S3_PUT + 80 * S3_GET : 0) + Math.floor(totalSamples / 25000) * S3_GET;
    cost.parameterServer = x * PS_HOST_PER_SECOND;

    if (now >= nextEval) {
      nextEval += 5;
      const testLoss = round(loss(x) + noise(0.004), 5);
      push({ t: now + 0.7, type: 'eval', testLoss, testAccuracy: round(0.81 - (testLoss - spec.lossFloor) * 0.45 + noise(0.002), 4), trainLoss: round(loss(x) - 0.008, 5), samples: totalSamples, costUSD: round(total(), 7) });
    }
    if (now >= nextCost) {
      nextCost += 10;
      push({ t: now + 0.8, type: 'cost', totalUSD: round(total(), 7), byComponent: Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, round(v, 7)])) });
    }
  }

  // The end: the driver stops the workers that are still running.
  const stopAt = end + 1.2;
  push({ t: stopAt - 0.2, type: 'log', level: 'info', message: spec.end.reason });
  for (let w = 0; w < spec.workers; w++) {
    const ms = Math.round((stopAt - launchedAt[w]) * 1000);
    billedMs += ms;
    push({ t: stopAt + 0.01 * w, type: 'worker-finished', worker: w, generation: generation[w], status: 'stopped', billedMs: ms, memoryMB: spec.memoryMB, samples: samples[w] });
  }
  const trainSeconds = stopAt + 0.2 - trainStart;
  const trainGbSeconds = round((billedMs / 1000) * (spec.memoryMB / 1024), 3);
  const requests = generation.reduce((s, g) => s + g + 1, 0);
  stages.push({ stage: 'train', seconds: round(trainSeconds, 3), gbSeconds: trainGbSeconds, peakMemoryMB: peak, costUSD: round(trainGbSeconds * LAMBDA_GB_SECOND + requests * LAMBDA_REQUEST + trainSeconds * PS_HOST_PER_SECOND, 8), workers: spec.workers, memoryMB: spec.memoryMB });
  push({ t: stopAt + 0.2, type: 'stage-finished', ...stages[stages.length - 1] });
  t = stopAt + 0.4;

  if (spec.end.status === 'completed') {
    push({ t, type: 'stage-started', stage: 'evaluate', workers: 1, memoryMB: 1024 });
    push({ t: t + 3.1, ...stage('evaluate', 1, 1024, 3.1, 402, 10 * S3_GET) });
    t += 3.3;
  }
  const finalCost = Object.fromEntries(Object.entries({
    ...cost,
    lambdaCompute: (spec.withLoad ? 8 * 6.3 * LAMBDA_GB_SECOND : 0) + trainGbSeconds * LAMBDA_GB_SECOND + (spec.end.status === 'completed' ? 3.1 * LAMBDA_GB_SECOND : 0),
  }).map(([k, v]) => [k, round(v, 7)]));
  const finalTotal = round(Object.values(finalCost).reduce((a, b) => a + b, 0), 7);
  push({ t, type: 'cost', totalUSD: finalTotal, byComponent: finalCost });
  const lastEval = [...out].reverse().find((e) => e.type === 'eval');
  const testLoss = lastEval && lastEval.type === 'eval' ? lastEval.testLoss : null;
  const testAccuracy = lastEval && lastEval.type === 'eval' ? lastEval.testAccuracy ?? null : null;
  const summary: RunSummary = {
    runId: spec.runId, name: spec.name, status: spec.end.status, reason: spec.end.reason, testLoss, testAccuracy,
    seconds: round(t, 3), samples: totalSamples, samplesPerSecond: Math.round(totalSamples / trainSeconds), costUSD: finalTotal, cost: finalCost,
    stages, modelPath: spec.end.status === 'completed' ? `.cirrus/runs/${spec.runId}/model.bin` : undefined, runFolder: `.cirrus/runs/${spec.runId}`,
  };
  push({ t: t + 0.05, type: 'run-finished', status: spec.end.status, reason: spec.end.reason, summary });

  // Stable sort by time, as the driver appends them.
  return out.map((e, i) => ({ e, i })).sort((a, b) => a.e.t - b.e.t || a.i - b.i).map(({ e }) => e);
}

const runs: Array<[string, RunSpec]> = [
  ['recorded-run.jsonl', {
    runId: '2025-06-01T10-15-02-criteo-sgd', name: 'criteo-lr-sgd', seed: 7, withLoad: true, workers: 16, memoryMB: 2048,
    trainSeconds: 150, lossFloor: 0.452, lossDecay: 38, ratePerWorker: 9000,
    end: { status: 'completed', reason: 'target test loss 0.455 reached' },
  }],
  ['recorded-run-2.jsonl', {
    runId: '2025-06-01T10-31-40-criteo-adam', name: 'criteo-lr-adam', seed: 11, withLoad: false, workers: 8, memoryMB: 1024,
    trainSeconds: 110, lossFloor: 0.47, lossDecay: 55, ratePerWorker: 7000,
    end: { status: 'stopped', reason: 'stopped by the user' },
  }],
];

const dir = path.resolve(__dirname, '..', 'fixtures');
fs.mkdirSync(dir, { recursive: true });
for (const [file, spec] of runs) {
  const events = makeRun(spec);
  fs.writeFileSync(path.join(dir, file), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  console.log(`${file}: ${events.length} events`);
}
