#!/usr/bin/env node
// server-bench's command line: parses flags (node:util parseArgs, strict) and hands them to the
// library (bench.ts, reports). Results go to stdout, progress to stderr; every error is one line
// `server-bench: <message> (<hint>)` with a distinct exit code (errors.ts ExitCode).
import { basename } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { runBench, validateBenchInput, type BenchInput } from './bench.js';
import { BenchError, ExitCode, ProblemsError, UsageError, reportError } from './errors.js';
import { runVerifyGate } from './run/verify-gate.js';
import { defaultCacheDir, defaultImpls, IMPL_NAMES, resolveImpls } from './impls.js';
import { progressWriter } from './progress.js';
import { killAllServersNow } from './supervisor-local.js';
import { finishRun, interruptible } from './runend.js';

const SITE_FLAGS = {
  webroot: { type: 'string' },
  redirects: { type: 'string' },
  'site-size': { type: 'string' },
  seed: { type: 'string' },
} as const;

const BENCH_FLAGS = {
  impls: { type: 'string' },
  sizes: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  reps: { type: 'string' },
  vus: { type: 'string' },
  engine: { type: 'string' },
  ...SITE_FLAGS,
  out: { type: 'string' },
  resume: { type: 'string' },
  json: { type: 'boolean' },
  loadgen: { type: 'string' },
  reference: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const HELP: Record<string, string> = {
  main: `usage: server-bench <command> [flags]

commands:
  bench     run the matrix: implementations × sizes × repetitions (npm run bench)
  verify    the verification gate alone: start each implementation, crawl, check every answer
  prepare   obtain implementation binaries (gosherve: explicit binary, cache, go install, or a checkout)
  report    render reports of a run (see server-bench report --help)
  compare   compare two runs (see server-bench compare --help)
  vm        start|stop|exec|test a NixOS VM of one size (see server-bench vm --help)

bench --backend vm runs the matrix in NixOS VMs (nix run .#bench; see nix/README.md).

server-bench <command> --help shows the command's flags.
`,
  bench: `usage: server-bench bench [flags]

  --impls LIST        implementations, comma-separated (${IMPL_NAMES.join(', ')}),
                      gosherve@<tag> (any tag go install can get, e.g. gosherve@v0.3.7) or
                      gosherve@./path (built from your checkout, named after its folder);
                      default: all but nginx, plus the nginx reference when nginx is installed
  --sizes LIST        sizes by vCPU count: 1,2,16 (default all; sizes that do not fit are skipped)
  --duration D        measured time per cell (default 30s; 2m, 1m30s, 500ms)
  --warmup D          discarded warm-up before each measured run (default 5s)
  --reps N            repetitions per implementation and size (default 3)
  --vus N             virtual users (default: the size's, 1 or 10); wrk opens VUs × 6 connections
  --engine E          auto | wrk | k6 (default auto: k6 when installed, else wrk)
  --loadgen P         dedicated (the load generator gets cores of its own, default) | shared
  --webroot DIR       benchmark your own site instead of the generated one
  --redirects FILE    its redirect map (one "alias https://target" per line)
  --site-size SIZE    size of the generated site (default 40MB)
  --seed N            seed of the generated site (default 1)
  --out DIR           this run's folder (default reports/<run-id>)
  --resume RUN_ID     run only the cells missing from reports/<RUN_ID> (its configuration wins)
  --reference IMPL    implementation the reports compare against (default gosherve)
  --json              print the results as JSON on stdout instead of the table
  --backend vm        run the cells in NixOS VMs instead (see server-bench bench --backend vm --help)

Needs wrk (apt-get install -y wrk) or k6. gosherve comes from SERVER_BENCH_GOSHERVE_BIN (v0.3.5),
SERVER_BENCH_GOSHERVE_OLD_BIN (v0.3.3) or SERVER_BENCH_GOSHERVE_BIN_<TAG>, else the cache
$SERVER_BENCH_CACHE (default ~/.cache/server-bench), else go install; see server-bench prepare.
`,
  verify: `usage: server-bench verify [--impls LIST] [--webroot DIR --redirects FILE] [--site-size SIZE] [--seed N] [--json]

Starts each implementation on the site, crawls it and checks every path, alias, the 404 and the
metrics endpoint; prints every failure and warning. Exit code 5 when an implementation fails.
`,
  prepare: `usage: server-bench prepare [--impls LIST]

Makes each implementation's binary available and prints its version, or one line saying how to get
it; every place looked in is named on stderr. gosherve at a tag: the explicit binary
(SERVER_BENCH_GOSHERVE_BIN for v0.3.5, SERVER_BENCH_GOSHERVE_OLD_BIN for v0.3.3,
SERVER_BENCH_GOSHERVE_BIN_<TAG> for any tag, e.g. SERVER_BENCH_GOSHERVE_BIN_V0_3_7), then the cache
($SERVER_BENCH_CACHE/gosherve/<tag>/bin/gosherve), then go install from the module proxy.
gosherve@./path: go build in the checkout, cached until its Go files change. A build is cached
only after the binary answers --help. Exit code 4 when one is unavailable.
`,
};

const ArgValues = z.record(z.string(), z.union([z.string(), z.boolean(), z.undefined()]));

function parse(command: string, argv: string[], options: ParseArgsConfig['options']): Record<string, string | boolean | undefined> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`${command}: unexpected argument "${positionals[0]}"`, `see server-bench ${command} --help`);
    return ArgValues.parse(values);
  } catch (err) {
    if (err instanceof BenchError) throw err;
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\s+/g, ' ').trim();
    throw new UsageError(`${command}: ${msg}`, `see server-bench ${command} --help`);
  }
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function benchInput(v: Record<string, string | boolean | undefined>): BenchInput {
  const input: BenchInput = {};
  const map: [keyof BenchInput, string][] = [
    ['impls', 'impls'], ['sizes', 'sizes'], ['reps', 'reps'], ['duration', 'duration'], ['warmup', 'warmup'], ['vus', 'vus'],
    ['engine', 'engine'], ['webroot', 'webroot'], ['redirects', 'redirects'], ['siteSize', 'site-size'], ['seed', 'seed'],
    ['out', 'out'], ['resume', 'resume'], ['loadgen', 'loadgen'], ['reference', 'reference'],
  ];
  for (const [key, flag] of map) {
    const s = str(v[flag]);
    if (s !== undefined) input[key] = s;
  }
  if (process.env.SERVER_BENCH_REPORTS) input.reportsDir = process.env.SERVER_BENCH_REPORTS;
  return input;
}

