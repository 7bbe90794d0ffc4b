// k6test, the test runner inside a VM: one implementation, one repetition. Stops every server unit,
// starts the chosen one through a Supervisor, then the engine's own runCell (crawl, verify, warm-up,
// measure, collect) writes the cell into its out folder in the reports layout (layout.ts), so the
// driver pulls it over SFTP unchanged. The VM's facts come from /etc/server-bench/*.json (vm.nix).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { runCell, type CellOutcome, type MapCounter } from './cell.js';
import type { Impl, ImplContext, Supervisor } from './contracts.js';
import { parseDuration } from './duration.js';
import { selectEngine } from './engines/index.js';
import { k6ScriptPath } from './engines/k6.js';
import { wrkLuaPath } from './engines/wrk.js';
import { BenchError, EnvironmentError, ExitCode, InputError, UsageError } from './errors.js';
import { defaultCacheDir, implByName, IMPL_NAMES, type LocalImplContext } from './impls.js';
import { parseRedirectMap } from './redirectmap.js';
import { cellId, SCHEMA_VERSION, type Size } from './schema.js';
import { jsonOrUndefined, writeJsonAtomic } from './store.js';

export const DEFAULT_ETC = '/etc/server-bench';
export const OUTCOME_FILE = 'outcome.json';

export const VmSizeSchema = z.object({
  name: z.string().regex(/^[0-9]+$/),
  cpus: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
  vus: z.number().int().positive(),
  serverCpuList: z.array(z.number().int().nonnegative()),
  loadgenCpuList: z.array(z.number().int().nonnegative()),
  loadgen: z.enum(['dedicated', 'shared']).default('dedicated'),
});
export const VmImplSchema = z.object({
  name: z.string(),
  unit: z.string(),
  description: z.string().default(''),
  reference: z.boolean().default(false),
  sitePort: z.number().int().positive(),
  metricsPort: z.number().int().positive().nullable(),
  metricPrefix: z.string().nullable(),
});
export const VmPathsSchema = z.object({
  webroot: z.string(),
  mapUrl: z.string(),
  mapFetchesUrl: z.string(),
  mapFetchesResetUrl: z.string(),
  outDir: z.string(),
});
export type VmSize = z.infer<typeof VmSizeSchema>;
export type VmImpl = z.infer<typeof VmImplSchema>;
export type VmPaths = z.infer<typeof VmPathsSchema>;

export interface K6TestConfig {
  size: VmSize;
  impls: VmImpl[];
  paths: VmPaths;
}

/** What a k6test run leaves beside the cell files: the driver reads it after the SFTP pull. */
export const OutcomeSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  cellId: z.string(),
  kind: z.enum(['done', 'skipped', 'failed']),
  reason: z.string().nullable(),
});
export type Outcome = z.infer<typeof OutcomeSchema>;

/** `k6test --info`: what the driver needs to know about the VM before running cells. */
export const InfoSchema = z.object({
  size: VmSizeSchema,
  impls: z.array(z.string()),
  outDir: z.string(),
  node: z.string(),
  engineVersion: z.string().nullable(),
  virt: z.string().nullable(),
  /** The site the VM serves (/etc/server-bench/site.json), when present. */
  site: z
    .object({
      files: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      aliases: z.number().int().nonnegative(),
      // What the generator was asked for (site.json from nix/gen-site.mjs); older images lack them.
      seed: z.number().int().optional(),
      targetBytes: z.number().int().positive().optional(),
    })
    .nullable()
    .default(null),
});
export type Info = z.infer<typeof InfoSchema>;

