#!/usr/bin/env -S node --max-semi-space-size=8
// tsherve's command line: parses the configuration (one line + exit 2 when invalid), then runs one
// worker in this process, or several: node:cluster processes or worker threads (TSHERVE_WORKER_MODE).
// Start-up failures exit 3 or 4.
//
// The shebang caps V8's young generation at 8 MB semi-spaces (its starting size): under load V8
// would otherwise double them, adding ~11 MB of resident memory for no measured gain (60 s wrk runs,
// peak RSS 126/125 MB -> 115/116 MB, req/s 1.01-1.06x). Every launcher passes the same flags:
// the harness reads them from this line (driver/src/impls.ts), nix/packages.nix repeats them
// (checked by driver/test/nix.test.ts).
import cluster from 'node:cluster';
import { errorExitCode, errorLine } from './errors.js';
import { runPrimary, runWorker } from './cluster.js';
import { helpText, parseConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { DRAIN_MS, startServing } from './server.js';
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
  const log = createLogger(config.logLevel, cluster.isWorker ? { worker: cluster.worker?.id } : {});
  if (cluster.isWorker) return runWorker(config, log);
  if (config.workers > 1) return config.workerMode === 'threads' ? runThreads(config, log) : runPrimary(config, log);

  // One worker: everything in this process, no cluster and no IPC.
  const running = await startServing(config, log, { metrics: true }).catch(die);
  log.always('listening', { host: config.host, port: running.port, metricsPort: running.metricsPort, workers: 1, pid: process.pid, files: running.site.files, bytes: running.site.bytes });
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
}

main().catch(die);
