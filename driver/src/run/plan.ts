// RunPlan: what one `bench` invocation will run, whichever backend runs it. Made from the command
// line (every flag validated, all problems reported at once) or, with --resume, from the run.json
// it continues: the stored configuration wins, through the same RunSettings a command line gives
// (settingsFromRun). Also the run.json a new run starts with (newRunInfo). Nothing here starts a
// process; the loop (loop.ts) and the backends read the plan.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Impl } from '../contracts.js';
import { cannotMove, type PortRequest } from '../servers/impl-ports.js';
import { selectEngine } from '../engines/index.js';
import { BenchError, InputError, throwProblems, UsageError } from '../errors.js';
import { gitRevision, hostInfo } from './hostinfo.js';
import type { BenchEvents } from './events.js';
import { resumeDrift, resumeWarning } from './resume-check.js';
import { defaultCacheDir, defaultImpls, IMPL_NAMES, IMPLS, repoRoot, resolveImpls } from '../servers/registry.js';
import { newRunDir } from '../results/layout.js';
import type { Matrix } from './matrix.js';
import { SCHEMA_VERSION, type CellResult, type EngineName, type ProfileRunSettings, type RunInfo, type SiteInfo, type Size } from '../results/schema.js';
import { checkPerf } from '../profile/perf.js';
import type { RequestLogging } from '../servers/serverlogs.js';
import type { ImageFlavour } from '../vm/runner-debian.js';
import type { ParcaTarget } from '../vm/parca.js';
import { readRunInfo, storedResults } from '../results/store.js';
import { CELL_KEYS, CELL_OPTIONS, pickCellValues, storedCellValues, type CellOption, type CellValues } from './cell-options.js';
import { BENCH_FLAGS, flagValues, type BackendName, type BenchValues, type EngineChoice, type Loadgen, type RawFlags } from './options.js';
import { resumeConflicts } from './resume-flags.js';
import type { SiteRequest } from './site.js';

/** A run's configuration: what run.json records and --resume restores. */
export interface RunSettings {
  /** The --impls entries as given, checkouts as absolute paths. */
  implSpecs: string[];
  sizes: Size[];
  reps: number;
  engine: EngineChoice;
  loadgen: Loadgen;
  site: SiteRequest;
  /** --reference; null: the default (defaultReference). */
  reference: string | null;
  /** Every cell option (run/cell-options.ts): what each cell's CellSpec carries. */
  cell: CellValues;
  /** --profile: one extra, profiled repetition per implementation and size (rep = reps + 1); null: none. */
  profile: ProfileRunSettings | null;
}

export interface RunPlan extends RunSettings {
  /** hosts: a plan made as the VM backend's (commands/bench.ts), run on the machines of a hosts file. */
  backend: BackendName | 'hosts';
  /** The implementations the specs name, resolved in the registry (tags and checkouts included). */
  impls: Impl[];
  /** This run's folder: a new one, or the one --resume continues. */
  runDir: string;
  reportsDir: string;
  cacheDir: string;
  /** The run being continued (--resume): its run.json and the results already stored. */
  resume: { run: RunInfo; results: CellResult[] } | null;
  /** The VM backend's own knobs (not part of the run's configuration); implsGiven: --impls was given. */
  vm: { image: ImageFlavour; allowTcg: boolean; runner: string | null; sshTimeoutSeconds: number | null; implsGiven: boolean; parca?: ParcaTarget | null };
  json: boolean;
  /** --port: where the servers listen (not a setting: a resumed run may take other ports). */
  port: PortRequest;
}

/** What the reports compare against when --reference is not given: gosherve when it ran, else the first. */
function defaultReference(impls: readonly string[]): string {
  return impls.includes('gosherve') ? 'gosherve' : (impls[0] ?? 'gosherve');
}

/** `gosherve@./x` → `gosherve@/abs/x` (servy@ too), so the stored spec means the same from any folder. */
function absoluteSpec(spec: string): string {
  const m = /^(gosherve|servy)@([./~].*)$/.exec(spec);
  return m ? `${m[1]}@${resolve((m[2] as string).replace(/^~(?=\/)/, process.env.HOME ?? '~'))}` : spec;
}

