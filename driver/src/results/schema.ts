// The versioned shapes of everything server-bench writes or reads back: run configuration,
// per-cell results, verification findings. Every file on disk goes through these schemas, so
// the local backend, the VM backend and the reports agree on one contract.
import { z } from 'zod';
import { storedCellOptionsShape } from '../run/cell-options.js';
import { RequestLoggingSchema } from '../servers/serverlogs.js';

export const SCHEMA_VERSION = 1 as const;
/**
 * result.json of a cell. 2: a statistic the engine did not measure is null (latency, errors)
 * instead of a stand-in number; version-1 files (always numbers) are still read.
 */
export const CELL_SCHEMA_VERSION = 2 as const;

/** A machine size: the server gets `cpus` cores and `memoryMiB` of memory; k6 runs `vus` VUs. */
export const SizeSchema = z.object({
  name: z.string().regex(/^[0-9]+$/), // named by its vCPU count: "1", "2", "16"
  cpus: z.number().int().positive(),
  memoryMiB: z.number().int().positive(),
  vus: z.number().int().positive(),
});
export type Size = z.infer<typeof SizeSchema>;

export const EngineNameSchema = z.enum(['wrk', 'k6']);
export type EngineName = z.infer<typeof EngineNameSchema>;

/** Where the load generator runs: on cores of its own (dedicated) or on the server's (shared). */
export const LoadgenSchema = z.enum(['dedicated', 'shared']);
export type Loadgen = z.infer<typeof LoadgenSchema>;

/** A measured statistic, or null when the engine's output did not hold it (never a stand-in). */
const measured = z.number().nonnegative().nullable();
export const LatencySchema = z.object({
  avg: measured,
  p50: measured,
  p90: measured,
  p95: measured,
  p99: measured,
  max: measured,
});
/** Latency statistics in milliseconds; null = not measured. */
export type Latency = z.infer<typeof LatencySchema>;

export const WarningCodeSchema = z.enum([
  'loadgen-saturated', // the load generator used >= 90 % of its cores: it set the number
  'cores-shared', // server and load generator ran on the same cores
  'memory-not-enforced', // no writable cgroup v2: the size's memory limit was recorded only
  'emulated', // VM ran under TCG, not KVM
  'failed-checks', // some responses had an unexpected status
  'errors', // socket errors or timeouts during load
  'outlier', // flagged by median/MAD across repetitions (set by stats)
  'high-variance', // repetitions vary by more than 10 % (σ / mean): a noisy host or an unstable server
  'not-measured', // a statistic the engine's output did not hold: stored as null, shown as "–"
  'substituted', // a number taken from elsewhere (e.g. the configured duration): compare never judges it
  'profile', // bench --profile: symbols missing, stacks cut short, too few samples
  'host-busy', // other processes or the hypervisor took a share of the cell's cores while it measured
  'network-bound', // a separate generator machine: the load's bytes/s reached 80 % of the link's measured capacity
  'other',
]);
const WarningSchema = z.object({ code: WarningCodeSchema, message: z.string() });
export type Warning = z.infer<typeof WarningSchema>;

const ResourcesSchema = z.object({
  /** Server CPU seconds (user + system, all its processes) during the measured window. */
  serverCpuSeconds: z.number().nonnegative().nullable(),
  /** Peak resident memory of the server, summed over its processes, in bytes. */
  serverPeakRssBytes: z.number().nonnegative().nullable(),
  /** Memory limit applied to the server (bytes), or null when not enforced. */
  memoryLimitBytes: z.number().positive().nullable(),
  memoryEnforced: z.boolean(),
  serverCpus: z.array(z.number().int().nonnegative()),
  /** Load generator CPU seconds during the measured window. */
  loadgenCpuSeconds: z.number().nonnegative().nullable(),
  loadgenCpus: z.array(z.number().int().nonnegative()),
  /** loadgenCpuSeconds / (duration × loadgen cores), 0..1. */
  loadgenUtilisation: z.number().nonnegative().nullable(),
  /** CPU seconds on the cell's cores (server's and generator's) used by other processes; null when the generator's CPU is unknown. Absent in older runs. */
  hostOtherCpuSeconds: z.number().nonnegative().nullable().optional(),
  /** Share of the cell's cores' time taken by the hypervisor (steal), 0..1. Absent in older runs. */
  stealShare: z.number().nonnegative().optional(),
});

/** bench --profile: how a repetition's on-CPU profile was taken and where it is (files relative to the cell folder). */
/** bench --profile's settings, as run.json records them and a CellSpec carries them. */
export const ProfileSettingsSchema = z.object({ hz: z.number().int().positive(), callGraph: z.enum(['fp', 'dwarf']), inStats: z.boolean() });
export type ProfileRunSettings = z.infer<typeof ProfileSettingsSchema>;

