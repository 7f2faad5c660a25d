// shards: parameterServer.shards. Push updates/s of the parameter server with 1 and 2 shards, each
// shard its own process (dist/ps-server.js, as a run starts them), each fed by its own client process
// (bench/shard-client.ts: pre-built frames, a window of frames in flight, replies only counted).
// One update = the push of one minibatch's 4,000 touched rows of a 2^20 x 1 AdaGrad table; with 2
// shards it is two frames of 2,000 rows (each shard's share; row r on shard r mod 2). Updates/s =
// rows applied per second / 4,000. To show the client is not the bottleneck, one shard is also fed by
// two client processes; the speedup is taken against the faster of the two one-shard runs. (On a
// loaded machine the scheduler shares the cores per process, so more processes get more CPU: compare
// the figures only with the load average beside them.)
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startParameterServer, type ParameterServerProcess } from '../../runtime/ps/launch';
import { shardTables } from '../../runtime/ps/sharding';
import type { TableSpec } from '../../runtime/ps/types';
import { type BenchContext, ROOT, round, type SectionResult, SkipSection } from '../context';

const ROWS_PER_UPDATE = 4000;
const TABLE: TableSpec = { name: 'weights', rows: 2 ** 20, width: 1, optimizer: { type: 'adagrad', learningRate: 0.02 } };
const SECONDS = 6;
const DEPTH = 8;
const REPEATS = 3;

export async function shards(_ctx: BenchContext): Promise<SectionResult> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'ps-server.js'))) throw new SkipSection('dist/ps-server.js is absent: run `npm run build`');
  const loadAtStart = os.loadavg().map((x) => round(x, 2));
  const one: number[] = [];
  const oneTwoClients: number[] = [];
  const two: number[] = [];
  // Alternating, best of REPEATS each: the machine is shared, and noise only ever slows.
  for (let rep = 0; rep < REPEATS; rep++) {
    one.push(await measure(1, 1));
    oneTwoClients.push(await measure(1, 2));
    two.push(await measure(2, 1));
  }
  const best = (xs: number[]) => Math.max(...xs);
  return {
    oneShardUpdatesPerSecond: Math.round(best(one)),
    oneShardTwoClientsUpdatesPerSecond: Math.round(best(oneTwoClients)),
    twoShardsUpdatesPerSecond: Math.round(best(two)),
    // Against the faster of the one-shard runs: a client that was the bottleneck must not flatter the ratio.
    speedup: round(best(two) / Math.max(best(one), best(oneTwoClients)), 2),
    goal: '>= 1.6',
    runs: { one: one.map(Math.round), oneTwoClients: oneTwoClients.map(Math.round), two: two.map(Math.round) },
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((x) => round(x, 2)) },
    notes:
      `Each shard a dist/ps-server.js process holding its rows of a 2^20 x 1 AdaGrad table; each fed by its own client process (bench/shard-client.ts) ` +
      `keeping ${DEPTH} pre-built PUSH_SPARSE frames in flight for ${SECONDS} s. One update = ${ROWS_PER_UPDATE} rows (2 shards: ${ROWS_PER_UPDATE / 2} rows on each). ` +
      `Best of ${REPEATS} alternating runs. oneShardTwoClients: one shard fed by two client processes (each ${ROWS_PER_UPDATE}-row frames): no faster than one client means one client saturates a shard.`,
  };
}

/** Updates/s of `shardCount` shards, each fed by `clientsPerShard` client processes. */
async function measure(shardCount: number, clientsPerShard: number): Promise<number> {
  const token = crypto.randomBytes(16).toString('hex');
  const servers: ParameterServerProcess[] = [];
  try {
    for (let s = 0; s < shardCount; s++) servers.push(await startParameterServer({ token, tables: shardTables([TABLE], s, shardCount) }));
    const rowsPerFrame = ROWS_PER_UPDATE / shardCount;
    const results = await Promise.all(
      servers.flatMap((server, s) =>
        Array.from({ length: clientsPerShard }, () => runClient(server.port, token, rowsPerFrame, shardTables([TABLE], s, shardCount)[0].rows)),
      ),
    );
    const rowsPerSecond = results.reduce((sum, r) => sum + (r.frames * rowsPerFrame) / r.seconds, 0);
    return rowsPerSecond / ROWS_PER_UPDATE;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

function runClient(port: number, token: string, rowsPerFrame: number, tableRows: number): Promise<{ frames: number; seconds: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'shard-client.ts'), String(port), String(rowsPerFrame), String(tableRows), String(DEPTH), String(SECONDS)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(token);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`shard client exited (${code}): ${out}`))));
  });
}
