// `cirrus aws plan|check|cleanup`: what a run does to an AWS account before it runs, whether the caller may
// do it, and removing what Cirrus left (docs/aws.md).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { checkAccess } from '../backends/aws/check';
import { cleanup } from '../backends/aws/cleanup';
import { explainAwsError } from '../backends/aws/errors';
import { createControlClients } from '../backends/aws/execute';
import { formatPlan } from '../backends/aws/format';
import { planAwsRun, type AwsPlan } from '../backends/aws/plan';
import { loadRunConfigFile } from '../config/validate';
import { newRunId } from '../recording/run-folder';
import { createS3Client } from '../storage/s3';
import { UsageError } from './usage';

function planFor(file: string, runId?: string): { plan: AwsPlan; profile?: string } {
  const { resolved } = loadRunConfigFile(path.resolve(file), { checkFiles: false });
  if (resolved.backend !== 'aws') throw new UsageError(`${file}: "backend" is not "aws"`);
  const region = resolved.aws?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError(`${file}: no region. Set "aws.region" (or AWS_REGION)`);
  const bucket = resolved.aws?.bucket;
  if (!bucket) throw new UsageError(`${file}: no bucket. Set "aws.bucket"`);
  return { plan: planAwsRun(resolved, { runId: runId ?? newRunId(resolved.name ?? path.basename(file).replace(/\..*$/, '')), region, bucket }), profile: resolved.aws?.profile };
}

export async function awsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, run: { type: 'string' }, region: { type: 'string' }, bucket: { type: 'string' }, profile: { type: 'string' } },
  });
  const [action, file, ...extra] = positionals;
  if (extra.length) throw new UsageError(`aws ${action}: unexpected ${extra.join(' ')}`);
  if (action === 'plan') {
    if (!file) throw new UsageError('aws plan needs RUN_CONFIG.json');
    const { plan } = planFor(file, values.run);
    process.stdout.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
    return 0;
  }
  if (action === 'check') {
    if (!file) throw new UsageError('aws check needs RUN_CONFIG.json');
    const { plan, profile } = planFor(file, values.run);
    const use = values.profile ?? profile;
    const { ec2, ssm } = createControlClients({ region: plan.region, profile: use });
    try {
      const result = await checkAccess({ plan, ec2, ssm, region: plan.region, profile: use });
      if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else for (const l of result.lines) process.stdout.write(`${l.ok ? 'ok  ' : 'FAIL'} ${l.what}: ${l.detail}\n`);
      if (!values.json) process.stdout.write(result.ok ? 'all permissions the plan needs are there\n' : 'some permissions are missing: docs/aws.md has the minimal policy\n');
      return result.ok ? 0 : 1;
    } finally {
      ec2.destroy();
      ssm.destroy();
    }
  }
  if (action === 'cleanup') {
    // Region, bucket and profile from a run config, or given.
    let region = values.region;
    let bucket = values.bucket;
    let profile = values.profile;
    if (file) {
      const { resolved } = loadRunConfigFile(path.resolve(file), { checkFiles: false });
      region ??= resolved.aws?.region;
      bucket ??= resolved.aws?.bucket;
      profile ??= resolved.aws?.profile;
    }
    region ??= process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('aws cleanup needs a region: --region R, a RUN_CONFIG with aws.region, or AWS_REGION');
    const { ec2, ssm } = createControlClients({ region, profile });
    const s3 = createS3Client({ region, profile });
    try {
      const report = await cleanup({ ec2, ssm, s3 }, { bucket, runId: values.run, log: (line) => !values.json && process.stdout.write(`${line}\n`) }).catch((error) => {
        throw explainAwsError(error, profile);
      });
      if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const n = report.instances.length + report.groups.length + report.objects.length;
        process.stdout.write(n ? `removed ${report.instances.length} instance(s), ${report.groups.length} security group(s), ${report.objects.length} object(s)\n` : `nothing of Cirrus's found${values.run ? ` for run ${values.run}` : ''} in ${region}\n`);
        if (!bucket) process.stdout.write('(no bucket given: S3 objects not looked at; pass --bucket or a RUN_CONFIG)\n');
        for (const e of report.errors) process.stderr.write(`error: ${e}\n`);
      }
      return report.errors.length ? 1 : 0;
    } finally {
      ec2.destroy();
      ssm.destroy();
      s3.destroy();
    }
  }
  throw new UsageError('aws needs one of plan, check, cleanup');
}

