// Several workers as threads of one process (TSHERVE_WORKER_MODE=threads, on Node only): the site is loaded
// once into SharedArrayBuffers that every thread serves from, so an extra worker costs its V8
// isolate, not another copy of the site. The main thread binds the port, keeps one spare
// descriptor of the socket, and each thread listens on a descriptor of its own obtained from it
// (listen-dup.ts); beyond that the main thread is a coordinator (coordinator.ts) like the
// cluster primary: metrics, replacement of a dead thread, drain on SIGTERM/SIGINT.
//
// Against processes (cluster.ts): a native crash takes every thread down, and connections are not
// handed out round-robin (each thread accepts from the shared socket; UV_TCP_SINGLE_ACCEPT makes
// each take one connection per wake-up, so a burst spreads).
import { createServer as createNetServer, Server as NetServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Config } from './config.js';
import { runCoordinator, type WorkerHandle } from './coordinator.js';
import { dupListener } from './listen-dup.js';
import type { Logger } from './log.js';
import type { HttpRuntime } from './runtime.js';
import type { CoordinatorMessage } from './scrape.js';
import { listenNet, nodeRuntime } from './runtime-node.js';
import { loadConfiguredSite } from './server.js';
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
  const site = loadConfiguredSite(config, log, nodeRuntime.toBody, true);

  // Bind, keep a spare descriptor nobody polls, drop the first one. Until the threads listen, a
  // connection is queued by the kernel; the few that this bootstrap listener could take before it
  // closes (nothing has announced the port yet) are reset rather than left hanging.
  const bootstrap = createNetServer((s) => s.destroy());
  await listenNet(bootstrap, { port: config.port, host: config.host, setting: 'TSHERVE_PORT' });
  const spare = await dupListener((bootstrap as unknown as { _handle: { fd: number } })._handle.fd);
  await new Promise<void>((r) => NetServer.prototype.close.call(bootstrap, () => r()));

  runCoordinator({
    config,
    log,
    runtime: nodeRuntime as HttpRuntime<unknown>,
    announce: { files: site.files, bytes: site.bytes },
    // The spare goes first: a descriptor outliving the threads' would keep the kernel accepting
    // connections that nobody serves.
    beforeShutdown: () => spare.close(),
    spawn(events): WorkerHandle {
      const worker = new Worker(THREAD_ENTRY, { workerData: { config, site, listenFd: spare.fd } satisfies ThreadData });
      const id = worker.threadId;
      worker.on('message', (raw: unknown) => events.message(raw));
      worker.on('error', (err) => log.error('worker thread failed', { thread: id, error: err instanceof Error ? err.message : String(err) }));
      worker.on('exit', (code) => events.exit(`code ${code}`));
      return {
        id,
        label: { thread: id },
        send: (m) => worker.postMessage(m),
        stop: () => worker.postMessage({ type: 'tsherve:shutdown' } satisfies CoordinatorMessage),
        kill: () => void worker.terminate(),
      };
    },
  });
}
