// The network between one run's workers and the services they use, on the local backend with the
// "aws" profile: the proxies that workers are given instead of the services' own addresses. They run
// in a child process (proxy-main.ts), so the driver's own work cannot delay forwarded bytes. The
// driver keeps talking to the services directly (it stands for the user's machine or a VM next to
// them, and its own traffic is not what a channel comparison measures).
import { fork, type ChildProcess } from 'node:child_process';
import { distFile } from '../util/paths';
import type { ProxyRequest } from './proxy-main';
import type { S3ProxyStats } from './s3-proxy';
import type { TcpUpstream } from './tcp-proxy';
import type { NetworkFigures } from './profile';

type Answer = { id: number; port?: number; stats?: S3ProxyStats; error?: string };
type Request = ProxyRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

const START_TIMEOUT_MS = 15_000;

export class WorkerNetwork {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  private readonly tcp = new Map<string, { id: number; address: Promise<TcpUpstream>; upstream: () => TcpUpstream; last: string }>();
  private readonly known = new Map<string, TcpUpstream>();
  private s3Id = 0;
  private s3Address = '';
  private closed = false;
  private exited = false;

  private constructor(readonly figures: NetworkFigures, private readonly child: ChildProcess) {
    child.on('message', (answer: Answer) => {
      const waiter = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (answer.error) waiter?.reject(new Error(`worker network: ${answer.error}`));
      else waiter?.resolve(answer);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`worker network proxy process exited (${signal ?? `code ${code}`})`));
      this.pending.clear();
    });
  }

  /** Starts the proxy process and the S3 proxy in front of `s3Endpoint` (the embedded S3). */
  static async open(figures: NetworkFigures, s3Endpoint: string): Promise<WorkerNetwork> {
    const child = fork(distFile('network-proxy.js'), [], { execPath: process.execPath, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const network = new WorkerNetwork(figures, child);
    try {
      const answer = await network.request({ type: 's3', upstream: s3Endpoint, figures }, START_TIMEOUT_MS);
      network.s3Id = answer.id;
      network.s3Address = `http://127.0.0.1:${answer.port}`;
    } catch (error) {
      await network.close();
      throw error;
    }
    // Once running it must not keep the driver's process alive; it exits when the driver goes.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    return network;
  }

  private request(message: Request, timeoutMs = START_TIMEOUT_MS): Promise<Answer> {
    if (this.closed || this.exited) return Promise.reject(new Error('the worker network is closed'));
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker network: no answer to ${message.type} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (answer) => (clearTimeout(timer), resolve(answer)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.child.send({ ...message, id });
    });
  }

  /** The proxy process's id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The S3 endpoint workers use. */
  get s3Endpoint(): string {
    return this.s3Address;
  }

  /** Puts a TCP proxy with the profile's RTT and bandwidth in front of a service ('ps', 'redis'),
   *  once. `upstream` is asked again at each `address(name)` (a restarted service may be on a new port). */
  async proxy(name: string, upstream: () => TcpUpstream): Promise<TcpUpstream> {
    let entry = this.tcp.get(name);
    if (!entry) {
      const target = upstream();
      const id = this.nextId; // the id request() will use: the child names the proxy by it
      const address = this.request({ type: 'tcp', upstream: target, rttMs: this.figures.tcpRttMs, bytesPerSecond: this.figures.tcpBytesPerSecond }).then(
        (answer) => ({ host: '127.0.0.1', port: answer.port! }),
      );
      entry = { id, address, upstream, last: `${target.host}:${target.port}` };
      this.tcp.set(name, entry);
    }
    const address = await entry.address;
    this.known.set(name, address);
    return address;
  }

  /** The address workers dial for `name` (after `proxy(name)`), or undefined. If the service has moved
   *  (restarted on another port), the proxy is pointed at its new address first: the message reaches
   *  the proxy process long before a worker launched after this call can connect. */
  address(name: string): TcpUpstream | undefined {
    const entry = this.tcp.get(name);
    const known = this.known.get(name);
    if (!entry || !known) return undefined;
    const target = entry.upstream();
    const key = `${target.host}:${target.port}`;
    if (key !== entry.last) {
      entry.last = key;
      this.request({ type: 'retarget', proxy: entry.id, upstream: target }).catch(() => undefined);
    }
    return known;
  }

  /** S3 proxy statistics (requests, 503 SlowDown answers). */
  async s3Stats(): Promise<S3ProxyStats> {
    return (await this.request({ type: 'stats', proxy: this.s3Id })).stats!;
  }

  /** Stops the proxy process: its listeners and every connection through it go. Every call
   *  resolves once the process has exited. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      if (this.exited) return;
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      if (this.child.connected) this.child.disconnect();
      else this.child.kill();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    })();
    return this.closing;
  }

  private closing?: Promise<void>;
}
