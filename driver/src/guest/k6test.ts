// k6test, the test runner inside a VM: one cell (a CellSpec: from the driver as JSON, or from flags).
// Stops every server unit, starts the chosen one through a Supervisor, then the engine's own runCell (crawl, verify, warm-up,
// measure, collect) writes the cell into its out folder in the reports layout (results/layout.ts), so the
// driver pulls it over SFTP unchanged. The VM's facts come from /etc/server-bench/*.json (vm.nix).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { runCell, type CellEnv, type CellOutcome, type MapCounter } from '../run/cell.js';
import type { Impl, ImplContext, LoadEngine, Supervisor } from '../contracts.js';
import { selectEngine } from '../engines/index.js';
import { k6ScriptPath } from '../engines/k6.js';
import { wrkLuaPath } from '../engines/wrk.js';
import { BenchError, EnvironmentError, ExitCode, InputError, UsageError } from '../errors.js';
import { defaultCacheDir, implByName, IMPL_NAMES, type LocalImplContext } from '../servers/registry.js';
import { parseRedirectMap } from '../../../shared/redirect-map.js';
import { checkPerf } from '../profile/perf.js';
import { perfProfiler } from '../profile/recorder.js';
import { CELL_KEYS, CELL_OPTIONS, defaultCellValues, pickCellValues, type CellValues, type OptionSpec } from '../run/cell-options.js';
import { CellSpecSchema, specId, type CellSpec } from '../run/cellspec.js';
import { SCHEMA_VERSION, type EngineName, type Loadgen, type Size } from '../results/schema.js';
import { jsonOrUndefined, writeJsonAtomic } from '../results/store.js';
import { OUTCOME_FILE, VmImplSchema, VmPathsSchema, VmSizeSchema, type Info, type K6TestConfig, type Outcome, type VmImpl } from '../vm/wire.js';

