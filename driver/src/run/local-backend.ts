// The local backend: cells run on this host. prepare selects the engine, plans the CPUs of every
// size (a size that does not fit is vetoed with the reason), prepares the site, its one target list
// (targets.json in the run folder; a resumed run keeps its own) and every implementation (gosherve
// may be built; an unavailable one is vetoed), and checks the ports; each cell then runs through
// runCell with the local supervisor, pinned to its size's cores, against the local map server
// (started with the first cell).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCell } from './cell.js';
import type { Impl, LoadEngine, MapServer, Supervisor, Targets } from '../contracts.js';
import { allowedCpus, planCpus } from '../servers/cpus.js';
import { selectEngine } from '../engines/index.js';
import { BenchError, ExitCode } from '../errors.js';
import { goVersion } from './hostinfo.js';
import { cannotMove, holdPorts, onPorts, type HeldPorts } from '../servers/impl-ports.js';
import type { LocalImplContext } from '../servers/registry.js';
import { startMapServer } from '../site/map-server.js';
import type { Veto } from './matrix.js';
import { assertPortsFree } from '../servers/ports.js';
import { perfProfiler } from '../profile/recorder.js';
import { renderTextSummary } from '../report/textsummary.js';
import { killAllServersNow, localSupervisor } from '../servers/supervisor-local.js';
import { readTargets, siteTargets, TARGETS_FILE, targetsHash, writeTargets } from '../site/targets.js';
import type { CellSpec } from './cellspec.js';
import type { BenchEvents } from './events.js';
import type { Backend, CellHooks, CellRun, Prepared } from './loop.js';
import type { RunPlan } from './plan.js';
import { prepareSite, type PreparedSite } from './site.js';

/** A size's cores: the server's, and the load generator's. */
interface CpuPlan {
  server: number[];
  loadgen: number[];
}

/** What the first Ctrl-C says it is doing, and what a second one kills at once. */
export const LOCAL_STOPPING = 'stopping the current cell';
export { killAllServersNow as killLocalNow };

