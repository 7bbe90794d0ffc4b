// The server machine's end of the network-path probe (hosts backend, a separate generator machine):
// a TCP listener on the server's HTTP port, started by `k6test --net-probe` while no server unit
// runs, with a bounded lifetime. A connection that sends "ping" lines gets "pong" back, one per
// line (round trips on one open connection); one that sends "zero" gets zeros for `streamMs` and
// is then closed (what the link carries from here to the generator). Nothing else is answered.
import { createServer, type Socket } from 'node:net';

export interface NetProbeListener {
  port: number;
  /** Resolves when the listener has closed (close() or its lifetime). */
  closed: Promise<void>;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(256 * 1024);

function streamZeros(sock: Socket, streamMs: number): void {
  const until = Date.now() + streamMs;
  const pump = () => {
    while (!sock.destroyed && Date.now() < until) {
      if (!sock.write(CHUNK)) {
        sock.once('drain', pump);
        return;
      }
    }
    if (!sock.destroyed) sock.end();
  };
  pump();
}

export function listenNetProbe(port: number, o: { host?: string; lifetimeMs?: number; streamMs?: number } = {}): Promise<NetProbeListener> {
  const streamMs = o.streamMs ?? 3_000;
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = '';
    let streaming = false;
    sock.on('data', (b: Buffer) => {
      if (streaming) return;
      buf += b.toString('latin1');
      if (buf.length > 4096) return void sock.destroy();
      let nl: number;
      while (!streaming && (nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === 'ping') sock.write('pong\n');
        else if (line === 'zero') {
          streaming = true;
          streamZeros(sock, streamMs);
        } else sock.destroy();
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, o.host ?? '0.0.0.0', () => {
      const addr = server.address();
      const closed = new Promise<void>((r) => server.once('close', () => r()));
      const close = async () => {
        for (const s of sockets) s.destroy();
        if (server.listening) server.close();
        await closed;
      };
      setTimeout(() => void close(), o.lifetimeMs ?? 60_000).unref();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : port, closed, close });
    });
  });
}
