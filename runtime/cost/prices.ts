// The one price table the cost model uses (USD, AWS us-east-1 on-demand list prices, x86).
// Documented in docs/cost-model.md; change them here only.
export const PRICES = {
  /** Lambda compute, per GB-second, billed in 1 ms steps. */
  lambdaPerGBSecond: 0.0000166667,
  /** Lambda requests, per invocation ($0.20 per million). */
  lambdaPerRequest: 0.0000002,
  /** S3 Standard GET/HEAD, per request ($0.0004 per 1,000). */
  s3PerGet: 0.0000004,
  /** S3 Standard PUT/POST/LIST/COPY, per request ($0.005 per 1,000). */
  s3PerPut: 0.000005,
  /** ElastiCache Serverless for Redis OSS, per ECPU ($0.0034 per million): a request of up to 1 KB
   *  takes 1 ECPU, a larger one 1 ECPU per KB transferred (the Redis channel, runtime/channels). */
  redisPerECPU: 0.0000000034,
  /** The parameter server's host: a c6i.large EC2 instance, per hour (2 vCPU, 4 GiB). */
  parameterServerPerHour: 0.085,
  /** EC2 on-demand Linux, per hour, for the parameter server's instance types the plan prices (aws.instanceType). */
  ec2PerHour: {
    't3.small': 0.0208,
    't3.medium': 0.0416,
    't3.large': 0.0832,
    'c6i.large': 0.085,
    'c6i.xlarge': 0.17,
    'c6i.2xlarge': 0.34,
    'c7i.large': 0.08925,
    'c7i.xlarge': 0.1785,
    'm6i.large': 0.096,
    'm6i.xlarge': 0.192,
    'r6i.large': 0.126,
    'r6i.xlarge': 0.252,
  } as Record<string, number>,
  /** A public IPv4 address, per hour (the instance's, which Lambda dials). */
  publicIPv4PerHour: 0.005,
} as const;

export const PRICE_SOURCE = 'AWS public list prices, us-east-1, x86, as of 2026 (see docs/cost-model.md)';