const ProfileInfoSchema = z.object({
  tool: z.literal('perf'),
  event: z.string(), // cpu-clock
  hz: z.number().int().positive(),
  callGraph: z.enum(['fp', 'dwarf']),
  samples: z.number().int().nonnegative(),
  /** The server's processes perf attached to (children they start are followed too). */
  pids: z.array(z.number().int().positive()),
  files: z.object({ pprof: z.string(), folded: z.string() }),
  /** Modules with frames perf could not name, by samples that had one. */
  unresolved: z.array(z.object({ module: z.string(), samples: z.number().int().nonnegative() })),
  /** Samples whose stack ended in code perf could not walk past. */
  truncatedSamples: z.number().int().nonnegative(),
});
export type ProfileInfo = z.infer<typeof ProfileInfoSchema>;

/** One measured repetition of one implementation at one size: the unit every report is built from. */
export const CellResultSchema = z.object({
  schemaVersion: z.union([z.literal(1), z.literal(CELL_SCHEMA_VERSION)]),
  id: z.string(), // e.g. "tsherve-1cpu-r2"
  impl: z.string(),
  size: SizeSchema,
  rep: z.number().int().positive(),
  /** Position of this cell in the run's execution order (0-based), to show interleaving. */
  order: z.number().int().nonnegative(),
  engine: z.object({ name: EngineNameSchema, version: z.string() }),
  vus: z.number().int().positive(),
  connections: z.number().int().positive(),
  warmupSeconds: z.number().nonnegative(),
  durationSeconds: z.number().positive(),
  requests: z.number().int().nonnegative(),
  reqPerSec: z.number().nonnegative(),
  bytes: z.number().nonnegative(),
  bytesPerSec: z.number().nonnegative(),
  latencyMs: LatencySchema,
  statusCounts: z.record(z.string(), z.number().int().nonnegative()),
  failedChecks: z.number().int().nonnegative(),
  /** Socket errors and timeouts; null when the engine cannot tell them from bad statuses. */
  errors: z.number().int().nonnegative().nullable(),
  mapFetches: z.number().int().nonnegative().nullable(),
  /** The run's target list this cell was loaded with (targets.json); absent in runs before it existed. */
  targetsHash: z.string().optional(),
  resources: ResourcesSchema,
  warnings: z.array(WarningSchema),
  startedAt: z.string(), // ISO 8601
  finishedAt: z.string(),
  /** The engine's own summary, verbatim (k6 JSON object, or wrk's report). */
  raw: z.unknown(),
  /** Present when this repetition was profiled (bench --profile): kept out of the statistics unless the run says otherwise. */
  profile: ProfileInfoSchema.optional(),
});
export type CellResult = z.infer<typeof CellResultSchema>;

const FindingSchema = z.object({
  status: z.enum(['pass', 'warn', 'fail']),
  url: z.string(),
  reason: z.string(),
});
export type Finding = z.infer<typeof FindingSchema>;

/** The verification gate's outcome for one implementation at one size. */
export const VerificationSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  impl: z.string(),
  size: z.string(),
  passed: z.boolean(), // no finding with status "fail"
  counts: z.object({ pass: z.number().int(), warn: z.number().int(), fail: z.number().int() }),
  findings: z.array(FindingSchema), // every fail and warn; passes may be summarised
  targets: z.number().int().nonnegative(),
  /**
   * Checks the gate made: each target, an unknown path, the metrics counter when there is one. counts.pass
   * counts checks without findings; counts.warn and counts.fail count findings (a check may have several).
   * Absent in runs before it was recorded.
   */
  checks: z.number().int().nonnegative().optional(),
  checkedAt: z.string(),
});
export type Verification = z.infer<typeof VerificationSchema>;

const SiteInfoSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('generated'),
    seed: z.number().int(),
    targetBytes: z.number().int().positive(),
    files: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    aliases: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal('user'),
    webroot: z.string(),
    redirects: z.string().nullable(),
    files: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    aliases: z.number().int().nonnegative(),
  }),
]);
export type SiteInfo = z.infer<typeof SiteInfoSchema>;

const HostInfoSchema = z.object({
  hostname: z.string(),
  cpuModel: z.string(),
  cores: z.number().int().positive(),
  memoryBytes: z.number().nonnegative(),
  kernel: z.string(),
  os: z.string(),
  cgroupV2Writable: z.boolean(),
  kvm: z.boolean(),
});
export type HostInfo = z.infer<typeof HostInfoSchema>;

