// How the CLI ends long work on a signal. A terminal's Ctrl-C sends SIGINT to the whole foreground
// process group, and service managers send SIGTERM: the first one asks the work to stop cleanly (a run
// takes its model from the live parameter server, writes it and its summary, then the services stop);
// a second one exits at once (the child services leave when the CLI's IPC channels close).
// The children run in their own process group (runtime/util/child-group.ts), so the group's signal
// reaches only the CLI.
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 };

/** Calls `stop` on the first SIGINT or SIGTERM, exits on the second. Returns the function that stops listening. */
export function stopOnSignals(stop: (reason: string) => void, say: (line: string) => void): () => void {
  let received = 0;
  const onSignal = (signal: (typeof SIGNALS)[number]) => {
    if (++received > 1) process.exit(EXIT_CODES[signal]);
    say(`stopping (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit at once)...\n`);
    stop(signal === 'SIGINT' ? 'interrupted (Ctrl-C)' : 'terminated (SIGTERM)');
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
}
