// Several workers as threads of one process (TSHERVE_WORKER_MODE=threads): the site is loaded
// once into a SharedArrayBuffer that every thread serves from, so an extra worker costs its V8
// isolate, not another copy of the site. The coordinator (main thread) binds the port, keeps one
// spare descriptor of the socket, and each thread listens on a descriptor of its own obtained
// from it (listen-dup.ts); it owns the metrics port and merges the threads' snapshots at each
// scrape; a thread that dies is replaced; SIGTERM/SIGINT drain every thread.
//
// Against processes (cluster.ts): a native crash takes every thread down, and connections are not
// handed out round-robin (each thread accepts from the shared socket; UV_TCP_SINGLE_ACCEPT makes
// each take one connection per wake-up, so a burst spreads).
import { createServer as createNetServer, Server as NetServer } from 'node:net';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { BenchError, ExitCode } from '../../../driver/src/errors.js';
import type { Config } from './config.js';
import { dupListener } from './listen-dup.js';
import type { Logger } from './log.js';
import { CONTENT_TYPE, ProcessMonitor, renderSnapshot } from './metrics.js';
import { parseWorkerMessage, Scraper, type CoordinatorMessage } from './scrape.js';
import { createMetricsServer, drain, DRAIN_MS, listen, loadConfiguredSite, trackSockets } from './server.js';
import type { Site } from './site.js';

/** What each worker thread starts from (structured-cloned; the site's bodies stay shared). */
export interface ThreadData {
  config: Config;
  site: Site;
  /** The coordinator's spare descriptor of the listening socket. */
  listenFd: number;
}

const THREAD_ENTRY = new URL('./thread.js', import.meta.url);

export async function runThreads(config: Config, log: Logger): Promise<void> {
  // Must be set before this process's first listen: libuv reads it once.
  process.env.UV_TCP_SINGLE_ACCEPT ??= '1';
  const site = loadConfiguredSite(config, log, true);

  // Bind, keep a spare descriptor nobody polls, drop the first one. Until the threads listen, a
  // connection is queued by the kernel; the few that this bootstrap listener could take before it
  // closes (nothing has announced the port yet) are reset rather than left hanging.
  const bootstrap = createNetServer((s) => s.destroy());
  const port = await listen(bootstrap as unknown as Server, config.port, config.host);
  const spare = await dupListener((bootstrap as unknown as { _handle: { fd: number } })._handle.fd);
  await new Promise<void>((r) => NetServer.prototype.close.call(bootstrap, () => r()));

  const scraper = new Scraper(new ProcessMonitor(), log);
  const threads = new Map<number, Worker>();
  const ready = new Set<number>();
  let started = false;
  let shuttingDown = false;
  let metricsServer: Server | null = null;
  let metricsSockets = new Set<Socket>();

  const abort = (line: string, exitCode: number): never => {
    process.stderr.write(`tsherve: ${line}\n`);
    shuttingDown = true;
    process.exit(exitCode); // ends every thread with the process
  };

  const onAllReady = async (): Promise<void> => {
    started = true;
    const targets = () => [...threads.entries()].filter(([id]) => ready.has(id)).map(([id, w]) => ({ id, send: (m: CoordinatorMessage) => w.postMessage(m) }));
    metricsServer = createMetricsServer(async () => renderSnapshot(await scraper.scrape(targets())), CONTENT_TYPE);
    metricsSockets = trackSockets(metricsServer);
    const metricsPort = await listen(metricsServer, config.metricsPort, config.host, 'TSHERVE_METRICS_PORT').catch((err: unknown) =>
      abort(err instanceof BenchError ? err.oneLine() : String(err), err instanceof BenchError ? err.exitCode : ExitCode.failure),
    );
    log.always('listening', { host: config.host, port, metricsPort, workers: config.workers, workerMode: 'threads', pid: process.pid, files: site.files, bytes: site.bytes });
  };

  const spawn = (): void => {
    const worker = new Worker(THREAD_ENTRY, { workerData: { config, site, listenFd: spare.fd } satisfies ThreadData });
    const id = worker.threadId;
    threads.set(id, worker);
    worker.on('message', (raw: unknown) => {
      const m = parseWorkerMessage(raw);
      if (m === null) {
        log.warn('ignoring a malformed message from a worker thread', { thread: id });
        return;
      }
      if (m.type === 'tsherve:metrics') scraper.answer(id, m);
      else if (m.type === 'tsherve:ready') {
        ready.add(id);
        if (started) log.info('worker ready', { thread: id });
        else if (ready.size === config.workers) void onAllReady();
      } else if (!started) abort(m.line, m.exitCode); // every thread would fail the same way
      else log.error('replacement worker failed to start', { thread: id, error: m.line });
    });
    worker.on('error', (err) => log.error('worker thread failed', { thread: id, error: err instanceof Error ? err.message : String(err) }));
    worker.on('exit', (code) => {
      threads.delete(id);
      ready.delete(id);
      scraper.forget(id);
      if (shuttingDown) return;
      if (!started) abort(`a worker thread exited during start-up (code ${code})`, ExitCode.failure);
      log.warn('worker died; starting a replacement', { thread: id, code });
      spawn();
    });
  };

  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('shutting down', { signal, drainMs: DRAIN_MS });
    // The spare goes first: a descriptor outliving the threads' would keep the kernel accepting
    // connections that nobody serves.
    spare.close();
    const workers = [...threads.values()];
    const exited = Promise.all(workers.map((w) => new Promise<void>((r) => w.once('exit', () => r()))));
    for (const w of workers) w.postMessage({ type: 'tsherve:shutdown' } satisfies CoordinatorMessage);
    const kill = setTimeout(() => workers.forEach((w) => void w.terminate()), DRAIN_MS + 1_000);
    void Promise.all([exited, metricsServer ? drain(metricsServer, metricsSockets) : Promise.resolve()]).then(() => {
      clearTimeout(kill);
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  for (let i = 0; i < config.workers; i++) spawn();
}
