// The `cirrus.*` settings, read afresh on every call (so a change applies to the next command) and
// watched for changes (so the views that show them update at once).
import * as vscode from 'vscode';
import type { BackendType, RunConfig } from '../runtime/api';

export interface CirrusSettings {
  backend: BackendType;
  awsProfile: string;
  awsRegion: string;
  s3Bucket: string;
  /** MB, or "auto": right-sized from past runs' measured peak (lambda.memoryMB "auto"). */
  workerMemoryMB: number | 'auto';
  workerCount: number;
  parameterServerAddress: string;
  stateDirectory: string;
}

export const SECTION = 'cirrus';

export function readSettings(): CirrusSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  return {
    backend: c.get<BackendType>('backend', 'local'),
    awsProfile: c.get<string>('aws.profile', ''),
    awsRegion: c.get<string>('aws.region', ''),
    s3Bucket: c.get<string>('s3.bucket', ''),
    workerMemoryMB: c.get<number | 'auto'>('worker.memoryMB', 1024),
    workerCount: c.get<number>('worker.count', 4),
    parameterServerAddress: c.get<string>('parameterServer.address', ''),
    stateDirectory: c.get<string>('stateDirectory', ''),
  };
}

/** Calls `listener` whenever a `cirrus.*` setting changes. */
export function onSettingsChanged(listener: (s: CirrusSettings) => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) listener(readSettings());
  });
}

/** Whether the user set `cirrus.<key>` anywhere (as opposed to its default showing through). */
export function isSet(key: string): boolean {
  const i = vscode.workspace.getConfiguration(SECTION).inspect(key);
  return !!i && (i.globalValue !== undefined || i.workspaceValue !== undefined || i.workspaceFolderValue !== undefined);
}

/** Where each setting that can fill a run config lands, so a problem there points back to the setting. */
export const SETTING_OF_FIELD: Record<string, string> = {
  backend: 'cirrus.backend',
  'aws.profile': 'cirrus.aws.profile',
  'aws.region': 'cirrus.aws.region',
  'aws.bucket': 'cirrus.s3.bucket',
  'aws.parameterServerAddress': 'cirrus.parameterServer.address',
  'lambda.memoryMB': 'cirrus.worker.memoryMB',
  'training.workers': 'cirrus.worker.count',
};

/**
 * The run config as written, with the settings filling what the file leaves out (the file wins).
 * Returns the merged JSON and the fields that came from settings.
 */
export function applySettingsDefaults(json: unknown, s: CirrusSettings): { json: unknown; fromSettings: string[] } {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { json, fromSettings: [] };
  const out = structuredClone(json) as Partial<RunConfig> & Record<string, unknown>;
  const fromSettings: string[] = [];
  const fill = (obj: Record<string, unknown>, key: string, value: unknown, field: string) => {
    if (obj[key] === undefined && value !== undefined && value !== '') {
      obj[key] = value;
      fromSettings.push(field);
    }
  };
  fill(out, 'backend', s.backend, 'backend');
  const backend = out.backend ?? s.backend;
  if (backend === 'aws') {
    const aws = (out.aws ??= {}) as Record<string, unknown>;
    fill(aws, 'profile', s.awsProfile, 'aws.profile');
    fill(aws, 'region', s.awsRegion, 'aws.region');
    fill(aws, 'bucket', s.s3Bucket, 'aws.bucket');
    // Lambda workers must dial the parameter server: only the aws backend reads this address.
    fill(aws, 'parameterServerAddress', s.parameterServerAddress.trim(), 'aws.parameterServerAddress');
  }
  // Only values the user chose: the defaults shown in the settings UI are the runtime's own anyway.
  if (isSet('worker.memoryMB')) fill((out.lambda ??= {}) as Record<string, unknown>, 'memoryMB', s.workerMemoryMB, 'lambda.memoryMB');
  if (out.training && typeof out.training === 'object') fill(out.training as Record<string, unknown>, 'workers', s.workerCount, 'training.workers');
  return { json: out, fromSettings };
}
