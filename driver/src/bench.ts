// The local backend's orchestration: validate everything up front (all problems at once), prepare
// the site, the map server, CPU plans and implementations, write run.json, then run the cells in
// interleaved order through runCell, keeping finished cells on Ctrl-C and resuming only the
// missing ones. Emits events for progress; renders nothing itself.
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { runCell } from './cell.js';
import type { Impl, LoadEngine, MapServer, Supervisor, Targets } from './contracts.js';
import { allowedCpus, planCpus } from './cpus.js';
import { parseDuration } from './duration.js';
import { selectEngine } from './engines/index.js';
import { BenchError, ExitCode, InputError, ProblemsError, UsageError } from './errors.js';
import { gitRevision, goVersion, hostInfo } from './hostinfo.js';
import { GOSHERVE_LOG_LEVEL } from './gosherve.js';
import { defaultCacheDir, defaultImpls, IMPL_NAMES, repoRoot, resolveImpls, type LocalImplContext } from './impls.js';
import { newRunId } from './layout.js';
import { startMapServer } from './mapserver.js';
import { buildMatrix, type Cell, type Veto } from './matrix.js';
import { assertPortsFree } from './ports.js';
import { SCHEMA_VERSION, type CellResult, type RunInfo, type Size } from './schema.js';
import { renderTextSummary } from './report/textsummary.js';
import { InterruptedError, type BenchEvents } from './run/events.js';
import { prepareGeneratedSite, prepareUserSite } from './run/site.js';
import { DEFAULT_SEED, DEFAULT_SITE_BYTES } from './sitegen.js';
import { DEFAULT_SIZES } from './sizes.js';
import { createRunDir, readRunInfo, storedResults, writeRunInfo } from './store.js';
import { killAllServersNow, localSupervisor } from './supervisor-local.js';

// ---------------------------------------------------------------- options and validation

export interface BenchOptions {
  impls: Impl[];
  /** The --impls entries as given, checkouts as absolute paths (stored for --resume). */
  implSpecs: string[];
  sizes: Size[];
  reps: number;
  durationSeconds: number;
  warmupSeconds: number;
  vus: number | null;
  engine: 'auto' | 'wrk' | 'k6';
  webroot: string | null;
  redirects: string | null;
  siteBytes: number;
  seed: number;
  out: string | null;
  resume: string | null;
  loadgen: 'dedicated' | 'shared';
  reference: string | null;
  reportsDir: string;
  cacheDir: string;
}

/** Raw flag values as the CLI received them; validateBenchInput turns them into BenchOptions. */
export interface BenchInput {
  impls?: string;
  sizes?: string;
  reps?: string;
  duration?: string;
  warmup?: string;
  vus?: string;
  engine?: string;
  webroot?: string;
  redirects?: string;
  siteSize?: string;
  seed?: string;
  out?: string;
  resume?: string;
  loadgen?: string;
  reference?: string;
  reportsDir?: string;
}

/** What the reports compare against when --reference is not given: gosherve when it ran, else the first. */
export function defaultReference(impls: readonly string[]): string {
  return impls.includes('gosherve') ? 'gosherve' : (impls[0] ?? 'gosherve');
}

