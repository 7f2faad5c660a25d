// What the benchmark sections share: a temp dir, the Criteo sample (replicated into a bigger file
// once), and the native reference kernel compiled once with gcc inside the run.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const SHARED_DIR = path.resolve(ROOT, '..', 'shared');
export const REFKERNEL_C = path.join(SHARED_DIR, 'reference', 'refkernel.c');
export const CRITEO_10K = path.join(SHARED_DIR, 'datasets', 'criteo-kaggle-head10k', 'train_head10000.txt');

/** How many times the 10k-row Criteo sample is repeated for the speed figures (500k rows, 121 MB). */
export const REPLICATE = 50;

/** A section's figures; `skipped` when the code it measures does not exist yet, `error` when it failed. */
export type SectionResult = Record<string, unknown> & { notes?: string; skipped?: string; error?: string };

export class BenchContext {
  readonly tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-'));
  private refkernel?: string;
  private replicated?: string;

  /** The compiled native reference kernel (gcc -O3 -march=native), built on first use. */
  refkernelBinary(): string {
    if (this.refkernel) return this.refkernel;
    if (!fs.existsSync(REFKERNEL_C)) throw new SkipSection(`${REFKERNEL_C} is absent (../shared not beside the project)`);
    const out = path.join(this.tmp, 'refkernel');
    execFileSync('gcc', ['-O3', '-march=native', '-o', out, REFKERNEL_C, '-lm'], { stdio: 'pipe' });
    this.refkernel = out;
    return out;
  }

  /** The Criteo 10k sample repeated REPLICATE times into a temp file. */
  replicatedCriteo(): string {
    if (this.replicated) return this.replicated;
    if (!fs.existsSync(CRITEO_10K)) throw new SkipSection(`${CRITEO_10K} is absent`);
    const data = fs.readFileSync(CRITEO_10K);
    const out = path.join(this.tmp, `criteo-10k-x${REPLICATE}.txt`);
    const fd = fs.openSync(out, 'w');
    for (let i = 0; i < REPLICATE; i++) fs.writeSync(fd, data);
    fs.closeSync(fd);
    this.replicated = out;
    return out;
  }

  /** Runs the native kernel and parses its `key=value` summary line. */
  runRefkernel(file: string, args: Array<string | number> = []): Record<string, number> {
    const text = execFileSync(this.refkernelBinary(), [file, ...args.map(String)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const figures: Record<string, number> = {};
    for (const [, k, v] of text.matchAll(/(\w+)=([-\d.eE+]+)/g)) figures[k] = Number(v);
    return figures;
  }

  cleanup(): void {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** Thrown by a section whose prerequisites are missing: recorded as `{ skipped: message }`. */
export class SkipSection extends Error {}

/** Best (largest) of several measurements: on a shared 2-core machine the noise only ever slows. */
export function best(xs: number[]): number {
  return Math.max(...xs);
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
