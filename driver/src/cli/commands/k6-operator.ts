// `server-bench k6-operator manifest|merge`: load from more than one generator machine with
// Grafana's k6-operator on a Kubernetes cluster. manifest prints the ConfigMap + TestRun that run
// our k6 script against one host of a hosts file (k6op/testrun.ts); merge reads the runners'
// summaries back (files, or their pods' logs) into one cell of a run folder (k6op/merge.ts), saying
// which of its numbers are exact.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { CELL_SCHEMA_VERSION, type CellResult, type Size } from '../../results/schema.js';
import { ExitCode, InputError, reportError, UsageError } from '../../errors.js';
import { hostOf, readHostsFile } from '../../hosts/file.js';
import { k6ScriptPath } from '../../engines/k6.js';
import { normaliseK6, parseK6Summary } from '../../engines/k6summary.js';
import { buildManifest, runnerJobs, SUMMARY_LINE_PREFIX, MAX_NAME_LENGTH } from '../../k6op/testrun.js';
import { mergeK6Summaries, mergeWarnings, type RunnerSummary } from '../../k6op/merge.js';
import { IMPL_SPECS, implSpec, MATRIX_SIZES } from '../../run/matrix-files.js';
import { prepareSite } from '../../run/site.js';
import { cellId } from '../../results/schema.js';
import { writeCell } from '../../results/store.js';
import { renderTextSummary } from '../../report/textsummary.js';
import { defaultCacheDir } from '../../servers/registry.js';
import { DEFAULT_SEED, DEFAULT_SITE_BYTES } from '../../site/generate.js';
import { readTargets, siteTargets } from '../../site/targets.js';
import type { Targets } from '../../contracts.js';
import { parseCommandArgs } from '../args.js';
import { parseDuration } from '../duration.js';

const REFERENCE = (IMPL_SPECS.find((i) => i.reference) ?? IMPL_SPECS[0])!.name;

export const K6_OPERATOR_HELP = `usage: server-bench k6-operator manifest --hosts FILE --size N --parallelism P [--impl NAME]
           [--duration 30s] [--vus N] [--name NAME] [--targets RUNDIR] [--separate] [--image IMAGE] [--out FILE]
       server-bench k6-operator merge FILE… --size N [--impl NAME] [--rep N] --out RUNDIR

manifest  prints (or writes to --out) a Kubernetes List for Grafana's k6-operator: a ConfigMap with
          k6/script.js and the target list, and a TestRun (k6.io/v1alpha1) that runs it on P runner
          pods against the host of size N in the hosts file, http://<server address>:<port of --impl>
          (default ${REFERENCE}). --vus is the total over all runners (default: the size's VUs × P;
          at least P). Targets: the generated site the hosts serve, or a run's targets.json
          (--targets RUNDIR). --separate puts every runner on a node of its own. Apply it with
          kubectl apply -f FILE; each runner's log then ends with its summary (docs/hosts.md).
merge     reads the runners' summaries (kubectl logs of each runner Job, or k6 summary JSON files)
          and stores them as one k6 cell of size N in RUNDIR (cells/<N>cpu/<impl>/r<rep>/):
          requests, bytes, checks and statuses summed; min, max and avg exact; percentiles are
          not mergeable and are given as an interval (summary.json serverBenchMerge says which
          number is exact and how it was made).
`;

function positiveInt(flag: string, text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag} ${text}: must be a whole number ≥ 1`, what);
  return n;
}

function sizeOf(text: string | undefined, command: string): Size {
  if (text === undefined) throw new UsageError(`k6-operator ${command}: --size N is required`, `sizes: ${MATRIX_SIZES.map((s) => s.name).join(', ')}`);
  const s = MATRIX_SIZES.find((x) => x.name === text.trim());
  if (!s) throw new UsageError(`--size ${text}: not a size`, `sizes: ${MATRIX_SIZES.map((x) => x.name).join(', ')} (matrix/sizes.json)`);
  return s;
}

function implOf(text: string | undefined): string {
  const name = text ?? REFERENCE;
  if (!IMPL_SPECS.some((i) => i.name === name))
    throw new UsageError(`--impl ${name}: not an implementation`, `implementations: ${IMPL_SPECS.map((i) => i.name).join(', ')}`);
  return name;
}

/** The run's targets from a run folder (or its targets.json), else from the generated site the hosts serve. */
async function targetsOf(given: string | undefined): Promise<Targets> {
  if (given !== undefined) {
    const st = await stat(given).catch(() => null);
    if (!st) throw new InputError(`--targets ${given}: no such file or folder`, 'give a run folder (reports/<run-id>) or its targets.json');
    const dir = st.isDirectory() ? given : basename(given) === 'targets.json' ? dirname(given) : null;
    if (dir === null) throw new InputError(`--targets ${given}: not a run's targets.json`, 'give a run folder (reports/<run-id>) or its targets.json');
    return (await readTargets(dir)).targets;
  }
  process.stderr.write('server-bench: the target list of the generated site the hosts serve (generated once into the cache)\n');
  const site = await prepareSite({ kind: 'generated', seed: DEFAULT_SEED, targetBytes: DEFAULT_SITE_BYTES }, defaultCacheDir());
  return siteTargets(site.webroot, site.redirects);
}

function hostUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function manifestCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    'k6-operator manifest',
    {
      args: argv,
      options: {
        hosts: { type: 'string' },
        size: { type: 'string' },
        parallelism: { type: 'string' },
        impl: { type: 'string' },
        duration: { type: 'string' },
        vus: { type: 'string' },
        name: { type: 'string' },
        targets: { type: 'string' },
        separate: { type: 'boolean' },
        image: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    },
    { hosts: 'FILE', size: 'N', parallelism: 'P', impl: 'NAME', duration: '30s', vus: 'N', name: 'NAME', targets: 'RUNDIR', image: 'IMAGE', out: 'FILE' },
  );
  if (values.help) {
    process.stdout.write(K6_OPERATOR_HELP);
    return ExitCode.ok;
  }
  if (values.hosts === undefined)
    throw new UsageError('k6-operator manifest: --hosts FILE is required', 'name the hosts file whose server host the runners load (docs/hosts.md)');
  const size = sizeOf(values.size, 'manifest');
  const parallelism = positiveInt('parallelism', values.parallelism, 'the number of k6 runner pods, e.g. --parallelism 4');
  if (parallelism === undefined)
    throw new UsageError('k6-operator manifest: --parallelism P is required', 'the number of k6 runner pods, e.g. --parallelism 4');
  const impl = implOf(values.impl);
  const durationSeconds = parseDuration(values.duration ?? '30s');
  if (durationSeconds < 1) throw new UsageError(`--duration ${values.duration}: under 1 s`, 'give the measured time, e.g. --duration 30s');
  const vus = positiveInt('vus', values.vus, 'the total VUs over all runners') ?? size.vus * parallelism;
  const name = values.name ?? `server-bench-${impl}-${size.name}cpu`;
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > MAX_NAME_LENGTH)
    throw new UsageError(
      `--name ${name}: not a Kubernetes name`,
      `lower-case letters, digits and "-", starting with a letter, at most ${MAX_NAME_LENGTH} characters`,
    );
  const host = hostOf(readHostsFile(values.hosts), size.name);
  const address = host.generator?.serverAddress ?? host.ssh.host;
  const baseUrl = hostUrl(address, implSpec(impl).sitePort);
  const targets = await targetsOf(values.targets);
  const manifest = buildManifest({
    name,
    parallelism,
    vus,
    durationSeconds,
    baseUrl,
    targets,
    script: await readFile(k6ScriptPath(), 'utf8'),
    labels: { 'app.kubernetes.io/name': 'server-bench', 'server-bench/size': size.name, 'server-bench/impl': impl },
    separate: values.separate ?? false,
    image: values.image ?? null,
  });
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  if (values.out !== undefined) {
    await writeFile(values.out, text);
    process.stderr.write(`server-bench: wrote ${values.out}: TestRun ${name}, ${parallelism} runner(s), ${vus} VUs in all, against ${baseUrl}\n`);
  } else process.stdout.write(text);
  // The units hosts provision installs bind loopback unless the size has a generator machine (hostfiles.ts): the pods are remote.
  process.stderr.write(
    `server-bench: note: the pods must reach ${baseUrl}; hosts provision makes the units listen on 0.0.0.0 only when the size has a "generator" entry, on 127.0.0.1 otherwise (docs/hosts.md, "Not yet")\n`,
  );
  const jobs = runnerJobs(name, parallelism);
  process.stderr.write(
    `server-bench: after kubectl apply, when kubectl get testrun ${name} says finished: for j in ${jobs.join(' ')}; do kubectl logs job/$j > $j.log; done; server-bench k6-operator merge ${jobs.map((j) => `${j}.log`).join(' ')} --size ${size.name} --impl ${impl} --out RUNDIR\n`,
  );
  return ExitCode.ok;
}

