// A fake `vscode` module for testing the extension's host adapters in plain Node. It implements only
// what extension/ uses, records what the extension shows, and lets a test answer prompts.
// Importing this file installs it: `require('vscode')` anywhere then returns this module.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Module from 'node:module';

// ---- the require hook -------------------------------------------------------------------------
const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const originalResolve = M._resolveFilename;
M._resolveFilename = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? __filename : originalResolve.call(this, request, ...rest);
};

// ---- basic types ------------------------------------------------------------------------------
export class Disposable {
  constructor(private readonly fn: () => void = () => {}) {}
  static from(...ds: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => ds.forEach((d) => d.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

export type Event<T> = (listener: (e: T) => unknown) => Disposable;

export class EventEmitter<T> {
  private listeners = new Set<(e: T) => unknown>();
  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class Uri {
  private constructor(readonly scheme: string, readonly path: string) {}
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p));
  }
  static parse(s: string): Uri {
    const m = /^([a-z-]+):\/\/[^/]*(.*)$/.exec(s);
    return m ? new Uri(m[1], m[2]) : new Uri('file', s);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.posix.join(base.path, ...parts));
  }
  get fsPath(): string {
    return this.path;
  }
  with(change: { scheme?: string; path?: string }): Uri {
    return new Uri(change.scheme ?? this.scheme, change.path ?? this.path);
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export class Position {
  constructor(readonly line: number, readonly character: number) {}
}
export class Range {
  constructor(readonly start: Position, readonly end: Position) {}
}

export enum TreeItemCollapsibleState { None = 0, Collapsed = 1, Expanded = 2 }
export enum StatusBarAlignment { Left = 1, Right = 2 }
export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }
export enum ViewColumn { Active = -1, Beside = -2, One = 1 }
export enum ConfigurationTarget { Global = 1, Workspace = 2, WorkspaceFolder = 3 }

export class ThemeIcon {
  constructor(readonly id: string) {}
}

export class MarkdownString {
  value: string;
  constructor(value = '', readonly supportThemeIcons = false) {
    this.value = value;
  }
  appendMarkdown(s: string): this {
    this.value += s;
    return this;
  }
}

export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: string | MarkdownString;
  iconPath?: ThemeIcon;
  contextValue?: string;
  command?: { command: string; title: string; arguments?: unknown[] };
  constructor(readonly label: string, readonly collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None) {}
}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  readonly token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
  cancel(): void {
    if (this.token.isCancellationRequested) return;
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
  dispose(): void {
    this.emitter.dispose();
  }
}

// ---- what the tests look at and steer -----------------------------------------------------------
export interface Shown {
  kind: 'info' | 'warning' | 'error';
  message: string;
  options?: { modal?: boolean; detail?: string };
  actions: string[];
}

/** A prompt answerer: gets the kind of prompt and what it showed, returns the user's answer (undefined = dismissed). */
export type Answer = (kind: 'info' | 'warning' | 'error' | 'quickPick' | 'inputBox' | 'openDialog' | 'saveDialog', shown: unknown) => unknown;

export const fake = {
  messages: [] as Shown[],
  executed: [] as Array<{ command: string; args: unknown[] }>,
  progress: [] as Array<{ title?: string; reports: Array<{ message?: string; increment?: number }>; source: CancellationTokenSource }>,
  logLines: [] as Array<{ level: string; message: string }>,
  statusBarItems: [] as StatusBarItem[],
  treeViews: new Map<string, { treeDataProvider: unknown; canSelectMany?: boolean }>(),
  panels: [] as FakeWebviewPanel[],
  serializers: new Map<string, { deserializeWebviewPanel(panel: unknown, state: unknown): Thenable<void> }>(),
  openedDocuments: [] as Array<{ uri: Uri; selection?: Range }>,
  answer: (() => undefined) as Answer,
  configValues: new Map<string, unknown>(),
  findFilesResult: [] as Uri[],
  clipboard: '',
  workspaceFolders: undefined as Array<{ uri: Uri; name: string; index: number }> | undefined,
  reset(): void {
    this.messages.length = 0;
    this.executed.length = 0;
    this.progress.length = 0;
    this.logLines.length = 0;
    this.statusBarItems.length = 0;
    this.treeViews.clear();
    this.panels.length = 0;
    this.serializers.clear();
    this.openedDocuments.length = 0;
    this.answer = () => undefined;
    this.configValues.clear();
    this.findFilesResult = [];
    this.clipboard = '';
    this.workspaceFolders = undefined;
    registry.clear();
    window.activeTextEditor = undefined;
  },
};

