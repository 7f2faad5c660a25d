// The run's private Redis, against Debian's real redis-server: started on a free port with a password
// kept off command lines, no persistence, gone after stop or when its parent dies; the client's
// binary round trip, its errors, and Redis traffic through the network proxy.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import { startTcpProxy } from '../../runtime/network/tcp-proxy';
import { connectRedis, redactUrl } from '../../runtime/redis/client';
import { findRedisServer, startLocalRedis, type LocalRedis } from '../../runtime/redis/server';
import { isAlive, tmpDir } from '../data/fixtures';

const binary = findRedisServer();

function needRedis(t: TestContext): boolean {
  if (binary) return true;
  t.skip('redis-server is not installed (Debian/Ubuntu: apt-get install redis-server; .ci/run installs it)');
  return false;
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

async function started(t: TestContext): Promise<LocalRedis> {
  const redis = await startLocalRedis({ dir: path.join(tmpDir('redis'), 'run-1', 'redis') });
  t.after(() => redis.stop());
  return redis;
}

test('a private Redis: password in a 0600 config file only, no persistence, loopback only', async (t) => {
  if (!needRedis(t)) return;
  const redis = await started(t);
  assert.equal(redis.host, '127.0.0.1');
  assert.ok(redis.port > 0 && isAlive(redis.pid));
  assert.match(redis.password, /^[0-9a-f]{48}$/);
  const workDir = fs.readlinkSync(`/proc/${redis.pid}/cwd`); // Linux: Redis chdirs to its `dir`
  assert.match(workDir, /run-1\/redis$/, 'redis-server runs in its folder under the run state');
  const conf = path.join(workDir, 'redis.conf');
  assert.equal(fs.statSync(conf).mode & 0o777, 0o600, 'the config file holding the password is private');
  assert.match(fs.readFileSync(conf, 'utf8'), new RegExp(`requirepass "${redis.password}"`));
  for (const pid of [redis.pid]) {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(redis.password), 'the password is not on the command line');
  }

  const client = await connectRedis(redis.url);
  t.after(() => client.close());
  const config = await client.configGet(['save', 'appendonly', 'bind', 'dir', 'protected-mode']);
  const text = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
  assert.equal(text.save, '');
  assert.equal(text.appendonly, 'no');
  assert.equal(text.bind, '127.0.0.1');
  assert.equal(text.dir, workDir);
  assert.equal(text['protected-mode'], 'yes');

  await assert.rejects(connectRedis(`redis://127.0.0.1:${redis.port}`), /NOAUTH|Authentication required/i, 'no password: refused');
  await assert.rejects(connectRedis(`redis://:wrong@127.0.0.1:${redis.port}`), (error: Error) => {
    assert.match(error.message, /WRONGPASS|invalid password/i);
    assert.ok(!error.message.includes('wrong@'), 'the password is not in the message');
    return true;
  });
  assert.equal(redactUrl(redis.url), `redis://:***@127.0.0.1:${redis.port}`);
});

test('binary values round-trip exactly, and stop leaves no process and no data file', async (t) => {
  if (!needRedis(t)) return;
  const redis = await startLocalRedis({ dir: path.join(tmpDir('redis-stop'), 'redis') });
  const client = await connectRedis(redis.url);
  const gradient = new Float32Array([0.1, -2.5e-8, Math.PI, -0, Number.MAX_VALUE, 1e-45]);
  const bytes = Buffer.from(gradient.buffer);
  await client.set('grad/0', bytes);
  const back = (await client.get('grad/0')) as unknown as Buffer;
  assert.ok(Buffer.isBuffer(back));
  assert.deepEqual(new Float32Array(back.buffer.slice(back.byteOffset, back.byteOffset + back.length)), gradient);
  const big = Buffer.alloc(8_000_000, 0xab);
  await client.set('big', big);
  assert.ok(big.equals((await client.get('big')) as unknown as Buffer));
  client.destroy();
  const dir = fs.readlinkSync(`/proc/${redis.pid}/cwd`);
  await redis.stop();
  assert.equal(isAlive(redis.pid), false, 'redis-server is gone after stop()');
  await redis.stop(); // a second stop is harmless
  assert.deepEqual(fs.readdirSync(dir), [], 'no dump.rdb, no appendonly file, and the config file removed');
});

test('Redis dying mid-run is seen: `exited` says so and commands fail with a clear error instead of hanging', async (t) => {
  if (!needRedis(t)) return;
  const redis = await started(t);
  const client = await connectRedis(redis.url);
  client.on('error', () => undefined);
  await client.set('k', 'v');
  process.kill(redis.pid, 'SIGKILL');
  assert.match(await redis.exited, /redis-server exited/);
  const start = performance.now();
  await assert.rejects(client.get('k'));
  assert.ok(performance.now() - start < 5000, 'the command failed promptly');
  client.destroy();
});

test('redis-server goes away when the process that started it is killed', async (t) => {
  if (!needRedis(t)) return;
  const dir = tmpDir('redis-orphan');
  const script = path.join(dir, 'parent.ts');
  const module = path.resolve(__dirname, '../../runtime/redis/server.ts');
  fs.writeFileSync(
    script,
    `const { startLocalRedis } = require(${JSON.stringify(module)});
     startLocalRedis({ dir: ${JSON.stringify(path.join(dir, 'redis'))} }).then((r) => {
       console.log('PID ' + r.pid);
       setInterval(() => {}, 1000);
     });`,
  );
  const parent = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    parent.stdout.on('data', (d) => {
      out += d;
      const m = /PID (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    parent.on('exit', () => reject(new Error(`parent exited early: ${out}`)));
  });
  assert.ok(isAlive(pid));
  parent.kill('SIGKILL');
  assert.ok(await waitUntil(() => !isAlive(pid), 5000), 'redis-server outlived its parent');
});

test('a missing redis-server binary gives an error that says what to install', async () => {
  await assert.rejects(startLocalRedis({ dir: tmpDir('redis-missing'), binary: '/nonexistent/redis-server' }), /redis-server/);
});

test('Redis through the network proxy: the round trip is added to every command', async (t) => {
  if (!needRedis(t)) return;
  const redis = await started(t);
  const proxy = await startTcpProxy({ upstream: () => ({ host: redis.host, port: redis.port }), rttMs: 10, bytesPerSecond: 1e9 });
  t.after(() => proxy.close());
  const direct = await connectRedis(redis.url);
  const proxied = await connectRedis(`redis://:${redis.password}@127.0.0.1:${proxy.port}`);
  t.after(() => (direct.destroy(), proxied.destroy()));
  const median = async (client: typeof direct) => {
    const times: number[] = [];
    for (let i = 0; i < 11; i++) {
      const start = performance.now();
      await client.ping();
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[5];
  };
  const a = await median(direct);
  const b = await median(proxied);
  console.log(`# PING: direct ${a.toFixed(2)} ms, through a 10 ms proxy ${b.toFixed(2)} ms`);
  assert.ok(b >= 10 && b < 10 + a + 10, `${b} ms`);
});
