// The state folder (`.cirrus` by default, usually inside the user's repository): run folders, the
// embedded S3 objects, the local Lambda service's files and the services' key pair. None of it belongs
// in version control (the key pair least of all), so the folder gets a `.gitignore` ignoring everything
// the first time it is used. An existing `.gitignore` is the user's and is left as it is.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const STATE_GITIGNORE = '# Written by Cirrus: run folders, datasets and local keys, not for version control.\n*\n';

/** Creates the state folder if needed, with its `.gitignore`; returns the folder. */
export function prepareStateDir(stateDir: string): string {
  fs.mkdirSync(stateDir, { recursive: true });
  try {
    // 'wx': never overwrites (a user's own, or one another process just wrote).
    fs.writeFileSync(path.join(stateDir, '.gitignore'), STATE_GITIGNORE, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return stateDir;
}