/** The settings a run.json records: what --resume runs with, whatever else the command line says. */
export function settingsFromRun(run: RunInfo): RunSettings {
  return {
    implSpecs: run.config.implSpecs ?? run.config.impls,
    sizes: run.config.sizes,
    reps: run.config.reps,
    engine: run.config.engine,
    loadgen: run.loadgen,
    site:
      run.site.kind === 'generated'
        ? { kind: 'generated', seed: run.site.seed, targetBytes: run.site.targetBytes }
        : { kind: 'user', webroot: run.site.webroot, redirects: run.site.redirects },
    reference: run.config.reference,
    cell: storedCellValues(run.config),
    profile: run.config.profile ?? null,
  };
}

/** The implementations a backend runs: the ones named, else its default set (every problem collected). */
export async function implsOf(specs: string[] | null, backend: BackendName, problems: BenchError[]): Promise<Impl[]> {
  if (specs === null) return backend === 'vm' ? [...IMPLS] : defaultImpls();
  if (backend === 'vm') {
    const elsewhere = specs.filter((x) => x.includes('@'));
    if (elsewhere.length > 0) {
      problems.push(
        new UsageError(
          `--backend vm: ${elsewhere.join(', ')} cannot run in the VMs, which carry the flake's pinned gosherve v0.3.3 and v0.3.5 only`,
          'run it with the local backend (server-bench bench --impls …), or add a flake input for that tag or checkout (nix/README.md)',
        ),
      );
      specs = specs.filter((x) => !x.includes('@'));
    }
  }
  // Each problem names the flag it came from.
  const found: BenchError[] = [];
  const impls = resolveImpls(specs, found);
  for (const p of found) problems.push(new BenchError(p.message.startsWith('--impls') ? p.message : `--impls: ${p.message}`, p.hint, p.exitCode));
  return impls;
}

/** --webroot and --redirects → the site, checking both exist; the generated site otherwise. */
export function siteOf(v: Pick<BenchValues, 'webroot' | 'redirects' | 'seed' | 'siteSize'>, problems: BenchError[]): SiteRequest {
  const webroot = v.webroot !== null ? resolve(v.webroot) : null;
  if (webroot !== null && !existsSync(webroot))
    problems.push(new InputError(`--webroot ${v.webroot}: no such directory`, "pass the folder that holds your site's index.html"));
  else if (webroot !== null && !statSync(webroot).isDirectory())
    problems.push(
      new InputError(`--webroot ${v.webroot} is a file, not a folder`, `pass the folder that holds your site's index.html (perhaps ${dirname(webroot)})`),
    );
  const redirects = v.redirects !== null ? resolve(v.redirects) : null;
  if (redirects !== null && !existsSync(redirects))
    problems.push(new InputError(`--redirects ${v.redirects}: no such file`, 'pass a redirect map file, one "alias https://target" per line'));
  else if (redirects !== null && !statSync(redirects).isFile())
    problems.push(new InputError(`--redirects ${v.redirects} is a folder, not a file`, 'pass a redirect map file, one "alias https://target" per line'));
  if (redirects !== null && webroot === null) problems.push(new UsageError('--redirects needs --webroot', 'give both to benchmark your own site'));
  return webroot !== null ? { kind: 'user', webroot, redirects } : { kind: 'generated', seed: v.seed, targetBytes: v.siteSize };
}

/** Can the engine run here (the one it picks, or null)? On a fresh Debian machine of ours, say the one command that fixes it. */
async function checkEngine(engine: EngineChoice, problems: BenchError[]): Promise<EngineName | null> {
  try {
    return (await selectEngine(engine)).name;
  } catch (err) {
    if (!(err instanceof BenchError)) throw err;
    // We do not install packages behind the user's back; the README's main-job command runs it first.
    if (engine !== 'k6' && process.getuid?.() === 0 && existsSync('/etc/debian_version')) {
      problems.push(new BenchError(err.message, 'run: apt-get install -y wrk, then run the command again', err.exitCode));
    } else problems.push(err);
    return null;
  }
}

/** Each cell option's own check against the backend and engine that will run (cell-options.ts `check`). */
function checkCellOptions(cell: CellValues, run: { backend: BackendName; engine: EngineName }, problems: BenchError[]): void {
  for (const k of CELL_KEYS) {
    const o = CELL_OPTIONS[k] as CellOption<unknown>;
    const problem = o.check?.(cell[k], run);
    if (problem) problems.push(problem);
  }
}