/** "40MB", "2MiB", "500k", "123456" → bytes. */
export function parseBytes(text: string, flag: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: bad size "${text}"`, `${flag} takes a size like 40MB, 2MB or 500KB`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const base = unit.includes('i') ? 1024 : 1000;
  const pow = unit.startsWith('k') ? 1 : unit.startsWith('m') ? 2 : unit.startsWith('g') ? 3 : 0;
  const n = Math.round(Number(m[1]) * base ** pow);
  if (n < 100_000) throw new UsageError(`${flag}: ${text} is too small`, `${flag} needs at least 100KB`);
  return n;
}

function positiveInt(text: string, flag: string): number {
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`${flag}: "${text}" is not a positive whole number`, `for example ${flag} 3`);
  return Number(text);
}

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Check every flag and every file before anything starts; collect ALL problems and throw them
 * together (ProblemsError), so a user fixes a command line once, not once per flag.
 */
export async function validateBenchInput(input: BenchInput, check: { engine?: boolean } = {}): Promise<BenchOptions> {
  const problems: BenchError[] = [];
  const attempt = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof BenchError) problems.push(err);
      else throw err;
      return fallback;
    }
  };
  let impls: Impl[] = [];
  let implSpecs: string[] = [];
  if (input.impls !== undefined) {
    const names = list(input.impls);
    if (names.length === 0) problems.push(new UsageError('--impls: empty list', `valid: ${IMPL_NAMES.join(', ')}`));
    impls = resolveImpls(names, problems);
    implSpecs = names.map((n) => (n.startsWith('gosherve@') && /^gosherve@[./~]/.test(n) ? `gosherve@${resolve(n.slice('gosherve@'.length).replace(/^~(?=\/)/, process.env.HOME ?? '~'))}` : n));
  } else {
    impls = await defaultImpls();
    implSpecs = impls.map((i) => i.name);
  }
  let sizes: Size[] = [...DEFAULT_SIZES];
  if (input.sizes !== undefined) {
    sizes = [];
    for (const n of list(input.sizes)) {
      const s = DEFAULT_SIZES.find((d) => d.name === n);
      if (!s) problems.push(new UsageError(`unknown size "${n}"`, `--sizes takes vCPU counts from: ${DEFAULT_SIZES.map((d) => d.name).join(', ')}`));
      else if (!sizes.includes(s)) sizes.push(s);
    }
    if (list(input.sizes).length === 0) problems.push(new UsageError('--sizes: empty list', `valid: ${DEFAULT_SIZES.map((d) => d.name).join(', ')}`));
  }
  const reps = attempt(() => positiveInt(input.reps ?? '3', '--reps'), 1);
  const durationSeconds = attempt(() => parseDuration(input.duration ?? '30s', '--duration'), 1);
  if (durationSeconds <= 0 && !problems.some((p) => p.message.startsWith('--duration'))) problems.push(new UsageError('--duration must be longer than 0', 'for example --duration 30s'));
  const warmupSeconds = attempt(() => parseDuration(input.warmup ?? '5s', '--warmup'), 0);
  const vus = input.vus !== undefined ? attempt(() => positiveInt(input.vus as string, '--vus'), null) : null;
  const engine = input.engine ?? 'auto';
  if (!['auto', 'wrk', 'k6'].includes(engine)) problems.push(new UsageError(`--engine: unknown engine "${engine}"`, 'valid: auto, wrk, k6'));
  const loadgen = input.loadgen ?? 'dedicated';
  if (!['dedicated', 'shared'].includes(loadgen)) problems.push(new UsageError(`--loadgen: unknown placement "${loadgen}"`, 'valid: dedicated, shared'));
  const siteBytes = attempt(() => parseBytes(input.siteSize ?? String(DEFAULT_SITE_BYTES), '--site-size'), DEFAULT_SITE_BYTES);
  const seed = input.seed !== undefined ? attempt(() => (/^-?[0-9]+$/.test(input.seed as string) ? Number(input.seed) : (() => { throw new UsageError(`--seed: "${input.seed}" is not an integer`, 'for example --seed 1'); })()), DEFAULT_SEED) : DEFAULT_SEED;
  const webroot = input.webroot !== undefined ? resolve(input.webroot) : null;
  if (webroot !== null && !(existsSync(webroot) && statSync(webroot).isDirectory())) {
    problems.push(new InputError(`--webroot ${input.webroot}: no such directory`, 'pass the folder that holds your site\'s index.html'));
  }
  const redirects = input.redirects !== undefined ? resolve(input.redirects) : null;
  if (redirects !== null && !(existsSync(redirects) && statSync(redirects).isFile())) {
    problems.push(new InputError(`--redirects ${input.redirects}: no such file`, 'pass a redirect map file, one "alias https://target" per line'));
  }
  if (redirects !== null && webroot === null) problems.push(new UsageError('--redirects needs --webroot', 'give both to benchmark your own site'));
  const reference = input.reference ?? null;
  if (reference !== null && !impls.some((i) => i.name === reference) && !IMPL_NAMES.includes(reference)) {
    problems.push(new UsageError(`--reference: "${reference}" is not one of the implementations`, `choose one of: ${impls.map((i) => i.name).join(', ')}`));
  }
  if (check.engine !== false && ['auto', 'wrk', 'k6'].includes(engine)) {
    try {
      await selectEngine(engine);
    } catch (err) {
      if (!(err instanceof BenchError)) throw err;
      // On a fresh Debian machine of ours, say the one command that fixes it (we do not install
      // packages behind the user's back; the README's main-job command runs it first).
      if (engine !== 'k6' && process.getuid?.() === 0 && existsSync('/etc/debian_version')) {
        problems.push(new BenchError(err.message, 'run: apt-get install -y wrk, then run the command again', err.exitCode));
      } else problems.push(err);
    }
  }
  if (input.resume !== undefined && input.out !== undefined) problems.push(new UsageError('--resume and --out cannot be combined', '--resume continues the run folder it names'));
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new ProblemsError(problems);
  return {
    impls,
    implSpecs,
    sizes,
    reps,
    durationSeconds,
    warmupSeconds,
    vus,
    engine: engine as BenchOptions['engine'],
    webroot,
    redirects,
    siteBytes,
    seed,
    out: input.out !== undefined ? resolve(input.out) : null,
    resume: input.resume ?? null,
    loadgen: loadgen as BenchOptions['loadgen'],
    reference,
    reportsDir: resolve(input.reportsDir ?? join(process.cwd(), 'reports')),
    cacheDir: defaultCacheDir(),
  };
}

// ---------------------------------------------------------------- the run

export interface BenchOutcome {
  runDir: string;
  run: RunInfo;
  /** Results of the cells run in this invocation and, with --resume, the ones already there. */
  results: CellResult[];
  skipped: { impl: string; size: string; reason: string }[];
  /** Cells that failed while running (not stored; --resume runs them again). */
  failed: string[];
}

interface Plan {
  size: Size;
  server: number[];
  loadgen: number[];
}

const CELL_OVERHEAD_SECONDS = 3; // start, crawl, stop: for the remaining-time estimate

/** A resumed run's implementations from its stored --impls entries; one that no longer resolves is a usage error. */
function resolvePriorImpls(specs: readonly string[]): Impl[] {
  const problems: BenchError[] = [];
  const impls = resolveImpls(specs, problems);
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new ProblemsError(problems);
  return impls;
}

export async function runBench(opts: BenchOptions, emit: BenchEvents, signal?: AbortSignal): Promise<BenchOutcome> {
  // Resume: the stored configuration wins; flags other than --resume are ignored.
  let prior: RunInfo | null = null;
  let runDir: string;
  if (opts.resume !== null) {
    runDir = opts.resume.includes('/') ? resolve(opts.resume) : join(opts.reportsDir, opts.resume);
    if (!existsSync(join(runDir, 'run.json'))) throw new UsageError(`--resume ${opts.resume}: no run folder ${runDir}`, `run ids are folder names under ${opts.reportsDir}`);
    prior = await readRunInfo(runDir);
  } else {
    runDir = opts.out ?? join(opts.reportsDir, newRunId());
  }
  const implSpecs = prior ? (prior.config.implSpecs ?? prior.config.impls) : opts.implSpecs;
  const impls = prior ? resolvePriorImpls(implSpecs) : opts.impls;
  const sizes = prior ? prior.config.sizes : opts.sizes;
  const reps = prior ? prior.config.reps : opts.reps;
  const durationSeconds = prior ? prior.config.durationSeconds : opts.durationSeconds;
  const warmupSeconds = prior ? prior.config.warmupSeconds : opts.warmupSeconds;
  const vusOverride = prior ? prior.config.vusOverride : opts.vus;
  const loadgen = prior ? prior.loadgen : opts.loadgen;
  // Read once: the ids decide what still runs, the results belong in the outcome (--json, the table).
  const stored = prior ? await storedResults(runDir) : [];
  const finished = new Set(stored.map((r) => r.id));

  // Engine and CPU plans: problems here are reported before anything starts.
  const engine: LoadEngine = await selectEngine(prior ? prior.config.engine : opts.engine);
  const engineVersion = await engine.version();
  const hostCpus = allowedCpus();
  const vetoes: Veto[] = [];
  const plans = new Map<string, Plan>();
  for (const size of sizes) {
    const p = planCpus(hostCpus, size.cpus, loadgen);
    if ('skip' in p) vetoes.push({ impl: '*', size: size.name, reason: p.skip });
    else plans.set(size.name, { size, server: p.server, loadgen: p.loadgen });
  }

  // Site, then implementations (gosherve may need building).
  const site = prior
    ? prior.site.kind === 'generated'
      ? await prepareGeneratedSite(opts.cacheDir, prior.site.seed, prior.site.targetBytes)
      : await prepareUserSite(prior.site.webroot, prior.site.redirects)
    : opts.webroot !== null
      ? await prepareUserSite(opts.webroot, opts.redirects)
      : (emit({ kind: 'info', message: `site: generating or reusing the seed-${opts.seed} site (${(opts.siteBytes / 1e6).toFixed(0)} MB) in ${opts.cacheDir}/sites` }),
        await prepareGeneratedSite(opts.cacheDir, opts.seed, opts.siteBytes));
  const workDir = await mkdtemp(join(tmpdir(), 'server-bench-'));
  const baseCtx = { webroot: site.webroot, mapUrl: '', cacheDir: opts.cacheDir, cpus: 1, host: '127.0.0.1', redirects: site.redirects, workDir };
  const versions: Record<string, string> = {};
  const available: Impl[] = [];
  for (const impl of impls) {
    emit({ kind: 'info', message: `prepare ${impl.name}` });
    const r = await impl.prepare(baseCtx);
    if ('version' in r && r.steps?.some((st) => /^(go install|go build)/.test(st))) emit({ kind: 'info', message: `${impl.name}: ${r.steps.at(-1) ?? ''}` });
    if ('unavailable' in r) {
      vetoes.push({ impl: impl.name, size: '*', reason: r.unavailable });
    } else {
      versions[impl.name] = r.version;
      available.push(impl);
    }
  }
  const matrix = buildMatrix(impls.map((i) => i.name), sizes, reps, vetoes);
  // One line per reason: a size that does not fit names every implementation once, an
  // unavailable implementation names every size once.
  const said = new Set<string>();
  for (const s of matrix.skipped) {
    const same = (x: { impl: string; size: string; reason: string }) => x.reason === s.reason;
    const allImpls = impls.every((i) => matrix.skipped.some((x) => same(x) && x.impl === i.name && x.size === s.size));
    const allSizes = sizes.every((z) => matrix.skipped.some((x) => same(x) && x.size === z.name && x.impl === s.impl));
    const e = { kind: 'skip' as const, impl: allImpls ? '*' : s.impl, size: allImpls ? s.size : allSizes ? '*' : s.size, reason: s.reason };
    const key = `${e.impl}|${e.size}|${e.reason}`;
    if (!said.has(key)) emit(e);
    said.add(key);
  }

  const supervisor: Supervisor = localSupervisor();
  let mapServer: MapServer | null = null;
  const results: CellResult[] = [...stored];
  try {
    // A busy port fails every cell alike: say so before a run folder exists.
    await assertPortsFree([...new Set(available.flatMap((i) => [i.sitePort, ...(i.metricsPort !== null ? [i.metricsPort] : [])]))]);
    if (!prior) await createRunDir(runDir);
    const run: RunInfo = prior
      ? { ...prior, skipped: matrix.skipped }
      : {
          schemaVersion: SCHEMA_VERSION,
          runId: basename(runDir),
          createdAt: new Date().toISOString(),
          backend: 'local',
          loadgen,
          emulated: false,
          config: {
            impls: impls.map((i) => i.name),
            sizes,
            reps,
            durationSeconds,
            warmupSeconds,
            vusOverride,
            engine: engine.name,
            reference: opts.reference ?? defaultReference(impls.map((i) => i.name)),
            implSpecs,
          },
          site: site.info,
          order: matrix.cells.map((c) => c.id),
          skipped: matrix.skipped,
          host: await hostInfo(),
          versions: {
            node: process.version,
            go: await goVersion(),
            engine: engineVersion,
            impls: Object.fromEntries(Object.entries(versions).map(([k, v]) => [k, impls.find((i) => i.name === k)?.metricPrefix === 'gosherve_' ? `${v} (GOSHERVE_LOG_LEVEL=${GOSHERVE_LOG_LEVEL})` : v])),
          },
          git: await gitRevision(repoRoot()),
        };
    await writeRunInfo(runDir, run);

    const todo: Cell[] = matrix.cells.filter((c) => !finished.has(c.id));
    emit({ kind: 'run', runDir, cells: todo.length, resumed: finished.size });
    if (todo.length === 0) return { runDir, run, results, skipped: matrix.skipped, failed: [] };

    const maps: MapServer = await startMapServer({ text: site.mapText });
    mapServer = maps;
    const targetsCache = new Map<string, Targets>();
    const verified = new Set<string>();
    const failed: string[] = [];
    const skippedImplSize = new Map<string, string>();
    const started = Date.now();
    const perCell = warmupSeconds + durationSeconds + CELL_OVERHEAD_SECONDS;
    for (let i = 0; i < todo.length; i++) {
      const cell = todo[i] as Cell;
      if (signal?.aborted) throw new InterruptedError(runDir);
      const key = `${cell.impl}@${cell.size.name}`;
      const total = todo.length;
      const skipReason = skippedImplSize.get(key);
      if (skipReason) {
        emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason: skipReason });
        continue;
      }
      const plan = plans.get(cell.size.name) as Plan;
      const impl = impls.find((x) => x.name === cell.impl) as Impl;
      const elapsed = () => (Date.now() - started) / 1000;
      const remaining = () => Math.max(0, (todo.length - i) * perCell - (Date.now() - cellStarted) / 1000);
      const cellStarted = Date.now();
      try {
        const outcome = await runCell({
          impl,
          size: cell.size,
          rep: cell.rep,
          order: cell.order,
          supervisor,
          engine,
          placement: { cpus: plan.server, memoryLimitBytes: cell.size.memoryMiB * 1024 * 1024, memoryEnforced: false },
          loadgenCpus: plan.loadgen,
          ctx: { ...baseCtx, mapUrl: maps.url, cpus: plan.server.length } satisfies LocalImplContext,
          mapText: site.mapText,
          mapServer: maps,
          ...(targetsCache.has(key) ? { targets: targetsCache.get(key) as Targets } : {}),
          verify: !verified.has(key),
          warmupSeconds,
          durationSeconds,
          vus: vusOverride ?? cell.size.vus,
          runDir,
          ...(signal ? { signal } : {}),
          renderTextSummary,
          onPhase: (phase, detail) => emit({ kind: 'phase', index: i, total, cellId: cell.id, phase, ...(detail !== undefined ? { detail } : {}), elapsedSeconds: elapsed(), remainingSeconds: remaining() }),
          onProgress: (p) => emit({ kind: 'live', index: i, total, cellId: cell.id, ...p }),
        });
        targetsCache.set(key, outcome.targets);
        verified.add(key);
        if (outcome.kind === 'skipped') {
          skippedImplSize.set(key, outcome.reason);
          emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason: outcome.reason });
          run.skipped.push({ impl: cell.impl, size: cell.size.name, reason: outcome.reason });
          await writeRunInfo(runDir, run);
        } else {
          results.push(outcome.result);
          emit({ kind: 'cell-done', index: i, total, result: outcome.result });
        }
      } catch (err) {
        await new Promise((r) => setTimeout(r, 50)); // a Ctrl-C may still be on its way to our handler
        if (signal?.aborted) throw new InterruptedError(runDir);
        // A busy port or a missing binary fails every cell alike: stop with that one line. A cell
        // that crashed or was cut short is reported and the run goes on; --resume retries it.
        if (!(err instanceof BenchError) || err.exitCode === ExitCode.environment || err.exitCode === ExitCode.usage) throw err;
        failed.push(cell.id);
        emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason: `failed: ${err.oneLine()}` });
      }
    }
    return { runDir, run, results, skipped: run.skipped, failed };
  } finally {
    await supervisor.stopAll().catch(() => killAllServersNow());
    await mapServer?.close().catch(() => undefined);
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}


