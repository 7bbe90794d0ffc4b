// Prometheus metrics without a metrics library: the request path bumps plain numbers (no label
// lookups, no strings), a scrape takes a Snapshot of them plus this process's runtime figures, and
// renders it in the text exposition format. With several workers the primary merges the workers'
// snapshots (counters summed, the defined-redirects gauge not). prom-client did this before at a
// cost of ~10 MB of resident memory per process, a quarter of tsherve's budget beyond the site.
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { isCount, isCountRecord, isNumber, isObject } from './checks.js';

const PREFIX = 'tsherve_';
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** Counters the request path updates. Status codes index a typed array. */
export class HotCounters {
  requests = 0;
  readonly status = new Float64Array(600);
  readonly redirects = new Map<string, number>();
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  durationSum = 0;
  durationCount = 0;

  countStatus(code: number): void {
    this.status[code]! += 1;
  }

  countRedirect(alias: string): void {
    this.redirects.set(alias, (this.redirects.get(alias) ?? 0) + 1);
  }

  /** Buckets are fixed at start-up; most answers take < 250 µs, so scanning up from the smallest
   *  bucket ends after one to three comparisons, with no label lookup or allocation. */
  observe(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]! += 1;
    this.durationSum += seconds;
    this.durationCount++;
  }
}

/** One process's runtime figures at a scrape. */
export interface ProcessFigures {
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  residentBytes: number;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  /** V8 heap space name → used bytes. */
  heapSpaces: Record<string, number>;
  startTimeSeconds: number;
  /** Open file descriptors; -1 where /proc is not available. */
  openFds: number;
  activeResources: number;
  /** Event-loop delay since the previous scrape, seconds. */
  lag: { min: number; mean: number; max: number; p50: number; p90: number; p99: number };
  /** GC kind → runs and seconds spent, since start. */
  gc: Record<string, { runs: number; seconds: number }>;
}

/** Everything one scrape reports for one process, or for several merged. Plain data: crosses IPC. */
export interface Snapshot {
  requests: number;
  /** Status code → responses (non-zero only). */
  status: Record<string, number>;
  /** Defined alias → redirects served. */
  redirects: Record<string, number>;
  redirectsDefined: number;
  refreshes: { ok: number; error: number; skipped: number };
  /** Per-bucket (not cumulative) counts, DURATION_BUCKETS.length + 1 of them (the last is +Inf). */
  durationBuckets: number[];
  durationSum: number;
  durationCount: number;
  process: ProcessFigures;
  /** OS processes merged into this snapshot (1 for a single process, 0 for a worker thread). */
  processes: number;
  /** V8 isolates (processes and worker threads) merged into this snapshot. */
  isolates: number;
}

export interface MetricsSources {
  hot: HotCounters;
  redirectsDefined: () => number;
  refreshes: () => { ok: number; error: number; skipped: number };
}

/** Open descriptors of this process; -1 where /proc is not available. */
function countOpenFds(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1; // minus the directory being read
  } catch {
    return -1;
  }
}

const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

/**
 * This process's runtime figures: an event-loop delay histogram (10 ms resolution, reset at each
 * scrape) and GC runs from a PerformanceObserver. Started once per process.
 */
export class ProcessMonitor {
  /**
   * false in a worker thread: resident memory, CPU time and open descriptors belong to the whole
   * process, so a thread reports them as 0 and the main thread's figures count them once.
   */
  readonly processWide: boolean;
  private readonly delay: IntervalHistogram;
  private readonly gc: Record<string, { runs: number; seconds: number }> = {};
  private readonly observer: PerformanceObserver;
  private readonly startTimeSeconds = Math.round((Date.now() - process.uptime() * 1000) / 1000);

