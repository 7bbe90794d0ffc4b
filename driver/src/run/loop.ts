// The one run loop, whichever backend runs the cells: the backend prepares (and says which cells
// cannot run), the matrix is built and run.json written (or, with --resume, kept), then the cells
// run in interleaved order, each handed to the backend as a CellSpec. The loop owns what both
// backends share: the skip-per-implementation map, the verified and failed sets, the time-left
// estimate, the events, and Ctrl-C (finished cells are kept; the backend is always closed).
import type { CellPhase } from './cell.js';
import { buildMatrix, type Cell, type Matrix, type Veto } from './matrix.js';
import { SCHEMA_VERSION, type CellResult, type RunInfo, type Size } from '../results/schema.js';
import { createRunDir, writeRunInfo } from '../results/store.js';
import type { CellSpec } from './cellspec.js';
import { InterruptedError, type BenchEvents } from './events.js';
import { nothingToRun } from './outcome-code.js';
import { implNamesOf, newRunInfo, resumedRunInfo, type RunFacts, type RunPlan } from './plan.js';

/** What a backend hands back from prepare: the facts for run.json and the cells that cannot run. */
export interface Prepared extends RunFacts {
  /** A size that does not fit the host, an implementation that is unavailable: with the reason. */
  vetoes: Veto[];
}

/** How one cell ended. `failed` is reported and the run goes on; a backend throws only for what ends the run. */
export type CellRun = { kind: 'done'; result: CellResult } | { kind: 'skipped'; reason: string } | { kind: 'failed'; reason: string };

/** The run as the loop keeps it, for a backend that learns facts late (a VM's versions). */
export interface RunRecord {
  runDir: string;
  emit: BenchEvents;
  signal?: AbortSignal;
  /** Change run.json and write it. */
  update(change: (run: RunInfo) => void): Promise<void>;
}

/** One cell's hooks: its phases and live progress become events with the cell's index and estimate. */
export interface CellHooks {
  runDir: string;
  signal?: AbortSignal;
  /** A line of progress (e.g. the VM's own output). */
  info(message: string): void;
  onPhase(phase: CellPhase, detail?: string): void;
  onProgress(p: { phase: 'warmup' | 'measure'; elapsedSeconds: number; totalSeconds: number; requests?: number }): void;
}

/** Where the cells run: this host (run/local-backend.ts) or one NixOS VM per size (vm/backend.ts). */
export interface Backend {
  /** Whether an interrupted run can be continued with --resume. */
  readonly resumable: boolean;
  /** Seconds a cell takes beyond warm-up and measurement (start, crawl, stop; SSH), for the time-left estimate. */
  readonly cellOverheadSeconds: number;
  /** Everything before the run folder exists: check, obtain, build. */
  prepare(plan: RunPlan, emit: BenchEvents, signal?: AbortSignal): Promise<Prepared>;
  /** Once the run folder exists (new or resumed), before run.json is written: what the backend keeps beside it (local: targets.json). */
  openRun?(runDir: string): Promise<void>;
  /** Before the first cell of each size (cells come grouped by size): the VM backend boots that size's VM. */
  beginSize?(size: Size, run: RunRecord): Promise<void>;
  /** Run one cell; a `done` cell's files are in the run folder when it returns. */
  runCell(spec: CellSpec, hooks: CellHooks): Promise<CellRun>;
  /** After the last cell of a size, when the run goes on normally: the VM backend powers its VM off. */
  endSize?(size: Size, run: RunRecord): Promise<void>;
  /** Stop everything this backend started; called exactly once, after a failure or Ctrl-C too. */
  close(): Promise<void>;
}

export interface BenchOutcome {
  runDir: string;
  run: RunInfo;
  /** Results of the cells run in this invocation and, with --resume, the ones already there. */
  results: CellResult[];
  skipped: { impl: string; size: string; reason: string }[];
  /** Cells that failed while running (not stored; --resume runs them again). */
  failed: string[];
  /** Implementations whose verification failed in this invocation (their cells at that size were skipped). */
  rejected: { impl: string; size: string; reason: string }[];
  /** Implementations the backend could not provide (unavailable at every size). */
  unavailable: { impl: string; reason: string }[];
}

/** One line per reason: a size that does not fit names every implementation once, an unavailable implementation every size once. */
function emitSkips(matrix: Matrix, impls: readonly string[], sizes: readonly Size[], emit: BenchEvents): void {
  const said = new Set<string>();
  for (const s of matrix.skipped) {
    const same = (x: { impl: string; size: string; reason: string }) => x.reason === s.reason;
    const allImpls = impls.every((i) => matrix.skipped.some((x) => same(x) && x.impl === i && x.size === s.size));
    const allSizes = sizes.every((z) => matrix.skipped.some((x) => same(x) && x.size === z.name && x.impl === s.impl));
    const e = { kind: 'skip' as const, impl: allImpls ? '*' : s.impl, size: allImpls ? s.size : allSizes ? '*' : s.size, reason: s.reason };
    const key = `${e.impl}|${e.size}|${e.reason}`;
    if (!said.has(key)) emit(e);
    said.add(key);
  }
}

/** The CellSpec of one cell of the plan: the repetition after the plan's reps is the profiled one (--profile). */
export function cellSpecOf(plan: Pick<RunPlan, 'loadgen' | 'cell' | 'reps' | 'profile'>, engine: Prepared['engine'], cell: Cell, verify: boolean): CellSpec {
  const profile = plan.profile !== null && cell.rep > plan.reps ? { hz: plan.profile.hz, callGraph: plan.profile.callGraph } : null;
  return {
    schemaVersion: SCHEMA_VERSION,
    impl: cell.impl,
    size: cell.size,
    rep: cell.rep,
    order: cell.order,
    verify,
    engine,
    loadgen: plan.loadgen,
    out: null,
    profile,
    ...plan.cell,
  };
}

