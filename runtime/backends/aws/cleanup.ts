// `cirrus aws cleanup [--run ID]`: finds what Cirrus made on AWS by its tags (instances, security groups)
// and its S3 prefix (the instance's bundle and config), whatever driver made it and however that driver
// ended, and removes it. Run data (checkpoints, models, datasets) is never touched.
import { DescribeInstancesCommand, DescribeSecurityGroupsCommand, type DescribeInstancesCommandOutput, type DescribeSecurityGroupsCommandOutput } from '@aws-sdk/client-ec2';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AwsClients } from './execute';
import { executeCalls } from './execute';
import { POLL_SECONDS, type PlannedCall } from './plan';
import { instanceObjectsPrefix, MANAGED_BY, MANAGED_TAG, RUN_TAG } from './tags';

export interface Leftovers {
  instances: Array<{ id: string; state: string; runId?: string }>;
  groups: Array<{ id: string; name: string; runId?: string }>;
  objects: string[];
}

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

function tagFilter(runId: string | undefined) {
  return runId ? { Name: `tag:${RUN_TAG}`, Values: [runId] } : { Name: `tag:${MANAGED_TAG}`, Values: [MANAGED_BY] };
}

function tagValue(tags: Array<{ Key?: string; Value?: string }> | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

export async function findLeftovers(clients: AwsClients, o: { bucket?: string; runId?: string }): Promise<Leftovers> {
  const instances: Leftovers['instances'] = [];
  let token: string | undefined;
  do {
    const filters = [tagFilter(o.runId), { Name: 'instance-state-name', Values: LIVE_STATES }];
    const out: DescribeInstancesCommandOutput = await clients.ec2.send(new DescribeInstancesCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) }));
    for (const r of out.Reservations ?? []) {
      for (const i of r.Instances ?? []) if (i.InstanceId) instances.push({ id: i.InstanceId, state: i.State?.Name ?? '?', runId: tagValue(i.Tags, RUN_TAG) });
    }
    token = out.NextToken;
  } while (token);

  const groups: Leftovers['groups'] = [];
  token = undefined;
  do {
    const out: DescribeSecurityGroupsCommandOutput = await clients.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [tagFilter(o.runId)], ...(token ? { NextToken: token } : {}) }));
    for (const g of out.SecurityGroups ?? []) if (g.GroupId) groups.push({ id: g.GroupId, name: g.GroupName ?? '', runId: tagValue(g.Tags, RUN_TAG) });
    token = out.NextToken;
  } while (token);

  const objects: string[] = [];
  if (o.bucket) {
    // runs/<id>/aws-ps/ only: the instance's code and config. The run's data next to it stays.
    const prefix = o.runId ? instanceObjectsPrefix(o.runId) : 'runs/';
    for await (const page of paginateListObjectsV2({ client: clients.s3 }, { Bucket: o.bucket, Prefix: prefix })) {
      for (const item of page.Contents ?? []) if (item.Key && /^runs\/[^/]+\/aws-ps\//.test(item.Key)) objects.push(item.Key);
    }
  }
  return { instances, groups, objects };
}

export interface CleanupReport extends Leftovers {
  errors: string[];
}

/** Terminates the instances (and waits: their groups cannot go before), deletes the groups and the objects. */
export async function cleanup(
  clients: AwsClients,
  o: { bucket?: string; runId?: string; log?: (line: string) => void; waitSeconds?: number; pollSeconds?: number },
): Promise<CleanupReport> {
  const log = o.log ?? (() => undefined);
  const found = await findLeftovers(clients, o);
  const errors: string[] = [];
  const live = found.instances.filter((i) => i.state !== 'terminated');
  const send = (call: Omit<PlannedCall, 'phase' | 'why'>) =>
    executeCalls(clients, [{ phase: 'end', why: 'cleanup', ...call }], {}, { waitSeconds: o.waitSeconds, pollSeconds: o.pollSeconds }).catch((error: Error & { name?: string }) => {
      if (!/NotFound/.test(error.name ?? '')) errors.push(`${call.operation}: ${error.message}`);
    });
  if (live.length) {
    log(`terminating ${live.map((i) => `${i.id} (run ${i.runId ?? '?'})`).join(', ')}`);
    await send({ service: 'ec2', operation: 'TerminateInstances', input: { InstanceIds: live.map((i) => i.id) } });
    await waitTerminated(clients, live.map((i) => i.id), o.waitSeconds ?? 600, o.pollSeconds ?? POLL_SECONDS).catch((e: Error) => errors.push(e.message));
  }
  for (const g of found.groups) {
    log(`deleting security group ${g.id} (${g.name})`);
    await send({ service: 'ec2', operation: 'DeleteSecurityGroup', input: { GroupId: g.id } });
  }
  if (o.bucket) {
    for (const key of found.objects) {
      log(`deleting s3://${o.bucket}/${key}`);
      await send({ service: 's3', operation: 'DeleteObject', input: { Bucket: o.bucket, Key: key } });
    }
  }
  return { ...found, errors };
}

async function waitTerminated(clients: AwsClients, ids: string[], waitSeconds: number, pollSeconds: number): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const out = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    const states = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name);
    if (states.every((s) => s === 'terminated')) return;
    if (Date.now() > deadline) throw new Error(`instances not terminated after ${waitSeconds} s: ${ids.join(', ')}`);
    await sleep(pollSeconds * 1000);
  }
}
