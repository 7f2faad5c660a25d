// `cirrus resume RUN_FOLDER`: picks up a run whose driver died (the CLI or VS Code was killed) from its
// folder and its last parameter-server checkpoint, or marks it stopped when it has none.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './usage';
import { resumeTraining, type RunEvent } from '../index';
import { fmtCount } from '../util/format';
import { stopOnSignals } from './signals';

function describe(event: RunEvent): string | undefined {
  const at = `[${event.t.toFixed(1).padStart(6)}s]`;
  switch (event.type) {
    case 'run-resumed':
      return `${at} resumed from checkpoint ${event.checkpoint} (${event.trainSeconds.toFixed(1)} s into training)`;
    case 'eval':
      return `${at} test loss ${event.testLoss.toFixed(4)}  samples ${fmtCount(event.samples)}`;
    case 'ps-restarted':
      return `${at} parameter server restarted from checkpoint ${event.checkpoint ?? '-'} (${event.lostSeconds.toFixed(1)} s of updates lost)`;
    case 'worker-finished':
      return event.status === 'failed' ? `${at} worker ${event.worker} generation ${event.generation} failed: ${event.error}` : undefined;
    case 'log':
      return event.level === 'info' ? undefined : `${at} ${event.level}: ${event.message}`;
    case 'run-finished':
      return `${at} run ${event.status}: ${event.reason}`;
    default:
      return undefined;
  }
}

export async function resumeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, 'state-dir': { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('resume needs one RUN_FOLDER (<state-dir>/runs/<run id>)');
  const runFolder = path.resolve(positionals[0]);
  // The run folder lives in <state-dir>/runs/, and the local backend's S3 objects (the checkpoint among them) in <state-dir>.
  const stateDir = values['state-dir'] ? path.resolve(values['state-dir']) : path.dirname(path.dirname(runFolder));
  const out = values.json ? process.stderr : process.stdout;
  const handle = await resumeTraining(runFolder, { stateDir, log: (level, message) => level !== 'info' && process.stderr.write(`${level}: ${message}\n`) });
  out.write(`resuming run ${handle.runId} in ${handle.runFolder}\n`);
  let lastEval = 0;
  handle.onEvent((event) => {
    if (event.type === 'eval' && Date.now() - lastEval < 2000) return;
    if (event.type === 'eval') lastEval = Date.now();
    const line = describe(event);
    if (line) out.write(line + '\n');
  });
  const stopListening = stopOnSignals((reason) => void handle.stop(reason), (line) => out.write(line));
  const summary = await handle.done;
  stopListening();
  if (values.json) process.stdout.write(JSON.stringify({ runId: summary.runId, status: summary.status, reason: summary.reason, testLoss: summary.testLoss, runFolder: summary.runFolder }) + '\n');
  return summary.status === 'failed' ? 1 : 0;
}