// ---- commands -----------------------------------------------------------------------------------
const registry = new Map<string, (...args: unknown[]) => unknown>();
export const commands = {
  registerCommand(id: string, fn: (...args: unknown[]) => unknown): Disposable {
    if (registry.has(id)) throw new Error(`command '${id}' already exists`);
    registry.set(id, fn);
    return new Disposable(() => registry.delete(id));
  },
  async executeCommand<T>(id: string, ...args: unknown[]): Promise<T> {
    fake.executed.push({ command: id, args });
    const fn = registry.get(id);
    return (fn ? await fn(...args) : undefined) as T;
  },
  async getCommands(): Promise<string[]> {
    return [...registry.keys()];
  },
};

// ---- window -------------------------------------------------------------------------------------
export class StatusBarItem {
  text = '';
  tooltip?: string;
  name?: string;
  command?: { command: string; arguments?: unknown[] };
  visible = false;
  constructor(readonly id: string) {}
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  dispose(): void {
    this.visible = false;
  }
}

export class FakeWebview {
  html = '';
  options: unknown;
  readonly cspSource = 'https://fake.vscode-cdn.net';
  readonly posted: unknown[] = [];
  readonly received = new EventEmitter<unknown>();
  readonly onDidReceiveMessage = this.received.event;
  asWebviewUri(uri: Uri): Uri {
    return uri.with({ scheme: 'https' });
  }
  async postMessage(m: unknown): Promise<boolean> {
    this.posted.push(m);
    return true;
  }
}

export class FakeWebviewPanel {
  readonly webview = new FakeWebview();
  private readonly disposed = new EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;
  revealed = 0;
  viewColumn: number | undefined;
  requestedColumn: number | undefined;
  constructor(readonly viewType: string, public title: string) {}
  reveal(): void {
    this.revealed++;
  }
  dispose(): void {
    this.disposed.fire();
  }
}

function logChannel(name: string) {
  const line = (level: string) => (message: string) => fake.logLines.push({ level, message });
  return { name, info: line('info'), warn: line('warn'), error: line('error'), debug: line('debug'), trace: line('trace'), appendLine: line('info'), show() {}, dispose() {} };
}

const show = (kind: Shown['kind']) => async (message: string, ...rest: unknown[]) => {
  const options = rest[0] && typeof rest[0] === 'object' ? (rest.shift() as Shown['options']) : undefined;
  const shown: Shown = { kind, message, options, actions: rest as string[] };
  fake.messages.push(shown);
  return fake.answer(kind, shown);
};

export const window = {
  activeTextEditor: undefined as undefined | { document: { uri: Uri } },
  createOutputChannel(name: string, _options?: { log: true }) {
    return logChannel(name);
  },
  createStatusBarItem(id: string) {
    const item = new StatusBarItem(id);
    fake.statusBarItems.push(item);
    return item;
  },
  createTreeView(id: string, options: { treeDataProvider: unknown; canSelectMany?: boolean }) {
    fake.treeViews.set(id, options);
    return new Disposable();
  },
  showInformationMessage: show('info'),
  showWarningMessage: show('warning'),
  showErrorMessage: show('error'),
  async showQuickPick(items: unknown, options?: unknown) {
    return fake.answer('quickPick', { items: await items, options });
  },
  async showInputBox(options?: { validateInput?: (v: string) => unknown }) {
    return fake.answer('inputBox', options);
  },
  async showOpenDialog(options?: unknown) {
    return fake.answer('openDialog', options);
  },
  async showSaveDialog(options?: unknown) {
    return fake.answer('saveDialog', options);
  },
  async withProgress<R>(options: { title?: string }, task: (progress: { report(v: { message?: string; increment?: number }): void }, token: CancellationTokenSource['token']) => Thenable<R>): Promise<R> {
    const record = { title: options.title, reports: [] as Array<{ message?: string; increment?: number }>, source: new CancellationTokenSource() };
    fake.progress.push(record);
    return task({ report: (v) => record.reports.push(v) }, record.source.token);
  },
  createWebviewPanel(viewType: string, title: string, show?: { viewColumn?: ViewColumn }) {
    const panel = new FakeWebviewPanel(viewType, title);
    // As VS Code resolves it: Beside opens a second group (2); a given column is kept.
    panel.requestedColumn = show?.viewColumn;
    panel.viewColumn = show?.viewColumn === ViewColumn.Beside ? 2 : show?.viewColumn;
    fake.panels.push(panel);
    return panel;
  },
  registerWebviewPanelSerializer(viewType: string, serializer: { deserializeWebviewPanel(panel: unknown, state: unknown): Thenable<void> }) {
    fake.serializers.set(viewType, serializer);
    return new Disposable(() => fake.serializers.delete(viewType));
  },
  async showTextDocument(doc: { uri: Uri }, options?: { selection?: Range }) {
    fake.openedDocuments.push({ uri: doc.uri, selection: options?.selection });
    return { document: doc };
  },
};

