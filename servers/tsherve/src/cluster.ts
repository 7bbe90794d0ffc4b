// Several workers as processes (TSHERVE_WORKER_MODE=processes): the primary is a coordinator
// (coordinator.ts) over forked worker processes, which it reaches over IPC (nothing crosses IPC
// on the request path); SIGTERM is forwarded as a signal so every worker drains. How the workers
// share the site port is the runtime's (runtime.ts): on Node the primary owns the socket and hands
// connections out round-robin; on Bun each worker binds the port with SO_REUSEPORT and the kernel
// spreads connections by a hash of the client's address and port.
//
// Memory: each worker loads its own copy of the site, so N workers hold N copies: an extra worker
// costs about the site size plus the runtime (see README).
import cluster from 'node:cluster';
import type { Config } from './config.js';
import { runCoordinator, type WorkerHandle } from './coordinator.js';
import type { Logger } from './log.js';
import type { HttpRuntime } from './runtime.js';
import { startServing } from './server.js';
import { serveAsWorker } from './worker.js';

/**
 * The site port a worker must bind, set by the primary when the workers bind the port each and
 * TSHERVE_PORT was 0 (the first worker's port). Internal: not a setting, never documented as one.
 */
const WORKER_PORT_ENV = 'TSHERVE_INTERNAL_WORKER_PORT';

export function runWorker<B>(runtime: HttpRuntime<B>, config: Config, log: Logger): void {
  const given = process.env[WORKER_PORT_ENV];
  const port = given !== undefined && /^\d+$/.test(given) ? Number(given) : config.port;
  serveAsWorker(
    { send: (m) => process.send?.(m), onMessage: (listener) => process.on('message', listener) },
    // On Node, listening goes through the cluster's shared handle: with port 0 every worker gets the same port.
    () => startServing(runtime, { ...config, port }, log, { metrics: false, reusePort: runtime.portSharing === 'reuse-port' }),
    // The primary forwards SIGTERM as a signal (a message could be lost before a listener exists);
    // a terminal's Ctrl-C reaches the workers directly.
    { signals: true },
  );
}

export function runPrimary(runtime: HttpRuntime<unknown>, config: Config, log: Logger): void {
  runCoordinator({
    config,
    log,
    runtime,
    portFromFirstWorker: runtime.portSharing === 'reuse-port',
    spawn(events, port): WorkerHandle {
      const worker = cluster.fork(port === undefined ? {} : { [WORKER_PORT_ENV]: String(port) });
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
