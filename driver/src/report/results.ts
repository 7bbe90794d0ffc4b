// results.json: the machine-readable whole of a run, derived from run.json, every cell's result.json
// and the verification files. Every report (terminal, markdown, HTML, index, compare) renders from
// this one object, never from the raw files, so they cannot disagree. Version 2 adds requests per
// server CPU-second and ratio intervals, and keeps unmeasured statistics null; a version-1 file is
// read by rebuilding it from the repetitions it stores.
import { loadLabel } from './wording.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { RESULTS_FILE } from '../results/layout.js';
import { CellResultSchema, RunInfoSchema, SizeSchema, VerificationSchema, WarningCodeSchema, type CellResult } from '../results/schema.js';
import { coefficientOfVariation, findOutliers, HIGH_VARIANCE_CV, ratioInterval, ratioWithError, summarize, welchTest, type Summary } from '../results/stats.js';
import { loggingDiffers } from '../servers/serverlogs.js';
import { loadRun, type LoadedRun } from '../results/store.js';
import { loadProfiles, ProfileSummarySchema, type ProfileSummary } from '../profile/summary.js';

export const RESULTS_SCHEMA_VERSION = 2 as const;
const SIGNIFICANCE = 0.05;
const DEFAULT_REFERENCE = 'gosherve';

const IntervalSchema = z.object({ lo: z.number(), hi: z.number() });
const SummarySchema = z.object({
  n: z.number().int().positive(),
  mean: z.number(),
  sd: z.number().nullable(),
  median: z.number(),
  min: z.number(),
  max: z.number(),
  ci95: IntervalSchema.nullable(),
  values: z.array(z.number()),
});

const ResultWarningSchema = z.object({
  code: z.union([WarningCodeSchema, z.enum(['skipped', 'verification-failed', 'reference-fallback', 'no-interval', 'no-results', 'logs-differ'])]),
  message: z.string(),
  impl: z.string().nullable(),
  size: z.string().nullable(),
  /** Repetitions it applies to (empty = the whole cell or run). */
  reps: z.array(z.number().int()),
});
export type ResultWarning = z.infer<typeof ResultWarningSchema>;

const OutlierSchema = z.object({ metric: z.string(), rep: z.number().int(), value: z.number(), z: z.number() });

const CellAggregateSchema = z.object({
  impl: z.string(),
  size: z.string(),
  n: z.number().int().positive(),
  reps: z.array(z.number().int()),
  engine: z.string(),
  reqPerSec: SummarySchema,
  /** Megabytes (10^6 bytes) per second. */
  mbPerSec: SummarySchema,
  /** Null when a repetition's engine output did not hold the statistic (shown as "–"). */
  latencyMs: z.object({ p50: SummarySchema.nullable(), p95: SummarySchema.nullable(), p99: SummarySchema.nullable() }),
  cpuSecondsPerGB: SummarySchema.nullable(),
  cpuMicrosPerRequest: SummarySchema.nullable(),
  /** Requests per server CPU-second: what the server does with the CPU it used, whatever set the pace. */
  reqPerCpuSecond: SummarySchema.nullable(),
  /** The largest peak over repetitions. */
  peakRssBytes: z.number().nullable(),
  mapFetches: SummarySchema.nullable(),
  loadgenUtilisation: SummarySchema.nullable(),
  /** Cores the load generator was pinned to (the largest over repetitions; 0 = unpinned). */
  loadgenCores: z.number().int().nonnegative(),
  requests: z.number().int(),
  failedChecks: z.number().int(),
  /** Null when some repetition's engine could not count them. */
  errors: z.number().int().nullable(),
  memoryEnforced: z.boolean(),
  outliers: z.array(OutlierSchema),
  warnings: z.array(ResultWarningSchema),
});
export type CellAggregate = z.infer<typeof CellAggregateSchema>;

const RelativeSchema = z.object({
  ratio: z.number(),
  sd: z.number().nullable(),
  /** Welch two-sided p-value vs the reference; null when either side has n < 2. */
  p: z.number().nullable(),
  /** p < 0.05; null when it cannot be tested. */
  significant: z.boolean().nullable(),
  /** 95 % interval of the ratio of means (delta method); null when either side has n < 2. */
  ci95: IntervalSchema.nullable(),
});
export type Relative = z.infer<typeof RelativeSchema>;