  constructor(opts: { processWide?: boolean } = {}) {
    this.processWide = opts.processWide ?? true;
    this.delay = monitorEventLoopDelay({ resolution: 10 });
    this.delay.enable();
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = GC_KINDS[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
        const g = (this.gc[kind] ??= { runs: 0, seconds: 0 });
        g.runs++;
        g.seconds += entry.duration / 1000;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  sample(): ProcessFigures {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const heapSpaces: Record<string, number> = {};
    for (const s of getHeapSpaceStatistics()) heapSpaces[s.space_name.replace(/_space$/, '')] = s.space_used_size;
    const d = this.delay;
    const s = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);
    const lag =
      d.count > 0
        ? { min: s(d.min), mean: s(d.mean), max: s(d.max), p50: s(d.percentile(50)), p90: s(d.percentile(90)), p99: s(d.percentile(99)) }
        : { min: 0, mean: 0, max: 0, p50: 0, p90: 0, p99: 0 };
    d.reset();
    const gc: ProcessFigures['gc'] = {};
    for (const [k, v] of Object.entries(this.gc)) gc[k] = { ...v };
    const whole = this.processWide ? 1 : 0;
    return {
      cpuUserSeconds: (whole * cpu.user) / 1e6,
      cpuSystemSeconds: (whole * cpu.system) / 1e6,
      residentBytes: whole * mem.rss,
      heapTotalBytes: mem.heapTotal,
      heapUsedBytes: mem.heapUsed,
      externalBytes: mem.external,
      heapSpaces,
      startTimeSeconds: this.startTimeSeconds,
      openFds: this.processWide ? countOpenFds() : 0,
      activeResources: process.getActiveResourcesInfo().length,
      lag,
      gc,
    };
  }

  stop(): void {
    this.delay.disable();
    this.observer.disconnect();
  }
}

/** This process's snapshot: the hot counters copied into plain data, plus its runtime figures. */
export function takeSnapshot(src: MetricsSources, monitor: ProcessMonitor): Snapshot {
  const { hot } = src;
  const status: Record<string, number> = {};
  for (let code = 100; code < hot.status.length; code++) {
    const n = hot.status[code]!;
    if (n > 0) status[String(code)] = n;
  }
  return {
    requests: hot.requests,
    status,
    redirects: Object.fromEntries(hot.redirects),
    redirectsDefined: src.redirectsDefined(),
    refreshes: { ...src.refreshes() },
    durationBuckets: Array.from(hot.buckets),
    durationSum: hot.durationSum,
    durationCount: hot.durationCount,
    process: monitor.sample(),
    processes: monitor.processWide ? 1 : 0,
    isolates: 1,
  };
}

function addRecords(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Runtime figures of several processes: amounts summed, lag the worst, start time the earliest. */
function mergeProcess(list: readonly ProcessFigures[]): ProcessFigures {
  const sum = (f: (p: ProcessFigures) => number): number => list.reduce((a, p) => a + f(p), 0);
  const max = (f: (p: ProcessFigures) => number): number => list.reduce((a, p) => Math.max(a, f(p)), 0);
  const heapSpaces: Record<string, number> = {};
  const gc: ProcessFigures['gc'] = {};
  for (const p of list) {
    addRecords(heapSpaces, p.heapSpaces);
    for (const [k, v] of Object.entries(p.gc)) {
      const g = (gc[k] ??= { runs: 0, seconds: 0 });
      g.runs += v.runs;
      g.seconds += v.seconds;
    }
  }
  return {
    cpuUserSeconds: sum((p) => p.cpuUserSeconds),
    cpuSystemSeconds: sum((p) => p.cpuSystemSeconds),
    residentBytes: sum((p) => p.residentBytes),
    heapTotalBytes: sum((p) => p.heapTotalBytes),
    heapUsedBytes: sum((p) => p.heapUsedBytes),
    externalBytes: sum((p) => p.externalBytes),
    heapSpaces,
    startTimeSeconds: list.reduce((a, p) => Math.min(a, p.startTimeSeconds), Number.POSITIVE_INFINITY),
    openFds: list.some((p) => p.openFds < 0) ? -1 : sum((p) => p.openFds),
    activeResources: sum((p) => p.activeResources),
    lag: {
      min: list.reduce((a, p) => Math.min(a, p.lag.min), Number.POSITIVE_INFINITY),
      mean: max((p) => p.lag.mean),
      max: max((p) => p.lag.max),
      p50: max((p) => p.lag.p50),
      p90: max((p) => p.lag.p90),
      p99: max((p) => p.lag.p99),
    },
    gc,
  };
}

/**
 * Several workers' snapshots as one: counters and histograms summed, the defined-redirects gauge
 * the largest (every worker holds the same map), runtime figures through mergeProcess. `extra`
 * adds processes that serve no requests (the cluster primary) to the runtime figures only.
 */
export function mergeSnapshots(workers: readonly Snapshot[], extra: readonly ProcessFigures[] = []): Snapshot {
  const out: Snapshot = {
    requests: 0,
    status: {},
    redirects: {},
    redirectsDefined: 0,
    refreshes: { ok: 0, error: 0, skipped: 0 },
    durationBuckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
    durationSum: 0,
    durationCount: 0,
    process: mergeProcess([...workers.map((w) => w.process), ...extra]),
    processes: workers.reduce((a, w) => a + w.processes, 0) + extra.length,
    isolates: workers.reduce((a, w) => a + w.isolates, 0) + extra.length,
  };
  for (const w of workers) {
    out.requests += w.requests;
    addRecords(out.status, w.status);
    addRecords(out.redirects, w.redirects);
    out.redirectsDefined = Math.max(out.redirectsDefined, w.redirectsDefined);
    out.refreshes.ok += w.refreshes.ok;
    out.refreshes.error += w.refreshes.error;
    out.refreshes.skipped += w.refreshes.skipped;
    w.durationBuckets.forEach((n, i) => (out.durationBuckets[i]! += n));
    out.durationSum += w.durationSum;
    out.durationCount += w.durationCount;
  }
  return out;
}

// ------------------------------------------------------------------ validation (IPC boundary)

function isProcessFigures(v: unknown): v is ProcessFigures {
  if (!isObject(v)) return false;
  const numbers = [
    'cpuUserSeconds',
    'cpuSystemSeconds',
    'residentBytes',
    'heapTotalBytes',
    'heapUsedBytes',
    'externalBytes',
    'startTimeSeconds',
    'activeResources',
  ];
  if (!numbers.every((k) => isCount(v[k])) || !isNumber(v.openFds) || !isCountRecord(v.heapSpaces)) return false;
  const lag = v.lag;
  if (!isObject(lag) || !['min', 'mean', 'max', 'p50', 'p90', 'p99'].every((k) => isCount(lag[k]))) return false;
  return isObject(v.gc) && Object.values(v.gc).every((g) => isObject(g) && isCount(g.runs) && isCount(g.seconds));
}

/** A snapshot received from another process, checked field by field; null = not a snapshot. */
export function parseSnapshot(v: unknown): Snapshot | null {
  if (!isObject(v)) return null;
  const r = v.refreshes;
  const ok =
    isCount(v.requests) &&
    isCountRecord(v.status) &&
    isCountRecord(v.redirects) &&
    isCount(v.redirectsDefined) &&
    isObject(r) &&
    isCount(r.ok) &&
    isCount(r.error) &&
    isCount(r.skipped) &&
    Array.isArray(v.durationBuckets) &&
    v.durationBuckets.length === DURATION_BUCKETS.length + 1 &&
    v.durationBuckets.every(isCount) &&
    isCount(v.durationSum) &&
    isCount(v.durationCount) &&
    isCount(v.processes) &&
    isCount(v.isolates) &&
    isProcessFigures(v.process);
  return ok ? (v as unknown as Snapshot) : null;
}

// ------------------------------------------------------------------ text exposition format

/** A label value as the exposition format wants it: backslash, double quote and newline escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(n) ? 'NaN' : String(n);
}

class Text {
  private readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} ${type}`);
    return this;
  }
  sample(name: string, value: number, labels?: Record<string, string>): this {
    const l = labels
      ? Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',')
      : '';
    this.lines.push(`${PREFIX}${name}${l ? `{${l}}` : ''} ${num(value)}`);
    return this;
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** A snapshot in Prometheus's text format (version 0.0.4). */
export function renderSnapshot(s: Snapshot): string {
  const t = new Text();
  t.family('requests_total', 'counter', 'Requests received on the site port').sample('requests_total', s.requests);
  t.family('response_status', 'counter', 'Responses by HTTP status code');
  for (const code of Object.keys(s.status).sort()) t.sample('response_status', s.status[code]!, { status: code });
  t.family('redirects_served', 'counter', 'Redirects served, by alias (defined aliases only)');
  for (const alias of Object.keys(s.redirects).sort()) t.sample('redirects_served', s.redirects[alias]!, { alias });
  t.family('redirects_defined', 'gauge', 'Redirects in the current map').sample('redirects_defined', s.redirectsDefined);
  t.family('redirect_map_refreshes_total', 'counter', 'Redirect map fetches by result (skipped: a miss inside the refresh interval)');
  for (const result of ['ok', 'error', 'skipped'] as const) t.sample('redirect_map_refreshes_total', s.refreshes[result], { result });

  const h = 'request_duration_seconds';
  t.family(h, 'histogram', 'Time from request to response handed to the socket');
  let cumulative = 0;
  DURATION_BUCKETS.forEach((le, i) => {
    cumulative += s.durationBuckets[i] ?? 0;
    t.sample(`${h}_bucket`, cumulative, { le: String(le) });
  });
  cumulative += s.durationBuckets[DURATION_BUCKETS.length] ?? 0;
  t.sample(`${h}_bucket`, cumulative, { le: '+Inf' }).sample(`${h}_sum`, s.durationSum).sample(`${h}_count`, s.durationCount);

  const p = s.process;
  const across = s.processes > 1 ? ` (summed over ${s.processes} processes)` : '';
  const isolates = s.isolates > 1 ? ` (summed over ${s.isolates} V8 isolates: processes or worker threads)` : '';
  t.family('process_cpu_user_seconds_total', 'counter', `User CPU time spent, seconds${across}`).sample('process_cpu_user_seconds_total', p.cpuUserSeconds);
  t.family('process_cpu_system_seconds_total', 'counter', `System CPU time spent, seconds${across}`).sample(
    'process_cpu_system_seconds_total',
    p.cpuSystemSeconds,
  );
  t.family('process_cpu_seconds_total', 'counter', `User and system CPU time spent, seconds${across}`).sample(
    'process_cpu_seconds_total',
    p.cpuUserSeconds + p.cpuSystemSeconds,
  );
  t.family('process_resident_memory_bytes', 'gauge', `Resident memory, bytes${across}`).sample('process_resident_memory_bytes', p.residentBytes);
  t.family('process_start_time_seconds', 'gauge', 'Start time of the (earliest) process since the Unix epoch, seconds').sample(
    'process_start_time_seconds',
    p.startTimeSeconds,
  );
  if (p.openFds >= 0) t.family('process_open_fds', 'gauge', `Open file descriptors${across}`).sample('process_open_fds', p.openFds);
  t.family('nodejs_active_resources_total', 'gauge', `Active libuv resources keeping the event loop alive${isolates}`).sample(
    'nodejs_active_resources_total',
    p.activeResources,
  );
  t.family('nodejs_heap_size_total_bytes', 'gauge', `V8 heap size, bytes${isolates}`).sample('nodejs_heap_size_total_bytes', p.heapTotalBytes);
  t.family('nodejs_heap_size_used_bytes', 'gauge', `V8 heap used, bytes${isolates}`).sample('nodejs_heap_size_used_bytes', p.heapUsedBytes);
  t.family(
    'nodejs_external_memory_bytes',
    'gauge',
    `Memory held outside the V8 heap (the site's bodies live here; a site shared by threads counts once per thread), bytes${isolates}`,
  ).sample('nodejs_external_memory_bytes', p.externalBytes);
  t.family('nodejs_heap_space_size_used_bytes', 'gauge', `V8 heap used by space, bytes${isolates}`);
  for (const space of Object.keys(p.heapSpaces).sort()) t.sample('nodejs_heap_space_size_used_bytes', p.heapSpaces[space]!, { space });
  const lagHelp = (what: string): string =>
    `${what} event-loop delay since the previous scrape, seconds${s.isolates > 1 ? ' (the worst process or thread)' : ''}`;
  t.family('nodejs_eventloop_lag_seconds', 'gauge', lagHelp('Mean')).sample('nodejs_eventloop_lag_seconds', p.lag.mean);
  for (const [k, v] of [
    ['min', p.lag.min],
    ['max', p.lag.max],
    ['p50', p.lag.p50],
    ['p90', p.lag.p90],
    ['p99', p.lag.p99],
  ] as const) {
    t.family(`nodejs_eventloop_lag_${k}_seconds`, 'gauge', lagHelp(k)).sample(`nodejs_eventloop_lag_${k}_seconds`, v);
  }
  t.family('nodejs_gc_runs_total', 'counter', `Garbage collections by kind${isolates}`);
  for (const kind of Object.keys(p.gc).sort()) t.sample('nodejs_gc_runs_total', p.gc[kind]!.runs, { kind });
  t.family('nodejs_gc_duration_seconds_total', 'counter', `Time spent in garbage collection by kind, seconds${isolates}`);
  for (const kind of Object.keys(p.gc).sort()) t.sample('nodejs_gc_duration_seconds_total', p.gc[kind]!.seconds, { kind });
  const [major, minor, patch] = process.versions.node.split('.');
  t.family('nodejs_version_info', 'gauge', 'Node.js version (under Bun: the Node.js version Bun implements)').sample('nodejs_version_info', 1, {
    version: process.version,
    major: major ?? '',
    minor: minor ?? '',
    patch: patch ?? '',
  });
  const bun = process.versions.bun;
  t.family('runtime_info', 'gauge', 'The JavaScript runtime serving (TSHERVE_RUNTIME) and its version').sample('runtime_info', 1, {
    runtime: bun === undefined ? 'node' : 'bun',
    version: bun ?? process.versions.node,
  });
  return t.toString();
}
