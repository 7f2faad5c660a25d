// Load test of the parameter server: 64 simulated workers on loopback against the server process,
// each a strict pull -> push loop over a Criteo-sized minibatch (minibatch 20 x ~35 features, hashed
// to a 2^20-row AdaGrad table) with a heartbeat every 500 ms, as real workers do. No connection may be
// lost and every request must be answered; updates/s is recorded.
// 10 s by default; CIRRUS_LOAD_TEST=1 runs the full 60 s (CIRRUS_LOAD_SECONDS overrides).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PsClient } from '../../runtime/ps/client';
import { startParameterServer } from '../../runtime/ps/launch';
import type { ParameterServerStats } from '../../runtime/ps/types';
import { sleep } from '../ps/helpers';
import { buildPsServer } from './helpers';

const WORKERS = 64;
const SECONDS = Number(process.env.CIRRUS_LOAD_SECONDS ?? (process.env.CIRRUS_LOAD_TEST === '1' ? 60 : 10));
const ROWS = 2 ** 20;
const ROWS_PER_STEP = 700;

let script: string;
let cleanup: () => void;
before(async () => ({ script, cleanup } = await buildPsServer()));
after(() => cleanup());

test(`${WORKERS} simulated workers for ${SECONDS} s: no lost connection, every request answered`, { timeout: (SECONDS + 60) * 1000 }, async () => {
  const token = 'load-token-5d2e8f';
  const ps = await startParameterServer(
    { token, tables: [{ name: 'weights', rows: ROWS, width: 1, optimizer: { type: 'adagrad', learningRate: 0.02 } }] },
    { script, log: () => {} },
  );
  let exited = false;
  ps.onExit(() => (exited = true));
  const clients: PsClient[] = [];
  const lost: string[] = [];
  try {
    for (let w = 0; w < WORKERS; w++) {
      const client = await PsClient.connect({ host: '127.0.0.1', port: ps.port, token, workerId: w, generation: 0, requestTimeoutMs: 10_000 });
      client.onClosed((err) => err && lost.push(`worker ${w}: ${err.message}`));
      clients.push(client);
    }
    const monitor = await PsClient.connect({ host: '127.0.0.1', port: ps.port, token, workerId: 0xffffffff, generation: 0 });

    let steps = 0;
    let failures = 0;
    const deadline = Date.now() + SECONDS * 1000;
    const worker = async (client: PsClient, w: number) => {
      // Each step's rows: distinct, sorted, random over the table (seeded per worker).
      let s = (w + 1) * 2654435761;
      const rows = new Uint32Array(ROWS_PER_STEP);
      const grads = new Float32Array(ROWS_PER_STEP);
      const out = new Float32Array(ROWS_PER_STEP);
      let lastBeat = 0;
      while (Date.now() < deadline) {
        for (let i = 0; i < ROWS_PER_STEP; i++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          rows[i] = s % ROWS;
        }
        rows.sort();
        try {
          const weights = await client.pull(0, rows, out);
          for (let i = 0; i < ROWS_PER_STEP; i++) grads[i] = 0.01 * (1 / (1 + Math.exp(-weights[i])) - (i & 1));
          await client.push(0, rows, grads);
          steps++;
          if (Date.now() - lastBeat >= 500) {
            lastBeat = Date.now();
            await client.kvSet(`heartbeat/${w}`, Buffer.from(JSON.stringify({ worker: w, steps, at: lastBeat })));
          }
        } catch {
          failures++;
          return;
        }
      }
    };

    const samples: ParameterServerStats[] = [];
    const started = performance.now();
    const sampling = (async () => {
      while (Date.now() < deadline) {
        await sleep(1000);
        samples.push(await monitor.stats());
      }
    })();
    await Promise.all(clients.map((c, w) => worker(c, w)));
    const seconds = (performance.now() - started) / 1000;
    await sampling;

    assert.equal(exited, false, 'the server process is alive');
    assert.deepEqual(lost, [], 'no connection was lost');
    assert.equal(failures, 0, 'every request was answered');
    for (const s of samples) assert.equal(s.connections, WORKERS + 1, 'every worker stays connected');
    const final = await monitor.stats();
    assert.equal(final.updates, steps, 'the server applied every push');
    assert.equal(final.kvKeys, WORKERS, 'one heartbeat key per worker');
    for (const x of await monitor.pullFull(0)) if (!Number.isFinite(x)) assert.fail(`non-finite weight ${x}`);
    const perSecond = samples.map((s) => s.updatesPerSecond).filter((x) => x > 0);
    const updatesPerSecond = steps / seconds;
    assert.ok(updatesPerSecond > 100, `${updatesPerSecond.toFixed(0)} updates/s`);
    console.log(
      `load: ${WORKERS} workers x ${seconds.toFixed(1)} s on loopback: ${steps.toLocaleString('en-US')} updates (${updatesPerSecond.toFixed(0)}/s, ` +
        `${((updatesPerSecond * ROWS_PER_STEP) / 1e6).toFixed(2)} M rows/s; server window min ${Math.min(...perSecond).toFixed(0)}/s, max ${Math.max(...perSecond).toFixed(0)}/s), ` +
        `0 connections lost, server RSS ${(final.rssBytes / 2 ** 20).toFixed(0)} MB`,
    );
    await monitor.close();
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await ps.stop();
  }
});
