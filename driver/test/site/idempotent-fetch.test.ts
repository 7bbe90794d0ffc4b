// fetchIdempotent against a real socket server: a connection closed before any answer (a
// keep-alive connection the server let go as it was reused) is retried once on a new connection;
// a second close, and a timeout, are errors as with fetch.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchIdempotent } from '../../src/site/idempotent-fetch.js';

let server: Server | null = null;

/** A server on 127.0.0.1 whose n-th connection (from 1) gets `answer(n, socket)` on its first bytes. */
async function listen(answer: (n: number, socket: Socket) => void): Promise<{ url: string; connections: () => number }> {
  let n = 0;
  server = createServer((socket) => {
    const k = ++n;
    socket.once('data', () => answer(k, socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/a`, connections: () => n };
}

const ok = (socket: Socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

describe('fetchIdempotent', () => {
  it('retries once on a new connection when the first closes before answering (fetch fails there)', async () => {
    const s = await listen((n, socket) => (n <= 2 ? socket.destroy() : ok(socket)));
    await expect(fetch(s.url)).rejects.toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    const res = await fetchIdempotent(s.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(s.connections()).toBe(3);
  });

  it('a reset (ECONNRESET) is retried too', async () => {
    const s = await listen((n, socket) => (n === 1 ? socket.resetAndDestroy() : ok(socket)));
    expect((await fetchIdempotent(s.url)).status).toBe(200);
    expect(s.connections()).toBe(2);
  });

  it('a second close is the error, after two connections', async () => {
    const s = await listen((_, socket) => socket.destroy());
    await expect(fetchIdempotent(s.url)).rejects.toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    expect(s.connections()).toBe(2);
  });

  it('a timeout is not retried', async () => {
    const s = await listen(() => undefined);
    await expect(fetchIdempotent(s.url, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(s.connections()).toBe(1);
  });
});
