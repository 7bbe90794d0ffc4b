// What the load engines share: finding tools and our own files (script, Lua) from the compiled or
// source module, the targets file, and running a pinned generator while polling its CPU and
// reporting progress once a second.
import { accessSync, constants, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { LoadOptions, Targets } from '../contracts.js';
import { BenchError, CommandError, EnvironmentError, ExitCode, tail } from '../errors.js';
import { pinnedCommand } from '../servers/cpus.js';
import { trackPidCpu } from '../servers/resources.js';

/** Absolute path of `cmd` on PATH, or null. */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

/**
 * A file shipped with the package (k6/script.js, driver/assets/wrk-targets.lua), found by walking
 * up from this module: driver/src/engines (tests, tsx) and dist/driver/src/engines (built) both work.
 */
export function packageFile(rel: string, envOverride?: string): string {
  const override = envOverride ? process.env[envOverride] : undefined;
  if (override) return override;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  // Typed: a tree copied without this file (a hand-made VM guest without driver/assets) is an
  // environment problem with a fix, not an internal error in the middle of a cell.
  throw new EnvironmentError(
    `cannot find ${rel} above ${dirname(fileURLToPath(import.meta.url))}`,
    `install the whole package (${rel} beside dist/, as vm/image/payload.ts lists)${envOverride ? ` or set ${envOverride}` : ''}`,
  );
}

/** Every URL path a load run requests, in order: the crawled paths, then "/" + each alias. */
export function targetPaths(targets: Targets): string[] {
  return [...targets.paths, ...targets.redirects.map((r) => `/${r.alias}`)];
}

/** The k6 script's targets file (TARGETS=): the base URL, the paths and the aliases. */
export function targetsJsonText(baseUrl: string, targets: Targets): string {
  return `${JSON.stringify({ baseUrl, paths: targets.paths, redirects: targets.redirects }, null, 1)}\n`;
}

export async function writeTargetsJson(file: string, baseUrl: string, targets: Targets): Promise<void> {
  await writeFile(file, targetsJsonText(baseUrl, targets));
}

export interface GeneratorRun {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  signal: string | undefined;
  canceled: boolean;
  timedOut: boolean;
  /** CPU seconds of the generator process (all threads), last read before it exited. */
  cpuSeconds: number | null;
  wallSeconds: number;
  commandLine: string;
}

/**
 * Run a generator pinned to opts.cpus. CPU is read from /proc/<pid>/stat while it runs (see
 * trackPidCpu: 200 ms polls, 20 ms from half a second before the planned end), because Node can
 * only ask the kernel for its own and all-children totals, not for one child's.
 */
export async function runGenerator(
  command: string,
  args: string[],
  opts: Pick<LoadOptions, 'cpus' | 'signal' | 'onProgress' | 'durationSeconds'> & { cwd?: string; env?: Record<string, string>; graceSeconds: number },
): Promise<GeneratorRun> {
  const pinned = pinnedCommand(opts.cpus, command, args);
  const started = Date.now();
  const child = execa(pinned.command, pinned.args, {
    reject: false,
    stdin: 'ignore',
    cwd: opts.cwd,
    // A given env is the whole environment (k6 must not inherit K6_* overrides).
    ...(opts.env ? { env: opts.env, extendEnv: false } : {}),
    cancelSignal: opts.signal,
    forceKillAfterDelay: 3_000,
    timeout: (opts.durationSeconds + opts.graceSeconds) * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  // taskset execs the generator, so the pid is the generator's own.
  const cpu = child.pid !== undefined ? trackPidCpu(child.pid, { tailAfterMs: Math.max(0, opts.durationSeconds * 1000 - 500) }) : null;
  const ticker = setInterval(() => opts.onProgress?.({ elapsedSeconds: Math.round((Date.now() - started) / 100) / 10 }), 1_000);
  try {
    const r = await child;
    return {
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      exitCode: r.exitCode,
      signal: r.signal,
      canceled: r.isCanceled,
      timedOut: r.timedOut,
      cpuSeconds: cpu?.stop() ?? null,
      wallSeconds: (Date.now() - started) / 1000,
      commandLine: [pinned.command, ...pinned.args].join(' '),
    };
  } finally {
    clearInterval(ticker);
    cpu?.stop();
  }
}

/**
 * A generator run that was cancelled, or that exited with a code other than `okCodes`, as the error
 * saying so: the command, its exit code or signal and its output's tail.
 */
export function assertGeneratorRan(name: string, run: GeneratorRun, okCodes: readonly number[] = [0]): void {
  if (run.canceled) throw new BenchError(`${name} was interrupted`, 'the run was cancelled', ExitCode.interrupted);
  if (run.exitCode !== undefined && okCodes.includes(run.exitCode)) return;
  throw new CommandError(
    run.commandLine,
    run.exitCode ?? null,
    run.signal ?? null,
    tail(`${run.stderr}\n${run.stdout}`),
    run.timedOut ? `${name} did not stop on time; is the server hanging?` : `run the same command by hand to see ${name}'s own error`,
  );
}
