// A TCP proxy that gives each connection through it a round-trip time and a bandwidth per direction:
// what a Lambda worker's connection to a parameter server or Redis in the same AZ would see. The
// protocol inside is untouched, so the worker and server code paths are the ones AWS would run.
import * as net from 'node:net';
import { Forwarder, Link } from './link';

export interface TcpUpstream {
  host: string;
  port: number;
}

export interface TcpProxyOptions {
  /** Where connections go; asked at each new connection (a restarted server may have a new port). */
  upstream: () => TcpUpstream;
  rttMs: number;
  bytesPerSecond: number;
  host?: string; // listen address, default 127.0.0.1
  port?: number; // default: a free port
}

export interface TcpProxy {
  host: string;
  port: number;
  /** Connections open now. */
  connections(): number;
  /** Stops listening and cuts every connection through it. */
  close(): Promise<void>;
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const oneWay = options.rttMs / 2;
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const target = options.upstream();
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
    }
    const toServer = new Forwarder(new Link(options.bytesPerSecond, oneWay), upstream);
    const toClient = new Forwarder(new Link(options.bytesPerSecond, oneWay), client);
    let closed = false;
    // Either side failing or closing ends both, as a real connection would.
    const close = () => {
      if (closed) return;
      closed = true;
      toServer.close();
      toClient.close();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    // Writes to `upstream` before it is connected are queued by Node. A half-close (FIN) travels
    // like data: after the bytes before it.
    toServer.pipe(client, () => upstream.end());
    toClient.pipe(upstream, () => client.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: address.address,
    port: address.port,
    connections: () => sockets.size / 2,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
