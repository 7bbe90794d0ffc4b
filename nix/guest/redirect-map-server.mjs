// The redirect map's host inside the VM (the Gist's stand-in), unit bench-redirect-map: serves one
// file at /redirects.txt on loopback with a normal listen backlog, and counts the fetches so k6test
// can show gosherve-old's refresh-per-request: GET /fetches → {"fetches":N}, POST /fetches/reset.
// Node's standard library only, so the unit needs nothing but nodejs.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const file = process.env.MAP_FILE;
const host = process.env.MAP_HOST ?? '127.0.0.1';
const port = Number(process.env.MAP_PORT ?? '8090');
if (!file) {
  console.error('redirect-map-server: MAP_FILE is not set (the path of redirects.txt)');
  process.exit(2);
}
// Read once: the map is fixed for a boot, and a request must not wait on the disk.
const body = readFileSync(file);
let fetches = 0;

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/redirects.txt') {
    fetches++;
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  } else if (req.method === 'GET' && path === '/fetches') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ fetches }));
  } else if (req.method === 'POST' && path === '/fetches/reset') {
    fetches = 0;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ fetches }));
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not found');
  }
});
server.keepAliveTimeout = 5_000;
server.listen({ host, port, backlog: 511 }, () => {
  const { port: bound } = server.address();
  console.log(`redirect-map-server: serving ${file} (${body.length} bytes) at http://${host}:${bound}/redirects.txt`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
