// A parameter-server table's memory: a WebAssembly.Memory holding the table's rows (Table.data) and,
// after them, a scratch area into which a call's row ids and gradients are copied for the wasm kernel
// (table.wat: the sparse pull's gather, a push's checks and the AdaGrad step). The kernel's loops over
// scattered rows cost a third to a half of the same loops in JavaScript, its checks a fifth
// (docs/benchmarks.md, psUpdates); the copies in and out (sequential, a few KB) are cheap beside them.
// The scratch area holds one call's arrays at a time: a staged push until the next gather or push.
import { TABLE_WASM_BASE64 } from './table-wasm';

const PAGE_BYTES = 65536;
/** wasm32's limit: 4 GiB. */
const MAX_PAGES = 65536;
/** Scratch the memory starts with: a 4,000-row pull or push of a width-1 table fits. */
const INITIAL_SCRATCH_BYTES = 2 * PAGE_BYTES;

interface TableKernel {
  gather(ids: number, n: number, out: number, stride: number, width: number, rows: number): number;
  adagrad(ids: number, n: number, grads: number, backup: number, width: number, lr: number, l2: number, epsilon: number): number;
  firstBadId(ids: number, n: number, rows: number): number;
  firstNonFinite(values: number, count: number): number;
}

let compiled: WebAssembly.Module | undefined;

export class TableMemory {
  private readonly memory: WebAssembly.Memory;
  private readonly kernel: TableKernel;
  /** Byte offset of the scratch area (64-aligned, after the rows). */
  private readonly scratchAt: number;
  private view: Float32Array;
  private backupAt = 0;
  /** The staged push (stagePush): its row count and gradient count. */
  private pushRows = 0;
  private pushFloats = 0;

  constructor(private readonly floats: number) {
    this.scratchAt = Math.ceil((4 * floats) / 64) * 64;
    // Fresh wasm memory is zero-filled and mapped on first touch, like a fresh Float32Array.
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((this.scratchAt + INITIAL_SCRATCH_BYTES) / PAGE_BYTES) });
    compiled ??= new WebAssembly.Module(Buffer.from(TABLE_WASM_BASE64, 'base64'));
    this.kernel = new WebAssembly.Instance(compiled, { env: { memory: this.memory } }).exports as unknown as TableKernel;
    this.view = new Float32Array(this.memory.buffer, 0, floats);
  }

  /** The rows. Growing the scratch area replaces the memory's ArrayBuffer, so take this again after a
   *  gather() or adagrad() rather than keeping it across one. */
  get data(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer, 0, this.floats);
    return this.view;
  }

  /** Copies weights 0..width of each listed row into `out` (row-major) and returns -1; or returns the
   *  position of the first id >= rows, with `out` left unspecified. */
  gather(ids: Uint32Array, out: Float32Array, stride: number, width: number, rows: number): number {
    const n = ids.length;
    const at = this.scratch(4 * n + 4 * out.length);
    const buffer = this.memory.buffer;
    new Uint32Array(buffer, at, n).set(ids);
    const bad = this.kernel.gather(at, n, at + 4 * n, stride, width, rows);
    if (bad < 0) out.set(new Float32Array(buffer, at + 4 * n, out.length));
    return bad;
  }

  /** Copies a push's row ids and gradients into the scratch area, with room after them for the step's
   *  backup of up to 2 floats per gradient: the checks and the step below read them there. */
  stagePush(ids: Uint32Array, grads: Float32Array): void {
    const n = ids.length;
    const at = this.scratch(4 * n + 12 * grads.length);
    const buffer = this.memory.buffer;
    new Uint32Array(buffer, at, n).set(ids);
    new Float32Array(buffer, at + 4 * n, grads.length).set(grads);
    this.pushRows = n;
    this.pushFloats = grads.length;
    this.backupAt = at + 4 * n + 4 * grads.length;
  }

  /** The staged push's ids and gradients, as views of the scratch area. */
  stagedIds(): Uint32Array {
    return new Uint32Array(this.memory.buffer, this.scratchAt, this.pushRows);
  }

  stagedGrads(): Float32Array {
    return new Float32Array(this.memory.buffer, this.scratchAt + 4 * this.pushRows, this.pushFloats);
  }

  /** The position of the staged push's first id >= rows, or -1. */
  firstBadId(rows: number): number {
    return this.kernel.firstBadId(this.scratchAt, this.pushRows, rows);
  }

  /** The position of the staged push's first NaN or infinite gradient, or -1. */
  firstNonFinite(): number {
    return this.kernel.firstNonFinite(this.scratchAt + 4 * this.pushRows, this.pushFloats);
  }

  /** The AdaGrad step of table.wat with the staged push on an adagrad table's rows (stride 2·width).
   *  Returns -1, or the position of the first row whose step wrote a non-finite value: the steps up to
   *  and including it are written, and lastBackup() holds the rows as they were before (see Table.restore). */
  adagrad(width: number, lr: number, l2: number, epsilon: number): number {
    const at = this.scratchAt;
    return this.kernel.adagrad(at, this.pushRows, at + 4 * this.pushRows, this.backupAt, width, lr, l2, epsilon);
  }

  /** The last adagrad() call's saved rows: `floats` floats (weights block, then accumulators block). */
  lastBackup(floats: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.backupAt, floats);
  }

  /** Makes the scratch area at least `bytes` long (at least doubling it); returns its offset. */
  private scratch(bytes: number): number {
    const have = this.memory.buffer.byteLength;
    if (this.scratchAt + bytes > have) {
      const need = Math.ceil((this.scratchAt + bytes - have) / PAGE_BYTES);
      const doubled = Math.ceil((this.scratchAt + 2 * (have - this.scratchAt) - have) / PAGE_BYTES);
      this.memory.grow(Math.max(need, Math.min(doubled, MAX_PAGES - have / PAGE_BYTES)));
    }
    return this.scratchAt;
  }
}
