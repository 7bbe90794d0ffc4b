// The k6-operator manifest `server-bench k6-operator manifest` prints: a ConfigMap holding our k6
// script and the run's target list, and a TestRun that runs that script on `parallelism` runner
// pods against one host of a hosts file, the same workload k6test runs there (k6/script.js, the
// same targets, VUs and duration). One JSON document, kind List, which `kubectl apply -f` takes as
// it is; no YAML writer needed.
//
// The TestRun schema below is ours: only the fields we emit, with the names, types, required keys
// and enums of the operator's CRD, grafana/k6-operator at commit
// e2c9571ac480ad7ca8ed019062ff67847d76724e, config/crd/bases/k6.io_testruns.yaml:
//   45-46      spec.arguments (string; newer operators also take spec.args, lines 40-44: we use
//              arguments, which every release has, and put every value with spaces in runner.env)
//   2066-2068  spec.parallelism (integer, format int32)
//   2095-4109  spec.runner (Pod): 2613-2695 env (array of {name (required), value: string}),
//              2721-2722 image (string), 2999-3009 metadata.labels (map of string)
//   4110-4134  spec.script.configMap {name (required), file: string}
//   4158-4159  spec.separate (boolean)
//   6179-6181  spec requires parallelism and script
// and api/v1alpha1/testrun_types.go (same commit) for the meaning: the ConfigMap is mounted at
// /test/ in every pod (ParseScript), `arguments` is split on whitespace (Argv), runner i of
// parallelism P runs `k6 run --quiet --execution-segment … <arguments> /test/<file>` as Job
// `<name>-<i>` (pkg/resources/jobs/runner.go NewRunnerJob), i = 1…P.
import { z } from 'zod';
import type { Targets } from '../contracts.js';
import { UsageError } from '../errors.js';

/** Where the operator mounts the script's ConfigMap in every k6 pod (testrun_types.go ParseScript). */
export const OPERATOR_MOUNT = '/test/';
const SCRIPT_KEY = 'script.js';
const TARGETS_KEY = 'targets.json';
/** Kubernetes refuses a ConfigMap whose data exceeds 1 MiB. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** A DNS-1035 label: the operator names Jobs and Services after the TestRun (`<name>-<i>`, `<name>-service-<i>`). */
const K8S_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Room for "-service-<i>" within the 63 characters of a label. */
export const MAX_NAME_LENGTH = 48;
const name = z.string().max(MAX_NAME_LENGTH).regex(K8S_NAME, 'a lower-case DNS label: a-z, 0-9 and "-", starting with a letter');
const int32 = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);

const EnvVarSchema = z.object({ name: z.string().min(1), value: z.string() }).strict();

