// `cirrus local start --json` as a child process, and the first line it prints (endpoints and
// credentials), for the tests that drive the local stack as another AWS tool would.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';

export const CIRRUS_CLI = path.join(__dirname, '..', '..', 'bin', 'cirrus.js');

export interface LocalStackInfo {
  lambdaEndpoint: string;
  s3Endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Starts the stack and waits for its first line; the caller stops `child` (it also fails if the stack exits first).
 *  `stderr()`: what the stack has written to stderr so far, for failure messages. */
export async function startLocalStack(stateDir: string): Promise<{ child: ChildProcess; info: LocalStackInfo; stderr: () => string }> {
  const child = spawn(process.execPath, [CIRRUS_CLI, 'local', 'start', '--json', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  child.stdout!.setEncoding('utf8');
  while (!out.includes('\n')) {
    const [chunk] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => [''])])) as [string];
    if (!chunk) assert.fail(`local start exited early: ${out}\n${err}`);
    out += chunk;
  }
  return { child, info: JSON.parse(out.split('\n')[0]) as LocalStackInfo, stderr: () => err };
}