const SizeComparisonSchema = z.object({
  size: z.string(),
  reference: z.string().nullable(),
  referenceFallback: z.boolean(),
  note: z.string().nullable(),
  /** By median req/s. */
  fastest: z.string().nullable(),
  /** Whether the fastest is significantly faster than the runner-up (null: untestable or alone). */
  fastestSignificant: z.boolean().nullable(),
  entries: z.array(
    z.object({
      impl: z.string(),
      reqPerSec: RelativeSchema,
      mbPerSec: RelativeSchema,
      /** Null when the server CPU of either side was not measured. */
      reqPerCpuSecond: RelativeSchema.nullable(),
    }),
  ),
});
export type SizeComparison = z.infer<typeof SizeComparisonSchema>;

export const ResultsSchema = z.object({
  schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
  kind: z.literal('server-bench-results'),
  generatedAt: z.string(),
  run: RunInfoSchema,
  sizes: z.array(SizeSchema),
  impls: z.array(z.string()),
  cells: z.array(CellAggregateSchema),
  comparisons: z.array(SizeComparisonSchema),
  skipped: z.array(z.object({ impl: z.string(), size: z.string(), reason: z.string() })),
  verifications: z.array(VerificationSchema),
  warnings: z.array(ResultWarningSchema),
  /** Every repetition, without its raw engine summary (that stays in the cell's summary.json). */
  repetitions: z.array(CellResultSchema),
  /** bench --profile: each profiled repetition's top functions, flame-graph tree and measured cost. */
  profiles: z.array(ProfileSummarySchema).optional(),
});
export type Results = z.infer<typeof ResultsSchema>;

function optionalSummary(xs: Array<number | null>): Summary | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === xs.length && v.length > 0 ? summarize(v) : null;
}

function aggregate(impl: string, size: string, reps: CellResult[]): CellAggregate {
  reps = [...reps].sort((a, b) => a.rep - b.rep);
  const reqPerSec = summarize(reps.map((r) => r.reqPerSec));
  const mbPerSec = summarize(reps.map((r) => r.bytesPerSec / 1e6));
  const cpu = reps.map((r) => r.resources.serverCpuSeconds);
  const cpuSecondsPerGB = optionalSummary(reps.map((r, i) => (cpu[i] === null || r.bytes === 0 ? null : cpu[i]! / (r.bytes / 1e9))));
  const cpuMicrosPerRequest = optionalSummary(reps.map((r, i) => (cpu[i] === null || r.requests === 0 ? null : (cpu[i]! * 1e6) / r.requests)));
  const reqPerCpuSecond = optionalSummary(reps.map((r, i) => (cpu[i] === null || cpu[i] === 0 ? null : r.requests / cpu[i]!)));
  const rss = reps.map((r) => r.resources.serverPeakRssBytes).filter((x): x is number => x !== null);

  const outliers: z.infer<typeof OutlierSchema>[] = [];
  const checkOutliers = (metric: string, xs: number[]) => {
    for (const o of findOutliers(xs)) outliers.push({ metric, rep: reps[o.index]!.rep, value: o.value, z: o.z });
  };
  checkOutliers('req/s', reqPerSec.values);
  const p99s = reps.map((r) => r.latencyMs.p99);
  if (p99s.every((x): x is number => x !== null)) checkOutliers('latency p99 ms', p99s);

  // Same warning in several repetitions → one line naming the repetitions.
  const byKey = new Map<string, ResultWarning>();
  for (const r of reps) {
    for (const w of r.warnings) {
      const key = `${w.code}\u0000${w.code === 'loadgen-saturated' || w.code === 'failed-checks' || w.code === 'errors' ? '' : w.message}`;
      const seen = byKey.get(key);
      if (seen) seen.reps.push(r.rep);
      else byKey.set(key, { code: w.code, message: w.message, impl, size, reps: [r.rep] });
    }
  }
  const warnings = [...byKey.values()];
  const cv = coefficientOfVariation(reqPerSec);
  if (cv !== null && cv > HIGH_VARIANCE_CV) {
    warnings.push({
      code: 'high-variance',
      message: `req/s varies by ${(cv * 100).toFixed(0)} % (σ / mean) over ${reps.length} repetitions (${reqPerSec.values.map((v) => fmtNum(v)).join(' / ')}): the host was busy or the server unstable; its interval is wide, so quiet the host or add repetitions`,
      impl,
      size,
      reps: [],
    });
  }
  for (const o of outliers) {
    warnings.push({
      code: 'outlier',
      message: `repetition ${o.rep}'s ${o.metric} (${fmtNum(o.value)}) is an outlier (modified z = ${o.z.toFixed(1)}); kept, not dropped`,
      impl,
      size,
      reps: [o.rep],
    });
  }
  return {
    impl,
    size,
    n: reps.length,
    reps: reps.map((r) => r.rep),
    engine: `${reps[0]!.engine.name} ${reps[0]!.engine.version}`,
    reqPerSec,
    mbPerSec,
    latencyMs: {
      p50: optionalSummary(reps.map((r) => r.latencyMs.p50)),
      p95: optionalSummary(reps.map((r) => r.latencyMs.p95)),
      p99: optionalSummary(reps.map((r) => r.latencyMs.p99)),
    },
    cpuSecondsPerGB,
    cpuMicrosPerRequest,
    reqPerCpuSecond,
    peakRssBytes: rss.length > 0 ? Math.max(...rss) : null,
    mapFetches: optionalSummary(reps.map((r) => r.mapFetches)),
    loadgenUtilisation: optionalSummary(reps.map((r) => r.resources.loadgenUtilisation)),
    loadgenCores: Math.max(...reps.map((r) => r.resources.loadgenCpus.length)),
    requests: reps.reduce((s, r) => s + r.requests, 0),
    failedChecks: reps.reduce((s, r) => s + r.failedChecks, 0),
    errors: reps.some((r) => r.errors === null) ? null : reps.reduce((s, r) => s + r.errors!, 0),
    memoryEnforced: reps.every((r) => r.resources.memoryEnforced),
    outliers,
    warnings,
  };
}

