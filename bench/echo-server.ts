// The "loopback ceiling" for the parameter server (reference README): a bare Node TCP server that
// answers length-prefixed frames and does no work on them. Frame: u32 payload length, u32 reply
// length, payload; the reply is a frame of `reply length` zero bytes. Run as a child process:
//   node --import tsx bench/echo-server.ts   (prints its port on stdout)
import * as net from 'node:net';

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending: Buffer[] = [];
  let have = 0;
  socket.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    have += chunk.length;
    for (;;) {
      if (have < 8) return;
      const buf = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      const size = buf.readUInt32LE(0);
      if (have < 8 + size) {
        pending = [buf];
        return;
      }
      const replyBytes = buf.readUInt32LE(4);
      const reply = Buffer.alloc(8 + replyBytes);
      reply.writeUInt32LE(replyBytes, 0);
      socket.write(reply);
      const rest = buf.subarray(8 + size);
      pending = rest.length ? [rest] : [];
      have = rest.length;
    }
  });
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`${address.port}\n`);
});
process.on('disconnect', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
