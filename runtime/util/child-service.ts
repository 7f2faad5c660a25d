// The one way Cirrus starts a service in a child process (the parameter server, the local Lambda
// service, the embedded S3 server) and the child's side of the same handshake.
//
// Parent side (startChildService): fork the bundle with `process.execPath` (Node from the CLI and
// tests, Electron-as-Node in the VS Code desktop host, which fork() runs as Node thanks to
// ELECTRON_RUN_AS_NODE), send `{ type: 'start', ...start }` over IPC (secrets travel there, never
// on argv or in the environment), wait for `{ type: 'ready', ... }` or `{ type: 'error', message }`,
// and hand back a handle that can stop the child and report its exit.
//
// Child side (serveChildService): answers that handshake, stops on `{ type: 'stop' }`, SIGTERM or a
// closed IPC channel (the parent died: no orphaned services), and never hangs on the way out.
// What SIGINT does is one setting (CHILD_SIGINT below, overridable per service): a terminal's
// Ctrl-C reaches the whole process group, and the parent decides how its children go.
import { fork, type ChildProcess } from 'node:child_process';
import { OWN_PROCESS_GROUP } from './child-group';

export type ExitListener = (code: number | null, signal: NodeJS.Signals | null) => void;

export interface ChildServiceOptions {
  /** For messages: "parameter server", "local Lambda service", ... */
  name: string;
  script: string;
  /** Sent as `{ type: 'start', ...start }` once the child is up. */
  start: Record<string, unknown>;
  /** Node flags for the child (default none: not the parent's, e.g. `--import tsx` in tests). */
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready message (default 20 s). */
  startTimeoutMs?: number;
  /** Receives the child's stdout/stderr lines (default: dropped; the last 20 are kept for errors). */
  log?: (line: string) => void;
  /** Messages the child sends after it is ready (e.g. the parameter server's stats). */
  onMessage?: (message: Record<string, unknown>) => void;
  /** Let the parent's event loop end while the child runs (the child then leaves when the parent
   *  exits and its IPC channel closes). Default false. */
  unref?: boolean;
}

export interface ChildService<Ready> {
  /** The ready message (without its `type`). */
  ready: Ready;
  pid: number;
  readonly exited: boolean;
  /** The child's last output lines (for error messages). */
  outputTail(): string;
  /** Called once when the child exits (at once if it already has). Returns an unsubscribe. */
  onExit(cb: ExitListener): () => void;
  /** Asks the child to stop, kills it if it has not exited within `graceMs` (default 5 s); resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Why a start failed; `exited` is true when the child exited on its own (e.g. it refused a flag). */
export class ChildServiceStartError extends Error {
  constructor(message: string, readonly output: string, readonly exited: boolean) {
    super(message);
  }
}

const TAIL_LINES = 20;

export function startChildService<Ready extends object>(opts: ChildServiceOptions): Promise<ChildService<Ready>> {
  const child: ChildProcess = fork(opts.script, [], {
    execPath: process.execPath,
    execArgv: opts.execArgv ?? [],
    env: { ...(opts.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
    detached: OWN_PROCESS_GROUP, // a terminal's Ctrl-C reaches the driver only: it decides when its services stop
  });
  const tail: string[] = [];
  const onOutput = (text: string) => {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      opts.log?.(line);
    }
  };
  child.stdout?.setEncoding('utf8').on('data', onOutput);
  child.stderr?.setEncoding('utf8').on('data', onOutput);

  const exitListeners = new Set<ExitListener>();
  let exitInfo: [number | null, NodeJS.Signals | null] | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = [code, signal];
      for (const cb of exitListeners) cb(code, signal);
      exitListeners.clear();
      resolve();
    });
  });
  const timeoutMs = opts.startTimeoutMs ?? 20_000;

  return new Promise<ChildService<Ready>>((resolve, reject) => {
    let settled = false;
    const fail = (why: string, exited = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!exitInfo) child.kill('SIGKILL');
      const output = tail.join('\n');
      reject(new ChildServiceStartError(`${opts.name} ${why}${output ? `\n${output}` : ''}`, output, exited));
    };
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (err) => fail(`could not be started: ${err.message}`));
    // Output may still be arriving when the child exits: give it a moment so the message is complete.
    child.once('exit', (code, signal) => setTimeout(() => fail(`exited before it was ready (${signal ?? `code ${code}`})`, true), 50));

    child.on('message', (message: Record<string, unknown>) => {
      if (settled) {
        opts.onMessage?.(message);
        return;
      }
      if (message?.type === 'error') return fail(`failed: ${String(message.message)}`);
      if (message?.type !== 'ready') return;
      settled = true;
      clearTimeout(timer);
      if (opts.unref) {
        child.unref();
        (child.channel as { unref?: () => void } | undefined)?.unref?.();
        (child.stdout as { unref?: () => void } | null)?.unref?.();
        (child.stderr as { unref?: () => void } | null)?.unref?.();
      }
      const { type: _type, ...ready } = message;
      let stopping: Promise<void> | undefined;
      resolve({
        ready: ready as Ready,
        pid: child.pid!,
        get exited() {
          return exitInfo !== undefined;
        },
        outputTail: () => tail.join('\n'),
        onExit(cb) {
          if (exitInfo) {
            cb(...exitInfo);
            return () => {};
          }
          exitListeners.add(cb);
          return () => exitListeners.delete(cb);
        },
        stop(graceMs = 5000) {
          stopping ??= (async () => {
            if (exitInfo) return;
            if (child.connected) child.send({ type: 'stop' }, () => {});
            else child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            await exitedPromise;
            clearTimeout(killer);
          })();
          return stopping;
        },
      });
    });
    child.send({ type: 'start', ...opts.start }, (err) => err && fail(`did not start: could not send the start message: ${err.message}`));
  });
}

