// The Bun adapter (runtime.ts): Bun.serve answering from bytes held in memory as Blobs. A Response
// over a Blob shares its bytes instead of copying them (a Response over a Buffer copies: +100 % of
// the site in resident memory, measured), and each fixed answer (a file's 200, HEAD and 304) is
// built once and cloned per request, which clones headers and a reference to the Blob only.
// Serving with Bun.file (sendfile from disk) was measured slower than answering from memory.
//
// Bun's own limits stand in for node:http's where they differ: request headers are capped at
// 16 KiB (431 beyond, Bun's default, as Node's here); one idle timeout of IDLE_TIMEOUT_S covers
// both a request whose headers never finish and an idle keep-alive connection (Node: 10 s and 5 s).
import { isPending, type Answer, type App, type FileHeaders } from './answer.js';
import { EnvironmentError } from './errors.js';
import { DRAIN_MS, type HttpRuntime, type Listener, type ListenTarget } from './runtime.js';

export const IDLE_TIMEOUT_S = 10;

// The part of Bun's API this adapter uses, typed here: Bun's own type package declares globals
// that clash with @types/node's in one compilation, and four members are all tsherve needs.
interface BunServer {
  readonly port: number;
  /** false: stop accepting and resolve once in-flight requests are answered; true: close every connection now. */
  stop(closeActiveConnections?: boolean): Promise<void>;
}
interface BunServeOptions {
  /** Exact request paths (the query aside), matched natively; ":" and "*" would make patterns. */
  routes: Record<string, (req: Request) => Response>;
  port: number;
  hostname: string;
  reusePort: boolean;
  idleTimeout: number;
  development: boolean;
  fetch(req: Request): Response | Promise<Response>;
  error(err: Error): Response;
}
interface BunApi {
  serve(options: BunServeOptions): BunServer;
}

function bunApi(): BunApi {
  const api = (globalThis as { Bun?: BunApi }).Bun;
  if (api === undefined) throw new Error('runtime-bun.ts runs under Bun only (TSHERVE_RUNTIME=bun starts tsherve with bun)');
  return api;
}

/** The request target as sent (path and query) from Request.url, which Bun gives as an absolute URL. */
export function requestTarget(url: string): string {
  if (url.charCodeAt(0) === 47 /* / */) return url;
  const scheme = url.indexOf('://');
  const slash = scheme === -1 ? -1 : url.indexOf('/', scheme + 3);
  return slash === -1 ? '/' : url.slice(slash);
}

const readHeaders = (req: Request, out: FileHeaders): FileHeaders => {
  const h = req.headers;
  out.ifNoneMatch = h.get('if-none-match') ?? undefined;
  out.ifModifiedSince = h.get('if-modified-since') ?? undefined;
  out.range = h.get('range') ?? undefined;
  out.ifRange = h.get('if-range') ?? undefined;
  return out;
};

function headerPairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

function build(a: Answer<Blob>): Response {
  return new Response(a.body, { status: a.status, headers: headerPairs(a.headers) });
}

function listenApp(app: App<Blob>, target: ListenTarget): Promise<Listener> {
  if ('handle' in target)
    return Promise.reject(new EnvironmentError('a listening handle cannot be adopted under Bun', 'report this: handles are for Node worker threads'));
  // Fixed answers are long-lived: their Response is made on first use and cloned after that.
  const ready = new WeakMap<Answer<Blob>, Response>();
  const respond = (a: Answer<Blob>): Response => {
    if (!a.fixed) return build(a);
    let r = ready.get(a);
    if (r === undefined) {
      r = build(a);
      ready.set(a, r);
    }
    return r.clone();
  };
  // The site's files are routed by Bun's own router (an exact match on the path as sent): no
  // Request.url string, no lookup in JavaScript. Paths with ":" or "*" (route patterns to Bun)
  // are left to fetch(), which answers every path the same way.
  const routes: Record<string, (req: Request) => Response> = {};
  for (const [path, route] of app.routes ?? []) {
    if (path.includes(':') || path.includes('*')) continue;
    routes[path] = (req) => {
      const t0 = performance.now();
      const method = req.method;
      const a = route.answer(req, method, readHeaders);
      const r = respond(a);
      app.done(method, app.logsRequests ? requestTarget(req.url) : path, a.status, t0);
      return r;
    };
  }
  let server: BunServer;
  try {
    server = bunApi().serve({
      routes,
      port: target.port,
      hostname: target.host,
      reusePort: target.reusePort ?? false,
      idleTimeout: IDLE_TIMEOUT_S,
      development: false,
      fetch(req) {
        const t0 = performance.now();
        const method = req.method;
        const url = requestTarget(req.url);
        const a = app.answer(req, method, url, readHeaders);
        if (!isPending(a)) {
          const r = respond(a);
          app.done(method, url, a.status, t0);
          return r;
        }
        return a.then((later) => {
          const r = respond(later);
          app.done(method, url, later.status, t0);
          return r;
        });
      },
      error: () => new Response('Internal server error\n', { status: 500 }),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    return Promise.reject(
      new EnvironmentError(
        `cannot listen on ${target.host}:${target.port}: ${code ?? (err as Error).message}`,
        `free the port or choose another with ${target.setting}`,
        { cause: err },
      ),
    );
  }
  return Promise.resolve({
    port: server.port,
    async close() {
      const force = setTimeout(() => void server.stop(true), DRAIN_MS);
      await server.stop(false);
      clearTimeout(force);
    },
  });
}

export const bunRuntime: HttpRuntime<Blob> = {
  name: 'bun',
  portSharing: 'reuse-port',
  toBody: (bytes) => new Blob([bytes]),
  slice: (body, start, end) => body.slice(start, end),
  listen: listenApp,
};
