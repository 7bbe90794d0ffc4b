// Several workers through node:cluster (TSHERVE_WORKER_MODE=processes): the primary is a
// coordinator (coordinator.ts) over forked worker processes, which it reaches over IPC (nothing
// crosses IPC on the request path); SIGTERM is forwarded as a signal so every worker drains.
//
// Memory: each worker loads its own copy of the site (Buffers in its own heap), so N workers hold
// N copies: an extra worker costs about the site size plus the Node runtime (see README).
import cluster from 'node:cluster';
import { BenchError, ExitCode } from '../../../driver/src/errors.js';
import type { Config } from './config.js';
import { runCoordinator, type WorkerHandle } from './coordinator.js';
import type { Logger } from './log.js';
import { parseCoordinatorMessage, type WorkerMessage } from './scrape.js';
import { startServing, type Running } from './server.js';

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
