#!/usr/bin/env node
// server-bench's command line: dispatches to the commands (bench: commands/bench.ts) and runs
// verify and prepare, whose flags are a part of bench's table (run/options.ts). Results go to
// stdout, progress to stderr; every error is one line `server-bench: <message> (<hint>)` with a
// distinct exit code (errors.ts ExitCode).
import { versionLine } from './args.js';
import { verificationCounts } from '../report/format.js';
import { BenchError, ExitCode, reportError, throwProblems, UsageError } from '../errors.js';
import { assertFreshBuild } from './freshness.js';
import { defaultCacheDir, repoRoot } from '../servers/registry.js';
import { progressWriter } from './progress.js';
import { flagValues, pickFlags, readFlags, type FlagValues, type OptionSpec } from '../run/options.js';
import { implsOf, siteOf } from '../run/plan.js';
import { runVerifyGate } from '../run/verify-gate.js';

const HELP: Record<string, string> = {
  main: `usage: server-bench <command> [flags]

commands:
  bench     run the matrix: implementations × sizes × repetitions (npm run bench)
  verify    the verification gate alone: start each implementation, crawl, check every answer
  prepare   obtain implementation binaries (gosherve: explicit binary, cache, go install, or a checkout)
  report    render reports of a run (see server-bench report --help)
  compare   compare two runs (see server-bench compare --help)
  vm        start|stop|exec|test a NixOS VM of one size (see server-bench vm --help)
  hosts     check|provision the machines of a hosts file (bench --backend hosts; see server-bench hosts --help)
  k6-operator  manifest|merge: load one host from P k6 runner pods on Kubernetes (see server-bench k6-operator --help)

bench --backend vm runs the matrix in NixOS VMs (nix run .#bench; see nix/README.md).

server-bench <command> --help shows the command's flags; server-bench --version its version.
`,
  verify: `usage: server-bench verify [--impls LIST] [--webroot DIR --redirects FILE] [--site-size SIZE] [--seed N] [--server-logs MODE] [--json]

Starts each implementation on the site, crawls it and checks every path, alias, the 404 and the
metrics endpoint; prints every failure and warning. Exit code 5 when an implementation fails, 4 when
one named in --impls is unavailable.
`,
  prepare: `usage: server-bench prepare [--impls LIST]

Makes each implementation's binary available and prints its version, or one line saying how to get
it; every place looked in is named on stderr. gosherve at a tag: the explicit binary
(SERVER_BENCH_GOSHERVE_BIN for v0.3.5, SERVER_BENCH_GOSHERVE_OLD_BIN for v0.3.3,
SERVER_BENCH_GOSHERVE_BIN_<TAG> for any tag, e.g. SERVER_BENCH_GOSHERVE_BIN_V0_3_7), then the cache
($SERVER_BENCH_CACHE/gosherve/<tag>/bin/gosherve), then go install from the module proxy.
gosherve@./path: go build in the checkout, cached until its Go files change. A build is cached
only after the binary answers --help. servy (SERVER_BENCH_SERVY_BIN, SERVER_BENCH_SERVY_CHECKOUT or
servy@./path) embeds its site, so bench and verify build it for theirs. Exit code 4 when one is
unavailable.
`,
};

const VERIFY_FLAGS = pickFlags(['impls', 'webroot', 'redirects', 'siteSize', 'seed', 'serverLogs', 'json']);
const PREPARE_FLAGS = pickFlags(['impls']);

/** A command's flags (a part of bench's table) → their values for the local backend; all problems at once. */
function readCommandFlags<F extends Record<string, OptionSpec<unknown>>>(
  command: string,
  argv: string[],
  table: F,
): { values: FlagValues<F>; help: boolean; problems: BenchError[] } {
  const raw = readFlags(command, argv, table);
  const problems: BenchError[] = [];
  return { values: flagValues(table, raw, 'local', problems), help: raw.help, problems };
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values: v, help, problems } = readCommandFlags('verify', argv, VERIFY_FLAGS);
  if (help) {
    process.stdout.write(HELP.verify as string);
    return ExitCode.ok;
  }
  assertFreshBuild(repoRoot());
  // The gate sends no load: no engine to check.
  const impls = await implsOf(v.impls, 'local', problems);
  const site = siteOf(v, problems);
  throwProblems(problems);
  const outcomes = await runVerifyGate({ impls, site, cacheDir: defaultCacheDir(), serverLogs: v.serverLogs }, progressWriter());
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
      process.stdout.write(`${o.impl}: ${ver.passed ? 'PASS' : 'FAIL'} (${verificationCounts(ver)})\n`);
      for (const f of ver.findings) if (f.status !== 'pass') process.stdout.write(`  ${f.status} ${f.url}: ${f.reason}\n`);
    }
  }
  if (outcomes.some((o) => o.verification && !o.verification.passed)) return ExitCode.failure;
  // Named in --impls and not there: as bench, exit 4 (the default set skips what is missing).
  return v.impls !== null && outcomes.some((o) => o.unavailable) ? ExitCode.environment : ExitCode.ok;
}

async function prepareCommand(argv: string[]): Promise<number> {
  const { values: v, help, problems } = readCommandFlags('prepare', argv, PREPARE_FLAGS);
  if (help) {
    process.stdout.write(HELP.prepare as string);
    return ExitCode.ok;
  }
  const impls = await implsOf(v.impls, 'local', problems);
  throwProblems(problems);
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

/** bench, report, compare and vm live in their own modules; a missing one is a clear error, not a crash. */
async function delegate(name: 'bench' | 'report' | 'compare' | 'vm' | 'hosts' | 'k6-operator', argv: string[]): Promise<number> {
  let mod: { main?: (argv: string[]) => Promise<number> };
  try {
    mod = (await import(`./commands/${name}.js`)) as typeof mod;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND')
      throw new BenchError(`the ${name} command is not built into this copy`, 'update and rebuild (npm run build)', ExitCode.failure);
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
        return await delegate('bench', rest);
      case 'verify':
        return await verifyCommand(rest);
      case 'prepare':
        return await prepareCommand(rest);
      case 'report':
      case 'compare':
      case 'vm':
      case 'hosts':
      case 'k6-operator':
        return await delegate(command, rest);
      case '--version':
      case '-V':
      case 'version':
        process.stdout.write(versionLine(repoRoot()));
        return ExitCode.ok;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP.main as string);
        return command === undefined ? ExitCode.usage : ExitCode.ok;
      default:
        throw new UsageError(`unknown command "${command}"`, 'commands: bench, verify, prepare, report, compare, vm, hosts, k6-operator');
    }
  } catch (err) {
    return reportError(err);
  }
}

// Run when executed (bin or `node dist/driver/src/cli/main.js`), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/cli[/\\]main\.(js|ts)$/.test(invoked) || invoked.endsWith('server-bench')) {
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