/** One machine of --backend hosts as run.json keeps it: where (the file's target and cores) and what (measured on it). */
const MachineSchema = z.object({
  target: z.string(),
  hostname: z.string(),
  cpuModel: z.string(),
  cores: z.number().int().positive(),
  memoryBytes: z.number().int().positive(),
  kernel: z.string(),
  arch: z.string(),
  virt: z.string().nullable(),
  os: z.string(),
  serverCpus: z.array(z.number().int().nonnegative()),
  generatorCpus: z.array(z.number().int().nonnegative()),
  /** A separate generator machine: its target and facts, and the network path measured before the cells. */
  generator: z
    .object({
      target: z.string(),
      hostname: z.string(),
      cpuModel: z.string(),
      cores: z.number().int().positive(),
      memoryBytes: z.number().int().positive(),
      kernel: z.string(),
      arch: z.string(),
      virt: z.string().nullable(),
      os: z.string(),
      /** The generator machine's cores wrk/k6 was pinned to. */
      cpus: z.array(z.number().int().nonnegative()),
      /** The server as the generator reaches it: host or host:port (hosts/generator.ts). */
      serverAddress: z.string(),
      /** Round trip of a line on one open TCP connection from the generator to the server's address (median of 20 after a warm-up), ms. */
      rttMs: z.number().nonnegative().nullable(),
      rttMinMs: z.number().nonnegative().nullable(),
      /** Bytes/s one TCP stream carried from the server machine to the generator machine before the run (hosts/netpath.ts). */
      linkBytesPerSecond: z.number().nonnegative().nullable(),
    })
    .nullable()
    .default(null),
});
export type Machine = z.infer<typeof MachineSchema>;

/** run.json: everything needed to understand, resume, re-render or compare a run. */
export const RunInfoSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  runId: z.string(),
  createdAt: z.string(),
  backend: z.enum(['local', 'vm', 'hosts']),
  /** dedicated: the load generator has cores of its own; shared: it runs on the server's cores. */
  loadgen: LoadgenSchema,
  emulated: z.boolean(), // VM backend under TCG
  config: z.object({
    impls: z.array(z.string()),
    sizes: z.array(SizeSchema),
    reps: z.number().int().positive(),
    // durationSeconds, warmupSeconds, vusOverride and the options added later, which older runs lack:
    // connectionsOverride (--connections, wrk: null or absent = VUs × 6), serverLogs (--server-logs,
    // serverlogs.ts: absent = they ran as shipped), and every further cell option (run/cell-options.ts).
    ...storedCellOptionsShape(),
    engine: EngineNameSchema,
    reference: z.string(), // implementation the reports compare against (default gosherve)
    /** The --impls entries as given (gosherve@v0.3.7, gosherve@/abs/checkout), for --resume; absent = the names. */
    implSpecs: z.array(z.string()).optional(),
    /** bench --profile: one extra, profiled repetition per implementation and size (rep = reps + 1). */
    profile: ProfileSettingsSchema.optional(),
  }),
  site: SiteInfoSchema,
  /** Hash of the run's one target list (targets.json) that every cell is loaded and verified with. */
  targetsHash: z.string().optional(),
  /** Cell ids in the order they were scheduled (interleaved: A B C A B C). */
  order: z.array(z.string()),
  /** Cells skipped before running, with the reason (size does not fit, impl unavailable, ...). */
  skipped: z.array(z.object({ impl: z.string(), size: z.string(), reason: z.string() })),
  host: HostInfoSchema,
  versions: z.object({
    node: z.string(),
    go: z.string().nullable(),
    engine: z.string(),
    impls: z.record(z.string(), z.string()),
  }),
  git: z.object({ revision: z.string().nullable(), dirty: z.boolean() }),
  /** How each implementation logged requests in this run (Impl.logging), for the reports' header and warning. */
  logging: z.record(z.string(), RequestLoggingSchema).optional(),
  /** Each --resume of this run: when, after how many stored cells, and what had changed since it began (run/resume-check.ts). */
  resumes: z.array(z.object({ at: z.string(), cellsBefore: z.number().int().nonnegative(), changed: z.array(z.string()) })).optional(),
  /** --backend hosts: per size name, the machine its cells ran on, measured there (hosts/facts.ts). */
  machines: z.record(z.string(), MachineSchema).optional(),
});
export type RunInfo = z.infer<typeof RunInfoSchema>;

/** Id of one cell × repetition, e.g. cellId('tsherve', '2', 3) === 'tsherve-2cpu-r3'. */
export function cellId(impl: string, size: string, rep: number): string {
  return `${impl}-${size}cpu-r${rep}`;
}
