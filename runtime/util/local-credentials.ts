// The key pair of the embedded services (local Lambda service and embedded S3): random per state
// folder, kept in `<dir>/credentials.json` readable by the user only (0600), and checked on every
// request (SigV4). Anyone who can read that file can use the services; nobody else can.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export const LOCAL_CREDENTIALS_FILE = 'credentials.json';

function generate(): LocalCredentials {
  // AWS-like shapes: 20 upper-case characters, 40 characters of secret.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16)].map((b) => alphabet[b & 31]).join('');
  return { accessKeyId: `CIRR${id}`, secretAccessKey: randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B') };
}

function valid(value: unknown): value is LocalCredentials {
  const c = value as LocalCredentials;
  return typeof c?.accessKeyId === 'string' && /^[A-Z0-9]{16,128}$/.test(c.accessKeyId) && typeof c.secretAccessKey === 'string' && c.secretAccessKey.length >= 20;
}

/** The pair of `dir`, created on first use. A file others could read is made user-only again. */
export function localCredentials(dir: string): LocalCredentials {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCAL_CREDENTIALS_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
      if (!valid(stored)) throw new Error(`${file} does not hold an accessKeyId and a secretAccessKey: delete it to get a new pair`);
      if (process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
      return { accessKeyId: stored.accessKeyId, secretAccessKey: stored.secretAccessKey };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        if (error instanceof SyntaxError) throw new Error(`${file} is not valid JSON (${error.message}): delete it to get a new pair`);
        throw error;
      }
    }
    // 'wx': two processes starting at once agree on one pair (the loser reads the winner's).
    try {
      const fresh = generate();
      fs.writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      return fresh;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`cannot read or create ${file}`);
}