/** `--backend vm` hands the whole command to the VM backend; `--backend local` is the default. */
function backendOf(argv: string[]): { backend: string; rest: string[] } {
  const i = argv.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  if (i === -1) return { backend: 'local', rest: argv };
  const a = argv[i] as string;
  const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  if (value !== 'local' && value !== 'vm') throw new UsageError(`--backend: "${value ?? ''}" is not a backend`, 'use --backend local (default) or --backend vm');
  const rest = a.includes('=') ? [...argv.slice(0, i), ...argv.slice(i + 1)] : [...argv.slice(0, i), ...argv.slice(i + 2)];
  return { backend: value, rest };
}

async function benchCommand(argvIn: string[]): Promise<number> {
  const { backend, rest: argv } = backendOf(argvIn);
  if (backend === 'vm') return delegate('bench-vm', argvIn);
  const v = parse('bench', argv, BENCH_FLAGS);
  if (v.help) {
    process.stdout.write(HELP.bench as string);
    return ExitCode.ok;
  }
  const opts = await validateBenchInput(benchInput(v));
  const stop = interruptible('stopping the current cell', killAllServersNow);
  try {
    const outcome = await runBench(opts, progressWriter(), stop.signal);
    return await finishRun(outcome, { reportsDir: opts.reportsDir, json: v.json === true, retryHint: `server-bench bench --resume ${basename(outcome.runDir)} runs them again` });
  } finally {
    stop.dispose();
  }
}

