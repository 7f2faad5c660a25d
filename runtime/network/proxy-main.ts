// Child-process entry of the worker network's proxies (bundled to dist/network-proxy.js, forked by
// worker-network.ts). Its own process, so the driver's event loop (evaluation, checkpoints) cannot
// delay the bytes it forwards, and sub-millisecond delays stay sub-millisecond.
//
// Protocol (parent -> child, each with an id; the child answers { id, port } / { id, stats } / { id, error }):
//   { type: 's3', upstream, figures }            start an S3 proxy
//   { type: 'tcp', upstream: {host, port}, rttMs, bytesPerSecond }   start a TCP proxy
//   { type: 'retarget', proxy, upstream }        new connections of TCP proxy `proxy` go to `upstream`
//   { type: 'stats', proxy }                     the S3 proxy's counters
import { startS3Proxy, type S3Proxy, type S3ProxyFigures } from './s3-proxy';
import { startTcpProxy, type TcpUpstream } from './tcp-proxy';

export type ProxyRequest =
  | { id: number; type: 's3'; upstream: string; figures: S3ProxyFigures }
  | { id: number; type: 'tcp'; upstream: TcpUpstream; rttMs: number; bytesPerSecond: number }
  | { id: number; type: 'retarget'; proxy: number; upstream: TcpUpstream }
  | { id: number; type: 'stats'; proxy: number };

const s3Proxies = new Map<number, S3Proxy>();
const upstreams = new Map<number, TcpUpstream>();

async function handle(request: ProxyRequest): Promise<object> {
  switch (request.type) {
    case 's3': {
      const proxy = await startS3Proxy({ upstream: request.upstream, figures: request.figures });
      s3Proxies.set(request.id, proxy);
      return { port: proxy.port };
    }
    case 'tcp': {
      upstreams.set(request.id, request.upstream);
      const proxy = await startTcpProxy({ upstream: () => upstreams.get(request.id)!, rttMs: request.rttMs, bytesPerSecond: request.bytesPerSecond });
      return { port: proxy.port };
    }
    case 'retarget':
      upstreams.set(request.proxy, request.upstream);
      return {};
    case 'stats':
      return { stats: s3Proxies.get(request.proxy)?.stats() };
  }
}

process.on('message', (request: ProxyRequest) => {
  handle(request).then(
    (answer) => process.send?.({ id: request.id, ...answer }),
    (error: Error) => process.send?.({ id: request.id, error: error.message }),
  );
});
// The parent went away (or closed the network): nothing here outlives it.
process.on('disconnect', () => process.exit(0));
