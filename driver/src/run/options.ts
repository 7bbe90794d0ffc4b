// Every flag of `server-bench bench` as one table, which drives parsing (node:util parseArgs,
// strict), the --help of each backend, and the typed values a RunPlan is made from (plan.ts). The
// options every cell runs with come from cell-options.ts; the rest are the run's axes, its site,
// where it goes, and the VM backend's own knobs. verify and prepare take a subset.
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { joinDashValues, parseCommandArgs } from '../cli/args.js';
import { parseDuration } from '../cli/duration.js';
import { BenchError, collect, throwProblems, UsageError } from '../errors.js';
import { parsePortFlag, type PortRequest } from '../servers/impl-ports.js';
import { IMPL_NAMES } from '../servers/registry.js';
import { LoadgenSchema, type Loadgen, type Size } from '../results/schema.js';
import { DEFAULT_SEED, DEFAULT_SITE_BYTES } from '../site/generate.js';
import { DEFAULT_SIZES } from './sizes.js';
import { DEFAULT_PROFILE_HZ } from '../profile/recorder.js';
import { parseImageFlag, type ImageFlavour } from '../vm/runner-debian.js';
import { parseParcaFlag, type ParcaTarget } from '../vm/parca.js';
import { CELL_OPTIONS, optionDefault, positiveInt, type BackendName, type OptionSpec } from './cell-options.js';

export type { BackendName, OptionSpec };

const ENGINE_CHOICES = ['auto', 'wrk', 'k6'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];
const LOADGEN_CHOICES = LoadgenSchema.options;
export type { Loadgen };

function option<T>(o: OptionSpec<T>): OptionSpec<T> {
  return o;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function choice<C extends string>(flag: string, choices: readonly C[], what: string): (text: string) => C {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) throw new UsageError(`--${flag}: unknown ${what} "${text}"`, `valid: ${choices.join(', ')}`);
    return text as C;
  };
}

