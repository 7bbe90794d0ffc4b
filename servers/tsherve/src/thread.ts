// A worker thread of TSHERVE_WORKER_MODE=threads: serves the coordinator's shared site on a
// descriptor of its own for the shared socket, answers scrapes, drains on the coordinator's word.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { BenchError, ExitCode } from '../../../driver/src/errors.js';
import { dupListener } from './listen-dup.js';
import { createLogger } from './log.js';
import { parseCoordinatorMessage, type WorkerMessage } from './scrape.js';
import { startServing, type Running } from './server.js';
import { adoptSite } from './site.js';
import type { ThreadData } from './threads.js';

const port = parentPort;
if (port === null) throw new Error('thread.ts runs as a worker thread of threads.ts');
const data = workerData as ThreadData;
const log = createLogger(data.config.logLevel, { worker: threadId });
const send = (m: WorkerMessage): void => port.postMessage(m);

let running: Running | null = null;
let closing = false;
const shutdown = (): void => {
  if (closing) return;
  closing = true;
  if (running === null) process.exit(0); // in a worker thread this ends the thread
  void running.close().then(() => process.exit(0));
};
port.on('message', (raw: unknown) => {
  const m = parseCoordinatorMessage(raw);
  if (m?.type === 'tsherve:scrape') send({ type: 'tsherve:metrics', id: m.id, snapshot: running?.snapshot() ?? null });
  else if (m?.type === 'tsherve:shutdown') shutdown();
});

try {
  const handle = await dupListener(data.listenFd);
  running = await startServing(data.config, log, { metrics: false, site: adoptSite(data.site), listenHandle: handle, processWide: false });
  send({ type: 'tsherve:ready', port: running.port });
} catch (err) {
  const line = err instanceof BenchError ? err.oneLine() : err instanceof Error ? err.message : String(err);
  const exitCode = err instanceof BenchError ? err.exitCode : ExitCode.failure;
  send({ type: 'tsherve:fatal', line, exitCode });
  process.exit(exitCode);
}