function fmtNum(x: number): string {
  return Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3);
}

function relative(a: Summary, b: Summary): Relative {
  const r = ratioWithError(a.mean, a.sd, b.mean, b.sd);
  const w = welchTest(a.values, b.values);
  return { ratio: r.ratio, sd: r.sd, p: w ? w.p : null, significant: w ? w.p < SIGNIFICANCE : null, ci95: ratioInterval(a.values, b.values) };
}

function compareSize(size: string, impls: string[], cells: CellAggregate[], requested: string): SizeComparison {
  const here = impls.map((i) => cells.find((c) => c.impl === i && c.size === size)).filter((c): c is CellAggregate => c !== undefined);
  let ref = here.find((c) => c.impl === requested) ?? null;
  let note: string | null = null;
  if (!ref && here.length > 0) {
    ref = here[0]!;
    note = `${requested} has no results at size ${size}: compared against ${ref.impl} instead`;
  }
  const ranked = [...here].sort((a, b) => b.reqPerSec.median - a.reqPerSec.median);
  const fastest = ranked[0] ?? null;
  const runnerUp = ranked[1] ?? null;
  let fastestSignificant: boolean | null = null;
  if (fastest && runnerUp) {
    const w = welchTest(fastest.reqPerSec.values, runnerUp.reqPerSec.values);
    fastestSignificant = w ? w.p < SIGNIFICANCE : null;
  }
  return {
    size,
    reference: ref?.impl ?? null,
    referenceFallback: ref !== null && ref.impl !== requested,
    note,
    // "Fastest" only when the lead over the runner-up is significant (Welch, p < 0.05).
    fastest: fastestSignificant === true ? (fastest?.impl ?? null) : null,
    fastestSignificant,
    entries: ref
      ? here.map((c) => ({
          impl: c.impl,
          reqPerSec: relative(c.reqPerSec, ref.reqPerSec),
          mbPerSec: relative(c.mbPerSec, ref.mbPerSec),
          reqPerCpuSecond: c.reqPerCpuSecond && ref.reqPerCpuSecond ? relative(c.reqPerCpuSecond, ref.reqPerCpuSecond) : null,
        }))
      : [],
  };
}

