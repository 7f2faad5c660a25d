// A load client for the shards bench, one process per shard: it says HELLO, then keeps `depth`
// pre-built PUSH_SPARSE frames in flight for `seconds` and prints how many the server applied. The
// frames are built once before the clock starts, and a reply is only counted (its length prefix read),
// so the client costs a write and a read per frame: the server, not the client, is what is measured.
//   node --import tsx bench/shard-client.ts PORT ROWS_PER_FRAME TABLE_ROWS DEPTH SECONDS   (token on stdin)
import * as net from 'node:net';
import { allocFrame, HEADER_BYTES, Op, PROTOCOL_VERSION, SPARSE_ARRAY_OFFSET } from '../runtime/ps/protocol';

const [port, rowsPerFrame, tableRows, depth, seconds] = process.argv.slice(2).map(Number);

function helloFrame(token: string): Buffer {
  const t = Buffer.from(token, 'utf8');
  const body = Buffer.alloc(4 + t.length + 8);
  body.writeUInt16LE(PROTOCOL_VERSION, 0);
  body.writeUInt16LE(t.length, 2);
  t.copy(body, 4);
  body.writeUInt32LE(1, 4 + t.length); // worker id
  const frame = allocFrame(body.length, Op.HELLO, 1);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/** 64 distinct frames of `rowsPerFrame` sorted random rows with small gradients, ids 2.. as request ids are not checked for order. */
function pushFrames(): Buffer[] {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: 64 }, (_, k) => {
    const frame = allocFrame(7 + 8 * rowsPerFrame, Op.PUSH_SPARSE, 2 + k);
    frame.writeUInt16LE(0, 9);
    frame[11] = 0;
    frame.writeUInt32LE(rowsPerFrame, 12);
    const ids = new Set<number>();
    while (ids.size < rowsPerFrame) ids.add(Math.floor(rand() * tableRows));
    new Uint32Array(frame.buffer, frame.byteOffset + SPARSE_ARRAY_OFFSET, rowsPerFrame).set([...ids].sort((a, b) => a - b));
    const grads = new Float32Array(frame.buffer, frame.byteOffset + SPARSE_ARRAY_OFFSET + 4 * rowsPerFrame, rowsPerFrame);
    for (let j = 0; j < rowsPerFrame; j++) grads[j] = (rand() - 0.5) * 0.01;
    return frame;
  });
}

async function main(): Promise<void> {
  const token = await new Promise<string>((resolve) => process.stdin.once('data', (d) => resolve(d.toString().trim())));
  const frames = pushFrames();
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  let replies = 0;
  let onReply: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (pending.length - off >= 4) {
      const size = 4 + pending.readUInt32LE(off);
      if (pending.length - off < size) break;
      if (pending[off + 4] !== 0) throw new Error(`error reply: ${pending.toString('utf8', off + HEADER_BYTES, off + size)}`);
      off += size;
      replies++;
      onReply?.();
    }
    pending = pending.subarray(off);
  });
  socket.write(helloFrame(token));
  await new Promise<void>((resolve) => (onReply = resolve));
  replies = 0;
  let sent = 0;
  const deadline = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      if (Date.now() >= deadline) {
        if (replies === sent) resolve();
        return;
      }
      while (sent - replies < depth) socket.write(frames[sent++ % frames.length]);
    };
    onReply = pump;
    pump();
  });
  const elapsed = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ frames: replies, seconds: elapsed }) + '\n');
  socket.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
