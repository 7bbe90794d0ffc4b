#!/usr/bin/env node
// `k6test <impl> …` / `k6test --spec FILE|-`: the command the driver runs in the VM over SSH (and the
// original's name for it). Reads the cell (a CellSpec as JSON, or flags), loads /etc/server-bench,
// runs the cell (k6test.ts); progress on stderr, the text summary on stdout; one error line and a
// distinct exit code otherwise (errors.ts).
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { BenchError, EnvironmentError, ExitCode, InputError } from '../errors.js';
import { cellSpecFromArgs, k6testInfo, loadConfig, parseK6TestArgs, runK6Test, usage, validImpls, type K6TestArgs } from './k6test.js';
import { parseCellSpec, type CellSpec } from '../run/cellspec.js';
import type { K6TestConfig } from '../vm/wire.js';
import { loadRelay } from './load-relay.js';
import { listenNetProbe } from './netprobe.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * --relay-load: stdin is a conversation: its first line is the CellSpec, every later line a reply
 * of the driver's load relay; requests go out on stderr (guest/load-relay.ts).
 */
function relayStdin(): { spec: Promise<string>; start(engine: 'wrk' | 'k6'): ReturnType<typeof loadRelay> } {
  let relay: ReturnType<typeof loadRelay> | null = null;
  let ended = false;
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let first: ((l: string) => void) | null = null;
  const spec = new Promise<string>((resolve) => (first = resolve));
  lines.on('line', (l) => {
    if (first) {
      const f = first;
      first = null;
      f(l);
    } else relay?.receive(l);
  });
  lines.on('close', () => {
    ended = true;
    first?.('');
    relay?.end();
  });
  return {
    spec,
    start(engine) {
      relay = loadRelay(engine, (line) => process.stderr.write(`${line}\n`));
      if (ended) relay.end();
      return relay;
    },
  };
}

/** --net-probe: the probe's listener on the site port until stdin closes or --seconds pass. */
async function netProbe(cfg: K6TestConfig, seconds: number): Promise<number> {
  const port = cfg.impls[0]?.sitePort ?? 8080;
  const l = await listenNetProbe(port, { lifetimeMs: seconds * 1000 }).catch((err: NodeJS.ErrnoException) => {
    throw new EnvironmentError(
      `k6test: --net-probe cannot listen on port ${port} (${err.code ?? err.message})`,
      "a server unit still runs? systemctl stop 'bench-*'",
    );
  });
  process.stdout.write(`listening ${l.port}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => void l.close());
  process.stdin.once('close', () => void l.close());
  await l.closed;
  process.stdin.pause();
  return ExitCode.ok;
}

/** The cell to run: the --spec JSON (a file, or stdin for "-"), else the one the flags describe. */
async function cellOf(args: K6TestArgs, cfg: K6TestConfig): Promise<CellSpec> {
  if (args.spec === null) return cellSpecFromArgs(args, cfg);
  if (args.spec === '-') return parseCellSpec(await readStdin(), 'stdin');
  const text = await readFile(args.spec, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`k6test: cannot read the cell spec ${args.spec} (${err.code ?? err.message})`, 'pass the JSON file the driver writes, or - for stdin');
  });
  return parseCellSpec(text, args.spec);
}

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
    const args = (() => {
      try {
        return parseK6TestArgs(argv, valid);
      } catch (err) {
        process.stderr.write(usage(valid));
        throw err;
      }
    })();
    const cfg = await loadConfig();
    if (args.netProbe) return await netProbe(cfg, args.seconds);
    if (args.info) {
      process.stdout.write(`${JSON.stringify(await k6testInfo(cfg, args.engine))}\n`);
      return ExitCode.ok;
    }
    const stdin = args.relayLoad ? relayStdin() : null;
    const spec = stdin ? parseCellSpec(await stdin.spec, 'stdin') : await cellOf(args, cfg);
    const relay = stdin ? stdin.start(spec.engine) : null;
    let render: ((r: import('../results/schema.js').CellResult) => string) | undefined;
    try {
      render = (await import('../report/textsummary.js')).renderTextSummary;
    } catch {
      render = undefined;
    }
    const outcome = await runK6Test(spec, cfg, {
      log: (l) => process.stderr.write(`${l}\n`),
      supervisor: args.supervisor,
      signal: ac.signal,
      ...(render ? { renderTextSummary: render } : {}),
      ...(relay && args.relayLoad ? { relay: { engine: relay.engine, loadgenCpus: args.relayLoad } } : {}),
    });
    if (outcome.kind === 'skipped') {
      process.stderr.write(`k6test: ${spec.impl} skipped: ${outcome.reason}\n`);
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
