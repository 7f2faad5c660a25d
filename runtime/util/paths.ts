import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root (the folder holding this project's package.json), found from this file's location,
 *  so it works both from source (tests via tsx) and from the esbuild bundles in dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      try {
        if (JSON.parse(fs.readFileSync(candidate, 'utf8')).name === 'cirrus-vscode') return dir;
      } catch { /* keep walking */ }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the cirrus-vscode package root above ${__dirname}`);
    dir = parent;
  }
}

/** A bundle built by scripts/build.mjs, e.g. distFile('ps-server.js'). Child processes always run bundles. */
export function distFile(name: string): string {
  const file = path.join(packageRoot(), 'dist', name);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}
