// The wrk engine, the default on a host without k6: our Lua script cycles through the same
// targets as the k6 script with VUs × 6 connections (k6's per-host batch parallelism) unless
// --connections says otherwise, and its
// done() prints one JSON line that we validate and normalise into a LoadResult. Per-code status
// counts are opt-in (they halve wrk's throughput on large bodies, see wrk-targets.lua).
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import type { LoadEngine, LoadOptions, LoadResult, Targets } from '../contracts.js';
import { BenchError, EnvironmentError, ExitCode, tail } from '../errors.js';
import { assertGeneratorRan, packageFile, runGenerator, targetPaths, which } from './common.js';

export const WRK_INSTALL_HINT = 'run "apt-get install wrk" (Debian/Ubuntu) or "nix shell nixpkgs#wrk"';
const WRK_MARKER = 'WRK_JSON ';

/** Statuses the k6 script's check accepts; everything else is a failed check for wrk too. */
const OK_STATUSES = new Set(['200', '301', '308']);

const count = z.number().int().nonnegative();
const micros = z.number().nonnegative();

const WrkReportSchema = z.object({
  requests: count,
  bytes: count,
  duration_us: z.number().positive(),
  threads: count,
  /** classes: only wrk's own >= 400 counter; codes: every status code counted by response(). */
  status_mode: z.enum(['classes', 'codes']),
  errors: z.object({ connect: count, read: count, write: count, status: count, timeout: count }),
  // null when wrk saw no response at all (its histogram is empty).
  latency_us: z.object({
    min: micros.nullable(),
    mean: micros.nullable(),
    stdev: micros.nullable(),
    p50: micros.nullable(),
    p90: micros.nullable(),
    p95: micros.nullable(),
    p99: micros.nullable(),
    max: micros.nullable(),
  }),
  statuses: z.record(z.string().regex(/^\d{1,3}$/), count),
});
export type WrkReport = z.infer<typeof WrkReportSchema>;

export function wrkLuaPath(): string {
  return packageFile('driver/assets/wrk-targets.lua', 'SERVER_BENCH_WRK_SCRIPT');
}

/** The WRK_JSON line from wrk's stdout, validated. */
export function parseWrkOutput(stdout: string): WrkReport {
  const line = stdout.split('\n').find((l) => l.startsWith(WRK_MARKER));
  if (!line)
    throw new BenchError(
      `wrk printed no ${WRK_MARKER.trim()} line (its output: ${tail(stdout, 3) || 'nothing'})`,
      'check that wrk runs driver/assets/wrk-targets.lua (wrk -s)',
      ExitCode.failure,
    );
  let data: unknown;
  try {
    data = JSON.parse(line.slice(WRK_MARKER.length));
  } catch (e) {
    throw new BenchError(
      `wrk's ${WRK_MARKER.trim()} line is not JSON: ${(e as Error).message}`,
      'report this: the Lua script wrote a broken line',
      ExitCode.failure,
    );
  }
  const r = WrkReportSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new BenchError(
      `wrk's report: ${issue?.path.join('.') || 'the line'}: ${issue?.message ?? 'invalid'}`,
      'report this: the Lua script wrote an unexpected shape',
      ExitCode.failure,
    );
  }
  return r.data;
}

export function normaliseWrk(report: WrkReport, ctx: { engineVersion: string; loadgenCpuSeconds: number | null }): LoadResult {
  const l = report.latency_us;
  // null when wrk saw no response (empty histogram): not measured, never 0.
  const ms = (us: number | null) => (us === null ? null : us / 1000);
  const e = report.errors;
  let statusCounts: Record<string, number>;
  let failedChecks = 0;
  if (report.status_mode === 'codes') {
    statusCounts = { ...report.statuses };
    for (const [code, n] of Object.entries(report.statuses)) if (!OK_STATUSES.has(code)) failedChecks += n;
  } else {
    // wrk itself only counts statuses >= 400; the verification gate has already checked each
    // target's exact status, so a 4xx/5xx under load is what a failed check means here.
    statusCounts = { '2xx-3xx': Math.max(0, report.requests - e.status), '4xx-5xx': e.status };
    failedChecks = e.status;
  }
  return {
    engine: 'wrk',
    engineVersion: ctx.engineVersion,
    durationSeconds: report.duration_us / 1e6,
    requests: report.requests,
    bytes: report.bytes,
    latencyMs: { avg: ms(l.mean), p50: ms(l.p50), p90: ms(l.p90), p95: ms(l.p95), p99: ms(l.p99), max: ms(l.max) },
    statusCounts,
    failedChecks,
    // Socket-level failures only; bad statuses are in statusCounts and failedChecks.
    errors: e.connect + e.read + e.write + e.timeout,
    loadgenCpuSeconds: ctx.loadgenCpuSeconds,
    raw: report,
  };
}

