// AWS credentials typed into VS Code: kept in its SecretStorage (the OS keychain), never in settings.
// The runtime gets them through RuntimeContext.awsCredentials and uses them only for the aws backend;
// without them it uses the AWS SDK's standard chain (environment, profile, SSO, instance role).
// No value is ever logged or shown: only whether credentials are stored.
import * as vscode from 'vscode';
import type { AwsCredentials } from '../runtime/api';
import { readSettings } from './settings';

export const SECRET_KEY = 'cirrus.aws.credentials';

export class AwsCredentialStore implements vscode.Disposable {
  private cached: AwsCredentials | undefined;
  private readonly sub: vscode.Disposable;
  /** Resolves once the stored credentials were read at activation. */
  readonly loaded: Promise<void>;

  constructor(private readonly secrets: vscode.SecretStorage, private readonly log: vscode.LogOutputChannel) {
    this.loaded = this.reload();
    // Another window may set or clear them: the secret storage is shared.
    this.sub = secrets.onDidChange((e) => {
      if (e.key === SECRET_KEY) void this.reload();
    });
  }

  /** What the runtime context carries; read synchronously on every command (RuntimeContext is built sync). */
  current(): AwsCredentials | undefined {
    return this.cached;
  }

  async store(credentials: AwsCredentials): Promise<void> {
    await this.secrets.store(SECRET_KEY, JSON.stringify(credentials));
    this.cached = credentials;
  }

  async clear(): Promise<void> {
    await this.secrets.delete(SECRET_KEY);
    this.cached = undefined;
  }

  dispose(): void {
    this.sub.dispose();
  }

  private async reload(): Promise<void> {
    try {
      const text = await this.secrets.get(SECRET_KEY);
      this.cached = text ? parseCredentials(text) : undefined;
    } catch {
      this.cached = undefined;
      this.log.warn('could not read the AWS credentials from the secret storage; using the standard AWS credential chain');
    }
  }
}

function parseCredentials(text: string): AwsCredentials | undefined {
  const c = JSON.parse(text) as Partial<AwsCredentials>;
  if (typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string') return undefined;
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
}

const notEmpty = (what: string) => (value: string) => (value.trim() === '' ? `Enter the ${what}` : /\s/.test(value.trim()) ? `The ${what} has no spaces` : undefined);

/** `cirrus.setAwsCredentials`: asks for the key id, the secret and an optional session token. */
export async function setAwsCredentials(store: AwsCredentialStore, log: vscode.LogOutputChannel): Promise<boolean> {
  const common = { ignoreFocusOut: true, title: 'Cirrus: Set AWS Credentials' };
  const accessKeyId = await vscode.window.showInputBox({ ...common, prompt: 'AWS access key id', placeHolder: 'AKIA…', validateInput: notEmpty('access key id') });
  if (accessKeyId === undefined) return false;
  const secretAccessKey = await vscode.window.showInputBox({ ...common, prompt: 'AWS secret access key', password: true, validateInput: notEmpty('secret access key') });
  if (secretAccessKey === undefined) return false;
  const sessionToken = await vscode.window.showInputBox({ ...common, prompt: 'Session token (only for temporary credentials; leave empty otherwise)', password: true });
  if (sessionToken === undefined) return false;
  await store.store({ accessKeyId: accessKeyId.trim(), secretAccessKey: secretAccessKey.trim(), ...(sessionToken.trim() ? { sessionToken: sessionToken.trim() } : {}) });
  log.info('AWS credentials saved in the secret storage; the aws backend uses them instead of the standard credential chain');
  const note = readSettings().backend === 'aws' ? '' : ' They apply to runs whose backend is aws.';
  void vscode.window.showInformationMessage(`Cirrus: AWS credentials saved in VS Code's secret storage.${note}`);
  return true;
}

/** `cirrus.clearAwsCredentials`: forgets them; the aws backend falls back to the standard chain. */
export async function clearAwsCredentials(store: AwsCredentialStore, log: vscode.LogOutputChannel): Promise<void> {
  await store.clear();
  log.info('AWS credentials removed from the secret storage; the aws backend uses the standard credential chain');
  void vscode.window.showInformationMessage('Cirrus: AWS credentials cleared; the aws backend now uses the standard AWS credential chain (environment, profile, SSO).');
}
