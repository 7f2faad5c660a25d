import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

/** ../shared beside the project (present on developer machines and CI, absent in a user's fresh clone). */
export const SHARED_DIR = path.resolve(__dirname, '..', '..', '..', 'shared');

/** Path of a file under ../shared/datasets, or undefined after marking the test skipped with the reason. */
export function sharedDataset(t: TestContext, relative: string): string | undefined {
  const file = path.join(SHARED_DIR, 'datasets', relative);
  if (!fs.existsSync(file)) {
    t.skip(`needs ${file} (../shared/datasets is absent: real-data checks skipped)`);
    return undefined;
  }
  return file;
}
