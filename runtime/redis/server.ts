// A private Redis for one run (the local backend's Redis channel): Debian's `redis-server` on
// 127.0.0.1, a free port, a random password, no persistence, its folder under the run state. The
// password is in a config file readable by this user only (0600), never on a command line, where
// `ps` would show it. On AWS the user gives a Redis URL (ElastiCache) instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export interface LocalRedis {
  host: string;
  port: number;
  password: string;
  /** redis://:PASSWORD@127.0.0.1:PORT, for the clients (workers get it in their event, like the PS token). */
  url: string;
  /** The redis-server process id. */
  pid: number;
  /** Resolves when the server has gone, for whatever reason (stop, crash, killed): with how. */
  exited: Promise<string>;
  /** Stops the server and resolves once it has exited. Nothing is kept: the data was only in memory. */
  stop(): Promise<void>;
}

export interface LocalRedisOptions {
  /** A folder for the config file and Redis's working directory (created; under the run state). */
  dir: string;
  /** The redis-server binary (default: found on PATH, then /usr/bin and /usr/sbin). */
  binary?: string;
}

const START_TIMEOUT_MS = 15_000;

/** The redis-server binary, or undefined when Redis is not installed. */
export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, 'redis-server');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Redis config strings: double-quoted with backslash escapes. */
function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function redisConfig(port: number, password: string, dir: string): string {
  return [
    'bind 127.0.0.1',
    `port ${port}`,
    'protected-mode yes',
    `requirepass ${quote(password)}`,
    // No persistence: the channel's objects live for one step; a run that stops keeps its model elsewhere.
    'save ""',
    'appendonly no',
    `dir ${quote(dir)}`,
    'daemonize no',
    'logfile ""',
    'databases 1',
    '',
  ].join('\n');
}

// The server is started through sh so that it dies with this process even on SIGKILL: sh keeps a
// copy of its stdin (a pipe from us) on fd 3, and a background `cat` that reads it kills the server
// once the pipe closes, which happens when this process exits however it exits. `wait` makes sh
// exit with the server, so a crash is seen.
const WATCHDOG = 'exec 3<&0; "$1" "$2" </dev/null & p=$!; echo "redis-pid $p"; (cat <&3 >/dev/null; kill $p 2>/dev/null) & wait $p';

function launch(binary: string, config: string): Promise<{ child: ChildProcess; pid: number; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', WATCHDOG, 'sh', binary, config], { stdio: ['pipe', 'pipe', 'pipe'] });
    let log = '';
    let pid = -1;
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.stdin?.end();
      child.kill('SIGKILL');
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      reject(new Error(`${error.message}${log.trim() ? `\n${log.trim().split('\n').slice(-5).join('\n')}` : ''}`));
    };
    const onText = (text: string) => {
      log = (log + text).slice(-8000); // the tail, for error messages
      const found = /redis-pid (\d+)/.exec(log);
      if (found) pid = Number(found[1]);
      if (pid > 0 && /Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, pid, log: () => log });
      }
    };
    const onExit = (code: number | null, signal: string | null) => setTimeout(() => fail(new Error(`redis-server exited before it was ready (${signal ?? `code ${code}`})`)), 50);
    child.stdout!.setEncoding('utf8').on('data', onText);
    child.stderr!.setEncoding('utf8').on('data', onText);
    child.on('exit', onExit);
    child.on('error', (error) => fail(new Error(`cannot start redis-server: ${error.message}`)));
  });
}

export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalRedis> {
  const binary = options.binary ?? findRedisServer();
  if (!binary) throw new Error('the Redis channel needs redis-server on this machine: install it (Debian/Ubuntu: apt-get install redis-server), or give a Redis URL');
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const password = randomBytes(24).toString('hex');
  const configFile = path.join(options.dir, 'redis.conf');
  let lastError: Error | undefined;
  // A free port can be taken between finding it and Redis binding it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    fs.rmSync(configFile, { force: true });
    fs.writeFileSync(configFile, redisConfig(port, password, options.dir), { mode: 0o600 });
    let started;
    try {
      started = await launch(binary, configFile);
    } catch (error) {
      lastError = error as Error;
      if (/Address already in use/i.test(lastError.message)) continue;
      throw lastError;
    }
    const { child, pid, log } = started;
    // Keeps the parent free to exit; the watchdog pipe then closes and the server goes with it.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        const tail = log().trim().split('\n').slice(-3).join('\n');
        resolve(`redis-server exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`);
      });
    });
    let stopping: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      port,
      password,
      url: `redis://:${password}@127.0.0.1:${port}`,
      pid,
      exited,
      stop() {
        stopping ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.stdin?.end(); // the watchdog kills the server (SIGTERM); sh exits once it has
            const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
            if (!gone) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                /* gone */
              }
              await exited;
            }
          }
          fs.rmSync(configFile, { force: true });
        })();
        return stopping;
      },
    };
  }
  throw lastError ?? new Error('redis-server could not bind a port');
}