async function verifyCommand(argv: string[]): Promise<number> {
  const v = parse('verify', argv, { impls: { type: 'string' }, ...SITE_FLAGS, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (v.help) {
    process.stdout.write(HELP.verify as string);
    return ExitCode.ok;
  }
  const opts = await validateBenchInput(benchInput(v), { engine: false }); // the gate sends no load
  const site = opts.webroot !== null ? { kind: 'user' as const, webroot: opts.webroot, redirects: opts.redirects } : { kind: 'generated' as const, seed: opts.seed, targetBytes: opts.siteBytes };
  const outcomes = await runVerifyGate({ impls: opts.impls, site, cacheDir: opts.cacheDir }, progressWriter());
  if (v.json) {
    process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
  } else {
    for (const o of outcomes) {
      if (o.unavailable) {
        process.stdout.write(`${o.impl}: unavailable: ${o.unavailable}\n`);
        continue;
      }
      const ver = o.verification;
      if (!ver) continue;
      process.stdout.write(`${o.impl}: ${ver.passed ? 'PASS' : 'FAIL'} (${ver.counts.pass} pass, ${ver.counts.warn} warn, ${ver.counts.fail} fail; ${ver.targets} targets)\n`);
      for (const f of ver.findings) if (f.status !== 'pass') process.stdout.write(`  ${f.status} ${f.url}: ${f.reason}\n`);
    }
  }
  return outcomes.some((o) => o.verification && !o.verification.passed) ? ExitCode.failure : ExitCode.ok;
}

async function prepareCommand(argv: string[]): Promise<number> {
  const v = parse('prepare', argv, { impls: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (v.help) {
    process.stdout.write(HELP.prepare as string);
    return ExitCode.ok;
  }
  const names = str(v.impls);
  const problems: BenchError[] = [];
  const impls = names !== undefined ? resolveImpls(names.split(',').map((n) => n.trim()).filter((n) => n !== ''), problems) : await defaultImpls();
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new ProblemsError(problems);
  const cacheDir = defaultCacheDir();
  let missing = 0;
  for (const impl of impls) {
    process.stderr.write(`prepare ${impl.name}\n`);
    const r = await impl.prepare({ webroot: '', mapUrl: '', cacheDir, cpus: 1, host: '127.0.0.1' });
    for (const step of r.steps ?? []) process.stderr.write(`  ${step}\n`);
    if ('unavailable' in r) {
      missing++;
      process.stdout.write(`${impl.name}: unavailable: ${r.unavailable}\n`);
    } else {
      process.stdout.write(`${impl.name}: ${r.version}\n`);
    }
  }
  return missing > 0 ? ExitCode.environment : ExitCode.ok;
}

/** report and compare live in their own modules; a missing one is a clear error, not a crash. */
async function delegate(name: 'report' | 'compare' | 'vm' | 'bench-vm', argv: string[]): Promise<number> {
  let mod: { main?: (argv: string[]) => Promise<number> };
  try {
    mod = (await import(`./commands/${name}.js`)) as typeof mod;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND') throw new BenchError(`the ${name} command is not built into this copy`, 'update and rebuild (npm run build)', ExitCode.failure);
    throw err;
  }
  if (typeof mod.main !== 'function') throw new BenchError(`the ${name} module has no main()`, 'update and rebuild (npm run build)', ExitCode.failure);
  return mod.main(argv);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'bench':
        return await benchCommand(rest);
      case 'verify':
        return await verifyCommand(rest);
      case 'prepare':
        return await prepareCommand(rest);
      case 'report':
      case 'compare':
      case 'vm':
        return await delegate(command, rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP.main as string);
        return command === undefined ? ExitCode.usage : ExitCode.ok;
      default:
        throw new UsageError(`unknown command "${command}"`, 'commands: bench, verify, prepare, report, compare, vm');
    }
  } catch (err) {
    return reportError(err);
  }
}

// Run when executed (bin or `node dist/driver/src/cli.js`), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/cli\.(js|ts)$/.test(invoked) || invoked.endsWith('server-bench')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`server-bench: internal error: ${String(err)}\n`);
      process.exitCode = ExitCode.failure;
    },
  );
}