const DEFAULT_ETC = '/etc/server-bench';
async function readConfigFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EnvironmentError(
      `k6test: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      'k6test runs inside a server-bench VM; elsewhere set SERVER_BENCH_ETC to a folder with size.json, impls.json and vm.json',
    );
  }
  const r = schema.safeParse(jsonOrUndefined(text));
  if (!r.success)
    throw new InputError(
      `k6test: ${path} is invalid: ${r.error.issues[0]?.message ?? 'bad shape'} at ${r.error.issues[0]?.path.join('.') ?? ''}`,
      'rebuild the VM from the same revision as the driver',
    );
  return r.data;
}

export async function loadConfig(etc: string = process.env.SERVER_BENCH_ETC || DEFAULT_ETC): Promise<K6TestConfig> {
  return {
    size: await readConfigFile(join(etc, 'size.json'), VmSizeSchema),
    impls: await readConfigFile(join(etc, 'impls.json'), z.array(VmImplSchema)),
    paths: await readConfigFile(join(etc, 'vm.json'), VmPathsSchema),
  };
}

/**
 * k6test's command line. A cell comes either from flags (`k6test <impl> [flags]`, for people and
 * `server-bench vm test`) or whole from a CellSpec (`--spec FILE`, `--spec -` for stdin: what the
 * driver sends); both end as one CellSpec (cellSpecFromArgs, parseCellSpec). `--info` describes the VM.
 */
export interface K6TestArgs extends CellValues {
  impl: string;
  out: string | null;
  engine: EngineName;
  rep: number;
  order: number;
  verify: boolean;
  /** Null: the VM's default placement (size.json). */
  loadgen: Loadgen | null;
  supervisor: 'systemd' | 'local';
  info: boolean;
  /** --spec: the file holding the whole cell as JSON, or "-" for stdin; null: the cell is in the flags. */
  spec: string | null;
  /**
   * --relay-load CPUS (with --spec -): the load runs on a separate generator machine, on those of
   * its cores, through the driver (guest/load-relay.ts); null: here, on this machine's cores.
   */
  relayLoad: number[] | null;
  /** --net-probe: listen on the site port for the driver's network-path probe (guest/netprobe.ts), at most --seconds. */
  netProbe: boolean;
  seconds: number;
}

/** The cell options as k6test flags: the same table as bench's (run/cell-options.ts). */
function cellFlagsUsage(): string {
  return CELL_KEYS.map((k) => {
    const o = CELL_OPTIONS[k] as OptionSpec<unknown>;
    return `[--${o.flag}${o.arg !== undefined ? ` ${o.arg}` : ''}]`;
  }).join(' ');
}

export function usage(valid: readonly string[]): string {
  return `usage: k6test <impl> ${cellFlagsUsage()} [--out DIR] [--engine k6|wrk]
              [--rep N] [--order N] [--no-verify] [--loadgen dedicated|shared] [--supervisor systemd|local]
       k6test --spec FILE|- [--supervisor systemd|local]    (the whole cell as JSON: run/cellspec.ts)
       k6test --info [--engine k6|wrk]
       k6test --spec - --relay-load CPUS    (the load runs on the driver's generator machine, on its CPUS)
       k6test --net-probe [--seconds N]     (the network-path probe's listener on the site port)
implementations: ${valid.join(', ')}
`;
}

function posInt(text: string, flag: string, min = 1): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min)
    throw new UsageError(`k6test: ${flag} "${text}" is not a whole number ≥ ${min}`, `for example ${flag} ${min + 1}`);
  return Number(text);
}

/** Parse k6test's command line against the VM's implementations; every problem is a UsageError (exit 2). */
export function parseK6TestArgs(argv: string[], valid: readonly string[], env: NodeJS.ProcessEnv = process.env): K6TestArgs {
  const cellFlags: ParseArgsConfig['options'] = {};
  for (const k of CELL_KEYS) {
    const o = CELL_OPTIONS[k] as OptionSpec<unknown>;
    cellFlags[o.flag] = { type: o.arg === undefined ? 'boolean' : 'string' };
  }
  const own = {
    out: { type: 'string' },
    engine: { type: 'string' },
    rep: { type: 'string' },
    order: { type: 'string' },
    'no-verify': { type: 'boolean' },
    loadgen: { type: 'string' },
  } as const;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...cellFlags,
        ...own,
        supervisor: { type: 'string' },
        info: { type: 'boolean' },
        spec: { type: 'string' },
        'relay-load': { type: 'string' },
        'net-probe': { type: 'boolean' },
        seconds: { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError(`k6test: ${(err as Error).message.split('\n')[0]}`, `valid implementations: ${valid.join(', ')}`);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const text = (flag: string): string | undefined => (typeof v[flag] === 'string' ? (v[flag] as string) : undefined);
  const supervisor = text('supervisor') ?? env.K6TEST_SUPERVISOR ?? 'systemd';
  if (supervisor !== 'systemd' && supervisor !== 'local') throw new UsageError(`k6test: --supervisor "${supervisor}"`, 'valid: systemd, local');
  const info = v.info === true;
  const spec = text('spec') ?? null;
  const impl = parsed.positionals[0];
  const netProbe = v['net-probe'] === true;
  const relayText = text('relay-load');
  let relayLoad: number[] | null = null;
  if (relayText !== undefined) {
    if (spec !== '-') throw new UsageError('k6test: --relay-load goes with --spec - (the driver answers on stdin)', 'give --spec - too');
    if (!/^\d+(,\d+)*$/.test(relayText)) throw new UsageError(`k6test: --relay-load "${relayText}" is not a core list`, 'for example --relay-load 0,1');
    relayLoad = relayText.split(',').map(Number);
  }
  if (netProbe) {
    // Nothing else to parse: the listener takes only --seconds.
  } else if (spec !== null) {
    const extra = [...Object.keys(cellFlags), ...Object.keys(own)].filter((f) => v[f] !== undefined);
    if (impl !== undefined || extra.length > 0 || info) {
      throw new UsageError(
        `k6test: --spec carries the whole cell; ${impl !== undefined ? `"${impl}"` : `--${extra[0] ?? 'info'}`} cannot be given with it`,
        'give either --spec FILE or <impl> with flags',
      );
    }
  } else if (!info) {
    if (impl === undefined) throw new UsageError('k6test: no implementation given', `valid implementations: ${valid.join(', ')}`);
    if (!valid.includes(impl)) throw new UsageError(`k6test: unknown implementation "${impl}"`, `valid implementations: ${valid.join(', ')}`);
    if (parsed.positionals.length > 1) throw new UsageError(`k6test: unexpected argument "${parsed.positionals[1]}"`, 'one implementation per run');
  }
  const engine = text('engine') ?? 'k6';
  if (engine !== 'k6' && engine !== 'wrk') throw new UsageError(`k6test: --engine "${engine}"`, 'valid: k6, wrk');
  const loadgen = text('loadgen') ?? null;
  if (loadgen !== null && loadgen !== 'dedicated' && loadgen !== 'shared') throw new UsageError(`k6test: --loadgen "${loadgen}"`, 'valid: dedicated, shared');
  const cell = defaultCellValues('vm') as unknown as Record<string, unknown>;
  for (const k of CELL_KEYS) {
    const o = CELL_OPTIONS[k] as OptionSpec<unknown>;
    const given = v[o.flag];
    if (given === undefined) continue;
    cell[k] = typeof given === 'boolean' || o.parse === undefined ? true : o.parse(given);
  }
  return {
    ...(cell as unknown as CellValues),
    impl: impl ?? '',
    out: text('out') ?? null,
    engine,
    rep: text('rep') !== undefined ? posInt(text('rep') as string, '--rep') : 1,
    order: text('order') !== undefined ? posInt(text('order') as string, '--order', 0) : 0,
    verify: v['no-verify'] !== true,
    loadgen,
    supervisor,
    info,
    spec,
    relayLoad,
    netProbe,
    seconds: text('seconds') !== undefined ? posInt(text('seconds') as string, '--seconds') : 60,
  };
}

/** The cell a flag command line describes, on this VM (its size, its default placement), as a CellSpec. */
export function cellSpecFromArgs(args: K6TestArgs, cfg: K6TestConfig): CellSpec {
  return CellSpecSchema.parse({
    schemaVersion: SCHEMA_VERSION,
    impl: args.impl,
    size: vmSizeOf(cfg),
    rep: args.rep,
    order: args.order,
    verify: args.verify,
    engine: args.engine,
    loadgen: args.loadgen ?? cfg.size.loadgen,
    out: args.out,
    profile: null, // bench --profile sends profiled cells as a CellSpec (--spec)
    ...pickCellValues(args),
  } satisfies CellSpec);
}

function vmSizeOf(cfg: K6TestConfig): Size {
  return { name: cfg.size.name, cpus: cfg.size.cpus, memoryMiB: cfg.size.memoryMiB, vus: cfg.size.vus };
}

/** The map server's fetch counter over HTTP (bench-redirect-map's /fetches); read outside the measured window. */
function httpMapCounter(fetchesUrl: string, resetUrl: string): MapCounter {
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
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      throw new InputError(`map server at ${url} answered "${text.trim().slice(0, 60)}"`, 'is bench-redirect-map running?');
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
  let engineVersion: string | null;
  try {
    engineVersion = await (await selectEngine(engine)).version();
  } catch {
    engineVersion = null;
  }
  let site: Info['site'];
  try {
    const etc = process.env.SERVER_BENCH_ETC || DEFAULT_ETC;
    const j = z
      .object({
        files: z.number(),
        bytes: z.number(),
        redirects: z.array(z.unknown()),
        seed: z.number().int().optional(),
        targetBytes: z.number().int().positive().optional(),
      })
      .parse(JSON.parse(await readFile(join(etc, 'site.json'), 'utf8')));
    site = {
      files: j.files,
      bytes: j.bytes,
      aliases: j.redirects.length,
      ...(j.seed !== undefined ? { seed: j.seed } : {}),
      ...(j.targetBytes !== undefined ? { targetBytes: j.targetBytes } : {}),
    };
  } catch {
    site = null; // optional: the run records zeros
  }
  return {
    size: cfg.size,
    impls: cfg.impls.map((i) => i.name),
    outDir: cfg.paths.outDir,
    node: process.version,
    engineVersion,
    virt: await detectVirt(),
    site,
  };
}

export interface K6TestDeps {
  log: (line: string) => void;
  /** systemd: the VM's units (the default); local: the registry's launchers, for tests on a host. */
  supervisor: 'systemd' | 'local';
  signal?: AbortSignal;
  renderTextSummary?: CellEnv['renderTextSummary'];
  /** The load goes to a separate generator machine through the driver (k6test --relay-load). */
  relay?: { engine: LoadEngine; loadgenCpus: number[] };
}

/** One cell in the VM. Returns the outcome; writes the cell, verification and outcome.json into the out folder. */
export async function runK6Test(spec: CellSpec, cfg: K6TestConfig, deps: K6TestDeps): Promise<CellOutcome> {
  const vmImpl = cfg.impls.find((i) => i.name === spec.impl);
  if (!vmImpl) throw new UsageError(`k6test: unknown implementation "${spec.impl}"`, `valid implementations: ${cfg.impls.map((i) => i.name).join(', ')}`);
  if (spec.size.name !== cfg.size.name)
    throw new UsageError(`k6test: the cell is for size ${spec.size.name}, this VM is size ${cfg.size.name}`, "send each size's cells to that size's VM");
  if (deps.supervisor === 'systemd' && spec.serverLogs !== 'shipped') {
    throw new UsageError(
      `k6test: --server-logs ${spec.serverLogs} is not available in the VM`,
      'the VM units run every server as the flake defines it (shipped)',
    );
  }
  // The VM's own facts (size.json) win over the host's copy of the size.
  const cell: CellSpec = { ...spec, size: vmSizeOf(cfg) };
  const id = specId(cell);
  const outDir = resolve(cell.out ?? join(cfg.paths.outDir, id));
  await mkdir(outDir, { recursive: true });
  const outcomeFile = join(outDir, OUTCOME_FILE);
  // Under TCG (systemd-detect-virt: qemu) a Node server loading the site takes minutes, not seconds.
  const readyTimeoutMs = deps.supervisor === 'systemd' && (await detectVirt()) === 'qemu' ? 300_000 : 30_000;
  const supervisor: Supervisor =
    deps.supervisor === 'systemd'
      ? (await import('./supervisor-systemd.js')).systemdSupervisor({
          units: cfg.impls.map((i) => i.unit),
          unitOf: (n) => cfg.impls.find((i) => i.name === n)?.unit ?? `bench-${n}`,
          readyTimeoutMs,
        })
      : (await import('../servers/supervisor-local.js')).localSupervisor();
  // Local (tests): the registry knows how to launch it; in the VM the unit does.
  const impl = deps.supervisor === 'local' ? implByName(cell.impl) : unitImpl(vmImpl);
  const workDir = await mkdtemp(join(tmpdir(), 'k6test-'));
  try {
    // bench --profile: perf must be able to sample here, before the server starts (profile/perf.ts).
    if (cell.profile !== null) await checkPerf();
    deps.log(`k6test: stopping every server unit`);
    await supervisor.stopAll();
    const engine = deps.relay ? deps.relay.engine : await selectEngine(cell.engine);
    const mapResp = await fetch(cfg.paths.mapUrl, { signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
      throw new EnvironmentError(`k6test: the redirect map at ${cfg.paths.mapUrl} does not answer (${String(err)})`, 'systemctl status bench-redirect-map');
    });
    const mapText = await mapResp.text();
    const ctx: LocalImplContext & ImplContext = {
      webroot: cfg.paths.webroot,
      mapUrl: cfg.paths.mapUrl,
      cacheDir: defaultCacheDir(),
      cpus: cfg.size.cpus,
      host: '127.0.0.1',
      redirects: parseRedirectMap(mapText).redirects,
      workDir,
      serverLogs: cell.serverLogs,
      ...(cell.profile !== null ? { profile: true } : {}),
    };
    const outcome = await runCell(cell, {
      impl,
      supervisor,
      engine,
      placement: { cpus: cfg.size.serverCpuList, memoryLimitBytes: cfg.size.memoryMiB * 1024 * 1024, memoryEnforced: false },
      loadgenCpus: deps.relay ? deps.relay.loadgenCpus : cell.loadgen === 'shared' ? cfg.size.serverCpuList : cfg.size.loadgenCpuList,
      ...(deps.relay ? { loadgenElsewhere: true } : {}),
      ctx,
      mapText,
      mapServer: httpMapCounter(cfg.paths.mapFetchesUrl, cfg.paths.mapFetchesResetUrl),
      runDir: outDir,
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.renderTextSummary ? { renderTextSummary: deps.renderTextSummary } : {}),
      // The same recorder as the local backend: profile.proto and profile.folded land in the cell's folder, pulled with it.
      ...(cell.profile !== null ? { profiler: perfProfiler(cell.profile) } : {}),
      onPhase: (phase, detail) => deps.log(`k6test: ${id} ${phase}${detail ? ` (${detail})` : ''}`),
      onProgress: (p) => {
        if (Math.round(p.elapsedSeconds) % 5 === 0) deps.log(`k6test: ${id} ${p.phase} ${p.elapsedSeconds.toFixed(0)}/${p.totalSeconds.toFixed(0)} s`);
      },
    });
    await writeJsonAtomic(outcomeFile, {
      schemaVersion: SCHEMA_VERSION,
      cellId: id,
      kind: outcome.kind,
      reason: outcome.kind === 'skipped' ? outcome.reason : null,
    } satisfies Outcome);
    return outcome;
  } catch (err) {
    const reason = err instanceof BenchError ? err.oneLine() : String(err);
    // The server's own last words (a crash, a reset) beside the failure, on the driver's progress lines.
    if (deps.supervisor === 'systemd') {
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