/**
 * When the run's data last changed: the newest cell's end, else the run's creation. The derived
 * files carry this instead of the clock, so re-rendering an unchanged run (a committed example, a
 * CI artefact) writes the same bytes.
 */
function dataTime(loaded: Pick<LoadedRun, 'run' | 'cells'>): Date {
  const times = [loaded.run.createdAt, ...loaded.cells.map((c) => c.finishedAt)].map((t) => Date.parse(t)).filter((t) => Number.isFinite(t));
  return new Date(times.length > 0 ? Math.max(...times) : 0);
}

/** Profile summaries read from the run's folded files (profile/summary.ts), and the ones that could not be. */
export interface LoadedProfiles {
  profiles: ProfileSummary[];
  problems: { impl: string; size: string; rep: number; message: string }[];
}

/** Build results.json's content from a loaded run. Pure; `now` only stamps generatedAt (default: the data's own time). */
export function buildResults(
  loaded: Pick<LoadedRun, 'run' | 'cells' | 'verifications'>,
  now: Date = dataTime(loaded),
  profiled: LoadedProfiles = { profiles: [], problems: [] },
): Results {
  const { run, cells: allReps, verifications } = loaded;
  // Profiled repetitions ran with perf attached: out of the statistics unless the run asked (--profile-in-stats).
  const inStats = run.config.profile?.inStats === true;
  const reps = allReps.filter((r) => !r.profile || inStats);
  const requested = run.config.reference || DEFAULT_REFERENCE;
  // Implementations in configuration order, then any found only in results.
  const impls = [...run.config.impls];
  for (const r of reps) if (!impls.includes(r.impl)) impls.push(r.impl);
  const sizes = [...run.config.sizes];
  for (const r of reps) if (!sizes.some((s) => s.name === r.size.name)) sizes.push(r.size);

  const cells: CellAggregate[] = [];
  for (const size of sizes) {
    for (const impl of impls) {
      const mine = reps.filter((r) => r.impl === impl && r.size.name === size.name);
      if (mine.length > 0) cells.push(aggregate(impl, size.name, mine));
    }
  }

  const warnings: ResultWarning[] = [];
  const skipped = run.skipped.map((s) => ({ ...s }));
  // One line per size and reason, naming every implementation it skipped.
  const skipGroups = new Map<string, { size: string; reason: string; impls: string[] }>();
  for (const s of run.skipped) {
    const key = `${s.size}\u0000${s.reason}`;
    const g = skipGroups.get(key) ?? { size: s.size, reason: s.reason, impls: [] };
    g.impls.push(s.impl);
    skipGroups.set(key, g);
  }
  for (const g of skipGroups.values()) {
    warnings.push({
      code: 'skipped',
      message: `${g.impls.join(', ')} at size ${g.size} ${g.impls.length === 1 ? 'was' : 'were'} skipped: ${g.reason}`,
      impl: g.impls.length === 1 ? g.impls[0]! : null,
      size: g.size,
      reps: [],
    });
  }
  for (const v of verifications) {
    if (v.passed) continue;
    const first = v.findings.find((f) => f.status === 'fail');
    const reason = `verification failed (${v.counts.fail} finding${v.counts.fail === 1 ? '' : 's'}${first ? `, first: ${first.url} ${first.reason}` : ''})`;
    warnings.push({ code: 'verification-failed', message: `${v.impl} at size ${v.size}: ${reason}`, impl: v.impl, size: v.size, reps: [] });
    if (!skipped.some((s) => s.impl === v.impl && s.size === v.size) && !cells.some((c) => c.impl === v.impl && c.size === v.size)) {
      skipped.push({ impl: v.impl, size: v.size, reason });
    }
  }
  // Configured cells with neither results nor a recorded reason: an interrupted run.
  const finish = run.backend === 'local' ? `server-bench bench --resume ${run.runId}` : 'a new run (the VM backend has no --resume)';
  for (const size of run.config.sizes) {
    for (const impl of run.config.impls) {
      if (cells.some((c) => c.impl === impl && c.size === size.name) || skipped.some((s) => s.impl === impl && s.size === size.name)) continue;
      const reason = 'no results stored (interrupted run?)';
      skipped.push({ impl, size: size.name, reason });
      warnings.push({ code: 'no-results', message: `${impl} at size ${size.name}: ${reason} — finish it with ${finish}`, impl, size: size.name, reps: [] });
    }
  }
  for (const c of cells) {
    if (c.n < run.config.reps) {
      warnings.push({
        code: 'no-results',
        message: `only ${c.n} of ${run.config.reps} repetitions stored — finish them with ${finish}`,
        impl: c.impl,
        size: c.size,
        reps: c.reps,
      });
    }
  }
  for (const r of allReps) {
    if (!r.profile || inStats) continue;
    for (const w of r.warnings) if (w.code === 'profile') warnings.push({ code: w.code, message: w.message, impl: r.impl, size: r.size.name, reps: [r.rep] });
  }
  for (const p of profiled.problems) warnings.push({ code: 'profile', message: p.message, impl: p.impl, size: p.size, reps: [p.rep] });
  if (run.loadgen === 'shared')
    warnings.push({
      code: 'cores-shared',
      message: "the load generator shared cores with the server in this run: numbers are partly the generator's",
      impl: null,
      size: null,
      reps: [],
    });
  if (run.emulated)
    warnings.push({ code: 'emulated', message: 'the VMs ran under emulation (no KVM): absolute numbers are meaningless', impl: null, size: null, reps: [] });
  // Host-wide conditions (memory not enforced, shared cores) read once per message, naming the cells.
  const HOST_WIDE = new Set<string>(['memory-not-enforced', 'cores-shared']);
  const merged = new Map<string, { w: ResultWarning; where: string[] }>();
  for (const c of cells) {
    for (const w of c.warnings) {
      if (!HOST_WIDE.has(w.code)) {
        warnings.push(w);
        continue;
      }
      const key = `${w.code}\u0000${w.message}`;
      const m = merged.get(key) ?? { w: { ...w, impl: null, size: null, reps: [] }, where: [] };
      m.where.push(`${c.impl} at size ${c.size}`);
      merged.set(key, m);
    }
  }
  for (const { w, where } of merged.values())
    warnings.push({ ...w, message: `${w.message} — ${where.length === cells.length ? 'every cell' : where.join(', ')}` });
  const comparisons = sizes.filter((s) => cells.some((c) => c.size === s.name)).map((s) => compareSize(s.name, impls, cells, requested));
  for (const c of comparisons) if (c.note) warnings.push({ code: 'reference-fallback', message: c.note, impl: c.reference, size: c.size, reps: [] });
  const logsDiffer = loggingDiffers(
    run.logging,
    impls.filter((i) => cells.some((c) => c.impl === i)),
  );
  if (logsDiffer !== null) warnings.push({ code: 'logs-differ', message: logsDiffer, impl: null, size: null, reps: [] });
  if (cells.some((c) => c.n === 1)) {
    warnings.push({
      code: 'no-interval',
      message: 'some cells have a single repetition: no confidence interval or significance test can be given for them (use --reps 3 or more)',
      impl: null,
      size: null,
      reps: [],
    });
  }

  return ResultsSchema.parse({
    schemaVersion: RESULTS_SCHEMA_VERSION,
    kind: 'server-bench-results',
    generatedAt: now.toISOString(),
    run,
    sizes,
    impls: impls.filter((i) => cells.some((c) => c.impl === i) || skipped.some((s) => s.impl === i)),
    cells,
    comparisons,
    skipped,
    verifications,
    warnings,
    repetitions: allReps.map((r) => ({ ...r, raw: null })),
    ...(run.config.profile || profiled.profiles.length > 0 ? { profiles: profiled.profiles } : {}),
  });
}

