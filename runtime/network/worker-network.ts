// The network between one run's workers and the services they use, on the local backend with the
// "aws" profile: the proxies that workers are given instead of the services' own addresses. The
// driver keeps talking to the services directly (it stands for the user's machine or a VM next to
// them, and its own traffic is not what a channel comparison measures).
import { startS3Proxy, type S3Proxy } from './s3-proxy';
import { startTcpProxy, type TcpProxy, type TcpUpstream } from './tcp-proxy';
import type { NetworkFigures } from './profile';

export class WorkerNetwork {
  private readonly tcp = new Map<string, Promise<TcpProxy>>();
  private readonly known = new Map<string, TcpUpstream>();
  private closed = false;

  private constructor(readonly figures: NetworkFigures, private readonly s3: S3Proxy) {}

  /** Starts the S3 proxy in front of `s3Endpoint` (the embedded S3). */
  static async open(figures: NetworkFigures, s3Endpoint: string): Promise<WorkerNetwork> {
    return new WorkerNetwork(figures, await startS3Proxy({ upstream: s3Endpoint, figures }));
  }

  /** The S3 endpoint workers use. */
  get s3Endpoint(): string {
    return this.s3.endpoint;
  }

  /** Puts a TCP proxy with the profile's RTT and bandwidth in front of a service ('ps', 'redis'),
   *  once; `upstream` is asked at each connection, so a restarted service on a new port is found. */
  async proxy(name: string, upstream: () => TcpUpstream): Promise<TcpUpstream> {
    if (this.closed) throw new Error('the worker network is closed');
    let started = this.tcp.get(name);
    if (!started) {
      started = startTcpProxy({ upstream, rttMs: this.figures.tcpRttMs, bytesPerSecond: this.figures.tcpBytesPerSecond });
      this.tcp.set(name, started);
    }
    const proxy = await started;
    const address = { host: proxy.host, port: proxy.port };
    this.known.set(name, address);
    return address;
  }

  /** The address workers dial for `name`, once `proxy(name)` has run; undefined otherwise. */
  address(name: string): TcpUpstream | undefined {
    return this.known.get(name);
  }

  /** S3 proxy statistics (requests, 503 SlowDown answers). */
  s3Stats() {
    return this.s3.stats();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const proxies = await Promise.allSettled([...this.tcp.values()]);
    await Promise.allSettled([this.s3.close(), ...proxies.flatMap((p) => (p.status === 'fulfilled' ? [p.value.close()] : []))]);
  }
}
