// The local Lambda service's functions: their configuration (validated like AWS does) and their
// code, kept on disk under `<stateDir>/functions/<name>/` so they survive a service restart:
//   function.json        the configuration
//   <sha256-hex>.zip     the uploaded package (served back by GetFunction's Code.Location)
//   <sha256-hex>/        the package unzipped; invocations run from here
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { conflict, entityTooLarge, invalidParameter, notFound, preconditionFailed, validation } from './errors';
import { extractZip, ZipError } from './unzip';

export interface FunctionRecord {
  name: string;
  runtime: string;
  role: string;
  handler: string;
  description: string;
  memorySize: number;
  timeout: number;
  environment: Record<string, string>;
  codeSha256: string; // base64, as AWS reports it
  codeSize: number;
  lastModified: string;
  revisionId: string;
  reservedConcurrency?: number;
  /** PutFunctionEventInvokeConfig: how Event invocations are retried. */
  eventInvokeConfig?: { maximumRetryAttempts?: number; maximumEventAgeSeconds?: number; lastModified: number };
}

// AWS's limits, so a package that deploys locally also deploys to AWS.
export const LIMITS = {
  minMemoryMB: 128,
  maxMemoryMB: 10240,
  minTimeoutS: 1,
  maxTimeoutS: 900,
  zipBytes: 50 * 1024 * 1024, // direct upload
  unzippedBytes: 250 * 1024 * 1024,
  environmentBytes: 4 * 1024,
};

/** Variables Lambda sets itself; AWS refuses a function that tries to set them. */
const RESERVED_ENV = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV', 'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
]);

const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

// The API model's pattern for a function name in a request path (a name, a partial or full ARN, with an
// optional qualifier), as AWS quotes it in its ValidationException; and the same with named groups.
const FUNCTION_NAME_PATTERN = '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?';
const FUNCTION_NAME = /^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}:)?(?:\d{12}:)?(?:function:)?(?<name>[a-zA-Z0-9-_.]+)(?::(?<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$/;
const QUALIFIER_PATTERN = '(|[a-zA-Z0-9$_-]+)';
const QUALIFIER = /^[a-zA-Z0-9$_-]{1,128}$/;

const validationError = (value: string, member: string, pattern: string) =>
  validation(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern}`);

/**
 * A function name as a request gives it (path segment or body): a name, a full or partial ARN
 * (`123456789012:function:name`), each with an optional qualifier, or a `Qualifier` parameter. As on
 * AWS: a value that fails the API's pattern is a ValidationException quoting it as sent; a qualifier
 * other than `$LATEST` (the only version here) is ResourceNotFoundException naming the qualified ARN.
 * `arnOf` makes a function's ARN for those messages.
 */
export function parseFunctionName(raw: string, arnOf: (name: string) => string, qualifierParam?: string | null): string {
  let value = raw;
  try {
    value = decodeURIComponent(raw);
  } catch {
    // not percent-encoded: taken as it is
  }
  const match = value.length <= 170 ? FUNCTION_NAME.exec(value) : null;
  if (!match) throw validationError(value, 'functionName', FUNCTION_NAME_PATTERN);
  if (qualifierParam !== undefined && qualifierParam !== null && !QUALIFIER.test(qualifierParam)) throw validationError(qualifierParam, 'qualifier', QUALIFIER_PATTERN);
  const { name, qualifier: inName } = match.groups as { name: string; qualifier?: string };
  if (inName !== undefined && qualifierParam != null && inName !== qualifierParam) {
    throw invalidParameter('The derived qualifier from the function name does not match the specified qualifier.');
  }
  const qualifier = qualifierParam ?? inName;
  // Names longer than 64 or with dots pass the request pattern but no function can have them.
  if (!NAME_PATTERN.test(name)) throw notFound(`Function not found: ${arnOf(name)}`);
  if (qualifier !== undefined && qualifier !== '$LATEST') throw notFound(`Function not found: ${arnOf(name)}:${qualifier}`);
  return name;
}

/** AWS formats LastModified as `2024-01-31T12:00:00.000+0000`. */
function awsTimestamp(date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

/** The fields CreateFunction and UpdateFunctionConfiguration accept (AWS names). */
export interface ConfigInput {
  Runtime?: unknown;
  Role?: unknown;
  Handler?: unknown;
  Description?: unknown;
  MemorySize?: unknown;
  Timeout?: unknown;
  Environment?: { Variables?: unknown } | unknown;
}

function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(`${field} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)}).`);
  }
  return value;
}

function checkRuntime(value: unknown): string {
  // The runner is Node, so only Node runtimes can run here (they all run on the host's Node).
  if (typeof value !== 'string' || !/^nodejs\d+\.x$/.test(value)) {
    throw invalidParameter(`The runtime parameter of ${String(value)} is not supported by the local Lambda service (use a nodejsNN.x runtime).`);
  }
  return value;
}

function checkHandler(value: unknown): string {
  if (typeof value !== 'string' || !/^[^\s]+\.[A-Za-z_$][\w$]*$/.test(value) || value.length > 128) {
    throw invalidParameter(`Handler must look like file.export, e.g. index.handler (got ${JSON.stringify(value)}).`);
  }
  // The handler's file lies inside the function's own code folder: no absolute path, no `..`.
  const file = value.slice(0, value.lastIndexOf('.'));
  const normal = path.posix.normalize(file);
  if (file.includes('\\') || path.posix.isAbsolute(file) || /^[a-zA-Z]:/.test(file) || normal === '..' || normal.startsWith('../')) {
    throw invalidParameter(`Handler ${JSON.stringify(value)} must name a file inside the function's package.`);
  }
  return value;
}

