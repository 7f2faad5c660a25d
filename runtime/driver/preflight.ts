// Pre-flight: everything that would make a run fail that can be known before it starts, found at
// once, so no failed run is created by a mistake that could have been caught (issue 14). In order:
//   - every schema problem (not just the first) and, when the schema holds, every cross-field problem;
//   - local data files that do not exist;
//   - a deployed (s3://) dataset without a manifest (local backend: the embedded S3; AWS: its bucket);
//   - on AWS: the region (set, well formed), the bucket, the parameter server's address when given, and credentials
//     the SDK's chain can find (explicit ones, the environment, the profile, SSO, an instance role).
// Problems are ConfigProblems (field + message, with the config's line when the text is given), thrown
// together as one ConfigError; the VS Code side shows them at their fields, the CLI prints them.
import * as path from 'node:path';
import { checkRunConfig, attachLines, missingDataFiles } from '../config/validate';
import { ConfigError, type ConfigProblem } from '../config/problems';
import type { ResolvedRunConfig, RunConfig } from '../config/run-config';
import { localBackend, parseHostPort, type AwsCredentials } from '../backends/backend';
import { readManifest } from '../data/catalog';
import { createS3Client, parseS3Url, type StorageTarget } from '../storage/s3';

export interface PreflightOptions {
  /** The config file: names it in errors, and relative data paths are relative to its folder. */
  file?: string;
  /** The file's text, so problems carry line numbers. */
  text?: string;
  /** The state folder (the local backend's embedded S3, where an s3:// dataset is looked up). */
  stateDir: string;
  /** Explicit AWS credentials (VS Code's secret storage); absent: the SDK's standard chain. */
  awsCredentials?: AwsCredentials;
  /** How long the AWS credential chain and the dataset lookup may take (ms; default 5 s). */
  timeoutMs?: number;
}

export interface PreflightResult {
  config: RunConfig;
  resolved: ResolvedRunConfig;
  warnings: ConfigProblem[];
}

/** AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function withTimeout<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

/** Checks a run config as parsed JSON (settings already merged in); throws one ConfigError listing every problem found. */
export async function preflightRun(json: unknown, opts: PreflightOptions): Promise<PreflightResult> {
  const problems: ConfigProblem[] = [];
  const timeoutMs = opts.timeoutMs ?? 5000;
  let checked: PreflightResult | undefined;
  try {
    checked = checkRunConfig(json, opts.file, opts.text);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  // The rest reads the JSON directly, so a config with schema problems still gets its files and AWS checked.
  const config = obj(json);
  const dataset = obj(config.dataset);
  const baseDir = opts.file ? path.dirname(path.resolve(opts.file)) : process.cwd();
  const datasetPath = str(dataset.path);
  const files = { path: datasetPath, ...(str(dataset.testPath) ? { testPath: str(dataset.testPath) } : {}) };
  if (datasetPath) problems.push(...missingDataFiles({ dataset: files } as RunConfig, baseDir));

  const aws = obj(config.aws);
  const onAws = config.backend === 'aws';
  const region = str(aws.region) ?? str(process.env.AWS_REGION) ?? str(process.env.AWS_DEFAULT_REGION);
  const bucket = str(aws.bucket);
  if (onAws) {
    if (!region) problems.push({ field: 'aws.region', message: 'is required for the aws backend (the cirrus.aws.region setting or AWS_REGION also give it)' });
    else if (!REGION.test(region)) problems.push({ field: 'aws.region', message: `"${region}" is not an AWS region name (like "us-east-1")` });
    if (!bucket) problems.push({ field: 'aws.bucket', message: 'is required for the aws backend (the cirrus.s3.bucket setting also gives it)' });
    // Without an address the driver starts the run's own parameter server on EC2 (docs/aws.md).
    const address = str(aws.parameterServerAddress);
    if (address) {
      try {
        parseHostPort(address, 'aws.parameterServerAddress');
      } catch (error) {
        problems.push({ field: 'aws.parameterServerAddress', message: reason(error).replace(/^aws\.parameterServerAddress: /, '') });
      }
    }
  }

  // Reaching S3 (credentials, the dataset's manifest) only when the settings that name it are sound.
  const s3Dataset = datasetPath?.startsWith('s3://') ? datasetPath : undefined;
  if (onAws && region && REGION.test(region)) {
    const target: StorageTarget = { region, credentials: opts.awsCredentials && { ...opts.awsCredentials }, profile: opts.awsCredentials ? undefined : str(aws.profile) };
    const client = createS3Client(target);
    try {
      let haveCredentials = true;
      try {
        const found = await withTimeout('looking up AWS credentials', client.config.credentials(), timeoutMs);
        if (!found?.accessKeyId) throw new Error('the credential chain returned none');
      } catch (error) {
        haveCredentials = false;
        const profile = target.profile ? ` (profile "${target.profile}")` : '';
        problems.push({
          // At the profile: the setting (or field) that names where credentials come from.
          field: 'aws.profile',
          message: `no AWS credentials found${profile}: ${reason(error)}. Run "Cirrus: Set AWS Credentials", set cirrus.aws.profile, or sign in with the AWS CLI`,
        });
      }
      if (haveCredentials && s3Dataset) problems.push(...(await manifestProblem(s3Dataset, (b, p) => readManifest(client, b, p), timeoutMs)));
    } finally {
      client.destroy();
    }
  } else if (!onAws && s3Dataset && checked) {
    const backend = await localBackend(opts.stateDir);
    problems.push(...(await manifestProblem(s3Dataset, (b, p) => (b === backend.bucket ? readManifest(backend.s3, b, p) : Promise.resolve(undefined)), timeoutMs, backend.bucket)));
  }

  if (problems.length > 0) throw new ConfigError(opts.file, opts.text !== undefined ? attachLines(problems, opts.text) : problems);
  return checked!;
}

/** A problem when the s3:// dataset has no manifest (never deployed, deleted, or the wrong prefix). */
async function manifestProblem(url: string, read: (bucket: string, prefix: string) => Promise<unknown>, timeoutMs: number, localBucket?: string): Promise<ConfigProblem[]> {
  let bucket: string;
  let prefix: string;
  try {
    ({ bucket, prefix } = parseS3Url(url));
  } catch (error) {
    return [{ field: 'dataset.path', message: reason(error) }];
  }
  if (localBucket && bucket !== localBucket) {
    return [{ field: 'dataset.path', message: `${url} is not in the local backend's bucket "${localBucket}": deploy the file locally, or set "backend": "aws"` }];
  }
  try {
    if (await withTimeout(`reading ${url}/manifest.json`, read(bucket, prefix), timeoutMs)) return [];
    return [{ field: 'dataset.path', message: `${url} holds no deployed dataset (no manifest.json): deploy the file first (Deploy Dataset to S3), or point at a local file` }];
  } catch (error) {
    return [{ field: 'dataset.path', message: `${url} could not be read: ${reason(error)}` }];
  }
}
