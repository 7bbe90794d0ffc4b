// The k6 engine, the reference (always used inside the VMs): runs our offline script with the
// targets in a JSON file, reads the summary.json its handleSummary writes, and normalises it
// like every other engine's result. Status counts come from the script's status_<code> counters.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { LoadEngine, LoadOptions } from '../contracts.js';
import { BenchError, EnvironmentError, ExitCode, InputError, tail } from '../errors.js';
import { normaliseK6, parseK6Summary, type K6LoadResult } from './k6summary.js';
import { assertGeneratorRan, packageFile, runGenerator, which, writeTargetsJson } from './common.js';

export const K6_INSTALL_HINT = 'see https://grafana.com/docs/k6/latest/set-up/install-k6/ or "nix shell nixpkgs#k6"';

/** k6/script.js of this package; the Nix package points SERVER_BENCH_K6_SCRIPT at its copy. */
export function k6ScriptPath(): string {
  return packageFile('k6/script.js', 'SERVER_BENCH_K6_SCRIPT');
}

/** The k6 command line (after "k6") for one run; exported for k6test and the docs. */
export function k6Args(opts: { targetsFile: string; summaryDir: string; vus: number; durationSeconds: number; script: string }): string[] {
  return [
    'run',
    '--quiet',
    '--no-color',
    // Never phone home: the VMs are offline and the host run should be too.
    '--no-usage-report',
    '-e',
    `TARGETS=${opts.targetsFile}`,
    '-e',
    `SUMMARY_DIR=${opts.summaryDir}`,
    '-e',
    `VUS=${opts.vus}`,
    '-e',
    `DURATION=${Math.max(1, Math.round(opts.durationSeconds))}s`,
    opts.script,
  ];
}

/**
 * The environment k6 runs with: ours minus every K6_* variable, because k6 reads K6_VUS,
 * K6_DURATION, K6_SCENARIOS... from the environment and they would override the script's options.
 */
export function k6Env(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !k.startsWith('K6_')) env[k] = v;
  env.K6_NO_USAGE_REPORT = 'true';
  return env;
}

let k6Version: Promise<string> | undefined;

export const k6Engine: LoadEngine = {
  name: 'k6',
  async check() {
    return which('k6') ? null : `k6 is not installed: ${K6_INSTALL_HINT}`;
  },
  version() {
    // Asked once per process: each cell runs k6 twice (warm-up, measure) and the binary does not change.
    return (k6Version ??= execa('k6', ['version'], { reject: false, stdin: 'ignore' }).then(
      (r) => /k6 v?(\d+\.\d+\.\d+\S*)/.exec(`${r.stdout}`)?.[1] ?? 'unknown',
    ));
  },
  async run(opts: LoadOptions): Promise<K6LoadResult> {
    if (!which('k6')) throw new EnvironmentError('k6 is not installed', K6_INSTALL_HINT);
    if (opts.targets.paths.length + opts.targets.redirects.length === 0)
      throw new BenchError('k6: no targets to request', 'crawl the site first (crawl.ts)', ExitCode.input);
    await mkdir(opts.outDir, { recursive: true });
    const targetsFile = join(opts.outDir, 'targets.json');
    const summaryFile = join(opts.outDir, 'summary.json');
    await writeTargetsJson(targetsFile, opts.baseUrl.replace(/\/+$/, ''), opts.targets);
    await rm(summaryFile, { force: true }); // never read a previous run's summary
    const args = k6Args({ targetsFile, summaryDir: opts.outDir, vus: opts.vus, durationSeconds: opts.durationSeconds, script: k6ScriptPath() });
    // Asked before the run, not during it: nothing else should start while we measure.
    const engineVersion = await k6Engine.version();
    // k6 waits up to 30 s (gracefulStop) for iterations in flight, plus start-up and the summary.
    const run = await runGenerator('k6', args, {
      cpus: opts.cpus,
      signal: opts.signal,
      onProgress: opts.onProgress,
      durationSeconds: opts.durationSeconds,
      graceSeconds: 90,
      cwd: opts.outDir,
      env: k6Env(),
    });
    // 99 = thresholds crossed (our script sets none, but a summary is still written then).
    assertGeneratorRan('k6', run, [0, 99]);
    let text: string;
    try {
      text = await readFile(summaryFile, 'utf8');
    } catch {
      throw new InputError(
        `k6 wrote no summary at ${summaryFile}`,
        `check that handleSummary in ${k6ScriptPath()} ran (k6 said: ${tail(`${run.stderr}\n${run.stdout}`, 3) || 'nothing'})`,
      );
    }
    const summary = parseK6Summary(text);
    return normaliseK6(summary, {
      engineVersion,
      loadgenCpuSeconds: run.cpuSeconds,
      raw: JSON.parse(text) as unknown,
      fallbackDurationSeconds: opts.durationSeconds,
    });
  },
};
