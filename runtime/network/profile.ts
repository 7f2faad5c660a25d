// The network the local backend's workers see. "loopback" (default): direct connections, as fast as
// this machine. "aws": the figures below, added by proxies in front of the embedded S3 (s3-proxy.ts)
// and in front of the parameter server and Redis (tcp-proxy.ts), so a comparison of channels run
// locally means something. Every figure can be overridden in the run config's `network` object.
// Sources for each default: docs/network.md.

export type NetworkProfileName = 'loopback' | 'aws';

/** What a run config may say: a profile name, or a profile with some figures overridden. */
export type NetworkSetting =
  | NetworkProfileName
  | ({ profile?: NetworkProfileName } & Partial<NetworkFigures>);

export interface NetworkFigures {
  /** Added time to the first byte of every S3 response (ms). */
  s3FirstByteMs: number;
  /** Bandwidth of one connection to S3, each direction (bytes/s). */
  s3BytesPerSecond: number;
  /** Requests per second per prefix before S3 answers 503 SlowDown: GET/HEAD, and PUT/POST/DELETE. */
  s3GetsPerSecondPerPrefix: number;
  s3PutsPerSecondPerPrefix: number;
  /** Round-trip time of a worker's TCP connection to the parameter server or Redis (ms). */
  tcpRttMs: number;
  /** Bandwidth of one worker's TCP connection, each direction (bytes/s). */
  tcpBytesPerSecond: number;
}

/** AWS, one region, workers and services in one availability zone (docs/network.md for each source). */
export const AWS_NETWORK: Readonly<NetworkFigures> = Object.freeze({
  s3FirstByteMs: 30, // S3 performance guide: small requests' median latency "in the tens of milliseconds"
  s3BytesPerSecond: 75e6, // a Lambda function's network: ~600 Mbit/s measured (Boxer), ~70-600 MB/s reported
  s3GetsPerSecondPerPrefix: 5500, // S3: at least 5,500 GET/HEAD per second per partitioned prefix
  s3PutsPerSecondPerPrefix: 3500, // S3: at least 3,500 PUT/COPY/POST/DELETE per second per partitioned prefix
  tcpRttMs: 0.5, // same-AZ round trip: under 1 ms (Boxer measured < 1 ms between Lambdas)
  tcpBytesPerSecond: 75e6, // the same Lambda network figure as S3's
});

export interface ResolvedNetwork {
  profile: NetworkProfileName;
  /** Undefined for loopback: nothing is added. Custom figures on loopback are applied to an AWS base. */
  figures?: NetworkFigures;
}

const FIGURE_NAMES = Object.keys(AWS_NETWORK) as Array<keyof NetworkFigures>;

/** The network a run uses. Overriding a figure without naming a profile means "aws with this change". */
export function resolveNetwork(setting: NetworkSetting | undefined): ResolvedNetwork {
  if (setting === undefined || setting === 'loopback') return { profile: 'loopback' };
  if (setting === 'aws') return { profile: 'aws', figures: { ...AWS_NETWORK } };
  const overrides = FIGURE_NAMES.filter((name) => setting[name] !== undefined);
  if ((setting.profile ?? 'aws') === 'loopback' && overrides.length === 0) return { profile: 'loopback' };
  if (setting.profile === 'loopback') {
    throw new Error(`network: figures (${overrides.join(', ')}) are given with profile "loopback", which adds nothing; use profile "aws"`);
  }
  const figures = { ...AWS_NETWORK };
  for (const name of overrides) {
    const value = setting[name] as number;
    if (!Number.isFinite(value) || value < 0 || (name.includes('PerSecond') && value === 0)) {
      throw new Error(`network.${name}: must be a ${name.includes('PerSecond') ? 'positive' : 'non-negative'} number (got ${value})`);
    }
    figures[name] = value;
  }
  return { profile: 'aws', figures };
}
