// One cell (implementation × size × repetition, a CellSpec), run the same way on the host and
// inside a VM: start server → build targets → verify (first repetition) → warm-up (discarded) → reset
// monitors and the map-fetch counter → measured run → collect → warnings → stop server.
// The result, raw summary and text summary are written atomically through store.ts.
import { hostBusyMessage, hostLoad, readCpuTicks } from './host-load.js';
import { formatDuration } from '../cli/duration.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Impl, ImplContext, LoadEngine, LoadOptions, ServerPlacement, Supervisor, Targets } from '../contracts.js';
import { buildTargets } from '../site/crawl.js';
import { BenchError, errorLine, ExitCode } from '../errors.js';
import { specId, specVus, type CellSpec } from './cellspec.js';
import { CELL_SCHEMA_VERSION, type CellResult, type Verification, type Warning } from '../results/schema.js';
import { writeCell, writeVerification } from '../results/store.js';
import { verify } from '../site/verify.js';
import { cellDir } from '../results/layout.js';
import type { CellProfiler } from '../profile/recorder.js';

export type CellPhase = 'start' | 'targets' | 'verify' | 'warmup' | 'measure' | 'collect' | 'stop';

/** The map server's fetch counter: the local MapServer answers at once, the VM's over HTTP. */
export interface MapCounter {
  fetches(): number | Promise<number>;
  resetFetches(): void | Promise<void>;
}

/**
 * What a cell runs with, beyond its CellSpec (what to run): the implementation's record, the
 * supervisor and engine, where the server and the load generator go, the site, and the hooks.
 */
export interface CellEnv {
  impl: Impl;
  supervisor: Supervisor;
  engine: LoadEngine;
  placement: ServerPlacement;
  /** CPUs the load generator is pinned to ([] = unpinned). */
  loadgenCpus: number[];
  /**
   * The generator runs on another machine (hosts backend, hosts/generator.ts): loadgenCpus are that
   * machine's, so they neither share the server's cores nor count in this machine's busy check.
   */
  loadgenElsewhere?: boolean;
  ctx: ImplContext;
  /** The redirect map's text: aliases become targets. */
  mapText: string;
  /** Null when fetches cannot be counted. */
  mapServer: MapCounter | null;
  /** The run's target list (targets.ts); when absent the cell crawls the running server (the VM side). */
  targets?: Targets;
  /** Its hash, stored on the result. */
  targetsHash?: string;
  /** The folder the cell's files go to, in the reports layout. */
  runDir: string;
  signal?: AbortSignal;
  onPhase?: (phase: CellPhase, detail?: string) => void;
  onProgress?: (p: { phase: 'warmup' | 'measure'; elapsedSeconds: number; totalSeconds: number; requests?: number }) => void;
  /** k6-style text summary for summary.txt (the reports' renderer), when available. */
  renderTextSummary?: (result: CellResult) => string;
  /** bench --profile: record the server on CPU during the measured run (profile/recorder.ts). */
  profiler?: CellProfiler;
}

export type CellOutcome =
  | { kind: 'done'; result: CellResult; targets: Targets; verification: Verification | null }
  | { kind: 'skipped'; reason: string; targets: Targets; verification: Verification };

/** Warn when the generator used at least this share of its cores: it, not the server, set the number. */
const SATURATION = 0.9;

export function cellWarnings(a: {
  utilisation: number | null;
  loadgenCpus: number[];
  serverCpus: number[];
  memoryEnforced: boolean;
  memoryMiB: number;
  failedChecks: number;
  errors: number | null;
  /** hostBusyMessage's text, when the cell's cores went to other work. */
  hostBusy?: string | null;
  /** The generator ran on another machine: its cores are not this machine's. */
  loadgenElsewhere?: boolean;
}): Warning[] {
  const w: Warning[] = [];
  if (a.hostBusy) w.push({ code: 'host-busy', message: a.hostBusy });
  if (a.utilisation !== null && a.utilisation >= SATURATION) {
    w.push({
      code: 'loadgen-saturated',
      message: `the load generator used ${(a.utilisation * 100).toFixed(0)} % of its ${a.loadgenCpus.length} core(s): it, not the server, may have set this number`,
    });
  }
  if (!a.loadgenElsewhere && (a.loadgenCpus.length === 0 || a.loadgenCpus.some((c) => a.serverCpus.includes(c)))) {
    w.push({ code: 'cores-shared', message: 'the server and the load generator shared cores' });
  }
  if (!a.memoryEnforced)
    w.push({ code: 'memory-not-enforced', message: `the ${a.memoryMiB} MiB memory limit was recorded, not enforced (no writable cgroup v2)` });
  if (a.failedChecks > 0) w.push({ code: 'failed-checks', message: `${a.failedChecks} responses had an unexpected status` });
  if (a.errors !== null && a.errors > 0) w.push({ code: 'errors', message: `${a.errors} socket errors or timeouts during load` });
  return w;
}