/** --profile and its settings; the others need it, and perf must be able to record (here for the local backend). */
async function profileOf(v: BenchValues, raw: RawFlags, problems: BenchError[]): Promise<ProfileRunSettings | null> {
  const detail = ['profile-hz', 'profile-call-graph', 'profile-in-stats'].some((f) => raw.text[f] !== undefined);
  if (!v.profile) {
    if (detail) problems.push(new UsageError('--profile-hz, --profile-call-graph and --profile-in-stats need --profile', 'add --profile'));
    return null;
  }
  // The VM backend's perf runs in the guest, which checks it per profiled cell (k6test).
  if (v.backend === 'local') {
    try {
      await checkPerf();
    } catch (err) {
      if (!(err instanceof BenchError)) throw err;
      problems.push(err);
    }
  }
  return { hz: v.profileHz, callGraph: v.profileCallGraph, inStats: v.profileInStats };
}

/** The implementations a resumed run stored; one that no longer resolves is a usage error. */
function resolvePriorImpls(specs: readonly string[]): Impl[] {
  const problems: BenchError[] = [];
  const impls = resolveImpls(specs, problems);
  throwProblems(problems);
  return impls;
}

/** Where runs go: $SERVER_BENCH_REPORTS, else ./reports. */
function reportsDirOf(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.SERVER_BENCH_REPORTS ? env.SERVER_BENCH_REPORTS : join(process.cwd(), 'reports'));
}

/**
 * The command line → a RunPlan. Every flag and file is checked before anything starts and ALL
 * problems are thrown together (ProblemsError), so a user fixes a command line once, not once per
 * flag. With --resume the plan is the stored run's; a flag that would change it is refused (resume-flags.ts).
 */
export async function makeRunPlan(raw: RawFlags, opts: { checkEngine?: boolean } = {}): Promise<RunPlan> {
  const problems: BenchError[] = [];
  const backend: BackendName = raw.text.backend === 'vm' ? 'vm' : 'local';
  const v = flagValues(BENCH_FLAGS, raw, backend, problems);
  const impls = await implsOf(v.impls, backend, problems);
  const site = siteOf(v, problems);
  // The reference must be one this run runs (the VMs may carry more than --impls resolves here).
  if (v.reference !== null && !impls.some((i) => i.name === v.reference) && !(backend === 'vm' && IMPL_NAMES.includes(v.reference))) {
    problems.push(
      new UsageError(
        `--reference ${v.reference}: not one of the implementations this run runs`,
        impls.length > 0 ? `choose one of: ${impls.map((i) => i.name).join(', ')} (or add it to --impls)` : 'add it to --impls',
      ),
    );
  }
  // The Debian guest has wrk, not k6 (Debian does not package it): its default engine is wrk.
  const engine: EngineChoice = backend === 'vm' && v.image === 'debian' && raw.text.engine === undefined ? 'wrk' : v.engine;
  if (backend === 'vm') {
    // The engine runs in the VM: nothing to check on this host.
    if (engine !== 'k6' && engine !== 'wrk') problems.push(new UsageError(`--engine ${engine}: the VMs run k6 (wrk for tests)`, 'use --engine k6'));
    else checkCellOptions(pickCellValues(v), { backend, engine }, problems);
    if (v.image === 'debian' && engine === 'k6')
      problems.push(
        new UsageError(
          '--engine k6: the Debian guest has no k6 (Debian does not package it)',
          'use --engine wrk with --image debian, or the NixOS VMs (--image nix) for k6',
        ),
      );
    if (v.runner !== null && v.sizes.length !== 1)
      problems.push(new UsageError('--runner names one runner, for one size', 'add --sizes N, or set SERVER_BENCH_VM_RUNNERS'));
    if (v.parca !== null && v.image === 'debian')
      problems.push(
        new UsageError('--parca: the Debian guest has no Parca agent (Debian does not package parca-agent)', 'use the NixOS VMs (--image nix) for --parca'),
      );
    if (v.runner !== null && v.image === 'debian')
      problems.push(new UsageError('--runner and --image debian both name the VM', 'leave out --runner: the Debian image makes its own runners'));
  } else if (opts.checkEngine !== false && !problems.some((p) => p.message.startsWith('--engine'))) {
    const chosen = await checkEngine(engine, problems);
    if (chosen !== null) checkCellOptions(pickCellValues(v), { backend, engine: chosen }, problems);
  }
  if (typeof v.port === 'number' && v.impls !== null) {
    for (const impl of impls) {
      const fixed = cannotMove(impl, v.port);
      if (fixed !== null) problems.push(new UsageError(`--port ${v.port}: ${fixed}`, `leave ${impl.name} out of --impls, or run it without --port`));
    }
  }
  if (v.resume !== null && v.out !== null) problems.push(new UsageError('--resume and --out cannot be combined', '--resume continues the run folder it names'));
  const profile = await profileOf(v, raw, problems);
  throwProblems(problems);

  const reportsDir = reportsDirOf();
  const fromFlags: RunSettings = {
    implSpecs: v.impls !== null ? v.impls.map(absoluteSpec) : impls.map((i) => i.name),
    sizes: v.sizes,
    reps: v.reps,
    engine,
    loadgen: v.loadgen,
    site,
    reference: v.reference,
    cell: pickCellValues(v),
    profile,
  };
  const vm = { image: v.image, allowTcg: v.allowTcg, runner: v.runner, sshTimeoutSeconds: v.sshTimeoutSeconds, implsGiven: v.impls !== null, parca: v.parca };
  const common = { backend, reportsDir, cacheDir: defaultCacheDir(), vm, json: v.json, port: v.port };
  if (v.resume === null) {
    // (--resume: the stored run's settings; flags that would change them are refused below.)
    return { ...fromFlags, ...common, impls, runDir: v.out ?? newRunDir(reportsDir), resume: null };
  }
  const runDir = v.resume.includes('/') ? resolve(v.resume) : join(reportsDir, v.resume);
  if (!existsSync(join(runDir, 'run.json')))
    throw new UsageError(`--resume ${v.resume}: no run folder ${runDir}`, `run ids are folder names under ${reportsDir}`);
  const run = await readRunInfo(runDir);
  const stored = settingsFromRun(run);
  const conflict = resumeConflicts(v.resume, raw, fromFlags, stored);
  if (conflict !== null) throw conflict;
  return { ...stored, ...common, impls: resolvePriorImpls(stored.implSpecs), runDir, resume: { run, results: await storedResults(runDir) } };
}

