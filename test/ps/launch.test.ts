// The parameter server as a child process: the bundle, the IPC handshake, stats, clean stop.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { PsClient } from '../../runtime/ps/client';
import { startParameterServer } from '../../runtime/ps/launch';
import { runPsLoad } from '../../runtime/ps/load';
import type { ParameterServerConfig, ParameterServerStats } from '../../runtime/ps/types';
import { sleep } from './helpers';
import { processAlive } from '../../runtime/util/process-alive';

// The bundle is built here from the current sources, with the options scripts/build.mjs uses for
// dist/ps-server.js, so this test never runs a stale dist/ (and does not depend on other bundles building).
let tmp: string;
let script: string;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-ps-'));
  script = path.join(tmp, 'ps-server.js');
  const root = path.resolve(__dirname, '..', '..');
  await esbuild.build({
    entryPoints: [path.join(root, 'runtime/ps/server-main.ts')],
    outfile: script,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    bundle: true,
    logLevel: 'warning',
  });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TOKEN = 'launch-secret-6b1f0c';
const config: ParameterServerConfig = { token: TOKEN, tables: [{ name: 'w', rows: 1024, width: 2, optimizer: { type: 'adagrad', learningRate: 0.1 } }] };


test('startParameterServer: port over IPC, token never on the command line, stats every second, stop leaves no process', async () => {
  const ps = await startParameterServer(config, { script });
  assert.equal(ps.host, '127.0.0.1');
  assert.ok(ps.port > 0);
  assert.ok(processAlive(ps.pid));
  if (fs.existsSync(`/proc/${ps.pid}/cmdline`)) {
    assert.ok(!fs.readFileSync(`/proc/${ps.pid}/cmdline`, 'utf8').includes(TOKEN), 'the token must not be on argv');
  }
  const seen: ParameterServerStats[] = [];
  ps.onStats((s) => seen.push(s));
  let exitCode: number | null | undefined;
  ps.onExit((code) => (exitCode = code));

  const c = await PsClient.connect({ host: ps.host, port: ps.port, token: TOKEN, workerId: 1, generation: 0 });
  await c.push(0, Uint32Array.of(1, 2), Float32Array.of(1, 1, 1, 1));
  await c.push(0, Uint32Array.of(3), Float32Array.of(1, 1));
  const deadline = Date.now() + 5000;
  while (!(seen.at(-1)?.updates === 2) && Date.now() < deadline) await sleep(50);
  const last = seen.at(-1)!;
  assert.equal(last.updates, 2);
  assert.equal(last.rowUpdates, 3);
  assert.equal(last.connections, 1);
  assert.ok(last.updatesPerSecond > 0);
  assert.equal(ps.lastStats?.updates, 2);

  const closed = c.closed;
  await ps.stop();
  assert.equal(exitCode, 0);
  assert.equal(processAlive(ps.pid), false, 'no process left');
  assert.ok((await closed) instanceof Error, 'clients see the connection drop');
  await ps.stop(); // idempotent
});

test('the child exits when its parent lets go of the IPC channel', async () => {
  const child = fork(script, [], { execArgv: [], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const port = await new Promise<number>((resolve) => {
    child.on('message', (m: { type: string; port: number }) => m.type === 'ready' && resolve(m.port));
    child.send({ type: 'start', config });
  });
  assert.ok(port > 0);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.disconnect();
  assert.equal(await exited, 0);
});

test('a bad config fails the launch with the reason', async () => {
  await assert.rejects(startParameterServer({ token: 'x', tables: [] }, { script }), /at least one table/);
  await assert.rejects(
    startParameterServer({ ...config, tables: [{ name: 'w', rows: 0, width: 1, optimizer: { type: 'sgd', learningRate: 1 } }] }, { script }),
    /rows must be a positive integer/,
  );
});

test('runPsLoad drives a child server (and an inline one) and reports updates per second', async () => {
  for (const server of ['child', 'inline'] as const) {
    const r = await runPsLoad({ clients: 2, seconds: 1, rowsPerPush: 4000, width: 1, server, serverScript: script });
    assert.ok(r.updatesPerSecond > 50, `${server}: updates/s ${r.updatesPerSecond}`);
    assert.ok(r.serverUpdatesPerSecond! > 0);
  }
});
