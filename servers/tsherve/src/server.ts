// One serving process: loads the site and the map, listens on the site port (and, when it is the
// only process, the metrics port), and drains in-flight responses on shutdown.
import { createServer, type Server } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { EnvironmentError, InputError } from './errors.js';
import type { Config } from './config.js';
import { createHandler } from './handler.js';
import type { Logger } from './log.js';
import { CONTENT_TYPE, HotCounters, ProcessMonitor, renderSnapshot, takeSnapshot, type Snapshot } from './metrics.js';
import { MapFetchError, RedirectStore } from './redirects.js';
import type { ListenHandle } from './listen-dup.js';
import { emptySite, loadSite, type Site } from './site.js';

export const DRAIN_MS = 10_000;


export interface Running {
  port: number;
  metricsPort: number | null;
  /** This process's metrics now (the cluster primary merges the workers'). */
  snapshot(): Snapshot;
  site: Site;
  close(): Promise<void>;
}

/** Where a server listens: an address, or a listening handle it adopts (a worker thread's descriptor). */
export type ListenTarget = { port: number; host: string; setting: string } | { handle: ListenHandle };

/** Listen; resolves with the port. A failure is an EnvironmentError naming the setting to change. */
export function listen(server: NetServer, target: ListenTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(
        'handle' in target
          ? new EnvironmentError(`cannot listen on the shared socket: ${err.code ?? err.message}`, 'report this: the worker thread could not adopt its descriptor', { cause: err })
          : new EnvironmentError(`cannot listen on ${target.host}:${target.port}: ${err.code ?? err.message}`, `free the port or choose another with ${target.setting}`, { cause: err }),
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

export function hardenServer(server: Server): void {
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000; // slowloris: headers must arrive within 10 s
  server.requestTimeout = 30_000;
}

export function createMetricsServer(render: () => Promise<string>, contentType: string): Server {
  const server = createServer(SERVER_OPTIONS, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Not found; metrics are at /metrics\n');
      return;
    }
    render().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': contentType });
        res.end(text);
      },
      (err: Error) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`metrics unavailable: ${err.message}\n`);
      },
    );
  });
  hardenServer(server);
  return server;
}

/** Sockets of a server, so shutdown can tell a busy connection from an idle one. */
export function trackSockets(server: Server): Set<Socket> {
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
export function drain(server: Server, sockets: Set<Socket>): Promise<void> {
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

export interface ServeOptions {
  /** Also serve the metrics port (the only process); false under a cluster primary or thread coordinator. */
  metrics: boolean;
  /** The site, already loaded (worker threads share the coordinator's); default: load config.webroot. */
  site?: Site;
  /** Listen on this handle (a worker thread's own descriptor of the shared socket) instead of host:port. */
  listenHandle?: ListenHandle;
  /** false in a worker thread: process-wide figures are the coordinator's to report. */
  processWide?: boolean;
}

/** The site named by the configuration, loaded from disk (exit 3 when over the cap). */
export function loadConfiguredSite(config: Config, log: Logger, shared = false): Site {
  return config.webroot ? loadSite(config.webroot, { maxBytes: config.maxSiteBytes, confineSymlinks: config.confineSymlinks, log, shared }) : emptySite();
}

export async function startServing(config: Config, log: Logger, opts: ServeOptions): Promise<Running> {
  const site: Site = opts.site ?? loadConfiguredSite(config, log);
  const hot = new HotCounters();
  const redirects = new RedirectStore({
    url: config.redirectMapUrl,
    timeoutMs: config.mapTimeoutMs,
    maxBytes: config.mapMaxBytes,
    intervalMs: config.refreshIntervalMs,
    log,
  });
  try {
    await redirects.loadWithRetries();
  } catch (err) {
    const cause = err instanceof MapFetchError ? err.message : String(err);
    throw new InputError(`cannot fetch the redirect map ${config.redirectMapUrl}: ${cause}`, "check TSHERVE_REDIRECT_MAP_URL and that the map's host answers", { cause: err });
  }
  redirects.startPeriodic(config.periodicRefreshMs);
  const monitor = new ProcessMonitor({ processWide: opts.processWide ?? true });
  const snapshot = (): Snapshot => takeSnapshot({ hot, redirectsDefined: () => redirects.size, refreshes: () => redirects.counts }, monitor);

  // Node 20's server.close() would also end connections whose response is still being flushed.
  const server = createServer(SERVER_OPTIONS, createHandler({ site, redirects, hot, log }));
  hardenServer(server);
  const sockets = trackSockets(server);
  const port = await listen(server, opts.listenHandle ? { handle: opts.listenHandle } : { port: config.port, host: config.host, setting: 'TSHERVE_PORT' });
  let metricsServer: Server | null = null;
  let metricsPort: number | null = null;
  let metricsSockets = new Set<Socket>();
  if (opts.metrics) {
    metricsServer = createMetricsServer(() => Promise.resolve(renderSnapshot(snapshot())), CONTENT_TYPE);
    metricsSockets = trackSockets(metricsServer);
    metricsPort = await listen(metricsServer, { port: config.metricsPort, host: config.host, setting: 'TSHERVE_METRICS_PORT' });
  }
  log.info('site loaded', { files: site.files, bytes: site.bytes, redirects: redirects.size });
  return {
    port,
    metricsPort,
    snapshot,
    site,
    async close() {
      redirects.stop();
      monitor.stop();
      await Promise.all([drain(server, sockets), metricsServer ? drain(metricsServer, metricsSockets) : Promise.resolve()]);
    },
  };
}
