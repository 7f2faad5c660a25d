// How Cirrus marks what it creates on AWS: every instance, volume, security group (and its rule) carries
// these tags, so `cirrus aws cleanup` finds them by tag alone, whatever the driver that made them knew.
// The run's S3 objects that only serve the instance live under one prefix per run (s3Prefix), found by listing.

/** Value: the run id. */
export const RUN_TAG = 'cirrus:run';
/** Value: MANAGED_BY. Present on everything Cirrus made, whatever the run. */
export const MANAGED_TAG = 'cirrus:managed-by';
export const MANAGED_BY = 'cirrus-vscode';

export function runTags(runId: string): Array<{ Key: string; Value: string }> {
  return [
    { Key: RUN_TAG, Value: runId },
    { Key: MANAGED_TAG, Value: MANAGED_BY },
    { Key: 'Name', Value: `cirrus-ps-${runId}` },
  ];
}

/** The run's objects that exist only for the parameter server's instance (its bundle and its config). */
export function instanceObjectsPrefix(runId: string): string {
  return `runs/${runId}/aws-ps/`;
}

/** Security group names: unique per VPC, at most 255 characters. */
export function securityGroupName(runId: string, launch: number): string {
  return `cirrus-ps-${runId}${launch > 0 ? `-${launch}` : ''}`.slice(0, 255);
}