/** The TestRun fields we emit, as the CRD types them (see the head of this file for the lines). */
export const TestRunSchema = z
  .object({
    apiVersion: z.literal('k6.io/v1alpha1'),
    kind: z.literal('TestRun'),
    metadata: z.object({ name, labels: z.record(z.string(), z.string()).optional() }).strict(),
    spec: z
      .object({
        // int32 in the CRD; the operator makes one runner per unit, so 0 runs nothing: ours is ≥ 1.
        parallelism: int32.min(1),
        script: z.object({ configMap: z.object({ name, file: z.string().min(1).optional() }).strict() }).strict(),
        arguments: z.string().optional(),
        separate: z.boolean().optional(),
        runner: z
          .object({
            image: z.string().min(1).optional(),
            env: z.array(EnvVarSchema).optional(),
            metadata: z
              .object({ labels: z.record(z.string(), z.string()).optional() })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
  })
  .strict();
type TestRun = z.infer<typeof TestRunSchema>;

const ConfigMapSchema = z
  .object({
    apiVersion: z.literal('v1'),
    kind: z.literal('ConfigMap'),
    metadata: z.object({ name, labels: z.record(z.string(), z.string()).optional() }).strict(),
    data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/), z.string()),
  })
  .strict()
  .refine((c) => Object.values(c.data).reduce((n, v) => n + Buffer.byteLength(v), 0) <= CONFIGMAP_MAX_BYTES, 'data exceeds the 1 MiB a ConfigMap may hold');
type ConfigMap = z.infer<typeof ConfigMapSchema>;

/** What `kubectl apply -f` reads: a List of the ConfigMap and the TestRun. */
export const ManifestSchema = z
  .object({
    apiVersion: z.literal('v1'),
    kind: z.literal('List'),
    items: z.tuple([ConfigMapSchema, TestRunSchema]),
  })
  .strict();
export type Manifest = z.infer<typeof ManifestSchema>;

/** The prefix of the one stdout line with the runner's summary JSON (k6/script.js, SUMMARY_STDOUT=1). */
export const SUMMARY_LINE_PREFIX = 'server-bench-summary-json ';

export interface ManifestInput {
  /** The TestRun's name; the ConfigMap is `<name>-script`. */
  name: string;
  parallelism: number;
  /** Total VUs over all runners (k6 splits them by execution segment). */
  vus: number;
  durationSeconds: number;
  /** http://host:port of the server under load. */
  baseUrl: string;
  targets: Targets;
  /** The text of k6/script.js. */
  script: string;
  /** Labels for the ConfigMap, the TestRun and its runner pods (size, impl). */
  labels: Record<string, string>;
  separate: boolean;
  image: string | null;
}

/** k6's arguments on every runner: never phone home (as k6.ts k6Args). */
const RUNNER_ARGUMENTS = '--no-usage-report';

/** The manifest for one host and implementation; validated against our schema of the CRD before it is returned. */
export function buildManifest(m: ManifestInput): Manifest {
  if (m.vus < m.parallelism)
    throw new UsageError(
      `--vus ${m.vus} is fewer than --parallelism ${m.parallelism}: k6 splits the VUs over the runners and some would run none`,
      `give --vus ${m.parallelism} or more, or a smaller --parallelism`,
    );
  const targetsJson = `${JSON.stringify({ baseUrl: m.baseUrl.replace(/\/+$/, ''), paths: m.targets.paths, redirects: m.targets.redirects }, null, 1)}\n`;
  const configMap: ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${m.name}-script`, labels: m.labels },
    data: { [SCRIPT_KEY]: m.script, [TARGETS_KEY]: targetsJson },
  };
  const env: Array<{ name: string; value: string }> = [
    { name: 'TARGETS', value: `${OPERATOR_MOUNT}${TARGETS_KEY}` },
    { name: 'VUS', value: String(m.vus) },
    { name: 'DURATION', value: `${Math.max(1, Math.round(m.durationSeconds))}s` },
    // The summary goes to stdout (kubectl logs), not a file: a finished pod's files cannot be copied out.
    { name: 'SUMMARY_STDOUT', value: '1' },
    { name: 'K6_NO_USAGE_REPORT', value: 'true' },
  ];
  const testRun: TestRun = {
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: { name: m.name, labels: m.labels },
    spec: {
      parallelism: m.parallelism,
      script: { configMap: { name: `${m.name}-script`, file: SCRIPT_KEY } },
      arguments: RUNNER_ARGUMENTS,
      ...(m.separate ? { separate: true } : {}),
      runner: { ...(m.image !== null ? { image: m.image } : {}), env, metadata: { labels: m.labels } },
    },
  };
  const manifest = { apiVersion: 'v1' as const, kind: 'List' as const, items: [configMap, testRun] as [ConfigMap, TestRun] };
  const r = ManifestSchema.safeParse(manifest);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UsageError(
      `the manifest would not be valid: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
      'shorten --name or the site (a ConfigMap holds at most 1 MiB)',
    );
  }
  return r.data;
}

/** The names of the runner Jobs the operator makes for a TestRun (`<name>-1` … `<name>-P`). */
export function runnerJobs(name: string, parallelism: number): string[] {
  return Array.from({ length: parallelism }, (_, i) => `${name}-${i + 1}`);
}
