// The child of listen-dup.ts: its parent passes a listening socket as fd 4. Wrap it without
// reading or accepting (this process must never take a connection) and send the raw handle back
// over IPC, which gives the parent a new descriptor; then close this copy and exit.
import { Socket } from 'node:net';

const socket = new Socket({ fd: 4, readable: false, writable: false });
const handle = (socket as unknown as { _handle: Socket })._handle;
if (!process.send) {
  process.stderr.write('listen-dup-child: run by listen-dup.ts with an IPC channel\n');
  process.exit(2);
}
process.send({ type: 'tsherve:listen-handle' }, handle, {}, (err: Error | null) => {
  if (err) {
    process.stderr.write(`listen-dup-child: sending the socket failed: ${err.message}\n`);
    process.exitCode = 1;
  }
  socket.destroy();
  process.disconnect();
});
