// Measures this machine's primitives for the analytic model's `host` term (step-model.ts): the compute
// of one sample's gradient in one process, one small request's time on the local S3 and on a local
// TCP service, the local S3's time per byte, and the load the run will share the cores with. Each
// figure is a median of repeated timings, taken just before the runs it predicts, so it sees the
// same machine and load they will (the model is calibrated by measuring, not by fitting a run).
import * as net from 'node:net';
import * as os from 'node:os';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SamplePartition } from '../data/partition';
import { logisticGradient, TouchedSet } from '../models/logistic';
import type { HostCosts } from './step-model';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
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
  return median(rounds);
}

async function probeS3(s3: S3Client, bucket: string, prefix: string): Promise<{ request: number; perByte: number }> {
  const pair = async (key: string, body: Uint8Array) =>
    timed(async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
      await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
    });
  const small = new Uint8Array(64);
  const big = new Uint8Array(1 << 20);
  const smalls: number[] = [];
  const bigs: number[] = [];
  for (let k = 0; k < 15; k++) smalls.push(await pair(`${prefix}/small`, small));
  for (let k = 0; k < 5; k++) bigs.push(await pair(`${prefix}/big`, big));
  await Promise.all([`${prefix}/small`, `${prefix}/big`].map((Key) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }))));
  const request = median(smalls) / 2;
  return { request, perByte: Math.max(0, (median(bigs) - median(smalls)) / (2 * big.length)) };
}

/** One small request's round trip to a TCP service on loopback (an echo server here: both ends' event loops). */
async function probeTcp(): Promise<number> {
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
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
    await new Promise((resolve) => server.close(resolve));
  }
  return median(trips);
}

export async function probeHost(o: { s3: S3Client; bucket: string; prefix: string; part: SamplePartition; featureCount: number; minibatch: number }): Promise<HostCosts> {
  const otherLoad = os.loadavg()[0];
  const computeSecondsPerSample = probeCompute(o.part, o.featureCount, o.minibatch);
  const s3 = await probeS3(o.s3, o.bucket, o.prefix);
  const tcpRequestSeconds = await probeTcp();
  return { cores: os.cpus().length, otherLoad, computeSecondsPerSample, s3RequestSeconds: s3.request, tcpRequestSeconds, s3ByteSeconds: s3.perByte };
}