/** "40MB", "2MiB", "500k", "123456" → bytes. */
export function parseBytes(text: string, flag: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: bad size "${text}"`, `${flag} takes a size like 40MB, 2MB or 500KB`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const base = unit.includes('i') ? 1024 : 1000;
  const pow = unit.startsWith('k') ? 1 : unit.startsWith('m') ? 2 : unit.startsWith('g') ? 3 : 0;
  const n = Math.round(Number(m[1]) * base ** pow);
  if (n < 100_000) throw new UsageError(`${flag}: ${text} is too small`, `${flag} needs at least 100KB`);
  return n;
}

/** `--sizes 1,2` → the sizes, in the order given; every unknown one is a problem of its own. */
function parseSizes(text: string): Size[] {
  const problems: BenchError[] = [];
  const sizes: Size[] = [];
  const names = list(text);
  if (names.length === 0) problems.push(new UsageError('--sizes: empty list', `valid: ${DEFAULT_SIZES.map((d) => d.name).join(', ')}`));
  for (const n of names) {
    const s = DEFAULT_SIZES.find((d) => d.name === n);
    if (!s) problems.push(new UsageError(`unknown size "${n}"`, `--sizes takes vCPU counts from: ${DEFAULT_SIZES.map((d) => d.name).join(', ')}`));
    else if (!sizes.includes(s)) sizes.push(s);
  }
  throwProblems(problems);
  return sizes;
}

/**
 * The bench flags in --help order. The key is the value's name in BenchValues (and, for the cell
 * options, in run.json's config and a CellSpec); `flag` is what the user types.
 */
export const BENCH_FLAGS = {
  impls: option<string[] | null>({
    flag: 'impls',
    arg: 'LIST',
    help: (b) =>
      b === 'vm'
        ? `implementations, comma-separated (${IMPL_NAMES.join(', ')});\ndefault: all of them (the VMs carry every one; not gosherve@… or servy@…)`
        : [
            `implementations, comma-separated (${IMPL_NAMES.join(', ')}),`,
            'gosherve@<tag> (any tag go install can get, e.g. gosherve@v0.3.7),',
            'gosherve@./path (built from your checkout, named after its folder) or',
            'servy@./path (a servy checkout, built with cargo for each site);',
            'default: all but nginx, plus the nginx reference when nginx is installed',
          ].join('\n'),
    default: null,
    parse: (text) => {
      const names = list(text);
      if (names.length === 0) throw new UsageError('--impls: empty list', `valid: ${IMPL_NAMES.join(', ')}`);
      return names;
    },
  }),
  sizes: option<Size[]>({
    flag: 'sizes',
    arg: 'LIST',
    help: (b) => `sizes by vCPU count: 1,2,16 (default all; ${b === 'vm' ? 'one VM each' : 'sizes that do not fit are skipped'})`,
    default: [...DEFAULT_SIZES],
    parse: parseSizes,
  }),
  reps: option<number>({
    flag: 'reps',
    arg: 'N',
    help: 'repetitions per implementation and size (default 3)',
    default: 3,
    parse: (t) => positiveInt(t, '--reps'),
  }),
  ...CELL_OPTIONS,
  engine: option<EngineChoice>({
    flag: 'engine',
    arg: 'E',
    help: (b) => (b === 'vm' ? 'k6 (default) | wrk, inside the VM' : 'auto | wrk | k6 (default auto: k6 when installed, else wrk)'),
    default: (b) => (b === 'vm' ? 'k6' : 'auto'),
    parse: choice('engine', ENGINE_CHOICES, 'engine'),
  }),
  loadgen: option<Loadgen>({
    flag: 'loadgen',
    arg: 'P',
    help: 'dedicated (the load generator gets cores of its own, default) | shared',
    default: 'dedicated',
    parse: choice('loadgen', LOADGEN_CHOICES, 'placement'),
  }),
  webroot: option<string | null>({
    flag: 'webroot',
    arg: 'DIR',
    help: 'benchmark your own site instead of the generated one',
    backends: ['local'],
    default: null,
    parse: (t) => t,
  }),
  redirects: option<string | null>({
    flag: 'redirects',
    arg: 'FILE',
    help: 'its redirect map (one "alias https://target" per line)',
    backends: ['local'],
    default: null,
    parse: (t) => t,
  }),
  siteSize: option<number>({
    flag: 'site-size',
    arg: 'SIZE',
    help: 'size of the generated site (default 40MB)',
    backends: ['local'],
    default: DEFAULT_SITE_BYTES,
    parse: (t) => parseBytes(t, '--site-size'),
  }),
  seed: option<number>({
    flag: 'seed',
    arg: 'N',
    help: 'seed of the generated site (default 1)',
    backends: ['local'],
    default: DEFAULT_SEED,
    parse: (t) => {
      if (!/^-?[0-9]+$/.test(t)) throw new UsageError(`--seed: "${t}" is not an integer`, 'for example --seed 1');
      return Number(t);
    },
  }),
  out: option<string | null>({
    flag: 'out',
    arg: 'DIR',
    help: "this run's folder (default reports/<run-id>)",
    default: null,
    parse: (t) => resolve(t),
  }),
  resume: option<string | null>({
    flag: 'resume',
    arg: 'RUN_ID',
    help: 'run only the cells missing from reports/<RUN_ID> (its configuration wins)',
    backends: ['local'],
    default: null,
    parse: (t) => t,
  }),
  port: option<PortRequest>({
    flag: 'port',
    arg: 'N|auto',
    help: 'site port N, metrics on N+1 (default 8080); auto: the first free pair from 8080,\nheld for the run so two runs do not collide. gosherve listens on 8080 only',
    backends: ['local'],
    default: null,
    parse: parsePortFlag,
  }),
  reference: option<string | null>({
    flag: 'reference',
    arg: 'IMPL',
    help: 'implementation the reports compare against (default gosherve)',
    default: null,
    parse: (t) => t,
  }),
  profile: option<boolean>({
    flag: 'profile',
    help: (b) =>
      [
        'add one profiled repetition per implementation and size: perf samples the',
        `server on CPU during its measured run${b === 'vm' ? ' (perf in the guest)' : ''}; profile.proto (pprof) and`,
        'profile.folded per cell, flame graphs in report.html, top functions in',
        'report.md; profiled repetitions stay out of the statistics',
      ].join('\n'),
    default: false,
  }),
  profileHz: option<number>({
    flag: 'profile-hz',
    arg: 'N',
    help: 'sampling rate (default 99; perf itself limits the rate)',
    default: DEFAULT_PROFILE_HZ,
    parse: (t) => {
      const hz = positiveInt(t, '--profile-hz');
      if (hz > 10_000) throw new UsageError(`--profile-hz: ${hz} is too high`, 'use 99 (default) up to 999; perf itself limits the rate');
      return hz;
    },
  }),
  profileCallGraph: option<'fp' | 'dwarf'>({
    flag: 'profile-call-graph',
    arg: 'fp|dwarf',
    help: 'how perf walks stacks: fp (frame pointers, default) | dwarf',
    default: 'fp',
    parse: (t) => {
      if (t !== 'fp' && t !== 'dwarf') throw new UsageError(`--profile-call-graph: unknown "${t}"`, 'valid: fp (frame pointers, default), dwarf');
      return t;
    },
  }),
  profileInStats: option<boolean>({ flag: 'profile-in-stats', help: 'count the profiled repetitions in the statistics too', default: false }),
  json: option<boolean>({
    flag: 'json',
    help: 'print the results as JSON on stdout instead of the table',
    default: false,
  }),
  backend: option<BackendName>({
    flag: 'backend',
    arg: 'B',
    help: 'local (default) | vm: run the cells in NixOS VMs (see server-bench bench --backend vm --help)',
    default: 'local',
    parse: (t) => {
      if (t !== 'local' && t !== 'vm') throw new UsageError(`--backend: "${t}" is not a backend`, 'use --backend local (default) or --backend vm');
      return t;
    },
  }),
  image: option<ImageFlavour>({
    flag: 'image',
    arg: 'I',
    help: "nix (the flake's NixOS VMs, default) | debian (the Debian guest image, built here\nand cached: server-bench vm image --help; KVM when it boots the guest, else TCG; wrk)",
    backends: ['vm'],
    default: 'nix',
    parse: (t) => parseImageFlag(t),
  }),
  allowTcg: option<boolean>({
    flag: 'allow-tcg',
    help: 'run without KVM (emulated; every number is marked so)',
    backends: ['vm'],
    default: false,
  }),
  runner: option<string | null>({
    flag: 'runner',
    arg: 'PATH',
    help: 'the VM runner (bin/run-bench-<size>-vm) when one size is given',
    backends: ['vm'],
    default: null,
    parse: (t) => t,
  }),
  parca: option<ParcaTarget | null>({
    flag: 'parca',
    arg: 'HOST:PORT',
    help: "run Parca's agent in each NixOS VM, sending its profiles to this Parca server\n(as this machine reaches it); nix/README.md",
    backends: ['vm'],
    default: null,
    parse: (t) => parseParcaFlag(t),
  }),
  sshTimeoutSeconds: option<number | null>({
    flag: 'ssh-timeout',
    arg: 'D',
    help: "how long to wait for the VM's SSH (default 3m, 10m under TCG)",
    backends: ['vm'],
    default: null,
    parse: (t) => parseDuration(t, '--ssh-timeout'),
  }),
};

export type BenchFlags = typeof BENCH_FLAGS;
/** The typed value of every flag in a table. */
export type FlagValues<F> = { [K in keyof F]: F[K] extends OptionSpec<infer T> ? T : never };
export type BenchValues = FlagValues<BenchFlags>;
type AnyTable = Record<string, OptionSpec<unknown>>;

/** A part of a table, for commands that take some of bench's flags (verify, prepare). */
export function pickFlags<K extends keyof BenchFlags>(keys: readonly K[]): Pick<BenchFlags, K> {
  return Object.fromEntries(keys.map((k) => [k, BENCH_FLAGS[k]])) as Pick<BenchFlags, K>;
}

/** What the command line said: each flag's text (or true for a switch), and whether --help was asked. */
export interface RawFlags {
  text: Record<string, string | boolean | undefined>;
  help: boolean;
}

/** The command line against a table: strict (an unknown flag or a stray argument is a usage line). */
export function readFlags(command: string, argv: readonly string[], table: AnyTable): RawFlags {
  const options: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' } };
  for (const o of Object.values(table)) options[o.flag] = { type: o.arg === undefined ? 'boolean' : 'string' };
  const valueArgs = Object.fromEntries(Object.values(table).flatMap((o) => (o.arg !== undefined ? [[o.flag, o.arg]] : [])));
  const parsed = parseCommandArgs(
    command,
    { args: joinDashValues(argv, new Set(Object.keys(valueArgs))), options, strict: true, allowPositionals: true },
    valueArgs,
  );
  if (parsed.positionals.length > 0) throw new UsageError(`${command}: unexpected argument "${parsed.positionals[0]}"`, `see server-bench ${command} --help`);
  // Every option is a single string or a switch (none is `multiple`).
  const { help, ...text } = parsed.values as Record<string, string | boolean | undefined>;
  return { text, help: help === true };
}

/**
 * Every flag's value for `backend`: parsed where given, the default where not. Problems (a bad
 * value, a flag the backend does not take) are collected, not thrown, so all are reported at once.
 */
export function flagValues<F extends AnyTable>(table: F, raw: RawFlags, backend: BackendName, problems: BenchError[]): FlagValues<F> {
  const out: Record<string, unknown> = {};
  for (const [key, o] of Object.entries(table)) {
    const fallback = optionDefault(o, backend);
    const given = raw.text[o.flag];
    out[key] = fallback;
    if (given === undefined) continue;
    if (o.backends !== undefined && !o.backends.includes(backend)) {
      problems.push(
        o.refusal
          ? new UsageError(`--${o.flag}: ${o.refusal.message}`, o.refusal.hint)
          : new UsageError(`--${o.flag} is not taken by --backend ${backend}`, `see server-bench bench --backend ${backend} --help`),
      );
      continue;
    }
    if (typeof given === 'boolean' || o.parse === undefined) out[key] = true;
    else out[key] = collect(problems, () => (o.parse as (t: string) => unknown)(given), fallback);
  }
  return out as FlagValues<F>;
}

/** The flags `backend` takes, as --help lines: `  --flag ARG   what it does`. */
export function renderFlagHelp(table: AnyTable, backend: BackendName): string {
  const lines: string[] = [];
  for (const o of Object.values(table)) {
    if (o.backends !== undefined && !o.backends.includes(backend)) continue;
    const left = `--${o.flag}${o.arg !== undefined ? ` ${o.arg}` : ''}`;
    const text = (typeof o.help === 'function' ? o.help(backend) : o.help).split('\n');
    lines.push(`  ${left.padEnd(18)}  ${text[0] ?? ''}`.trimEnd());
    for (const more of text.slice(1)) lines.push(`${' '.repeat(22)}${more}`);
  }
  return `${lines.join('\n')}\n`;
}
