// The contracts between the engine's modules. Each module named below implements one of these
// shapes; the orchestrator (cell.ts, bench.ts), k6test and the VM backend only talk through them,
// so a cell runs the same way on the host or inside a VM.
import type { EngineName, Finding, Latency, Verification, Warning } from './results/schema.js';
import type { RequestLogging, ServerLogs } from './servers/serverlogs.js';

// ---------------------------------------------------------------- site (site/generate.ts)
export interface Redirect {
  alias: string; // no leading or trailing "/"
  target: string; // absolute http(s) URL
}

export interface GeneratedSite {
  dir: string;
  files: number;
  bytes: number;
  /** Every URL path a crawler from "/" must find, e.g. "/", "/posts/x/", "/images/a.jpg". */
  expectedPaths: string[];
  redirects: Redirect[];
  /** The map file content, gosherve's format. */
  redirectsText: string;
}

export interface SiteOptions {
  dir: string;
  seed: number;
  /** Approximate total bytes; default 40 MB. */
  targetBytes: number;
  /** Ctrl-C: generation stops between files and throws the signal's reason. */
  signal?: AbortSignal;
}

// ---------------------------------------------------------------- map server (site/map-server.ts)
export interface MapServer {
  /** URL to give the server under test, e.g. http://127.0.0.1:PORT/redirects.txt */
  url: string;
  /** Fetches received since start or the last reset. */
  fetches(): number;
  resetFetches(): void;
  setText(text: string): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- targets (crawl.ts)
export interface Targets {
  /** Same-origin paths found by crawling from "/" (href, src, srcset), sorted. */
  paths: string[];
  /** Every alias in the map, with the Location it must redirect to. */
  redirects: Redirect[];
}

// ---------------------------------------------------------------- implementations (servers/registry.ts)
export interface ImplContext {
  webroot: string;
  mapUrl: string;
  /** Cache folder for downloaded/built binaries (gosherve). */
  cacheDir: string;
  /** CPUs the server may use (for worker counts). */
  cpus: number;
  host: string; // 127.0.0.1
  /** --server-logs: each server's own defaults, or per-request logging off (serverlogs.ts; default quiet). */
  serverLogs?: ServerLogs;
  /** bench --profile: start the server so a sampling profiler can name its frames (Node: V8's perf map). */
  profile?: boolean;
  /** bench --port: listen here instead of sitePort/metricsPort (impl-ports.ts; only where movablePorts). */
  ports?: { site: number; metrics: number };
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export interface Impl {
  name: string; // "tsherve", "gosherve", "gosherve-old", "nginx"
  description: string;
  /** A reference implementation (nginx) is optional: included only when asked for or available. */
  reference: boolean;
  sitePort: number;
  metricsPort: number | null;
  /** Prometheus metric prefix ("gosherve_", "tsherve_"); null = no metrics endpoint. */
  metricPrefix: string | null;
  /**
   * Make the binary available (e.g. go install into the cache): its version, or a one-line reason with
   * how to get it; `steps` names each place looked in, in order, for `prepare`'s output.
   */
  prepare(ctx: ImplContext): Promise<{ version: string; steps?: string[] } | { unavailable: string; steps?: string[] }>;
  launch(ctx: ImplContext): LaunchSpec;
  /** Its launch honours ImplContext.ports (bench --port); gosherve's ports are fixed. */
  movablePorts?: boolean;
  /** How it logs requests in each --server-logs mode, for run.json and the reports (serverlogs.ts). */
  logging?(mode: ServerLogs): RequestLogging;
}

// ---------------------------------------------------------------- verification (verify.ts)
export interface VerifyOptions {
  impl: string;
  size: string;
  baseUrl: string; // http://127.0.0.1:8080
  metricsUrl: string | null; // http://127.0.0.1:8081/metrics
  metricPrefix: string | null;
  targets: Targets;
  /** When known, lengths and content types are checked against the files on disk. */
  webroot: string | null;
}
export type VerifyFn = (opts: VerifyOptions) => Promise<Verification>;
export type { Finding };

// ---------------------------------------------------------------- load engines (engines/*.ts)
export interface LoadOptions {
  baseUrl: string;
  targets: Targets;
  vus: number;
  /** wrk: its -c (default vus × 6, or --connections); k6: ignored (batchPerHost = 6). */
  connections: number;
  durationSeconds: number;
  /** CPUs to pin the generator to (taskset); empty = unpinned. */
  cpus: number[];
  /** Folder for the engine's raw output files (summary.json etc.). */
  outDir: string;
  signal?: AbortSignal;
  /** Called about once a second with live progress. */
  onProgress?: (p: { elapsedSeconds: number; requests?: number }) => void;
}

/** What every engine returns, normalised. */
export interface LoadResult {
  engine: EngineName;
  engineVersion: string;
  durationSeconds: number;
  requests: number;
  bytes: number;
  /** Each statistic null when the engine's output did not hold it (never a stand-in). */
  latencyMs: Latency;
  statusCounts: Record<string, number>;
  failedChecks: number;
  /** Socket errors and timeouts; null when the engine cannot tell them apart from bad statuses. */
  errors: number | null;
  /** CPU seconds the generator process used during the run (from /proc), null if unknown. */
  loadgenCpuSeconds: number | null;
  /** The engine's own summary, verbatim (parsed JSON or text). */
  raw: unknown;
  /** What the engine could not measure or had to take from elsewhere; stored on the cell. */
  warnings?: Warning[];
}

export interface LoadEngine {
  name: EngineName;
  /** Null if available, else a one-line reason naming the install command. */
  check(): Promise<string | null>;
  version(): Promise<string>;
  run(opts: LoadOptions): Promise<LoadResult>;
}

// ---------------------------------------------------------------- resources (servers/resources.ts)
/** Where a server runs: confines and measures it. Local: cgroup v2 or /proc sampling; VM: the systemd unit's cgroup. */
export interface ServerPlacement {
  cpus: number[];
  memoryLimitBytes: number | null;
  memoryEnforced: boolean;
}

export interface ResourceMonitor {
  /** CPU seconds (user+system) used by the server's processes so far. */
  cpuSeconds(): Promise<number>;
  /** Reset the peak so that only the measured window counts (where possible). */
  resetPeak(): Promise<void>;
  /** Peak resident bytes summed over the server's processes since the last reset. */
  peakRssBytes(): Promise<number>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- supervision (supervisor-*.ts)
/** A running server under test. */
export interface ServerHandle {
  impl: string;
  baseUrl: string; // http://127.0.0.1:<sitePort>
  metricsUrl: string | null; // http://127.0.0.1:<metricsPort>/metrics
  placement: ServerPlacement;
  monitor: ResourceMonitor;
  /** Last lines of the server's own log/journal, for error messages. */
  logTail(lines?: number): Promise<string>;
  /** The server's processes now (bench --profile attaches perf to them); absent where unknown. */
  pids?(): Promise<number[]>;
  stop(): Promise<void>;
}

/**
 * Starts and stops servers. Local backend: child processes pinned with taskset and confined by a
 * cgroup v2 leaf when writable (supervisor-local.ts). Inside a VM: one systemd unit per
 * implementation (supervisor-systemd.ts). Everything above this line is shared.
 */
export interface Supervisor {
  /** Start `impl` and wait until its site port answers (timeout → error with logTail). */
  start(impl: Impl, ctx: ImplContext, placement: ServerPlacement): Promise<ServerHandle>;
  /** Stop every server this supervisor knows of (k6test: every unit). */
  stopAll(): Promise<void>;
}
