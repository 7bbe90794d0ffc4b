// Several workers through node:cluster: the primary owns the metrics port and, at each scrape,
// asks every worker for its snapshot over IPC and merges them (nothing crosses IPC on the request
// path); a worker that dies after start-up is replaced and logged; SIGTERM/SIGINT are forwarded so
// every worker drains.
//
// Memory: each worker loads its own copy of the site (Buffers in its own heap), so N workers hold
// N copies: an extra worker costs about the site size plus the Node runtime (see README).
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { BenchError, ExitCode } from '../../../driver/src/errors.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { CONTENT_TYPE, ProcessMonitor, renderSnapshot } from './metrics.js';
import { parseCoordinatorMessage, parseWorkerMessage, Scraper, type CoordinatorMessage, type WorkerMessage } from './scrape.js';
import { createMetricsServer, drain, DRAIN_MS, listen, startServing, trackSockets, type Running } from './server.js';

export async function runWorker(config: Config, log: Logger): Promise<void> {
  // Answer the primary's scrapes from the start (with no snapshot until ready), so a scrape while a
  // replacement worker loads the site does not wait for the scrape timeout.
  let running: Running | null = null;
  process.on('message', (raw: unknown) => {
    const req = parseCoordinatorMessage(raw);
    if (req?.type === 'tsherve:scrape') process.send?.({ type: 'tsherve:metrics', id: req.id, snapshot: running?.snapshot() ?? null } satisfies WorkerMessage);
  });
  // Shutdown can arrive while the site still loads: then nothing is in flight and exiting is enough.
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    if (running === null) process.exit(0);
    void running.close().then(() => process.exit(0));
  };
  // The primary forwards SIGTERM as a signal (a message could be lost before a listener exists);
  // a terminal's Ctrl-C reaches the workers directly.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  try {
    // Listening goes through the cluster's shared handle: with port 0 every worker gets the same port.
    running = await startServing(config, log, { metrics: false });
  } catch (err) {
    const line = err instanceof BenchError ? err.oneLine() : String(err);
    const exitCode = err instanceof BenchError ? err.exitCode : ExitCode.failure;
    process.send?.({ type: 'tsherve:fatal', line, exitCode } satisfies WorkerMessage);
    process.exit(exitCode);
  }
  process.send?.({ type: 'tsherve:ready', port: running.port } satisfies WorkerMessage);
}

export async function runPrimary(config: Config, log: Logger): Promise<void> {
  const scraper = new Scraper(new ProcessMonitor(), log);
  let shuttingDown = false;
  let started = false;
  let sitePort = 0;
  const ready = new Set<number>();
  let metricsServer: Server | null = null;
  let metricsSockets = new Set<Socket>();

  const abort = (line: string, exitCode: number): never => {
    process.stderr.write(`tsherve: ${line}\n`);
    shuttingDown = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(exitCode);
  };

  const scrapeWorkers = () =>
    scraper.scrape(
      Object.values(cluster.workers ?? {})
        .filter((w): w is Worker => w !== undefined && w.isConnected())
        .map((w) => ({ id: w.id, send: (m: CoordinatorMessage) => w.send(m) })),
    );

  const onAllReady = async (): Promise<void> => {
    started = true;
    metricsServer = createMetricsServer(async () => renderSnapshot(await scrapeWorkers()), CONTENT_TYPE);
    metricsSockets = trackSockets(metricsServer);
    const metricsPort = await listen(metricsServer, config.metricsPort, config.host, 'TSHERVE_METRICS_PORT').catch((err: unknown) =>
      abort(err instanceof BenchError ? err.oneLine() : String(err), err instanceof BenchError ? err.exitCode : ExitCode.failure),
    );
    log.always('listening', { host: config.host, port: sitePort, metricsPort, workers: config.workers, pid: process.pid });
  };

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (raw: unknown) => {
      const m = parseWorkerMessage(raw);
      if (m === null) {
        log.warn('ignoring a malformed message from a worker', { pid: worker.process.pid });
        return;
      }
      if (m.type === 'tsherve:metrics') scraper.answer(worker.id, m);
      else if (m.type === 'tsherve:ready') {
        sitePort = m.port;
        ready.add(worker.id);
        if (started) log.info('worker ready', { pid: worker.process.pid });
        else if (ready.size === config.workers) void onAllReady();
      } else if (!started) {
        abort(m.line, m.exitCode); // every worker would fail the same way
      } else {
        log.error('replacement worker failed to start', { pid: worker.process.pid, error: m.line });
      }
    });
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    scraper.forget(worker.id); // a scrape in flight does not wait for a worker that is gone
    if (shuttingDown) return;
    // A worker that crashed during start-up without telling why (its 'fatal' message exits first).
    if (!started) abort(`a worker exited during start-up (${signal ?? `code ${code}`})`, ExitCode.failure);
    log.warn('worker died; starting a replacement', { pid: worker.process.pid, code, signal });
    fork();
  });

  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('shutting down', { signal, drainMs: DRAIN_MS });
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
    const exited = Promise.all(workers.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r())))));
    const kill = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), DRAIN_MS + 1_000);
    void Promise.all([exited, metricsServer ? drain(metricsServer, metricsSockets) : Promise.resolve()]).then(() => {
      clearTimeout(kill);
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  for (let i = 0; i < config.workers; i++) fork();
}
