// Measures this machine's primitives for the analytic model's `host` term (step-model.ts): the compute
// of one sample's gradient in one process, one small request's time on the local S3 and on a local
// TCP service, the local S3's time per byte, and the load the run will share the cores with. Each
// figure is a mean of repeated timings, taken just before the runs it predicts, so it sees the
// same machine and load they will (the model is calibrated by measuring, not by fitting a run).
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SamplePartition } from '../data/partition';
import { logisticGradient, TouchedSet } from '../models/logistic';
import type { HostCosts } from './step-model';

/** Means, not medians: a step's time is the sum of many such costs, stalls included. */
function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
}

/** Seconds per sample of the logistic gradient (touched rows + kernel), minibatches of `minibatch`, ~`seconds` of work. */
export function probeCompute(part: SamplePartition, featureCount: number, minibatch: number, seconds = 0.5): number {
  const touched = new TouchedSet(featureCount);
  let weights = new Float32Array(1024);
  let grad = new Float32Array(1024);
  const rounds: number[] = [];
  const started = performance.now();
  for (let from = 0; performance.now() - started < seconds * 1000; from = (from + minibatch) % Math.max(1, part.rows - minibatch)) {
    const t = performance.now();
    const ids = touched.collect(part, from, from + minibatch);
    if (weights.length < ids.length) (weights = new Float32Array(2 * ids.length)), (grad = new Float32Array(2 * ids.length));
    logisticGradient(part, from, from + minibatch, touched, weights.subarray(0, ids.length), grad.subarray(0, ids.length));
    rounds.push((performance.now() - t) / 1000 / minibatch);
  }
  return mean(rounds);
}

async function probeS3(s3: S3Client, bucket: string, prefix: string): Promise<{ request: number; perByte: number }> {
  const pair = async (key: string, body: Uint8Array) =>
    timed(async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
      await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
    });
  const small = new Uint8Array(64);
  const big = new Uint8Array(4 << 20); // a 2^20-weight model object
  const smalls: number[] = [];
  const bigs: number[] = [];
  // Interleaved, so a burst of load elsewhere falls on both kinds alike.
  for (let k = 0; k < 24; k++) {
    smalls.push(await pair(`${prefix}/small`, small));
    if (k % 4 === 0) bigs.push(await pair(`${prefix}/big`, big));
  }
  await Promise.all([`${prefix}/small`, `${prefix}/big`].map((Key) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }))));
  const request = mean(smalls) / 2;
  return { request, perByte: Math.max(0, (mean(bigs) - mean(smalls)) / (2 * big.length)) };
}

/** Echo server of the TCP probe, in its own process: a round trip to it wakes another process, as one
 *  to the parameter server, Redis or the network proxy does (on a loaded machine, that wake-up is the cost). */
const ECHO_SERVER = "const s=require('net').createServer(c=>c.pipe(c)).listen(0,'127.0.0.1',()=>process.stdout.write(s.address().port+'\\n'));process.stdin.on('end',()=>process.exit(0));process.stdin.resume();";

/** One small request's round trip to a TCP service in another process on loopback (mean of 50). */
async function probeTcp(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ECHO_SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    });
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.setNoDelay(true);
    const message = Buffer.alloc(64);
    const trips: number[] = [];
    try {
      for (let k = 0; k < 50; k++) {
        trips.push(
          await timed(
            () =>
              new Promise<void>((resolve) => {
                let got = 0;
                const onData = (chunk: Buffer) => {
                  if ((got += chunk.length) >= message.length) socket.off('data', onData), resolve();
                };
                socket.on('data', onData);
                socket.write(message);
              }),
          ),
        );
      }
    } finally {
      socket.destroy();
    }
    return mean(trips);
  } finally {
    child.stdin!.end();
    child.kill();
  }
}

/** `proxied`: the runs it predicts go through the "aws" network profile's proxies (a second hop per request). */
export async function probeHost(o: { s3: S3Client; bucket: string; prefix: string; part: SamplePartition; featureCount: number; minibatch: number; proxied: boolean }): Promise<HostCosts> {
  const otherLoad = os.loadavg()[0];
  const computeSecondsPerSample = probeCompute(o.part, o.featureCount, o.minibatch);
  const s3 = await probeS3(o.s3, o.bucket, o.prefix);
  const tcpRequestSeconds = await probeTcp();
  return { cores: os.cpus().length, otherLoad, computeSecondsPerSample, s3RequestSeconds: s3.request, tcpRequestSeconds, s3ByteSeconds: s3.perByte, proxied: o.proxied };
}
