// A load generator for the parameter server, called by the benchmarks (bench/ is another module's).
//
// It mimics sparse logistic-regression workers on hashed Criteo-like data: each "worker" loops
// pull(rows) -> (gradient: not computed, it costs the server nothing) -> push(rows, grads), with
// ~4,000 distinct rows per minibatch over a 2^20-row table (minibatch 200 × ~35 features, after the
// hashing collisions and the overlap between samples are taken out). The server runs in its own
// process (as in a real run), the clients share this one.
import { PsClient } from './client';
import { startParameterServer } from './launch';
import { ParameterServer } from './server';
import { makeRunCertificate } from './transport';
import type { OptimizerType } from '../config/run-config';
import type { ParameterServerConfig } from './types';

export interface PsLoadOptions {
  clients: number;
  seconds: number;
  rowsPerPush?: number; // default 4000
  width?: number; // default 1
  rows?: number; // default 2^20
  optimizer?: OptimizerType; // default adagrad (the Cirrus LR setting)
  /** Requests each client keeps in flight (1 = strict pull→push loop; default 1). */
  pipeline?: number;
  /** 'child' (default): the server in its own process from dist/ps-server.js; 'inline': in this process. */
  server?: 'child' | 'inline';
  /** The child's script (default dist/ps-server.js). */
  serverScript?: string;
  /** TLS with a fresh certificate the clients pin, as a run with parameterServer.tls (default plain TCP). */
  tls?: boolean;
}

export interface PsLoadResult {
  updatesPerSecond: number; // pushes applied per second, measured by the clients over the whole run
  pullsPerSecond: number;
  rowUpdatesPerSecond: number;
  megabytesPerSecond: number; // request + reply payload through the server
  serverUpdatesPerSecond?: number; // the server's own sliding-window figure at the end
  clients: number;
  rowsPerPush: number;
  width: number;
  seconds: number;
}

/** `count` distinct random row ids, sorted (the shape of a worker's touched-row set), from a seeded xorshift. */
function randomRows(count: number, rows: number, seed: number): Uint32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const seen = new Set<number>();
  const out = new Uint32Array(Math.min(count, rows));
  let i = 0;
  while (i < out.length) {
    const r = next() % rows;
    if (!seen.has(r)) {
      seen.add(r);
      out[i++] = r;
    }
  }
  return out.sort();
}

export async function runPsLoad(options: PsLoadOptions): Promise<PsLoadResult> {
  const rowsPerPush = options.rowsPerPush ?? 4000;
  const width = options.width ?? 1;
  const rows = options.rows ?? 2 ** 20;
  const pipeline = Math.max(1, options.pipeline ?? 1);
  const token = `load-${process.pid}-${Date.now()}`;
  const certificate = options.tls ? makeRunCertificate() : undefined;
  const config: ParameterServerConfig = {
    token,
    ...(certificate ? { tls: { cert: certificate.cert, key: certificate.key } } : {}),
    tables: [{ name: 'weights', rows, width, optimizer: { type: options.optimizer ?? 'adagrad', learningRate: 0.05 } }],
  };

  let stopServer: () => Promise<void>;
  let port: number;
  let inline: ParameterServer | undefined;
  if (options.server === 'inline') {
    inline = new ParameterServer(config);
    port = (await inline.listen()).port;
    stopServer = () => inline!.close();
  } else {
    const ps = await startParameterServer(config, { script: options.serverScript });
    port = ps.port;
    stopServer = () => ps.stop();
  }

  // A few fixed minibatches per client, made before the clock starts: the loop measures the server.
  const batches = Array.from({ length: options.clients }, (_, c) =>
    Array.from({ length: 4 }, (_, b) => randomRows(rowsPerPush, rows, 1 + c * 16 + b)),
  );
  const grads = new Float32Array(rowsPerPush * width).map((_, i) => ((i % 7) - 3) * 0.01);

  const clients: PsClient[] = [];
  try {
    for (let c = 0; c < options.clients; c++) {
      clients.push(await PsClient.connect({ host: '127.0.0.1', port, token, workerId: c, generation: 0, ...(certificate ? { tls: { fingerprint: certificate.fingerprint } } : {}) }));
    }
    let pushes = 0;
    let pulls = 0;
    let bytes = 0;
    const started = process.hrtime.bigint();
    const deadline = Date.now() + options.seconds * 1000;
    const loop = async (client: PsClient, mine: Uint32Array[], lane: number) => {
      const out = new Float32Array(rowsPerPush * width);
      for (let i = lane; Date.now() < deadline; i++) {
        const ids = mine[i % mine.length];
        await client.pull(0, ids, out);
        await client.push(0, ids, grads.subarray(0, ids.length * width));
        pulls++;
        pushes++;
        bytes += 16 + 4 * ids.length + 9 + 4 * ids.length * width; // pull request + reply
        bytes += 16 + 4 * ids.length + 4 * ids.length * width + 9; // push request + ack
      }
    };
    await Promise.all(clients.flatMap((client, c) => Array.from({ length: pipeline }, (_, lane) => loop(client, batches[c], lane))));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const serverStats = await clients[0].stats();
    return {
      updatesPerSecond: pushes / seconds,
      pullsPerSecond: pulls / seconds,
      rowUpdatesPerSecond: (pushes * rowsPerPush) / seconds,
      megabytesPerSecond: bytes / seconds / 1e6,
      serverUpdatesPerSecond: serverStats.updatesPerSecond,
      clients: options.clients,
      rowsPerPush,
      width,
      seconds,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await stopServer();
  }
}