/** The facts only a prepared backend knows, for run.json. */
export interface RunFacts {
  engine: EngineName;
  emulated: boolean;
  site: SiteInfo;
  versions: { go: string | null; engine: string; impls: Record<string, string> };
  /** The hash of the run's target list (local: targets.json), when the backend keeps one. */
  targetsHash?: string;
  /** How each implementation logged requests (Impl.logging; --server-logs), for the reports. */
  logging?: Record<string, RequestLogging>;
  /** The implementations the backend runs, when it decides (the Debian image carries its own set); else the plan's. */
  impls?: string[];
}

/** The names of the implementations a run runs: the backend's say, else the plan's. */
export function implNamesOf(plan: RunPlan, facts: Pick<RunFacts, 'impls'>): string[] {
  return facts.impls ?? plan.impls.map((i) => i.name);
}

/** The run.json a new run starts with: the plan's configuration, the backend's facts, the matrix. */
export async function newRunInfo(plan: RunPlan, facts: RunFacts, matrix: Matrix): Promise<RunInfo> {
  const names = implNamesOf(plan, facts);
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: basename(plan.runDir),
    createdAt: new Date().toISOString(),
    backend: plan.backend,
    loadgen: plan.loadgen,
    emulated: facts.emulated,
    config: {
      impls: names,
      sizes: plan.sizes,
      reps: plan.reps,
      ...plan.cell,
      engine: facts.engine,
      reference: plan.reference ?? defaultReference(names),
      implSpecs: facts.impls ?? plan.implSpecs,
      ...(plan.profile ? { profile: plan.profile } : {}),
    },
    site: facts.site,
    ...(facts.targetsHash !== undefined ? { targetsHash: facts.targetsHash } : {}),
    order: matrix.cells.map((c) => c.id),
    skipped: matrix.skipped,
    host: await hostInfo(),
    versions: { node: process.version, ...facts.versions },
    git: await gitRevision(repoRoot()),
    ...(facts.logging !== undefined ? { logging: facts.logging } : {}),
  };
}

/**
 * The run.json a resumed run goes on with: the stored one, its skip list brought up to date, and this
 * resume recorded with what changed since the run began (git revision, tool and server versions),
 * which is also said once as a warning.
 */
export async function resumedRunInfo(stored: RunInfo, plan: RunPlan, facts: RunFacts, skipped: RunInfo['skipped'], emit: BenchEvents): Promise<RunInfo> {
  const now = { git: await gitRevision(repoRoot()), versions: { node: process.version, ...facts.versions } };
  const changed = resumeDrift(stored, now);
  if (changed.length > 0) emit({ kind: 'info', message: resumeWarning(stored.runId, changed) });
  const resume = { at: new Date().toISOString(), cellsBefore: plan.resume?.results.length ?? 0, changed };
  return { ...stored, skipped, resumes: [...(stored.resumes ?? []), resume] };
}