/** wrk's threads: one per generator core, never more than connections (wrk refuses that). */
export function wrkThreads(connections: number, cpus: number[]): number {
  const cores = cpus.length > 0 ? cpus.length : availableParallelism();
  return Math.max(1, Math.min(connections, cores));
}

/** wrk's targets file: one URL path a line, in targetPaths' order (the Lua script cycles through them). */
export function wrkTargetsText(targets: Targets): string {
  return `${targetPaths(targets).join('\n')}\n`;
}

/** wrk's -d: whole seconds, at least one. */
export function wrkSeconds(durationSeconds: number): number {
  return Math.max(1, Math.round(durationSeconds));
}

/**
 * The wrk command line (after "wrk") for one run, the same for a local run and for one on a
 * separate generator machine (hosts/generator.ts), where the script and targets file are copies.
 */
export function wrkArgs(o: {
  threads: number;
  connections: number;
  seconds: number;
  script: string;
  baseUrl: string;
  targetsFile: string;
  statusCodes: boolean;
}): string[] {
  return [
    '-t',
    String(o.threads),
    '-c',
    String(o.connections),
    '-d',
    `${o.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    o.script,
    `${o.baseUrl.replace(/\/+$/, '')}/`,
    '--',
    o.targetsFile,
    String(o.threads),
    o.statusCodes ? 'codes' : 'classes',
  ];
}

/** Per-code status counting for the default wrk engine and the remote one alike. */
export const WRK_STATUS_CODES = process.env.SERVER_BENCH_WRK_STATUS_CODES === '1';

export interface WrkEngineOptions {
  /** Count every status code (response() in Lua): exact codes, about half the throughput per wrk core. */
  statusCodes: boolean;
}

/** A wrk engine; `wrkEngine` is the default one (per-code counting when SERVER_BENCH_WRK_STATUS_CODES=1). */
export function createWrkEngine(options: WrkEngineOptions): LoadEngine {
  let version: Promise<string> | undefined;
  const engine: LoadEngine = {
    name: 'wrk',
    async check() {
      return which('wrk') ? null : `wrk is not installed: ${WRK_INSTALL_HINT}`;
    },
    version() {
      // Asked once per engine: each cell runs wrk twice (warm-up, measure) and the binary does not
      // change. `wrk -v` prints its banner and usage, then exits 1.
      return (version ??= execa('wrk', ['-v'], { reject: false, stdin: 'ignore' }).then((r) => {
        const first = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.startsWith('wrk')) ?? '';
        return /^wrk\s+(\S+)/.exec(first)?.[1] ?? 'unknown';
      }));
    },
    async run(opts: LoadOptions): Promise<LoadResult> {
      if (!which('wrk')) throw new EnvironmentError('wrk is not installed', WRK_INSTALL_HINT);
      if (!Number.isInteger(opts.connections) || opts.connections < 1)
        throw new BenchError(`wrk: connections must be a positive integer, got ${opts.connections}`, 'pass --connections N (default VUs × 6)', ExitCode.usage);
      const paths = targetPaths(opts.targets);
      if (paths.length === 0) throw new BenchError('wrk: no targets to request', 'crawl the site first (crawl.ts)', ExitCode.input);
      await mkdir(opts.outDir, { recursive: true });
      const targetsFile = join(opts.outDir, 'wrk-targets.txt');
      await writeFile(targetsFile, wrkTargetsText(opts.targets));
      const threads = wrkThreads(opts.connections, opts.cpus);
      const seconds = wrkSeconds(opts.durationSeconds);
      const args = wrkArgs({
        threads,
        connections: opts.connections,
        seconds,
        script: wrkLuaPath(),
        baseUrl: opts.baseUrl,
        targetsFile,
        statusCodes: options.statusCodes,
      });
      // Asked before the run, not during it: nothing else should start while we measure.
      const engineVersion = await engine.version();
      const run = await runGenerator('wrk', args, {
        cpus: opts.cpus,
        signal: opts.signal,
        onProgress: opts.onProgress,
        durationSeconds: seconds,
        graceSeconds: 30,
      });
      await writeFile(join(opts.outDir, 'wrk-output.txt'), `${run.commandLine}\n\n${run.stdout}${run.stderr ? `\n--- stderr\n${run.stderr}` : ''}`);
      assertGeneratorRan('wrk', run);
      return normaliseWrk(parseWrkOutput(run.stdout), { engineVersion, loadgenCpuSeconds: run.cpuSeconds });
    },
  };
  return engine;
}

export const wrkEngine: LoadEngine = createWrkEngine({ statusCodes: WRK_STATUS_CODES });