// ---- the child's side ----

/** What a child does on SIGINT: 'stop' shuts it down cleanly (as on SIGTERM); 'ignore' leaves it to
 *  the parent (which stops it over IPC); 'default' dies at once. One place to change it. */
export type SigintPolicy = 'stop' | 'ignore' | 'default';
export const CHILD_SIGINT: SigintPolicy = 'stop';

export interface ChildServiceHandlers<Start> {
  /** Starts the service from the start message; resolves with what goes in the ready message. */
  start(message: Start): Promise<Record<string, unknown>>;
  /** Closes the service (the process exits after it, or after `exitDeadlineMs` at the latest). */
  stop(): Promise<void>;
  /** Other messages from the parent. */
  onMessage?: (message: Record<string, unknown>) => void;
  sigint?: SigintPolicy;
  /** Hard limit on the way out (default 5 s): the parent is waiting for this process to exit. */
  exitDeadlineMs?: number;
}

/** Runs the child's side of the handshake. Returns false when there is no IPC channel (run by hand). */
export function serveChildService<Start>(handlers: ChildServiceHandlers<Start>): boolean {
  let started = false;
  let exiting = false;
  const send = (message: Record<string, unknown>) => {
    if (process.send && process.connected) process.send(message, undefined, undefined, () => {});
  };
  const shutdown = async (code: number) => {
    if (exiting) return;
    exiting = true;
    setTimeout(() => process.exit(code), handlers.exitDeadlineMs ?? 5000).unref();
    try {
      await handlers.stop();
    } catch { /* exiting anyway */ }
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0));
  const sigint = handlers.sigint ?? CHILD_SIGINT;
  if (sigint === 'stop') process.on('SIGINT', () => void shutdown(0));
  else if (sigint === 'ignore') process.on('SIGINT', () => {});
  if (!process.send) return false;
  process.on('disconnect', () => void shutdown(0));
  process.on('message', (message: Record<string, unknown>) => {
    if (message?.type === 'start' && !started) {
      started = true;
      handlers.start(message as Start).then(
        (ready) => send({ ...ready, type: 'ready' }),
        (err: Error) => {
          send({ type: 'error', message: err?.message ?? String(err) });
          void shutdown(1);
        },
      );
    } else if (message?.type === 'stop') {
      void shutdown(0);
    } else {
      handlers.onMessage?.(message);
    }
  });
  return true;
}

/** Sends a message to the parent, if there is one (e.g. stats after ready). */
export function sendToParent(message: Record<string, unknown>): void {
  if (process.send && process.connected) process.send(message, undefined, undefined, () => {});
}
