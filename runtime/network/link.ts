// One direction of one emulated connection: bytes leave at the link's bandwidth, one after another,
// and arrive a fixed delay later. `forward` moves a stream's chunks to a destination at the times
// the link gives them, in order, with backpressure both ways (a slow link pauses its source).
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';

export class Link {
  private busyUntil = 0;

  constructor(readonly bytesPerSecond: number, readonly delayMs: number) {}

  /** When `bytes` handed to the link at `now` have all arrived at the far end (performance.now() ms). */
  arrival(bytes: number, now = performance.now()): number {
    const start = Math.max(now, this.busyUntil);
    this.busyUntil = start + (bytes * 1000) / this.bytesPerSecond;
    return this.busyUntil + this.delayMs;
  }
}

/** Calls `fn` at `at` (performance.now() ms). Node's timers have 1 ms granularity: the last
 *  fraction of a millisecond is waited with setImmediate, so sub-millisecond delays (a same-AZ
 *  round trip is ~0.5 ms) are not rounded up to 1 ms each way. */
export function callAt(at: number, fn: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const check = () => {
    const left = at - performance.now();
    if (left <= 0) fn();
    else if (left >= 1.5) timer = setTimeout(check, Math.floor(left - 0.5));
    else immediate = setImmediate(check);
  };
  check();
  return {
    cancel() {
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}

type Item = { at: number; chunk: Buffer } | { at: number; run: () => void };

/** Paused above this many queued bytes: bounds the memory a fast sender can make the proxy hold. */
const HIGH_WATER = 1 << 20;

/** Forwards chunks through one link, in order. `first` (e.g. an HTTP response head) goes ahead of
 *  the body at its own time; chunks never arrive before it. */
export class Forwarder {
  private queue: Item[] = [];
  private queuedBytes = 0;
  private waiting?: { cancel(): void };
  private draining = false;
  private notBefore = 0;
  private closed = false;

  constructor(private readonly link: Link, private readonly destination: Writable) {}

  /** Runs `run` at `at` in the order of the stream (e.g. writing a response head). */
  at(at: number, run: () => void): void {
    this.notBefore = Math.max(this.notBefore, at);
    this.push({ at: this.notBefore, run });
  }

  /** Forwards everything `source` sends, then `onEnd` (default: end the destination) once all arrived. */
  pipe(source: Readable, onEnd: () => void = () => this.destination.end()): void {
    source.on('data', (chunk: Buffer) => {
      this.send(chunk);
      if (this.queuedBytes > HIGH_WATER) source.pause();
    });
    source.on('end', () => this.at(Math.max(this.notBefore, performance.now() + this.link.delayMs), onEnd));
    this.resumeSource = () => source.resume();
  }

  send(chunk: Buffer): void {
    // Large chunks are cut so a slow link delivers them progressively, as a real one would.
    for (let offset = 0; offset < chunk.length; offset += 16384) {
      const piece = chunk.subarray(offset, offset + 16384);
      const at = Math.max(this.notBefore, this.link.arrival(piece.length));
      this.notBefore = at;
      this.queuedBytes += piece.length;
      this.push({ at, chunk: piece });
    }
  }

  /** Drops whatever is queued (the connection is gone). */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.waiting?.cancel();
  }

  private resumeSource?: () => void;

  private push(item: Item): void {
    if (this.closed) return;
    this.queue.push(item);
    if (this.queue.length === 1 && !this.draining) this.schedule();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (!head || this.closed) return;
    this.waiting = callAt(head.at, () => this.deliver());
  }

  private deliver(): void {
    this.waiting = undefined;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0].at <= now && !this.closed) {
      const item = this.queue.shift()!;
      if ('run' in item) {
        item.run();
        continue;
      }
      this.queuedBytes -= item.chunk.length;
      if (this.queuedBytes <= HIGH_WATER / 2) this.resumeSource?.();
      if (!this.destination.write(item.chunk)) {
        // The far end is slower than the link: wait for it.
        this.draining = true;
        this.destination.once('drain', () => {
          this.draining = false;
          this.schedule();
        });
        return;
      }
    }
    this.schedule();
  }
}