export function localBackend(): Backend {
  const supervisor: Supervisor = localSupervisor();
  const cpuPlans = new Map<string, CpuPlan>();
  let plan: RunPlan | null = null;
  let engine: LoadEngine | null = null;
  let site: PreparedSite | null = null;
  let workDir: string | null = null;
  let mapServer: MapServer | null = null;
  let runTargets: Targets | null = null;
  let runTargetsHash = '';
  let targetsStored = false;
  /** The implementations on this run's ports (--port), by name; the port pair held for the run. */
  const onRunPorts = new Map<string, Impl>();
  let held: HeldPorts | null = null;

  const ctxOf = (cpus: number, mapUrl: string, profile = false): LocalImplContext => ({
    webroot: (site as PreparedSite).webroot,
    mapUrl,
    cacheDir: (plan as RunPlan).cacheDir,
    cpus,
    host: '127.0.0.1',
    redirects: (site as PreparedSite).redirects,
    workDir: workDir as string,
    serverLogs: (plan as RunPlan).cell.serverLogs,
    ...(profile ? { profile: true } : {}),
  });

  return {
    resumable: true,
    cellOverheadSeconds: 3, // start, crawl, stop

    async prepare(p: RunPlan, emit: BenchEvents, signal?: AbortSignal): Promise<Prepared> {
      plan = p;
      // Engine and CPU plans: problems here are reported before anything starts.
      engine = await selectEngine(p.engine);
      const engineVersion = await engine.version();
      const hostCpus = allowedCpus();
      const vetoes: Veto[] = [];
      for (const size of p.sizes) {
        const c = planCpus(hostCpus, size.cpus, p.loadgen);
        if ('skip' in c) vetoes.push({ impl: '*', size: size.name, reason: c.skip });
        else cpuPlans.set(size.name, { server: c.server, loadgen: c.loadgen });
      }
      // Site, then implementations (gosherve may need building).
      if (p.site.kind === 'generated')
        emit({
          kind: 'info',
          message: `site: generating or reusing the seed-${p.site.seed} site (${(p.site.targetBytes / 1e6).toFixed(0)} MB) in ${p.cacheDir}/sites`,
        });
      site = await prepareSite(p.site, p.cacheDir, signal);
      for (const note of site.notes) emit({ kind: 'info', message: note });
      // One target list for the whole run (targets.ts): a resumed run loads what it loaded before.
      const stored = p.resume !== null && existsSync(join(p.runDir, TARGETS_FILE)) ? await readTargets(p.runDir) : null;
      targetsStored = stored !== null;
      runTargets = stored?.targets ?? (await siteTargets(site.webroot, site.redirects));
      runTargetsHash = stored?.hash ?? targetsHash(runTargets);
      workDir = await mkdtemp(join(tmpdir(), 'server-bench-'));
      const versions: Record<string, string> = {};
      const available: Impl[] = [];
      held = await holdPorts(p.port);
      for (const original of p.impls) {
        const fixed = cannotMove(original, held.site);
        if (fixed !== null) {
          vetoes.push({ impl: original.name, size: '*', reason: fixed });
          continue;
        }
        const impl = onPorts(original, held.site);
        onRunPorts.set(impl.name, impl);
        emit({ kind: 'info', message: `prepare ${impl.name}` });
        const r = await impl.prepare(ctxOf(1, ''));
        if ('version' in r && r.steps?.some((st) => /^(go install|go build|cargo build)|another site/.test(st)))
          emit({ kind: 'info', message: `${impl.name}: ${r.steps.at(-1) ?? ''}` });
        if ('unavailable' in r) {
          vetoes.push({ impl: impl.name, size: '*', reason: r.unavailable });
        } else {
          versions[impl.name] = r.version;
          available.push(impl);
        }
      }
      // A busy port fails every cell alike: say so before a run folder exists.
      await assertPortsFree([...new Set(available.flatMap((i) => [i.sitePort, ...(i.metricsPort !== null ? [i.metricsPort] : [])]))]);
      const logging = Object.fromEntries(available.flatMap((i) => (i.logging ? [[i.name, i.logging(p.cell.serverLogs)] as const] : [])));
      return {
        vetoes,
        engine: engine.name,
        emulated: false,
        site: site.info,
        versions: { go: await goVersion(), engine: engineVersion, impls: versions },
        targetsHash: runTargetsHash,
        logging,
      };
    },

    async openRun(runDir: string): Promise<void> {
      if (!targetsStored) await writeTargets(runDir, runTargets as Targets);
    },

    async runCell(spec: CellSpec, hooks: CellHooks): Promise<CellRun> {
      const p = plan as RunPlan;
      const maps = (mapServer ??= await startMapServer({ text: (site as PreparedSite).mapText }));
      const cpus = cpuPlans.get(spec.size.name) as CpuPlan;
      const impl = onRunPorts.get(spec.impl) ?? (p.impls.find((x) => x.name === spec.impl) as Impl);
      try {
        const outcome = await runCell(spec, {
          impl,
          supervisor,
          engine: engine as LoadEngine,
          placement: { cpus: cpus.server, memoryLimitBytes: spec.size.memoryMiB * 1024 * 1024, memoryEnforced: false },
          loadgenCpus: cpus.loadgen,
          ctx: ctxOf(cpus.server.length, maps.url, spec.profile !== null),
          mapText: (site as PreparedSite).mapText,
          mapServer: maps,
          targets: runTargets as Targets,
          targetsHash: runTargetsHash,
          runDir: hooks.runDir,
          ...(hooks.signal ? { signal: hooks.signal } : {}),
          renderTextSummary,
          ...(spec.profile ? { profiler: perfProfiler(spec.profile) } : {}),
          onPhase: hooks.onPhase,
          onProgress: hooks.onProgress,
        });
        return outcome.kind === 'skipped' ? { kind: 'skipped', reason: outcome.reason } : { kind: 'done', result: outcome.result };
      } catch (err) {
        // A busy port or a missing binary fails every cell alike: stop with that one line. A cell
        // that crashed or was cut short is reported and the run goes on; --resume retries it.
        if (!(err instanceof BenchError) || err.exitCode === ExitCode.environment || err.exitCode === ExitCode.usage) throw err;
        return { kind: 'failed', reason: err.oneLine() };
      }
    },

    async close() {
      await supervisor.stopAll().catch(() => killAllServersNow());
      await mapServer?.close().catch(() => undefined);
      if (workDir !== null) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      held?.release();
    },
  };
}
