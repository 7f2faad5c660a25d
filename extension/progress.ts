// The one helper every long command runs in: a cancellable progress notification whose Cancel button
// aborts the AbortSignal handed to the runtime, and a throttled reporter (a progress bar repainted a
// thousand times a second slows the window down).
import * as vscode from 'vscode';

export interface ProgressReporter {
  /** Sets the bar to `fraction` (0..1) of the way and shows `message`; repaints at most every `intervalMs`. */
  update(fraction: number | undefined, message: string): void;
  /** Shows whatever the throttle held back. */
  flush(): void;
}

export function withCancellableProgress<T>(
  title: string,
  task: (signal: AbortSignal, progress: ProgressReporter) => Promise<T>,
  options: { location?: vscode.ProgressLocation; intervalMs?: number } = {},
): Thenable<T> {
  return vscode.window.withProgress(
    { location: options.location ?? vscode.ProgressLocation.Notification, title, cancellable: true },
    (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort(new CancelledError(title)));
      if (token.isCancellationRequested) abort.abort(new CancelledError(title));
      const reporter = throttledReporter(progress, options.intervalMs ?? 250);
      return task(abort.signal, reporter)
        .catch((err: unknown) => {
          // Whatever the runtime threw once aborted, the user's cancel is the reason.
          throw abort.signal.aborted && !isCancellation(err) ? new CancelledError(title) : err;
        })
        .finally(() => {
          reporter.flush();
          sub.dispose();
        });
    },
  );
}

export class CancelledError extends Error {
  constructor(what: string) {
    super(`${what}: cancelled`);
    this.name = 'AbortError';
  }
}

/** True for the errors an aborted signal produces (ours, the runtime's or the AWS SDK's). */
export function isCancellation(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err instanceof CancelledError);
}

/** Turns absolute fractions into the increments `Progress.report` wants, at most one report per interval. */
export function throttledReporter(
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  intervalMs: number,
  now: () => number = Date.now,
): ProgressReporter {
  let shownPercent = 0;
  let lastReport = -Infinity;
  let pending: { fraction: number | undefined; message: string } | undefined;
  const report = () => {
    if (!pending) return;
    const { fraction, message } = pending;
    pending = undefined;
    lastReport = now();
    if (fraction === undefined) return progress.report({ message });
    const percent = Math.min(100, Math.max(shownPercent, fraction * 100));
    progress.report({ message, increment: percent - shownPercent });
    shownPercent = percent;
  };
  return {
    update(fraction, message) {
      pending = { fraction, message };
      if (now() - lastReport >= intervalMs) report();
    },
    flush: report,
  };
}
