// One serving process: loads the site and the map, listens on the site port (and, when it is the
// only process, the metrics port) through the runtime's adapter, and drains on shutdown.
import { textAnswer, type Answer, type App } from './answer.js';
import type { Config } from './config.js';
import { InputError } from './errors.js';
import { createHandler } from './handler.js';
import type { ListenHandle } from './listen-dup.js';
import type { Logger } from './log.js';
import { CONTENT_TYPE, HotCounters, ProcessMonitor, renderSnapshot, takeSnapshot, type Snapshot } from './metrics.js';
import { MapFetchError, RedirectStore } from './redirects.js';
import type { HttpRuntime, Listener } from './runtime.js';
import { emptySite, loadSite, type Site } from './site.js';

export interface Running<B> {
  port: number;
  metricsPort: number | null;
  /** This process's metrics now (the cluster primary merges the workers'). */
  snapshot(): Snapshot;
  site: Site<B>;
  close(): Promise<void>;
}

const METRICS_NOT_FOUND = textAnswer(404, 'Not found; metrics are at /metrics\n', 'text/plain', true);

/** The metrics port: GET /metrics answers `render()` in the text format, anything else 404. */
export function metricsApp(render: () => Promise<string>): App<never> {
  return {
    answer(_req, method, url): Answer<never> | Promise<Answer<never>> {
      const q = url.indexOf('?');
      if (method !== 'GET' || (q === -1 ? url : url.slice(0, q)) !== '/metrics') return METRICS_NOT_FOUND;
      return render().then(
        (text) => textAnswer(200, text, CONTENT_TYPE),
        (err: Error) => textAnswer(500, `metrics unavailable: ${err.message}\n`, 'text/plain'),
      );
    },
    done() {},
    logsRequests: false,
  };
}

export interface ServeOptions<B> {
  /** Also serve the metrics port (the only process); false under a cluster primary or thread coordinator. */
  metrics: boolean;
  /** The site, already loaded (worker threads share the coordinator's); default: load config.webroot. */
  site?: Site<B>;
  /** Listen on this handle (a Node worker thread's own descriptor of the shared socket) instead of host:port. */
  listenHandle?: ListenHandle;
  /** Other worker processes bind the site port too (runtimes that share it with SO_REUSEPORT). */
  reusePort?: boolean;
  /** false in a worker thread: process-wide figures are the coordinator's to report. */
  processWide?: boolean;
}

/** The site named by the configuration, loaded from disk (exit 3 when over the cap). */
export function loadConfiguredSite<B>(config: Config, log: Logger, toBody: (bytes: Buffer) => B, shared = false): Site<B> {
  return config.webroot
    ? loadSite(config.webroot, { maxBytes: config.maxSiteBytes, confineSymlinks: config.confineSymlinks, log, shared, toBody })
    : emptySite();
}

export async function startServing<B>(runtime: HttpRuntime<B>, config: Config, log: Logger, opts: ServeOptions<B>): Promise<Running<B>> {
  const site: Site<B> = opts.site ?? loadConfiguredSite(config, log, runtime.toBody);
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
    throw new InputError(`cannot fetch the redirect map ${config.redirectMapUrl}: ${cause}`, "check TSHERVE_REDIRECT_MAP_URL and that the map's host answers", {
      cause: err,
    });
  }
  redirects.startPeriodic(config.periodicRefreshMs);
  const monitor = new ProcessMonitor({ processWide: opts.processWide ?? true });
  const snapshot = (): Snapshot => takeSnapshot({ hot, redirectsDefined: () => redirects.size, refreshes: () => redirects.counts }, monitor);

  const app = createHandler({ site, redirects, hot, log, slice: runtime.slice });
  const siteListener = await runtime.listen(
    app,
    opts.listenHandle ? { handle: opts.listenHandle } : { port: config.port, host: config.host, setting: 'TSHERVE_PORT', reusePort: opts.reusePort ?? false },
  );
  let metricsListener: Listener | null = null;
  if (opts.metrics) {
    const render = (): Promise<string> => Promise.resolve(renderSnapshot(snapshot()));
    metricsListener = await (runtime as HttpRuntime<unknown>).listen(metricsApp(render), {
      port: config.metricsPort,
      host: config.host,
      setting: 'TSHERVE_METRICS_PORT',
    });
  }
  log.info('site loaded', { files: site.files, bytes: site.bytes, redirects: redirects.size });
  return {
    port: siteListener.port,
    metricsPort: metricsListener?.port ?? null,
    snapshot,
    site,
    async close() {
      redirects.stop();
      monitor.stop();
      await Promise.all([siteListener.close(), metricsListener ? metricsListener.close() : Promise.resolve()]);
    },
  };
}