// ---- env --------------------------------------------------------------------------------------
export const env = {
  clipboard: {
    async writeText(text: string): Promise<void> {
      fake.clipboard = text;
    },
    async readText(): Promise<string> {
      return fake.clipboard;
    },
  },
};

// ---- workspace ----------------------------------------------------------------------------------
const configChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

/** Sets `cirrus.x.y` as a user would in settings.json, and fires the change event. */
export function setConfig(key: string, value: unknown): void {
  if (value === undefined) fake.configValues.delete(key);
  else fake.configValues.set(key, value);
  configChanged.fire({ affectsConfiguration: (section) => key === section || key.startsWith(`${section}.`) });
}

export const workspace = {
  get workspaceFolders() {
    return fake.workspaceFolders;
  },
  onDidChangeConfiguration: configChanged.event,
  getConfiguration(section: string) {
    const full = (key: string) => `${section}.${key}`;
    return {
      get<T>(key: string, defaultValue?: T): T | undefined {
        return fake.configValues.has(full(key)) ? (fake.configValues.get(full(key)) as T) : defaultValue;
      },
      inspect(key: string) {
        return { key: full(key), globalValue: fake.configValues.get(full(key)) };
      },
      async update(key: string, value: unknown) {
        setConfig(full(key), value);
      },
    };
  },
  async findFiles(): Promise<Uri[]> {
    return fake.findFilesResult;
  },
  /** The open documents (none unless a test adds them). */
  textDocuments: [] as Array<{ uri: Uri; isDirty: boolean; save(): Promise<boolean> }>,
  async openTextDocument(uri: Uri) {
    const text = fs.readFileSync(uri.fsPath, 'utf8');
    return { uri, getText: () => text };
  },
  asRelativePath(uri: Uri): string {
    const root = fake.workspaceFolders?.[0]?.uri.fsPath;
    return root ? path.relative(root, uri.fsPath) : uri.fsPath;
  },
};

// ---- SecretStorage -------------------------------------------------------------------------------
/** An in-memory SecretStorage; `values` lets a test see exactly what was stored. */
export class FakeSecretStorage {
  readonly values = new Map<string, string>();
  private readonly changed = new EventEmitter<{ key: string }>();
  readonly onDidChange = this.changed.event;
  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }
  async store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    this.changed.fire({ key });
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
    this.changed.fire({ key });
  }
}

// ---- an ExtensionContext --------------------------------------------------------------------------
export function fakeExtensionContext(extensionPath: string, storage: string) {
  const state = new Map<string, unknown>();
  return {
    secrets: new FakeSecretStorage(),
    subscriptions: [] as Array<{ dispose(): unknown }>,
    extensionUri: Uri.file(extensionPath),
    extensionPath,
    globalStorageUri: Uri.file(storage),
    workspaceState: {
      get: <T>(key: string, d?: T) => (state.has(key) ? (state.get(key) as T) : d),
      update: async (key: string, v: unknown) => void state.set(key, v),
      keys: () => [...state.keys()],
    },
  };
}