function checkEnvironment(value: unknown): Record<string, string> {
  const vars = (value as { Variables?: unknown } | undefined)?.Variables ?? {};
  if (typeof vars !== 'object' || vars === null) throw invalidParameter('Environment.Variables must be an object of strings.');
  const out: Record<string, string> = {};
  const reserved: string[] = [];
  let size = 0;
  for (const [key, v] of Object.entries(vars)) {
    if (!/^[a-zA-Z]([a-zA-Z0-9_])+$/.test(key)) throw invalidParameter(`Environment variable name ${key} is not valid: it must match [a-zA-Z]([a-zA-Z0-9_])+.`);
    if (typeof v !== 'string') throw invalidParameter(`Environment variable ${key} must be a string.`);
    if (RESERVED_ENV.has(key)) reserved.push(key);
    size += Buffer.byteLength(key) + Buffer.byteLength(v);
    out[key] = v;
  }
  if (reserved.length > 0) {
    throw invalidParameter(
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}` +
        // Local hint: credentials come from the "execution role", i.e. startLocalLambda({ roleCredentials }).
        (reserved.some((k) => k.startsWith('AWS_ACCESS') || k.startsWith('AWS_SECRET') || k === 'AWS_SESSION_TOKEN')
          ? ' (local service: invocations already get the embedded services\' key pair; pass others as startLocalLambda({ roleCredentials }))'
          : ''),
    );
  }
  if (size > LIMITS.environmentBytes) {
    throw invalidParameter(`Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${size} bytes`);
  }
  return out;
}

export class FunctionStore {
  private readonly functions = new Map<string, FunctionRecord>();
  readonly root: string;

  constructor(stateDir: string, private readonly account: { region: string; accountId: string }) {
    this.root = path.join(stateDir, 'functions');
    fs.mkdirSync(this.root, { recursive: true });
    this.load();
  }

  arn(name: string): string {
    return `arn:aws:lambda:${this.account.region}:${this.account.accountId}:function:${name}`;
  }

  /** parseFunctionName with this account's ARNs in its messages. */
  parseName(raw: string, qualifier?: string | null): string {
    return parseFunctionName(raw, (name) => this.arn(name), qualifier);
  }

  private load(): void {
    for (const entry of fs.readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      try {
        const record = JSON.parse(fs.readFileSync(path.join(this.root, entry.name, 'function.json'), 'utf8')) as FunctionRecord;
        if (fs.existsSync(this.codeDir(record))) this.functions.set(record.name, record);
      } catch { /* a half-written function: ignore it, CreateFunction may write it again */ }
    }
  }

  private save(record: FunctionRecord): void {
    const file = path.join(this.root, record.name, 'function.json');
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2));
    fs.renameSync(`${file}.tmp`, file);
  }

  private static hex(codeSha256: string): string {
    return Buffer.from(codeSha256, 'base64').toString('hex');
  }

  codeDir(record: FunctionRecord): string {
    return path.join(this.root, record.name, FunctionStore.hex(record.codeSha256));
  }

  zipFile(record: FunctionRecord): string {
    return `${this.codeDir(record)}.zip`;
  }

  get(name: string): FunctionRecord {
    const record = this.functions.get(name);
    if (!record) throw notFound(`Function not found: ${this.arn(name)}`);
    return record;
  }

  has(name: string): boolean {
    return this.functions.has(name);
  }

  list(): FunctionRecord[] {
    return [...this.functions.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Decodes, checks and unpacks a package; returns its sha256 (base64) and size. */
  private storeCode(name: string, zipBase64: unknown): { codeSha256: string; codeSize: number } {
    if (typeof zipBase64 !== 'string' || zipBase64.length === 0) {
      throw invalidParameter('The local Lambda service accepts code as Code.ZipFile only (no S3Bucket, ImageUri).');
    }
    const zip = Buffer.from(zipBase64, 'base64');
    if (zip.length > LIMITS.zipBytes) throw entityTooLarge(`Request must be smaller than ${LIMITS.zipBytes} bytes for the CreateFunction operation`);
    const codeSha256 = createHash('sha256').update(zip).digest('base64');
    const dir = path.join(this.root, name, FunctionStore.hex(codeSha256));
    if (!fs.existsSync(dir)) {
      // Unpack beside the final folder, then rename: an invocation never sees half a package, and a
      // failed unpack (extractZip removes its folder) leaves nothing behind.
      const temp = `${dir}.tmp-${randomUUID()}`;
      try {
        extractZip(zip, temp, LIMITS.unzippedBytes);
        fs.writeFileSync(`${dir}.zip`, zip);
        fs.renameSync(temp, dir);
      } catch (error) {
        fs.rmSync(temp, { recursive: true, force: true });
        fs.rmSync(`${dir}.zip`, { force: true });
        if (error instanceof ZipError) {
          throw invalidParameter(
            error.message.startsWith('Unzipped size')
              ? error.message
              : `Could not unzip uploaded file. Please check your file, then try to upload again. (${error.message})`,
          );
        }
        throw error;
      }
    }
    return { codeSha256, codeSize: zip.length };
  }

  /** Removes code folders of `name` other than the current one and those still in use. */
  pruneCode(name: string, inUse: Set<string>): void {
    const record = this.functions.get(name);
    const keep = record ? FunctionStore.hex(record.codeSha256) : undefined;
    const folder = path.join(this.root, name);
    for (const entry of fs.existsSync(folder) ? fs.readdirSync(folder) : []) {
      const base = entry.replace(/\.zip$/, '');
      if (entry === 'function.json' || base === keep || inUse.has(path.join(folder, base))) continue;
      fs.rmSync(path.join(folder, entry), { recursive: true, force: true });
    }
  }

  create(input: ConfigInput & { FunctionName?: unknown; Code?: { ZipFile?: unknown } }): FunctionRecord {
    if (typeof input.FunctionName !== 'string') throw invalidParameter('FunctionName is required.');
    const name = this.parseName(input.FunctionName);
    if (this.functions.has(name)) throw conflict(`Function already exist: ${name}`);
    if (input.Runtime === undefined) throw invalidParameter('Runtime is required for a .zip deployment package.');
    const runtime = checkRuntime(input.Runtime);
    const handler = checkHandler(input.Handler);
    const memorySize = input.MemorySize === undefined ? 128 : checkInteger(input.MemorySize, 'MemorySize', LIMITS.minMemoryMB, LIMITS.maxMemoryMB);
    const timeout = input.Timeout === undefined ? 3 : checkInteger(input.Timeout, 'Timeout', LIMITS.minTimeoutS, LIMITS.maxTimeoutS);
    const environment = checkEnvironment(input.Environment);
    const folder = path.join(this.root, name);
    fs.mkdirSync(folder, { recursive: true });
    let code: { codeSha256: string; codeSize: number };
    try {
      code = this.storeCode(name, input.Code?.ZipFile);
    } catch (error) {
      if (!this.functions.has(name)) fs.rmSync(folder, { recursive: true, force: true }); // nothing left of a failed create
      throw error;
    }
    const record: FunctionRecord = {
      name,
      runtime,
      role: typeof input.Role === 'string' ? input.Role : `arn:aws:iam::${this.account.accountId}:role/local-lambda`,
      handler,
      description: typeof input.Description === 'string' ? input.Description : '',
      memorySize,
      timeout,
      environment,
      ...code,
      lastModified: awsTimestamp(),
      revisionId: randomUUID(),
    };
    this.functions.set(name, record);
    this.save(record);
    return record;
  }

  private checkRevision(record: FunctionRecord, revisionId: unknown): void {
    if (revisionId !== undefined && revisionId !== record.revisionId) {
      throw preconditionFailed('The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id');
    }
  }

  updateCode(name: string, input: { ZipFile?: unknown; RevisionId?: unknown; DryRun?: unknown }): FunctionRecord {
    const record = this.get(name);
    this.checkRevision(record, input.RevisionId);
    const code = this.storeCode(name, input.ZipFile);
    if (input.DryRun === true) return { ...record, ...code };
    Object.assign(record, code, { lastModified: awsTimestamp(), revisionId: randomUUID() });
    this.save(record);
    return record;
  }

  updateConfiguration(name: string, input: ConfigInput & { RevisionId?: unknown }): FunctionRecord {
    const record = this.get(name);
    this.checkRevision(record, input.RevisionId);
    // Validate everything before changing anything.
    const next: FunctionRecord = { ...record };
    if (input.Runtime !== undefined) next.runtime = checkRuntime(input.Runtime);
    if (input.Handler !== undefined) next.handler = checkHandler(input.Handler);
    if (input.MemorySize !== undefined) next.memorySize = checkInteger(input.MemorySize, 'MemorySize', LIMITS.minMemoryMB, LIMITS.maxMemoryMB);
    if (input.Timeout !== undefined) next.timeout = checkInteger(input.Timeout, 'Timeout', LIMITS.minTimeoutS, LIMITS.maxTimeoutS);
    if (input.Environment !== undefined) next.environment = checkEnvironment(input.Environment);
    if (typeof input.Description === 'string') next.description = input.Description;
    if (typeof input.Role === 'string') next.role = input.Role;
    Object.assign(record, next, { lastModified: awsTimestamp(), revisionId: randomUUID() });
    this.save(record);
    return record;
  }

  setReservedConcurrency(name: string, value: number | undefined): FunctionRecord {
    const record = this.get(name);
    record.reservedConcurrency = value;
    this.save(record);
    return record;
  }

  /** Put (replace) or update (merge) the asynchronous-invocation settings, checked like AWS. */
  setEventInvokeConfig(name: string, input: { MaximumRetryAttempts?: unknown; MaximumEventAgeInSeconds?: unknown } | undefined, merge = false): FunctionRecord {
    const record = this.get(name);
    if (input === undefined) {
      delete record.eventInvokeConfig;
    } else {
      const base: Partial<NonNullable<FunctionRecord['eventInvokeConfig']>> = merge ? record.eventInvokeConfig ?? {} : {};
      record.eventInvokeConfig = {
        maximumRetryAttempts:
          input.MaximumRetryAttempts === undefined ? base.maximumRetryAttempts : checkInteger(input.MaximumRetryAttempts, 'MaximumRetryAttempts', 0, 2),
        maximumEventAgeSeconds:
          input.MaximumEventAgeInSeconds === undefined ? base.maximumEventAgeSeconds : checkInteger(input.MaximumEventAgeInSeconds, 'MaximumEventAgeInSeconds', 60, 21600),
        lastModified: Date.now() / 1000,
      };
    }
    this.save(record);
    return record;
  }

  eventInvokeConfiguration(record: FunctionRecord): Record<string, unknown> {
    const config = record.eventInvokeConfig;
    if (!config) throw notFound(`The function ${this.arn(record.name)} doesn't have an EventInvokeConfig`);
    return {
      FunctionArn: `${this.arn(record.name)}:$LATEST`,
      LastModified: config.lastModified,
      ...(config.maximumRetryAttempts !== undefined ? { MaximumRetryAttempts: config.maximumRetryAttempts } : {}),
      ...(config.maximumEventAgeSeconds !== undefined ? { MaximumEventAgeInSeconds: config.maximumEventAgeSeconds } : {}),
      DestinationConfig: { OnSuccess: {}, OnFailure: {} },
    };
  }

  delete(name: string): void {
    this.get(name);
    this.functions.delete(name);
    // Running invocations have already loaded their code; removing the files does not disturb them.
    fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
  }

  /** The FunctionConfiguration object of the Lambda API. */
  configuration(record: FunctionRecord): Record<string, unknown> {
    return {
      FunctionName: record.name,
      FunctionArn: this.arn(record.name),
      Runtime: record.runtime,
      Role: record.role,
      Handler: record.handler,
      CodeSize: record.codeSize,
      Description: record.description,
      Timeout: record.timeout,
      MemorySize: record.memorySize,
      LastModified: record.lastModified,
      CodeSha256: record.codeSha256,
      Version: '$LATEST',
      Environment: { Variables: record.environment },
      TracingConfig: { Mode: 'PassThrough' },
      RevisionId: record.revisionId,
      // Local changes apply at once, so a function is always Active and its last update Successful
      // (the SDK's waiters return on their first check).
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Zip',
      Architectures: [process.arch === 'arm64' ? 'arm64' : 'x86_64'],
      EphemeralStorage: { Size: 512 },
    };
  }
}
