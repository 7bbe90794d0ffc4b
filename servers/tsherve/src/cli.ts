#!/usr/bin/env -S node --max-semi-space-size=8
// tsherve's command line: parses the configuration (one line + exit 2 when invalid), starts it
// again under the runtime it names when another one runs this script (relaunch.ts), then runs one
// worker in this process, or several: node:cluster processes or worker threads (TSHERVE_WORKER_MODE),
// serving through the runtime's adapter (runtime.ts). Start-up failures exit 3 or 4.
//
// The shebang caps V8's young generation at 8 MB semi-spaces (its starting size): under load V8
// would otherwise double them, adding ~11 MB of resident memory for no measured gain (60 s wrk runs,
// peak RSS 126/125 MB -> 115/116 MB, req/s 1.01-1.06x). Every launcher passes the same flags:
// the harness reads them from this line (driver/src/servers/registry.ts), nix/packages.nix repeats them
// (checked by driver/test/nix.test.ts).
import cluster from 'node:cluster';
import { runPrimary, runWorker } from './cluster.js';
import { helpText, parseConfig, type Config } from './config.js';
import { errorExitCode, errorLine } from './errors.js';
import { createLogger } from './log.js';
import { relaunch } from './relaunch.js';
import { currentRuntime, DRAIN_MS, loadRuntime } from './runtime.js';
import { startServing } from './server.js';
import { runThreads } from './threads.js';

function die(err: unknown): never {
  process.stderr.write(`tsherve: ${errorLine(err)}\n`);
  process.exit(errorExitCode(err));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText());
    return;
  }
  let config: Config;
  try {
    config = parseConfig(process.env, argv);
  } catch (err) {
    die(err);
  }
  if (config.runtime !== currentRuntime()) return relaunch(config.runtime, process.argv[1] ?? '', argv, die);
  const log = createLogger(config.logLevel, cluster.isWorker ? { worker: cluster.worker?.id } : {});
  const runtime = await loadRuntime(config.runtime);
  if (cluster.isWorker) return runWorker(runtime, config, log);
  if (config.workers > 1) return config.workerMode === 'threads' ? runThreads(config, log) : runPrimary(runtime, config, log);

  // One worker: everything in this process, no cluster and no IPC.
  const running = await startServing(runtime, config, log, { metrics: true }).catch(die);
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { signal, drainMs: DRAIN_MS });
    void running.close().then(() => {
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Announced once the signals are handled: a tool that stops tsherve right after this line must
  // get a drain and exit 0, not the default action of a signal that came first.
  log.always('listening', {
    host: config.host,
    port: running.port,
    metricsPort: running.metricsPort,
    workers: 1,
    runtime: config.runtime,
    pid: process.pid,
    files: running.site.files,
    bytes: running.site.bytes,
  });
}

main().catch(die);
