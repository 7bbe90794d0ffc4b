// A worker thread of TSHERVE_WORKER_MODE=threads: serves the coordinator's shared site on a
// descriptor of its own for the shared socket, answers scrapes, drains on the coordinator's word.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { dupListener } from './listen-dup.js';
import { createLogger } from './log.js';
import { nodeRuntime } from './runtime-node.js';
import { startServing } from './server.js';
import { adoptSite } from './site.js';
import type { ThreadData } from './threads.js';
import { serveAsWorker } from './worker.js';

const port = parentPort;
if (port === null) throw new Error('thread.ts runs as a worker thread of threads.ts');
const data = workerData as ThreadData;
const log = createLogger(data.config.logLevel, { worker: threadId });
serveAsWorker(
  { send: (m) => port.postMessage(m), onMessage: (listener) => port.on('message', listener) },
  async () =>
    startServing(nodeRuntime, data.config, log, {
      metrics: false,
      site: adoptSite(data.site),
      listenHandle: await dupListener(data.listenFd),
      processWide: false,
    }),
  { signals: false }, // signals reach the main thread only
);
