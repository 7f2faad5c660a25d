// Shared by the security and reliability tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

/** Bundles the parameter-server child from the current sources into a temporary folder (never a
 *  stale dist/), as test/ps/launch.test.ts does. Returns the script and a cleanup. */
export async function buildPsServer(): Promise<{ script: string; cleanup: () => void }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-ps-bundle-'));
  const script = path.join(tmp, 'ps-server.js');
  await esbuild.build({
    entryPoints: [path.resolve(__dirname, '..', '..', 'runtime/ps/server-main.ts')],
    outfile: script,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    bundle: true,
    logLevel: 'warning',
  });
  return { script, cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}
