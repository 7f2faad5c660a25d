// A temporary state folder for tests that start runs, removed (with the embedded services the runs
// started) when the test file ends.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { shutdownEmbeddedServices } from '../../runtime/index';

export function runStateDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(async () => {
    await shutdownEmbeddedServices();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
