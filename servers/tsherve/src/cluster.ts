// Several workers through node:cluster (TSHERVE_WORKER_MODE=processes): the primary is a
// coordinator (coordinator.ts) over forked worker processes, which it reaches over IPC (nothing
// crosses IPC on the request path); SIGTERM is forwarded as a signal so every worker drains.
//
// Memory: each worker loads its own copy of the site (Buffers in its own heap), so N workers hold
// N copies: an extra worker costs about the site size plus the Node runtime (see README).
import cluster from 'node:cluster';
import type { Config } from './config.js';
import { runCoordinator, type WorkerHandle } from './coordinator.js';
import type { Logger } from './log.js';
import { startServing } from './server.js';
import { serveAsWorker } from './worker.js';

export function runWorker(config: Config, log: Logger): void {
  serveAsWorker(
    { send: (m) => process.send?.(m), onMessage: (listener) => process.on('message', listener) },
    // Listening goes through the cluster's shared handle: with port 0 every worker gets the same port.
    () => startServing(config, log, { metrics: false }),
    // The primary forwards SIGTERM as a signal (a message could be lost before a listener exists);
    // a terminal's Ctrl-C reaches the workers directly.
    { signals: true },
  );
}

export function runPrimary(config: Config, log: Logger): void {
  runCoordinator({
    config,
    log,
    spawn(events): WorkerHandle {
      const worker = cluster.fork();
      worker.on('message', (raw: unknown) => events.message(raw));
      worker.on('exit', (code, signal) => events.exit(signal ?? `code ${code}`));
      return {
        id: worker.id,
        label: { pid: worker.process.pid },
        send: (m) => {
          if (worker.isConnected()) worker.send(m);
        },
        // The workers get SIGTERM as a signal (a message could be lost before a listener exists).
        stop: () => {
          if (!worker.isDead()) worker.process.kill('SIGTERM');
        },
        kill: () => {
          if (!worker.isDead()) worker.process.kill('SIGKILL');
        },
      };
    },
  });
}
