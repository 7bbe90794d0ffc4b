#!/usr/bin/env node
// tsherve's command line: configuration errors are one line and exit 2, start-up failures exit 1;
// one worker runs in this process, several through node:cluster.
import cluster from 'node:cluster';
import { ConfigError, helpText, parseConfig, type Config } from './config.js';
import { runPrimary, runWorker } from './cluster.js';
import { createLogger } from './log.js';
import { startServing, StartupError } from './server.js';

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
    if (err instanceof ConfigError) {
      process.stderr.write(`tsherve: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, cluster.isWorker ? { worker: cluster.worker?.id } : {});
  if (cluster.isWorker) return runWorker(config, log);
  if (config.workers > 1) return runPrimary(config, log);

  let running;
  try {
    running = await startServing(config, log, { metrics: true });
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`tsherve: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  log.always('listening', { host: config.host, port: running.port, metricsPort: running.metricsPort, workers: 1, pid: process.pid });
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { drainMs: 10_000 });
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`tsherve: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
