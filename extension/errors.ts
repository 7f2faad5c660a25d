// Errors shown with something to do about them: config problems open the file at the field,
// problems coming from a setting open that setting, anything else offers the log.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { fieldPath, locateField, syntaxErrorPosition, type Position } from './json-locate';
import { SETTING_OF_FIELD } from './settings';

export interface ConfigProblem {
  field: string; // dotted path, '' for the whole file
  message: string;
  line?: number; // 1-based, when the runtime knew it
}

/** Reads the runtime's ConfigError: its `problems` when it has them, else its `file[:line]: field: problem` lines. */
export function configProblems(err: unknown, file?: string): ConfigProblem[] | undefined {
  if (!(err instanceof Error) || err.name !== 'ConfigError') return undefined;
  const structured = (err as Error & { problems?: unknown }).problems;
  if (Array.isArray(structured) && structured.every((p) => p && typeof p === 'object' && 'message' in p)) {
    return (structured as ConfigProblem[]).map((p) => ({ field: normaliseField(p.field ?? ''), message: p.message, ...(p.line ? { line: p.line } : {}) }));
  }
  const out: ConfigProblem[] = [];
  for (let line of err.message.split('\n').map((l) => l.trim()).filter(Boolean)) {
    let lineNo: number | undefined;
    // Strip the `file:` or `file:line:` prefix.
    const at = file && line.startsWith(file) ? /^(?::(\d+))?: /.exec(line.slice(file.length)) : null;
    if (at) {
      lineNo = at[1] ? Number(at[1]) : undefined;
      line = line.slice(file!.length + at[0].length);
    }
    const m = /^([A-Za-z0-9_$.[\]/()-]*|\(top level\)): (.*)$/.exec(line);
    out.push(m ? { field: normaliseField(m[1]), message: m[2], ...(lineNo ? { line: lineNo } : {}) } : { field: '', message: line });
  }
  return out;
}

function normaliseField(field: string): string {
  return field === '(top level)' ? '' : field.replace(/^\//, '').replace(/\//g, '.');
}

export interface ErrorUI {
  log: vscode.LogOutputChannel;
}

/** Shows config problems; "Open File" goes to the first problem's field, "Open Settings" to a setting that supplied a bad value. */
export async function showConfigProblems(ui: ErrorUI, uri: vscode.Uri, text: string, problems: ConfigProblem[], fromSettings: string[] = []): Promise<void> {
  const name = path.basename(uri.fsPath);
  for (const p of problems) ui.log.error(`${uri.fsPath}: ${p.field || '(file)'}: ${p.message}`);
  const settingFields = problems.filter((p) => fromSettings.includes(p.field));
  const actions = ['Open File', ...(settingFields.length ? ['Open Settings'] : []), 'Show Log'];
  const summary = problems.slice(0, 3).map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ');
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
  const choice = await vscode.window.showErrorMessage(`${name} is not a valid run configuration: ${summary}${more}`, ...actions);
  if (choice === 'Open File') {
    const fileProblem = problems.find((p) => !fromSettings.includes(p.field)) ?? problems[0];
    const pos = fileProblem?.line ? { line: fileProblem.line - 1, character: 0 } : locateField(text, fieldPath(fileProblem?.field ?? ''));
    await openAt(uri, pos);
  } else if (choice === 'Open Settings') {
    await openSettings(SETTING_OF_FIELD[settingFields[0].field] ?? 'cirrus');
  } else if (choice === 'Show Log') {
    ui.log.show(true);
  }
}

/** A file that is not JSON at all: show where parsing stopped. */
export async function showSyntaxError(ui: ErrorUI, uri: vscode.Uri, text: string, err: unknown): Promise<void> {
  const msg = err instanceof Error ? err.message : String(err);
  ui.log.error(`${uri.fsPath}: ${msg}`);
  const choice = await vscode.window.showErrorMessage(`${path.basename(uri.fsPath)} is not valid JSON: ${msg}`, 'Open File');
  if (choice === 'Open File') await openAt(uri, syntaxErrorPosition(err, text));
}

export async function openAt(uri: vscode.Uri, pos: Position | undefined): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const at = new vscode.Position(pos?.line ?? 0, pos?.character ?? 0);
  await vscode.window.showTextDocument(doc, { selection: new vscode.Range(at, at) });
}

export function openSettings(query: string): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', query);
}

/** Any other failure; errors about AWS access or a bucket offer the settings that name them. */
export async function showError(ui: ErrorUI, what: string, err: unknown): Promise<void> {
  const msg = err instanceof Error ? err.message : String(err);
  ui.log.error(`${what}: ${err instanceof Error && err.stack ? err.stack : msg}`);
  const setting = settingNamedBy(msg);
  const actions = setting ? ['Open Settings', 'Show Log'] : ['Show Log'];
  const choice = await vscode.window.showErrorMessage(`${what}: ${msg}`, ...actions);
  if (choice === 'Open Settings') await openSettings(setting!);
  else if (choice === 'Show Log') ui.log.show(true);
}

/** The setting an error message most likely points at, if any. */
export function settingNamedBy(message: string): string | undefined {
  if (/credential|profile|AccessDenied|UnrecognizedClient|InvalidAccessKey|ExpiredToken|security token/i.test(message)) return 'cirrus.aws.profile';
  if (/region/i.test(message)) return 'cirrus.aws.region';
  if (/NoSuchBucket|bucket/i.test(message)) return 'cirrus.s3.bucket';
  if (/parameter server|ECONNREFUSED/i.test(message)) return 'cirrus.parameterServer.address';
  if (/state ?dir|EACCES|EROFS/i.test(message)) return 'cirrus.stateDirectory';
  return undefined;
}
