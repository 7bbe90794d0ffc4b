// What a coordinator of several workers does, whatever the workers are (cluster processes or
// worker threads): start them, announce "listening" once all are ready, own the metrics port and
// merge the workers' snapshots at each scrape, replace a worker that dies after start-up, abort
// with the first worker's start-up failure, and drain everything on SIGTERM/SIGINT.
import { errorExitCode, errorLine, ExitCode } from './errors.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { ProcessMonitor, renderSnapshot } from './metrics.js';
import { parseWorkerMessage, Scraper, type CoordinatorMessage } from './scrape.js';
import { DRAIN_MS, type HttpRuntime, type Listener } from './runtime.js';
import { metricsApp } from './server.js';

/** Retry interval of a replacement worker that fails to start: doubles from the first to the second. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;

/** One started worker, as the coordinator drives it. */
export interface WorkerHandle {
  readonly id: number;
  /** How logs name it, e.g. { pid } or { thread }. */
  readonly label: Record<string, unknown>;
  send(message: CoordinatorMessage): void;
  /** Ask it to drain and exit. */
  stop(): void;
  /** End it now (after the drain limit). */
  kill(): void;
}

/** What a worker reports to the coordinator; the adapter wires its events to these. */
interface WorkerEvents {
  message(raw: unknown): void;
  exit(detail: string): void;
}

export interface CoordinatorOptions {
  config: Config;
  log: Logger;
  /** Serves the metrics port. */
  runtime: HttpRuntime<unknown>;
  /**
   * Start one worker. `port`: the site port it must bind when the workers bind it each
   * (SO_REUSEPORT) and TSHERVE_PORT was 0: the first worker's; undefined = the configured one.
   */
  spawn(events: WorkerEvents, port: number | undefined): WorkerHandle;
  /** The workers bind the site port each: with port 0 the first one starts alone and its port goes to the rest. */
  portFromFirstWorker?: boolean;
  /** Fields added to the "listening" line. */
  announce?: Record<string, unknown>;
  /** Runs first at shutdown (the threads' spare socket descriptor is closed here). */
  beforeShutdown?(): void;
}

export function runCoordinator(opts: CoordinatorOptions): void {
  const { config, log } = opts;
  const scraper = new Scraper(new ProcessMonitor(), log);
  const live = new Map<number, { handle: WorkerHandle; exited: Promise<void> }>();
  const ready = new Set<number>();
  let started = false;
  let shuttingDown = false;
  let sitePort = 0;
  // With the workers binding the port each and TSHERVE_PORT=0, the others wait for the first one's port.
  const staggered = (opts.portFromFirstWorker ?? false) && config.port === 0;
  let sharedPort: number | undefined;
  let restartDelayMs = 0;
  const restarts = new Set<NodeJS.Timeout>();
  let metricsListener: Listener | null = null;

  const abort = (line: string, exitCode: number): never => {
    process.stderr.write(`tsherve: ${line}\n`);
    shuttingDown = true;
    for (const { handle } of live.values()) handle.kill();
    process.exit(exitCode);
  };

  const onAllReady = async (): Promise<void> => {
    started = true;
    const targets = () =>
      [...live.values()].filter(({ handle }) => ready.has(handle.id)).map(({ handle }) => ({ id: handle.id, send: (m: CoordinatorMessage) => handle.send(m) }));
    const render = async (): Promise<string> => renderSnapshot(await scraper.scrape(targets()));
    metricsListener = await opts.runtime
      .listen(metricsApp(render), { port: config.metricsPort, host: config.host, setting: 'TSHERVE_METRICS_PORT' })
      .catch((err: unknown) => abort(errorLine(err), errorExitCode(err)));
    const metricsPort = metricsListener.port;
    log.always('listening', {
      host: config.host,
      port: sitePort,
      metricsPort,
      workers: config.workers,
      workerMode: config.workerMode,
      runtime: config.runtime,
      pid: process.pid,
      ...opts.announce,
    });
  };

  const start = (): void => {
    let handle: WorkerHandle | null = null;
    let resolveExit = (): void => {};
    const exited = new Promise<void>((r) => (resolveExit = r));
    handle = opts.spawn(
      {
        message(raw) {
          if (handle === null) return;
          const m = parseWorkerMessage(raw);
          if (m === null) {
            log.warn('ignoring a malformed message from a worker', handle.label);
            return;
          }
          if (m.type === 'tsherve:metrics') scraper.answer(handle.id, m);
          else if (m.type === 'tsherve:ready') {
            sitePort = m.port;
            ready.add(handle.id);
            if (staggered && sharedPort === undefined && !shuttingDown) {
              sharedPort = m.port;
              for (let i = 1; i < config.workers; i++) start();
            }
            if (started) log.info('worker ready', handle.label);
            else if (ready.size === config.workers && !shuttingDown) void onAllReady();
          } else if (!started)
            abort(m.line, m.exitCode); // every worker would fail the same way
          else log.error('replacement worker failed to start', { ...handle.label, error: m.line });
        },
        exit(detail) {
          resolveExit();
          if (handle === null) return;
          const wasReady = ready.delete(handle.id);
          live.delete(handle.id);
          scraper.forget(handle.id); // a scrape in flight does not wait for a worker that is gone
          if (shuttingDown) return;
          // A worker that failed during start-up without telling why (a 'fatal' message aborts first).
          if (!started) abort(`a worker exited during start-up (${detail})`, ExitCode.failure);
          // A worker that served is replaced at once; replacements that keep failing to start (the
          // webroot gone, the map host down) are retried at doubling intervals, not in a tight loop.
          restartDelayMs = wasReady ? 0 : Math.min(Math.max(RESTART_MIN_MS, restartDelayMs * 2), RESTART_MAX_MS);
          log.warn('worker died; starting a replacement', { ...handle.label, exit: detail, inMs: restartDelayMs });
          const timer = setTimeout(() => {
            restarts.delete(timer);
            if (!shuttingDown) start();
          }, restartDelayMs);
          restarts.add(timer);
        },
      },
      sharedPort,
    );
    live.set(handle.id, { handle, exited });
  };

  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('shutting down', { signal, drainMs: DRAIN_MS });
    for (const t of restarts) clearTimeout(t);
    opts.beforeShutdown?.();
    const workers = [...live.values()];
    for (const { handle } of workers) handle.stop();
    const kill = setTimeout(() => workers.forEach(({ handle }) => handle.kill()), DRAIN_MS + 1_000);
    void Promise.all([...workers.map((w) => w.exited), metricsListener ? metricsListener.close() : Promise.resolve()]).then(() => {
      clearTimeout(kill);
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  for (let i = 0; i < (staggered ? 1 : config.workers); i++) start();
}