function firstFailure(v: Verification): string {
  const f = v.findings.find((x) => x.status === 'fail');
  return f ? `${f.url}: ${f.reason}` : 'no detail';
}

export async function runCell(spec: CellSpec, o: CellEnv): Promise<CellOutcome> {
  if (spec.impl !== o.impl.name)
    throw new BenchError(`cell ${specId(spec)} was handed the implementation ${o.impl.name}`, 'a bug in the caller', ExitCode.failure);
  const vus = specVus(spec);
  const phase = (p: CellPhase, d?: string): void => o.onPhase?.(p, d);
  const aborted = () => {
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('interrupted');
  };
  aborted();
  phase('start', `${o.impl.name} on CPU ${o.placement.cpus.join(',') || 'any'}`);
  const server = await o.supervisor.start(o.impl, o.ctx, o.placement);
  const scratch = await mkdtemp(join(tmpdir(), 'server-bench-cell-'));
  let stored = false;
  try {
    aborted();
    const targets: Targets =
      o.targets ??
      (await (async (): Promise<Targets> => {
        phase('targets', `crawling ${server.baseUrl}/`);
        return buildTargets(server.baseUrl, o.mapText, { webroot: o.ctx.webroot });
      })());
    let verification: Verification | null = null;
    if (spec.verify) {
      phase('verify', `${targets.paths.length} paths, ${targets.redirects.length} aliases`);
      const v: Verification = await verify({
        impl: o.impl.name,
        size: spec.size.name,
        baseUrl: server.baseUrl,
        metricsUrl: server.metricsUrl,
        metricPrefix: o.impl.metricPrefix,
        targets,
        webroot: o.ctx.webroot,
      });
      verification = v;
      await writeVerification(o.runDir, v);
      if (!v.passed) {
        return { kind: 'skipped', reason: `verification failed: ${v.counts.fail} finding(s), first ${firstFailure(v)}`, targets, verification: v };
      }
    }
    aborted();
    const connections = spec.connectionsOverride ?? vus * 6; // default: k6's per-host batch parallelism
    // The engine's progress as the cell's: which run, and how long it lasts.
    const progressOf =
      (phase: 'warmup' | 'measure', totalSeconds: number): NonNullable<LoadOptions['onProgress']> =>
      (p) =>
        o.onProgress?.({ phase, elapsedSeconds: p.elapsedSeconds, totalSeconds, ...(p.requests !== undefined ? { requests: p.requests } : {}) });
    const load: Omit<LoadOptions, 'durationSeconds' | 'outDir'> = {
      baseUrl: server.baseUrl,
      targets,
      vus,
      connections,
      cpus: o.loadgenCpus,
      ...(o.signal ? { signal: o.signal } : {}),
    };
    if (spec.warmupSeconds > 0) {
      phase('warmup', `${formatDuration(spec.warmupSeconds)}, discarded`);
      await o.engine.run({
        ...load,
        durationSeconds: spec.warmupSeconds,
        outDir: join(scratch, 'warmup'),
        onProgress: progressOf('warmup', spec.warmupSeconds),
      });
      aborted();
    }
    await server.monitor.resetPeak();
    await o.mapServer?.resetFetches();
    const recording = o.profiler ? await o.profiler.start(server, scratch) : null;
    const cpuBefore = await server.monitor.cpuSeconds();
    const ticksBefore = await readCpuTicks();
    const startedAt = new Date().toISOString();
    phase('measure', `${formatDuration(spec.durationSeconds)}, ${vus} VUs, ${connections} connections`);
    const r = await o.engine
      .run({
        ...load,
        durationSeconds: spec.durationSeconds,
        outDir: join(scratch, 'measure'),
        onProgress: progressOf('measure', spec.durationSeconds),
      })
      .finally(() => recording?.stop());
    // Ctrl-C in a terminal reaches the generator (same process group) as well as us; let our
    // handler run first, and never store a run the generator cut short as a finished cell.
    await new Promise((r) => setTimeout(r, 20));
    aborted();
    if (r.durationSeconds < spec.durationSeconds * 0.9) {
      throw new BenchError(
        `${r.engine} stopped after ${r.durationSeconds.toFixed(1)} s of ${spec.durationSeconds} s in ${specId(spec)}`,
        'the cell was not stored; run again (or --resume) to measure it',
        ExitCode.failure,
      );
    }
    phase('collect');
    const cpuAfter = await server.monitor.cpuSeconds();
    const ticksAfter = await readCpuTicks();
    const peak = await server.monitor.peakRssBytes();
    const fetches = o.mapServer ? await o.mapServer.fetches() : null;
    const finishedAt = new Date().toISOString();
    const duration = r.durationSeconds > 0 ? r.durationSeconds : spec.durationSeconds;
    const utilisation = r.loadgenCpuSeconds !== null && o.loadgenCpus.length > 0 ? r.loadgenCpuSeconds / (duration * o.loadgenCpus.length) : null;
    const placement = server.placement;
    const serverCpuSeconds = Math.max(0, cpuAfter - cpuBefore);
    const cellCpus = o.loadgenElsewhere ? [...placement.cpus] : [...new Set([...placement.cpus, ...o.loadgenCpus])];
    const hostUse =
      ticksBefore && ticksAfter ? hostLoad(ticksBefore, ticksAfter, cellCpus, serverCpuSeconds, o.loadgenElsewhere ? 0 : r.loadgenCpuSeconds) : null;
    if (recording) phase('collect', 'folding the profile');
    const profiled = recording
      ? await recording.finish(cellDir(o.runDir, spec.size.name, spec.impl, spec.rep), { startedAt: new Date(startedAt), durationSeconds: duration })
      : null;
    const result: CellResult = {
      schemaVersion: CELL_SCHEMA_VERSION,
      id: specId(spec),
      impl: spec.impl,
      size: spec.size,
      rep: spec.rep,
      order: spec.order,
      engine: { name: r.engine, version: r.engineVersion },
      vus,
      connections,
      warmupSeconds: spec.warmupSeconds,
      durationSeconds: duration,
      requests: r.requests,
      reqPerSec: r.requests / duration,
      bytes: r.bytes,
      bytesPerSec: r.bytes / duration,
      latencyMs: r.latencyMs,
      statusCounts: r.statusCounts,
      failedChecks: r.failedChecks,
      errors: r.errors,
      mapFetches: fetches,
      ...(o.targetsHash !== undefined ? { targetsHash: o.targetsHash } : {}),
      resources: {
        serverCpuSeconds,
        serverPeakRssBytes: peak > 0 ? peak : null,
        memoryLimitBytes: placement.memoryEnforced ? placement.memoryLimitBytes : null,
        memoryEnforced: placement.memoryEnforced,
        serverCpus: placement.cpus,
        loadgenCpuSeconds: r.loadgenCpuSeconds,
        loadgenCpus: o.loadgenCpus,
        loadgenUtilisation: utilisation,
        ...(hostUse ? { hostOtherCpuSeconds: hostUse.otherCpuSeconds, stealShare: hostUse.stealShare } : {}),
      },
      warnings: cellWarnings({
        utilisation,
        loadgenCpus: o.loadgenCpus,
        serverCpus: placement.cpus,
        memoryEnforced: placement.memoryEnforced,
        memoryMiB: spec.size.memoryMiB,
        failedChecks: r.failedChecks,
        errors: r.errors,
        hostBusy: hostUse ? hostBusyMessage(hostUse, duration, cellCpus.length) : null,
        ...(o.loadgenElsewhere ? { loadgenElsewhere: true } : {}),
      }).concat(r.warnings ?? [], profiled?.warnings ?? []),
      startedAt,
      finishedAt,
      raw: r.raw,
      ...(profiled ? { profile: profiled.info } : {}),
    };
    let text: string | null = null;
    try {
      text = o.renderTextSummary ? o.renderTextSummary(result) : null;
    } catch {
      text = null; // a renderer bug must not lose a measured cell
    }
    await writeCell(o.runDir, result, text);
    stored = true;
    return { kind: 'done', result, targets, verification };
  } finally {
    phase('stop');
    try {
      await server.stop();
      await rm(scratch, { recursive: true, force: true });
    } catch (err) {
      // A cell already stored stays done (reports and --resume count it): say what went wrong instead.
      // eslint-disable-next-line no-unsafe-finally -- a cell not yet stored fails with the stop's error, on purpose
      if (!stored) throw err;
      phase('stop', `stopping failed after the cell was stored: ${errorLine(err)}`);
    }
  }
}
