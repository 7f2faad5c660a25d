// The cost model: billed Lambda GB-seconds (1 ms granularity) and requests, S3 requests, and the
// parameter server's host time. Every figure the product shows in dollars comes from here.
import { PRICES } from './prices';

export interface CostBreakdown {
  lambdaCompute: number;
  lambdaRequests: number;
  s3Requests: number;
  parameterServer: number;
  /** Only when the run used a Redis channel. */
  redisRequests?: number;
}

export class CostMeter {
  gbSeconds = 0;
  invocations = 0;
  s3Gets = 0;
  s3Puts = 0;
  parameterServerSeconds = 0;
  /** The parameter server's host price: the default host, or the run's own EC2 instance type. */
  parameterServerUSDPerHour: number = PRICES.parameterServerPerHour;
  /** ElastiCache Serverless ECPUs of Redis requests (redisECPUs()). */
  redisECPUs = 0;

  /** One finished invocation: billed milliseconds (rounded up to 1 ms) at the configured memory. */
  addInvocation(billedMs: number, memoryMB: number): void {
    this.gbSeconds += billedGBSeconds(billedMs, memoryMB);
    this.invocations++;
  }

  breakdown(): CostBreakdown {
    return {
      lambdaCompute: this.gbSeconds * PRICES.lambdaPerGBSecond,
      lambdaRequests: this.invocations * PRICES.lambdaPerRequest,
      s3Requests: this.s3Gets * PRICES.s3PerGet + this.s3Puts * PRICES.s3PerPut,
      parameterServer: (this.parameterServerSeconds / 3600) * this.parameterServerUSDPerHour,
      ...(this.redisECPUs > 0 ? { redisRequests: this.redisECPUs * PRICES.redisPerECPU } : {}),
    };
  }

  /** Adds what a storage channel's requests cost (S3: per GET/PUT; Redis: per ECPU). */
  addChannelRequests(requests: { gets?: number; puts?: number; ecpus?: number }): void {
    this.s3Gets += requests.gets ?? 0;
    this.s3Puts += requests.puts ?? 0;
    this.redisECPUs += requests.ecpus ?? 0;
  }

  totalUSD(): number {
    return Object.values(this.breakdown()).reduce((a, b) => a + b, 0);
  }
}

/** ECPUs of one Redis request moving `bytes` (ElastiCache Serverless: 1 per request, 1 per KB above that). */
export function redisECPUs(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

export function billedGBSeconds(billedMs: number, memoryMB: number): number {
  return (Math.ceil(billedMs) / 1000) * (memoryMB / 1024);
}

/** What a run of `workers` functions of `memoryMB` for `seconds` (plus the parameter server) costs. */
export function estimateCostUSD(workers: number, memoryMB: number, seconds: number, timeoutSeconds: number, s3Gets: number): CostBreakdown {
  const generations = workers * Math.max(1, Math.ceil(seconds / Math.max(1, timeoutSeconds)));
  return {
    lambdaCompute: billedGBSeconds(seconds * 1000, memoryMB) * workers * PRICES.lambdaPerGBSecond,
    lambdaRequests: generations * PRICES.lambdaPerRequest,
    s3Requests: s3Gets * PRICES.s3PerGet,
    parameterServer: (seconds / 3600) * PRICES.parameterServerPerHour,
  };
}
