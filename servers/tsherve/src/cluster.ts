// Several workers through node:cluster: the primary owns the metrics port and aggregates every
// worker's registry at scrape time (nothing crosses IPC on the request path); a worker that dies
// after start-up is replaced. Each worker holds its own copy of the site in memory.
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createMetricsServer, drain, startServing, StartupError, trackSockets } from './server.js';

type WorkerMessage = { type: 'ready'; port: number } | { type: 'fatal'; message: string };

export async function runWorker(config: Config, log: Logger): Promise<void> {
  // Listening on the cluster's shared handle: port 0 gives every worker the same ephemeral port.
  let running;
  try {
    running = await startServing(config, log, { metrics: false });
  } catch (err) {
    const message = err instanceof StartupError ? err.message : String(err);
    process.send?.({ type: 'fatal', message } satisfies WorkerMessage);
    process.exit(1);
  }
  new AggregatorRegistry(); // installs the worker's side of the metrics request listener
  AggregatorRegistry.setRegistries([running.registry]);
  const shutdown = (): void => {
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'shutdown') shutdown();
  });
  process.send?.({ type: 'ready', port: running.port } satisfies WorkerMessage);
}

export async function runPrimary(config: Config, log: Logger): Promise<void> {
  const aggregator = new AggregatorRegistry();
  let shuttingDown = false;
  let started = false;
  let sitePort = 0;
  const ready = new Set<number>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') {
        sitePort = m.port;
        ready.add(worker.id);
        if (!started && ready.size === config.workers) void onAllReady();
      } else if (m.type === 'fatal') {
        process.stderr.write(`tsherve: ${m.message}\n`);
        shuttingDown = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        process.exit(1);
      }
    });
    return worker;
  };

  let metricsServer: Server | null = null;
  let metricsSockets = new Set<Socket>();
  const onAllReady = async (): Promise<void> => {
    started = true;
    metricsServer = createMetricsServer(() => aggregator.clusterMetrics(), aggregator.contentType);
    metricsSockets = trackSockets(metricsServer);
    await new Promise<void>((resolve, reject) => {
      metricsServer!.once('error', (err: NodeJS.ErrnoException) => reject(new StartupError(`cannot listen on ${config.host}:${config.metricsPort}: ${err.code ?? err.message}`)));
      metricsServer!.listen({ port: config.metricsPort, host: config.host }, () => resolve());
    }).catch((err: Error) => {
      process.stderr.write(`tsherve: ${err.message}\n`);
      shuttingDown = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    });
    const metricsPort = (metricsServer!.address() as AddressInfo).port;
    log.always('listening', { host: config.host, port: sitePort, metricsPort, workers: config.workers, pid: process.pid });
  };

  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    if (shuttingDown) return;
    log.warn('worker died; starting a replacement', { pid: worker.process.pid, code, signal });
    fork();
  });

  const shutdown = (): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('shutting down', { drainMs: 10_000 });
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    for (const w of workers) w.send({ type: 'shutdown' });
    const exited = Promise.all(workers.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r())))));
    const kill = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), 11_000);
    void Promise.all([exited, metricsServer ? drain(metricsServer, metricsSockets) : Promise.resolve()]).then(() => {
      clearTimeout(kill);
      process.exit(0);
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  for (let i = 0; i < config.workers; i++) fork();
}