/** A runner's summary from a file: k6's JSON, or a pod log holding the script's summary line. */
export async function readRunnerSummary(file: string): Promise<RunnerSummary & { raw: unknown }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'pass the runners’ log or summary files');
  }
  // kubectl logs --prefix puts "[pod/…] " before each line: the summary line may start anywhere.
  const line = text.split('\n').find((l) => l.includes(SUMMARY_LINE_PREFIX));
  const json = line !== undefined ? line.slice(line.indexOf(SUMMARY_LINE_PREFIX) + SUMMARY_LINE_PREFIX.length) : text;
  try {
    const summary = parseK6Summary(json);
    return { name: file, summary, raw: JSON.parse(json) as unknown };
  } catch (err) {
    if (err instanceof InputError) {
      const where = line !== undefined ? `${file} (its ${SUMMARY_LINE_PREFIX.trim()} line)` : file;
      throw new InputError(
        `${where}: ${err.message}`,
        line === undefined && !text.trimStart().startsWith('{') ? `no "${SUMMARY_LINE_PREFIX.trim()}" line and not JSON; ${err.hint}` : err.hint,
      );
    }
    throw err;
  }
}

async function mergeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'k6-operator merge',
    {
      args: argv,
      options: { size: { type: 'string' }, impl: { type: 'string' }, rep: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    },
    { size: 'N', impl: 'NAME', rep: 'N', out: 'RUNDIR' },
  );
  if (values.help) {
    process.stdout.write(K6_OPERATOR_HELP);
    return ExitCode.ok;
  }
  if (positionals.length === 0)
    throw new UsageError('k6-operator merge: no summaries given', 'pass each runner’s log (kubectl logs job/NAME-i) or summary file');
  if (values.out === undefined) throw new UsageError('k6-operator merge: --out RUNDIR is required', 'the run folder the merged cell goes into');
  const size = sizeOf(values.size, 'merge');
  const impl = implOf(values.impl);
  const rep = positiveInt('rep', values.rep, 'the repetition number of the cell') ?? 1;
  const runners = [];
  for (const f of positionals) runners.push(await readRunnerSummary(f));
  const startedAt = new Date().toISOString();
  const merged = mergeK6Summaries(runners);
  const version = runners.map((r) => r.summary.k6Version).find((v) => v !== null) ?? 'unknown';
  const load = normaliseK6(parseK6Summary(merged), { engineVersion: version, loadgenCpuSeconds: null, raw: merged });
  const vusMax = merged.metrics.vus_max?.values.max ?? merged.metrics.vus_max?.values.value;
  const vus = vusMax !== undefined && vusMax >= 1 ? Math.round(vusMax) : size.vus;
  const result: CellResult = {
    schemaVersion: CELL_SCHEMA_VERSION,
    id: cellId(impl, size.name, rep),
    impl,
    size,
    rep,
    order: 0,
    engine: { name: 'k6', version: load.engineVersion },
    vus,
    connections: vus * 6,
    warmupSeconds: 0,
    durationSeconds: load.durationSeconds,
    requests: load.requests,
    reqPerSec: load.requests / load.durationSeconds,
    bytes: load.bytes,
    bytesPerSec: load.bytes / load.durationSeconds,
    latencyMs: load.latencyMs,
    statusCounts: load.statusCounts,
    failedChecks: load.failedChecks,
    errors: load.errors,
    mapFetches: null,
    resources: {
      serverCpuSeconds: null,
      serverPeakRssBytes: null,
      memoryLimitBytes: null,
      memoryEnforced: false,
      serverCpus: [],
      loadgenCpuSeconds: null,
      loadgenCpus: [],
      loadgenUtilisation: null,
    },
    warnings: [...load.warnings, ...mergeWarnings(merged)],
    startedAt,
    finishedAt: startedAt,
    raw: merged,
  };
  const dir = await writeCell(values.out, result, renderTextSummary(result));
  const lat = merged.serverBenchMerge.metrics.http_req_duration?.stats ?? {};
  const show = (k: string) => {
    const s = lat[k];
    if (!s) return `${k} –`;
    return 'low' in s
      ? `${k} ${s.exact ? s.high.toFixed(3) : `${s.low.toFixed(3)}–${s.high.toFixed(3)} (bound)`}`
      : `${k} ${s.value.toFixed(3)}${s.exact ? '' : ' (not exact)'}`;
  };
  process.stdout.write(
    `${dir}: ${runners.length} runner(s), ${result.requests} requests, ${result.reqPerSec.toFixed(1)} req/s over ${result.durationSeconds.toFixed(1)} s, ${result.bytes} bytes, ${result.failedChecks} failed checks\n` +
      `latency ms: ${['min', 'avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'].map(show).join(', ')}\n`,
  );
  for (const w of result.warnings) process.stdout.write(`warning (${w.code}): ${w.message}\n`);
  return ExitCode.ok;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(K6_OPERATOR_HELP);
      return sub === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (sub === 'manifest') return await manifestCommand(rest);
    if (sub === 'merge') return await mergeCommand(rest);
    throw new UsageError(`k6-operator ${sub}: not a k6-operator command`, 'use k6-operator manifest or k6-operator merge');
  } catch (err) {
    return reportError(err);
  }
}