async function readConfigFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EnvironmentError(`k6test: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'k6test runs inside a server-bench VM; elsewhere set SERVER_BENCH_ETC to a folder with size.json, impls.json and vm.json');
  }
  const r = schema.safeParse(jsonOrUndefined(text));
  if (!r.success) throw new InputError(`k6test: ${path} is invalid: ${r.error.issues[0]?.message ?? 'bad shape'} at ${r.error.issues[0]?.path.join('.') ?? ''}`, 'rebuild the VM from the same revision as the driver');
  return r.data;
}

export async function loadConfig(etc: string = process.env.SERVER_BENCH_ETC || DEFAULT_ETC): Promise<K6TestConfig> {
  return {
    size: await readConfigFile(join(etc, 'size.json'), VmSizeSchema),
    impls: await readConfigFile(join(etc, 'impls.json'), z.array(VmImplSchema)),
    paths: await readConfigFile(join(etc, 'vm.json'), VmPathsSchema),
  };
}

export interface K6TestOptions {
  impl: string;
  vus: number | null;
  durationSeconds: number;
  warmupSeconds: number;
  out: string | null;
  engine: 'k6' | 'wrk';
  rep: number;
  order: number;
  verify: boolean;
  loadgen: 'dedicated' | 'shared' | null;
  supervisor: 'systemd' | 'local';
  info: boolean;
}

export function usage(valid: readonly string[]): string {
  return `usage: k6test <impl> [--vus N] [--duration D] [--warmup D] [--out DIR] [--engine k6|wrk]
              [--rep N] [--order N] [--no-verify] [--loadgen dedicated|shared] [--supervisor systemd|local]
       k6test --info
implementations: ${valid.join(', ')}
`;
}

function posInt(text: string, flag: string, min = 1): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min) throw new UsageError(`k6test: ${flag} "${text}" is not a whole number ≥ ${min}`, `for example ${flag} ${min + 1}`);
  return Number(text);
}

/** Parse k6test's command line against the VM's implementations; every problem is a UsageError (exit 2). */
export function parseK6TestArgs(argv: string[], valid: readonly string[], env: NodeJS.ProcessEnv = process.env): K6TestOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        vus: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        out: { type: 'string' },
        engine: { type: 'string' },
        rep: { type: 'string' },
        order: { type: 'string' },
        'no-verify': { type: 'boolean' },
        loadgen: { type: 'string' },
        supervisor: { type: 'string' },
        info: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError(`k6test: ${(err as Error).message.split('\n')[0]}`, `valid implementations: ${valid.join(', ')}`);
  }
  const v = parsed.values;
  const supervisor = v.supervisor ?? env.K6TEST_SUPERVISOR ?? 'systemd';
  if (supervisor !== 'systemd' && supervisor !== 'local') throw new UsageError(`k6test: --supervisor "${supervisor}"`, 'valid: systemd, local');
  const info = v.info === true;
  const impl = parsed.positionals[0];
  if (!info) {
    if (impl === undefined) throw new UsageError('k6test: no implementation given', `valid implementations: ${valid.join(', ')}`);
    if (!valid.includes(impl)) throw new UsageError(`k6test: unknown implementation "${impl}"`, `valid implementations: ${valid.join(', ')}`);
    if (parsed.positionals.length > 1) throw new UsageError(`k6test: unexpected argument "${parsed.positionals[1]}"`, 'one implementation per run');
  }
  const engine = v.engine ?? 'k6';
  if (engine !== 'k6' && engine !== 'wrk') throw new UsageError(`k6test: --engine "${engine}"`, 'valid: k6, wrk');
  const loadgen = v.loadgen ?? null;
  if (loadgen !== null && loadgen !== 'dedicated' && loadgen !== 'shared') throw new UsageError(`k6test: --loadgen "${loadgen}"`, 'valid: dedicated, shared');
  const durationSeconds = parseDuration(v.duration ?? '30s', '--duration');
  if (durationSeconds <= 0) throw new UsageError('k6test: --duration must be longer than 0', 'for example --duration 30s');
  return {
    impl: impl ?? '',
    vus: v.vus !== undefined ? posInt(v.vus, '--vus') : null,
    durationSeconds,
    warmupSeconds: parseDuration(v.warmup ?? '5s', '--warmup'),
    out: v.out ?? null,
    engine,
    rep: v.rep !== undefined ? posInt(v.rep, '--rep') : 1,
    order: v.order !== undefined ? posInt(v.order, '--order', 0) : 0,
    verify: v['no-verify'] !== true,
    loadgen,
    supervisor,
    info,
  };
}

/** The map server's fetch counter over HTTP (bench-redirect-map's /fetches); read outside the measured window. */
export function httpMapCounter(fetchesUrl: string, resetUrl: string): MapCounter {
  const call = async (url: string, method: string): Promise<number> => {
    const text = await fetch(url, { method, signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.text(),
      (err: Error) => {
        throw new InputError(`map server at ${url} does not answer: ${err.message}`, 'is bench-redirect-map running?');
      },
    );
    let n: unknown;
    try {
      n = (JSON.parse(text) as { fetches?: unknown }).fetches;
    } catch {
      n = undefined;
    }
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new InputError(`map server at ${url} answered "${text.trim().slice(0, 60)}"`, 'is bench-redirect-map running?');
    return n;
  };
  return {
    fetches: () => call(fetchesUrl, 'GET'),
    resetFetches: async () => void (await call(resetUrl, 'POST')),
  };
}

/** An Impl for the systemd supervisor: the unit is the launcher, the VM image the version. */
function unitImpl(i: VmImpl): Impl {
  return {
    name: i.name,
    description: i.description,
    reference: i.reference,
    sitePort: i.sitePort,
    metricsPort: i.metricsPort,
    metricPrefix: i.metricPrefix,
    async prepare() {
      return { version: `unit ${i.unit}` };
    },
    launch() {
      throw new BenchError(`${i.name} is started by its unit ${i.unit}`, 'use the systemd supervisor', ExitCode.failure);
    },
  };
}

async function detectVirt(): Promise<string | null> {
  try {
    return execFileSync('systemd-detect-virt', [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim() || null;
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '').trim();
    return out || null; // "none" exits 1
  }
}

export async function k6testInfo(cfg: K6TestConfig, engine: 'k6' | 'wrk'): Promise<Info> {
  // The engine's own file must be here before any cell runs: the driver stops on --info's error.
  if (engine === 'wrk') wrkLuaPath();
  else k6ScriptPath();
  let engineVersion: string | null = null;
  try {
    engineVersion = await (await selectEngine(engine)).version();
  } catch {
    engineVersion = null;
  }
  let site: Info['site'] = null;
  try {
    const etc = process.env.SERVER_BENCH_ETC || DEFAULT_ETC;
    const j = z.object({ files: z.number(), bytes: z.number(), redirects: z.array(z.unknown()), seed: z.number().int().optional(), targetBytes: z.number().int().positive().optional() }).parse(JSON.parse(await readFile(join(etc, 'site.json'), 'utf8')));
    site = { files: j.files, bytes: j.bytes, aliases: j.redirects.length, ...(j.seed !== undefined ? { seed: j.seed } : {}), ...(j.targetBytes !== undefined ? { targetBytes: j.targetBytes } : {}) };
  } catch {
    site = null; // optional: the run records zeros
  }
  return { size: cfg.size, impls: cfg.impls.map((i) => i.name), outDir: cfg.paths.outDir, node: process.version, engineVersion, virt: await detectVirt(), site };
}

export interface K6TestDeps {
  log: (line: string) => void;
  signal?: AbortSignal;
  renderTextSummary?: Parameters<typeof runCell>[0]['renderTextSummary'];
}

/** One cell in the VM. Returns the outcome; writes the cell, verification and outcome.json into the out folder. */
export async function runK6Test(opts: K6TestOptions, cfg: K6TestConfig, deps: K6TestDeps): Promise<CellOutcome> {
  const vmImpl = cfg.impls.find((i) => i.name === opts.impl);
  if (!vmImpl) throw new UsageError(`k6test: unknown implementation "${opts.impl}"`, `valid implementations: ${cfg.impls.map((i) => i.name).join(', ')}`);
  const size: Size = { name: cfg.size.name, cpus: cfg.size.cpus, memoryMiB: cfg.size.memoryMiB, vus: cfg.size.vus };
  const id = cellId(opts.impl, size.name, opts.rep);
  const outDir = resolve(opts.out ?? join(cfg.paths.outDir, id));
  await mkdir(outDir, { recursive: true });
  const outcomeFile = join(outDir, OUTCOME_FILE);
  // Under TCG (systemd-detect-virt: qemu) a Node server loading the site takes minutes, not seconds.
  const readyTimeoutMs = opts.supervisor === 'systemd' && (await detectVirt()) === 'qemu' ? 300_000 : 30_000;
  const supervisor: Supervisor =
    opts.supervisor === 'systemd'
      ? (await import('./supervisor-systemd.js')).systemdSupervisor({ units: cfg.impls.map((i) => i.unit), unitOf: (n) => cfg.impls.find((i) => i.name === n)?.unit ?? `bench-${n}`, readyTimeoutMs })
      : (await import('./supervisor-local.js')).localSupervisor();
  // Local (tests): the registry knows how to launch it; in the VM the unit does.
  const impl = opts.supervisor === 'local' ? implByName(opts.impl) : unitImpl(vmImpl);
  const workDir = await mkdtemp(join(tmpdir(), 'k6test-'));
  try {
    deps.log(`k6test: stopping every server unit`);
    await supervisor.stopAll();
    const engine = await selectEngine(opts.engine);
    const mapResp = await fetch(cfg.paths.mapUrl, { signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
      throw new EnvironmentError(`k6test: the redirect map at ${cfg.paths.mapUrl} does not answer (${String(err)})`, 'systemctl status bench-redirect-map');
    });
    const mapText = await mapResp.text();
    const loadgen = opts.loadgen ?? cfg.size.loadgen;
    const ctx: LocalImplContext & ImplContext = {
      webroot: cfg.paths.webroot,
      mapUrl: cfg.paths.mapUrl,
      cacheDir: defaultCacheDir(),
      cpus: cfg.size.cpus,
      host: '127.0.0.1',
      redirects: parseRedirectMap(mapText).redirects,
      workDir,
    };
    const outcome = await runCell({
      impl,
      size,
      rep: opts.rep,
      order: opts.order,
      supervisor,
      engine,
      placement: { cpus: cfg.size.serverCpuList, memoryLimitBytes: cfg.size.memoryMiB * 1024 * 1024, memoryEnforced: false },
      loadgenCpus: loadgen === 'shared' ? cfg.size.serverCpuList : cfg.size.loadgenCpuList,
      ctx,
      mapText,
      mapServer: httpMapCounter(cfg.paths.mapFetchesUrl, cfg.paths.mapFetchesResetUrl),
      verify: opts.verify,
      warmupSeconds: opts.warmupSeconds,
      durationSeconds: opts.durationSeconds,
      vus: opts.vus ?? cfg.size.vus,
      runDir: outDir,
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.renderTextSummary ? { renderTextSummary: deps.renderTextSummary } : {}),
      onPhase: (phase, detail) => deps.log(`k6test: ${id} ${phase}${detail ? ` (${detail})` : ''}`),
      onProgress: (p) => {
        if (Math.round(p.elapsedSeconds) % 5 === 0) deps.log(`k6test: ${id} ${p.phase} ${p.elapsedSeconds.toFixed(0)}/${p.totalSeconds.toFixed(0)} s`);
      },
    });
    await writeJsonAtomic(outcomeFile, { schemaVersion: SCHEMA_VERSION, cellId: id, kind: outcome.kind, reason: outcome.kind === 'skipped' ? outcome.reason : null } satisfies Outcome);
    return outcome;
  } catch (err) {
    const reason = err instanceof BenchError ? err.oneLine() : String(err);
    // The server's own last words (a crash, a reset) beside the failure, on the driver's progress lines.
    if (opts.supervisor === 'systemd') {
      const { journalTail } = await import('./supervisor-systemd.js');
      const journal = await journalTail(vmImpl.unit, 12).catch(() => '');
      for (const line of journal.split('\n').filter(Boolean)) deps.log(`k6test: ${vmImpl.unit}: ${line}`);
    }
    await writeJsonAtomic(outcomeFile, { schemaVersion: SCHEMA_VERSION, cellId: id, kind: 'failed', reason } satisfies Outcome).catch(() => undefined);
    throw err;
  } finally {
    await supervisor.stopAll().catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Valid implementation names for usage lines: the VM's list, or the registry outside a VM. */
export async function validImpls(): Promise<string[]> {
  try {
    return (await loadConfig()).impls.map((i) => i.name);
  } catch {
    return [...IMPL_NAMES];
  }
}
