// psUpdates: parameter-server updates/s (pull + push of one minibatch's touched rows, 2 clients, the
// server in its own process) vs the loopback ceiling measured in the same run: a bare Node TCP server
// (bench/echo-server.ts, its own process) answering frames of the same sizes with no work.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { TouchedSet } from '../../runtime/models/logistic';
import { type BenchContext, CRITEO_10K, ROOT, round, type SectionResult, SkipSection } from '../context';
import { loadCriteo } from '../criteo';

const CLIENTS = 2;
const SECONDS = 5;
const MINIBATCH = 200;

export async function psUpdates(_ctx: BenchContext): Promise<SectionResult> {
  const loadModule = path.join(ROOT, 'runtime', 'ps', 'load.ts');
  if (!fs.existsSync(loadModule)) throw new SkipSection('runtime/ps/load.ts (runPsLoad) is not written yet');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'ps-server.js'))) throw new SkipSection('dist/ps-server.js is absent: run `npm run build`');
  const { runPsLoad } = (await import('../../runtime/ps/load')) as typeof import('../../runtime/ps/load');
  const rowsPerPush = await touchedRowsPerMinibatch();
  const ps = await runPsLoad({ clients: CLIENTS, seconds: SECONDS, rowsPerPush, width: 1, optimizer: 'adagrad' });
  // Same bytes per update as the parameter server's wire format moves: a pull (ids out, floats
  // back) and a push (ids + gradients out, a small ack back).
  const echo = await echoRoundTrips([
    [16 + 4 * rowsPerPush, 9 + 4 * rowsPerPush],
    [16 + 8 * rowsPerPush, 9],
  ]);
  const readme = await echoRoundTrips([[64 * 1024, 32 * 1024]]);
  return {
    updatesPerSecond: Math.round(ps.updatesPerSecond),
    loopbackCeilingUpdatesPerSecond: Math.round(echo),
    ratio: round(ps.updatesPerSecond / echo),
    rowsPerUpdate: rowsPerPush,
    rowUpdatesPerSecond: Math.round(ps.rowUpdatesPerSecond),
    psMegabytesPerSecond: round(ps.megabytesPerSecond, 1),
    echo64k32kRoundTripsPerSecond: Math.round(readme),
    notes:
      `runPsLoad (runtime/ps/load.ts): ${CLIENTS} clients in this process, the server as dist/ps-server.js, AdaGrad table of 2^20 x 1, ` +
      `${SECONDS} s; one update = pull + push of ${rowsPerPush} rows (the mean touched-set size of a ${MINIBATCH}-row Criteo minibatch). ` +
      'Ceiling: bench/echo-server.ts (own process, setNoDelay, no work) answering the same two frame sizes per update, same clients and duration. ' +
      'echo64k32kRoundTripsPerSecond: the reference README\'s pattern (64 KB request, 32 KB reply), total over the clients.',
  };
}

/** Mean unique features of a 200-row minibatch of Criteo 10k (4000 if the data is absent). */
async function touchedRowsPerMinibatch(): Promise<number> {
  if (!fs.existsSync(CRITEO_10K)) return 4000;
  const part = await loadCriteo(CRITEO_10K);
  const touched = new TouchedSet(2 ** 20);
  let sum = 0;
  let n = 0;
  for (let s = 0; s + MINIBATCH <= part.rows; s += MINIBATCH, n++) sum += touched.collect(part, s, s + MINIBATCH).length;
  return Math.round(sum / n);
}

/** Update-equivalents per second through the echo server: each update is the given sequence of
 *  (request bytes, reply bytes) round trips; CLIENTS connections looping for SECONDS. */
async function echoRoundTrips(pattern: Array<[number, number]>): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'echo-server.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (code) => reject(new Error(`echo server exited (${code})`)));
    });
    const sockets = await Promise.all(Array.from({ length: CLIENTS }, () => connect(port)));
    const frames = pattern.map(([req, reply]) => {
      const f = Buffer.alloc(8 + req);
      f.writeUInt32LE(req, 0);
      f.writeUInt32LE(reply, 4);
      return { frame: f, reply };
    });
    const deadline = Date.now() + SECONDS * 1000;
    const t0 = performance.now();
    const counts = await Promise.all(
      sockets.map(async (socket) => {
        const replies = replyReader(socket);
        let updates = 0;
        while (Date.now() < deadline) {
          for (const { frame, reply } of frames) {
            socket.write(frame);
            await replies(8 + reply);
          }
          updates++;
        }
        socket.destroy();
        return updates;
      }),
    );
    return counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
  } finally {
    child.stdin.end();
    child.kill();
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** Returns a function that resolves once `bytes` more bytes have arrived on the socket. */
function replyReader(socket: net.Socket): (bytes: number) => Promise<void> {
  let have = 0;
  let want = 0;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    have += chunk.length;
    if (wake && have >= want) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  return (bytes) => {
    want += bytes;
    if (have >= want) return Promise.resolve();
    return new Promise<void>((resolve) => (wake = resolve));
  };
}