/** A Ctrl-C in a terminal reaches the load generator and the servers too: give ours a moment to arrive first. */
const ctrlCGrace = () => new Promise((r) => setTimeout(r, 50));

export async function runPlan(plan: RunPlan, backend: Backend, emit: BenchEvents, signal?: AbortSignal): Promise<BenchOutcome> {
  const interrupted = () => new InterruptedError(plan.runDir, backend.resumable);
  /** A step that throws while Ctrl-C is on its way ends as interrupted, not as its own error. */
  const step = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      await ctrlCGrace();
      if (signal?.aborted) throw interrupted();
      throw err;
    }
  };
  try {
    // Ctrl-C while preparing (a large site generating, a build): no run folder exists yet.
    const prepared = await backend.prepare(plan, emit, signal).catch(async (err: unknown) => {
      await ctrlCGrace();
      if (signal?.aborted) throw new InterruptedError(null);
      throw err;
    });
    const names = implNamesOf(plan, prepared);
    // --profile adds one repetition per implementation and size, profiled (cellSpecOf).
    const matrix = buildMatrix(names, plan.sizes, plan.reps + (plan.profile ? 1 : 0), prepared.vetoes);
    emitSkips(matrix, names, plan.sizes, emit);
    // Nothing can run (no size fits, nothing available): say why before a run folder exists.
    if (plan.resume === null && matrix.cells.length === 0) throw nothingToRun(matrix.skipped);
    if (plan.resume === null) await createRunDir(plan.runDir);
    await backend.openRun?.(plan.runDir);
    const run: RunInfo = plan.resume ? await resumedRunInfo(plan.resume.run, plan, prepared, matrix.skipped, emit) : await newRunInfo(plan, prepared, matrix);
    await writeRunInfo(plan.runDir, run);
    const results: CellResult[] = [...(plan.resume?.results ?? [])];
    const finished = new Set(results.map((r) => r.id));
    const todo = matrix.cells.filter((c) => !finished.has(c.id));
    emit({ kind: 'run', runDir: plan.runDir, cells: todo.length, resumed: finished.size });
    const unavailable = prepared.vetoes.filter((v) => v.size === '*' && v.impl !== '*').map((v) => ({ impl: v.impl, reason: v.reason }));
    if (todo.length === 0) return { runDir: plan.runDir, run, results, skipped: matrix.skipped, failed: [], rejected: [], unavailable };

    const record: RunRecord = {
      runDir: plan.runDir,
      emit,
      ...(signal ? { signal } : {}),
      async update(change) {
        change(run);
        await writeRunInfo(plan.runDir, run);
      },
    };
    const verified = new Set<string>();
    const failed: string[] = [];
    const skippedImplSize = new Map<string, string>();
    const started = Date.now();
    const perCell = plan.cell.warmupSeconds + plan.cell.durationSeconds + backend.cellOverheadSeconds;
    const total = todo.length;
    let size: Size | null = null;
    for (let i = 0; i < total; i++) {
      const cell = todo[i] as Cell;
      if (signal?.aborted) throw interrupted();
      const key = `${cell.impl}@${cell.size.name}`;
      const skipReason = skippedImplSize.get(key);
      if (skipReason) {
        emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason: skipReason });
        continue;
      }
      if (size?.name !== cell.size.name) {
        const previous = size;
        if (previous !== null) await step(async () => backend.endSize?.(previous, record));
        size = cell.size;
        await step(async () => backend.beginSize?.(cell.size, record));
      }
      const cellStarted = Date.now();
      const elapsed = () => (Date.now() - started) / 1000;
      const remaining = () => Math.max(0, (total - i) * perCell - (Date.now() - cellStarted) / 1000);
      const outcome = await step(() =>
        backend.runCell(cellSpecOf(plan, prepared.engine, cell, !verified.has(key)), {
          runDir: plan.runDir,
          ...(signal ? { signal } : {}),
          info: (message) => emit({ kind: 'info', message }),
          onPhase: (phase, detail) =>
            emit({
              kind: 'phase',
              index: i,
              total,
              cellId: cell.id,
              phase,
              ...(detail !== undefined ? { detail } : {}),
              elapsedSeconds: elapsed(),
              remainingSeconds: remaining(),
            }),
          onProgress: (p) => emit({ kind: 'live', index: i, total, cellId: cell.id, ...p }),
        }),
      );
      if (outcome.kind === 'failed') {
        // A cell that crashed or was cut short is reported and the run goes on; --resume retries it.
        await ctrlCGrace();
        if (signal?.aborted) throw interrupted();
        failed.push(cell.id);
        emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason: `failed: ${outcome.reason}` });
        continue;
      }
      verified.add(key);
      if (outcome.kind === 'skipped') {
        // Verification failed: the implementation's other repetitions at this size are skipped too.
        skippedImplSize.set(key, outcome.reason);
        emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason: outcome.reason });
        await record.update((r) => r.skipped.push({ impl: cell.impl, size: cell.size.name, reason: outcome.reason }));
      } else {
        results.push(outcome.result);
        emit({ kind: 'cell-done', index: i, total, result: outcome.result });
      }
    }
    const last = size;
    if (last !== null) await step(async () => backend.endSize?.(last, record));
    const rejected = [...skippedImplSize].map(([key, reason]) => ({
      impl: key.slice(0, key.lastIndexOf('@')),
      size: key.slice(key.lastIndexOf('@') + 1),
      reason,
    }));
    return { runDir: plan.runDir, run, results, skipped: run.skipped, failed, rejected, unavailable };
  } finally {
    await backend.close();
  }
}
