// One worker, whichever kind (a cluster process or a worker thread): answers the coordinator's
// scrapes from the start (with no snapshot until it serves, so a scrape while a replacement loads
// does not wait for the timeout), reports ready or its start-up failure, drains on shutdown.
import { errorExitCode, errorLine } from './errors.js';
import { parseCoordinatorMessage, type WorkerMessage } from './scrape.js';
import type { Running } from './server.js';

/** The worker's end of its link to the coordinator (process IPC or a thread's port). */
export interface WorkerChannel {
  send(message: WorkerMessage): void;
  onMessage(listener: (raw: unknown) => void): void;
}

/**
 * Start serving through `start` and report the outcome; a start-up failure is sent as 'fatal'
 * and ends the worker with its exit code. Shutdown comes as the coordinator's 'tsherve:shutdown'
 * message or, with `signals`, as SIGTERM/SIGINT (listened to before the site starts loading).
 * Shutdown while the site still loads exits at once: nothing is in flight. (process.exit in a
 * worker thread ends only the thread.)
 */
export function serveAsWorker<B>(channel: WorkerChannel, start: () => Promise<Running<B>>, opts: { signals: boolean }): void {
  let running: Running<B> | null = null;
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    if (running === null) process.exit(0);
    void running.close().then(() => process.exit(0));
  };
  channel.onMessage((raw) => {
    const m = parseCoordinatorMessage(raw);
    if (m?.type === 'tsherve:scrape') channel.send({ type: 'tsherve:metrics', id: m.id, snapshot: running?.snapshot() ?? null });
    else if (m?.type === 'tsherve:shutdown') shutdown();
  });
  if (opts.signals) {
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  }
  start().then(
    (r) => {
      running = r;
      channel.send({ type: 'tsherve:ready', port: r.port });
    },
    (err: unknown) => {
      channel.send({ type: 'tsherve:fatal', line: errorLine(err), exitCode: errorExitCode(err) });
      process.exit(errorExitCode(err));
    },
  );
}
