// The Node adapter (runtime.ts): node:http servers hardened against slow and oversized requests,
// answers written with one writeHead + end, and a drain that waits for slow readers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { isPending, type Answer, type App, type FileHeaders } from './answer.js';
import { EnvironmentError } from './errors.js';
import { DRAIN_MS, type HttpRuntime, type Listener, type ListenTarget } from './runtime.js';

/** Listen; resolves with the port. A failure is an EnvironmentError naming the setting to change. */
export function listenNet(server: NetServer, target: ListenTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(
        'handle' in target
          ? new EnvironmentError(
              `cannot listen on the shared socket: ${err.code ?? err.message}`,
              'report this: the worker thread could not adopt its descriptor',
              { cause: err },
            )
          : new EnvironmentError(
              `cannot listen on ${target.host}:${target.port}: ${err.code ?? err.message}`,
              `free the port or choose another with ${target.setting}`,
              { cause: err },
            ),
      );
    server.once('error', onError);
    const listening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    if ('handle' in target) server.listen(target.handle, listening);
    else server.listen({ port: target.port, host: target.host, backlog: 511 }, listening);
  });
}

/**
 * 16 KiB of request headers (431 beyond). Node checks the request and header timeouts only every
 * connectionsCheckingInterval (30 s by default), so a slowloris client is cut off 2 s late at most.
 */
// keepAlive here is TCP keep-alive probes on idle connections; HTTP keep-alive is on by default.
const SERVER_OPTIONS = { maxHeaderSize: 16 * 1024, connectionsCheckingInterval: 2_000, keepAlive: true } as const;

function hardenServer(server: Server): void {
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000; // slowloris: headers must arrive within 10 s
  server.requestTimeout = 30_000;
}

/** Sockets of a server, so shutdown can tell a busy connection from an idle one. */
function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

/**
 * Stop accepting, let in-flight responses finish (≤ DRAIN_MS), then close what is left. Node's own
 * closeIdleConnections counts a response as done once res.end() was called, even while megabytes
 * of it still wait in the socket's buffer for a slow reader, so idleness is judged here instead.
 */
function drain(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    const closeIdle = (): void => {
      for (const s of sockets) {
        const msg = (s as Socket & { _httpMessage?: { writableFinished?: boolean } | null })._httpMessage;
        if ((msg === null || msg === undefined || msg.writableFinished === true) && s.writableLength === 0) s.destroy();
      }
    };
    const idle = setInterval(closeIdle, 50);
    const force = setTimeout(() => sockets.forEach((s) => s.destroy()), DRAIN_MS);
    // net.Server's close, not http.Server's: the latter first runs closeIdleConnections, which
    // destroys a connection whose response was ended but not yet flushed (a slow download).
    NetServer.prototype.close.call(server, () => {
      clearInterval(idle);
      clearTimeout(force);
      resolve();
    });
    closeIdle();
  });
}

/** Case-insensitive equality of a header name with a lower-case constant, without allocating. */
function nameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * Read the four headers from rawHeaders into `out`. req.headers would build an object per request
 * (Node fills it lazily on first access); a typical request has none of the four.
 */
export function readFileHeaders(raw: readonly string[], out: FileHeaders): FileHeaders {
  out.ifNoneMatch = out.ifModifiedSince = out.range = out.ifRange = undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const c = name.charCodeAt(0) | 0x20;
    if (c === 0x69 /* i */) {
      if (nameIs(name, 'if-none-match')) out.ifNoneMatch = out.ifNoneMatch === undefined ? raw[i + 1] : `${out.ifNoneMatch}, ${raw[i + 1]}`;
      else if (nameIs(name, 'if-modified-since')) out.ifModifiedSince ??= raw[i + 1];
      else if (nameIs(name, 'if-range')) out.ifRange ??= raw[i + 1];
    } else if (c === 0x72 /* r */ && nameIs(name, 'range')) out.range ??= raw[i + 1];
  }
  return out;
}

const readHeaders = (req: IncomingMessage, out: FileHeaders): FileHeaders => readFileHeaders(req.rawHeaders, out);

function listenApp(app: App<Buffer>, target: ListenTarget): Promise<Listener> {
  const write = (req: IncomingMessage, res: ServerResponse, a: Answer<Buffer>, t0: number): void => {
    res.writeHead(a.status, a.headers as string[]);
    if (a.body === null) res.end();
    else res.end(a.body);
    app.done(req.method ?? '', req.url ?? '/', a.status, t0);
  };
  const server = createServer(SERVER_OPTIONS, (req, res) => {
    const t0 = performance.now();
    const a = app.answer(req, req.method ?? '', req.url ?? '/', readHeaders);
    if (!isPending(a)) write(req, res, a, t0);
    else
      void a.then((later) => {
        if (!res.destroyed) write(req, res, later, t0);
      });
  });
  hardenServer(server);
  const sockets = trackSockets(server);
  return listenNet(server, target).then((port) => ({ port, close: () => drain(server, sockets) }));
}

export const nodeRuntime: HttpRuntime<Buffer> = {
  name: 'node',
  portSharing: 'cluster',
  toBody: (bytes) => bytes,
  slice: (body, start, end) => body.subarray(start, end),
  listen: listenApp,
};