/** Load a run folder (every file validated) and build its results. */
export async function buildResultsFromDir(runDir: string, now?: Date): Promise<{ results: Results; loaded: LoadedRun }> {
  const loaded = await loadRun(runDir);
  return { results: buildResults(loaded, now, await loadProfiles(runDir, loaded.cells)), loaded };
}

/** Read a stored results.json, validated. */
export async function readResults(path: string): Promise<Results> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(
      `cannot read results ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'pass a run folder written by server-bench bench, or run server-bench report <run-dir> first',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`corrupt results ${path}: not valid JSON (${(err as Error).message})`, 'regenerate it with server-bench report <run-dir>');
  }
  // Version 1 (before requests per CPU-second): everything it derived is rebuilt from the
  // repetitions, run and verifications it stores, so an old file renders like a new one.
  const v1 = ResultsV1Schema.safeParse(json);
  if (v1.success) return buildResults({ run: v1.data.run, cells: v1.data.repetitions, verifications: v1.data.verifications }, new Date(v1.data.generatedAt));
  const r = ResultsSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(
      `corrupt results ${path}: ${issue?.message ?? 'invalid'}${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}`,
      'regenerate it with server-bench report <run-dir>',
    );
  }
  return r.data;
}

/** What a version-1 results.json holds that version 2 is rebuilt from. */
const ResultsV1Schema = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal('server-bench-results'),
  generatedAt: z.string(),
  run: RunInfoSchema,
  verifications: z.array(VerificationSchema),
  repetitions: z.array(CellResultSchema),
});

/** Results for a run folder: rebuilt from the cells when run.json is there, else the stored results.json. */
export async function resultsForRun(runDir: string): Promise<Results> {
  try {
    return (await buildResultsFromDir(runDir)).results;
  } catch (err) {
    // A folder holding only results.json (e.g. a committed example) still compares and renders.
    if (err instanceof InputError && /no run\.json/.test(err.message) && existsSync(join(runDir, RESULTS_FILE))) return readResults(join(runDir, RESULTS_FILE));
    throw err;
  }
}

// Helpers every renderer uses.
export function cellOf(results: Results, impl: string, size: string): CellAggregate | undefined {
  return results.cells.find((c) => c.impl === impl && c.size === size);
}

export function comparisonOf(results: Results, size: string): SizeComparison | undefined {
  return results.comparisons.find((c) => c.size === size);
}

export function sizeLabel(results: Results, size: string): string {
  const s = results.sizes.find((x) => x.name === size);
  if (!s) return `${size} vCPU`;
  const mem = s.memoryMiB >= 1024 && s.memoryMiB % 1024 === 0 ? `${s.memoryMiB / 1024} GB` : `${s.memoryMiB} MB`;
  const vus = results.run.config.vusOverride ?? s.vus;
  return `${s.cpus} vCPU / ${mem} / ${loadLabel(results, vus)}`;
}

/** One line per warning, prefixed with where it applies unless the message already says so. */
export function describeWarning(w: ResultWarning): string {
  const where = [w.impl, w.size ? `size ${w.size}` : null].filter(Boolean).join(' at ');
  const reps = w.reps.length > 0 ? ` (rep ${w.reps.join(', ')})` : '';
  if (!where || w.message.includes(`size ${w.size}`)) return `${w.message}${reps}`;
  return `${where}${reps}: ${w.message}`;
}

/** The generator, not the server, may have set this cell's number (measurement.md). */
export function isGeneratorBound(c: CellAggregate): boolean {
  return c.warnings.some((w) => w.code === 'loadgen-saturated');
}

/** A percentile of the cell that the load generator's output did not hold. */
export function missesLatency(c: CellAggregate): boolean {
  return !c.latencyMs.p50 || !c.latencyMs.p95 || !c.latencyMs.p99;
}

/** An implementation's entry in its size's comparison, and whether it is that size's reference; undefined when not compared. */
export function comparedOf(results: Results, impl: string, size: string): { entry: SizeComparison['entries'][number]; isReference: boolean } | undefined {
  const cmp = comparisonOf(results, size);
  const entry = cmp?.entries.find((e) => e.impl === impl);
  return cmp && entry ? { entry, isReference: cmp.reference === impl } : undefined;
}

/** Not significantly different from its size's reference (false when untestable or the reference itself). */
export function isNotSignificant(results: Results, impl: string, size: string, metric: 'reqPerSec' | 'mbPerSec' = 'reqPerSec'): boolean {
  const compared = comparedOf(results, impl, size);
  return compared !== undefined && !compared.isReference && compared.entry[metric].significant === false;
}
