#!/usr/bin/env node
// `k6test <impl> …`: the command the driver runs in the VM over SSH (and the original's name for
// it). Parses flags, loads /etc/server-bench, runs one cell (k6test.ts); progress on stderr, the
// text summary on stdout; one error line and a distinct exit code otherwise (errors.ts).
import { BenchError, ExitCode } from './errors.js';
import { k6testInfo, loadConfig, parseK6TestArgs, runK6Test, usage, validImpls } from './k6test.js';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage(await validImpls()));
    return ExitCode.ok;
  }
  const ac = new AbortController();
  const onSignal = () => ac.abort(new BenchError('k6test: interrupted', 'the cell was not stored', ExitCode.interrupted));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal); // the SSH connection went away
  try {
    const valid = await validImpls();
    const opts = (() => {
      try {
        return parseK6TestArgs(argv, valid);
      } catch (err) {
        process.stderr.write(usage(valid));
        throw err;
      }
    })();
    const cfg = await loadConfig();
    if (opts.info) {
      process.stdout.write(`${JSON.stringify(await k6testInfo(cfg, opts.engine))}\n`);
      return ExitCode.ok;
    }
    let render: ((r: import('./schema.js').CellResult) => string) | undefined;
    try {
      render = (await import('./report/textsummary.js')).renderTextSummary;
    } catch {
      render = undefined;
    }
    const outcome = await runK6Test(opts, cfg, { log: (l) => process.stderr.write(`${l}\n`), signal: ac.signal, ...(render ? { renderTextSummary: render } : {}) });
    if (outcome.kind === 'skipped') {
      process.stderr.write(`k6test: ${opts.impl} skipped: ${outcome.reason}\n`);
      return ExitCode.failure;
    }
    process.stdout.write(render ? render(outcome.result) : `${JSON.stringify(outcome.result)}\n`);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof BenchError) {
      process.stderr.write(`k6test: ${err.oneLine().replace(/^k6test: /, '')}\n`);
      return err.exitCode;
    }
    process.stderr.write(`k6test: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return ExitCode.failure;
  }
}

const invoked = process.argv[1] ?? '';
if (/k6test-cli\.(js|ts)$/.test(invoked) || invoked.endsWith('/k6test')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(ExitCode.failure),
  );
}
