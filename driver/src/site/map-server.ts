// The redirect map's host during a run (the Gist's stand-in): a loopback HTTP server with a normal
// listen backlog that counts the fetches it receives, so per-request map refreshes show up.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MapServer } from '../contracts.js';
import { EnvironmentError } from '../errors.js';

export async function startMapServer(opts: { text: string; host?: string; port?: number }): Promise<MapServer> {
  let text = opts.text;
  let fetches = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/redirects.txt') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  });
  server.keepAliveTimeout = 5_000;
  const host = opts.host ?? '127.0.0.1';
  // backlog 511: a small backlog (Python's http.server has 5) drops SYNs under gosherve-old's
  // per-request refreshes, and the 1 s retransmits would be measured as the server's latency.
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new EnvironmentError(
          `the redirect map server cannot listen on ${host}:${opts.port ?? 0}: ${err.code ?? err.message}`,
          'free the port or let it pick one (port 0)',
          { cause: err },
        ),
      ),
    );
    server.listen({ port: opts.port ?? 0, host, backlog: 511 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/redirects.txt`,
    fetches: () => fetches,
    resetFetches: () => {
      fetches = 0;
    },
    setText: (t) => {
      text = t;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
