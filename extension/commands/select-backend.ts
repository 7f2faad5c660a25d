// Select Backend: local (embedded S3 + Lambda-compatible service) or AWS; for AWS, offers the
// profiles found in the shared config files and checks that a region is set.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AWS_REGIONS } from '../../runtime/api';
import { openSettings } from '../errors';
import { readSettings, SECTION } from '../settings';

/** Profile names in ~/.aws/credentials and ~/.aws/config (or the files the AWS_* variables name). */
export function awsProfiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = os.homedir();
  const files = [env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, '.aws', 'credentials'), env.AWS_CONFIG_FILE ?? path.join(home, '.aws', 'config')];
  const names = new Set<string>();
  for (const file of files) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^\s*\[\s*(?:profile\s+)?([^\]\s]+)\s*\]/gm)) if (!m[1].startsWith('sso-session')) names.add(m[1]);
  }
  return [...names].sort();
}

function target(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

export async function selectBackend(): Promise<string | undefined> {
  const current = readSettings().backend;
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'local', description: current === 'local' ? 'current' : '', detail: 'Embedded S3 server and Lambda-compatible service on this machine: no AWS account, no cost' },
      { label: 'aws', description: current === 'aws' ? 'current' : '', detail: 'Real AWS Lambda and S3, billed to your account (uses cirrus.aws.profile and cirrus.aws.region)' },
    ],
    { title: 'Cirrus: Select Backend' },
  );
  if (!pick) return undefined;
  const config = vscode.workspace.getConfiguration(SECTION);
  await config.update('backend', pick.label, target());
  if (pick.label === 'aws') {
    const profiles = awsProfiles();
    if (profiles.length > 0) {
      const profile = await vscode.window.showQuickPick(profiles, { title: 'AWS profile', placeHolder: readSettings().awsProfile || 'default' });
      if (profile) await config.update('aws.profile', profile, target());
    }
    // No region yet: the picker; dismissed, the reminder with the setting.
    if (!readSettings().awsRegion && !(await selectAwsRegion())) {
      const choice = await vscode.window.showWarningMessage('Set cirrus.aws.region (or a region in your AWS profile) before starting an AWS run.', 'Open Settings');
      if (choice) await openSettings('cirrus.aws.region');
    }
  }
  return pick.label;
}

/** Cirrus: Select AWS Region: the regions by name, or another typed in; saved to cirrus.aws.region. */
export async function selectAwsRegion(): Promise<string | undefined> {
  const current = readSettings().awsRegion;
  const other = { label: 'Other…', description: '', detail: 'Type a region name' };
  const pick = await vscode.window.showQuickPick(
    [...AWS_REGIONS.map((r) => ({ label: r.id, description: r.id === current ? `${r.name} (current)` : r.name, detail: undefined as string | undefined })), other],
    { title: 'Cirrus: Select AWS Region', placeHolder: current || 'the region of Lambda, S3 and the parameter server', matchOnDescription: true },
  );
  if (!pick) return undefined;
  let region = pick.label;
  if (pick === other) {
    const typed = await vscode.window.showInputBox({ title: 'AWS region', value: current, validateInput: (v) => (/^[a-z]{2}(-[a-z]+)+-\d$/.test(v.trim()) ? undefined : 'a region name such as eu-west-1') });
    if (!typed) return undefined;
    region = typed.trim();
  }
  await vscode.workspace.getConfiguration(SECTION).update('aws.region', region, target());
  return region;
}
