// The implementation registry: how to obtain each server and start it locally. Its shared facts
// (description, ports, metric prefix, environment) come from matrix/impls.json (matrix-files.ts),
// which the flake's VM units are made from too. The harness has no per-implementation code paths
// beyond these records. Every implementation listens on 8080/8081, as gosherve must, unless --port
// moves the movable ones (impl-ports.ts); only one server runs at a time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Impl, ImplContext, LaunchSpec, Redirect } from '../contracts.js';
import { BenchError, UsageError } from '../errors.js';
import { gosherveSpecImpl, gosherveTagImpl, parseGosherveSpec, tagEnvVar } from './gosherve.js';
import { launchEnvironment } from './impl-ports.js';
import { implSpec, type ImplSpec } from '../run/matrix-files.js';
import { nginxVersion, renderNginxConfig } from './nginx.js';
import { DEFAULT_SERVER_LOGS, type RequestLogging, type ServerLogs } from './serverlogs.js';
import { parseServySpec, servy, servyCheckoutImpl } from './servy.js';

/** The fields of an Impl that matrix/impls.json holds. */
function specFields(spec: ImplSpec): Pick<Impl, 'name' | 'description' | 'reference' | 'sitePort' | 'metricsPort' | 'metricPrefix'> {
  const { name, description, reference, sitePort, metricsPort, metricPrefix } = spec;
  return { name, description, reference, sitePort, metricsPort, metricPrefix };
}

/**
 * What the local harness passes beyond the shared ImplContext: the parsed redirects (nginx has no
 * map fetching, so its redirects are written into its config) and a scratch folder for config files.
 */
export interface LocalImplContext extends ImplContext {
  redirects?: Redirect[];
  workDir?: string;
}

/** `$SERVER_BENCH_CACHE` or `~/.cache/server-bench`: where gosherve binaries are built and kept. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SERVER_BENCH_CACHE && env.SERVER_BENCH_CACHE !== '' ? resolve(env.SERVER_BENCH_CACHE) : join(homedir(), '.cache', 'server-bench');
}

/** The repository root (the folder holding package.json), found from this module's location. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

// ---------------------------------------------------------------- tsherve

function tsherveCli(): string {
  return join(repoRoot(), 'dist', 'servers', 'tsherve', 'src', 'cli.js');
}

/**
 * The Node flags in a script's `#!/usr/bin/env -S node <flags>` line, so the harness starts tsherve
 * exactly as its executable runs (it starts `node <cli.js>` itself, which skips the shebang).
 */
export function shebangNodeFlags(firstLine: string): string[] {
  const m = /^#!\S*env\s+-S\s+node((?:\s+-\S+)*)\s*$/.exec(firstLine);
  return m
    ? (m[1] ?? '')
        .trim()
        .split(/\s+/)
        .filter((f) => f !== '')
    : [];
}

function tsherveNodeFlags(cli: string): string[] {
  try {
    return shebangNodeFlags(readFileSync(cli, 'utf8').split('\n', 1)[0] ?? '');
  } catch {
    return []; // prepare() reports a missing build
  }
}

const tsherveSpec = implSpec('tsherve');

/**
 * bench --profile: V8 writes /tmp/perf-<pid>.map naming its JIT code, and gives interpreted frames
 * a native frame of their own, so perf shows JavaScript function names (workers inherit the flags).
 * The flag also turns on V8's log, which would write isolate-*.log into the working folder: "+"
 * sends it to an unlinked temporary file instead.
 */
export const NODE_PROFILE_FLAGS: readonly string[] = ['--perf-basic-prof', '--interpreted-frames-native-stack', '--logfile=+', '--no-logfile-per-isolate'];

export const tsherve: Impl = {
  ...specFields(tsherveSpec),
  movablePorts: true,
  async prepare() {
    const cli = tsherveCli();
    if (!existsSync(cli)) return { unavailable: `tsherve: ${cli} is missing; build it with npm run build` };
    try {
      const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version?: string };
      return { version: `${pkg.version ?? 'unknown'} (node ${process.version})` };
    } catch {
      return { version: `unknown (node ${process.version})` };
    }
  },
  launch(ctx: ImplContext): LaunchSpec {
    return {
      command: process.execPath,
      args: [...tsherveNodeFlags(tsherveCli()), ...(ctx.profile ? NODE_PROFILE_FLAGS : []), tsherveCli()],
      // One worker per server CPU; log level info (requests are logged at debug: the hot path stays quiet).
      env: launchEnvironment(tsherveSpec, ctx),
    };
  },
  // Its own default is info, and requests are logged at debug only: quiet in both modes.
  logging: () => ({ perRequest: false, setting: 'TSHERVE_LOG_LEVEL=info (requests only at debug)' }),
};

/** Bun: the repository's pinned dev dependency (npm ci), else `bun` on PATH. */
function bunExecutable(): string {
  const local = join(repoRoot(), 'node_modules', '.bin', 'bun');
  return existsSync(local) ? local : 'bun';
}

/** tsherve on Bun (servers/tsherve/src/runtime-bun.ts): the same tree and settings, started by Bun directly. */
const tsherveBunSpec = implSpec('tsherve-bun');
const tsherveBun: Impl = {
  ...specFields(tsherveBunSpec),
  movablePorts: true,
  async prepare() {
    const cli = tsherveCli();
    if (!existsSync(cli)) return { unavailable: `tsherve-bun: ${cli} is missing; build it with npm run build` };
    try {
      const { stdout } = await execa(bunExecutable(), ['--version'], { timeout: 10_000 });
      const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version?: string };
      return { version: `${pkg.version ?? 'unknown'} (bun ${stdout.trim()})` };
    } catch {
      return { unavailable: 'tsherve-bun: bun is not installed (npm ci installs the pinned one, or put bun on PATH)' };
    }
  },
  logging: () => ({ perRequest: false, setting: 'TSHERVE_LOG_LEVEL=info (requests only at debug)' }),
  launch(ctx: ImplContext): LaunchSpec {
    return {
      command: bunExecutable(),
      args: [tsherveCli()],
      env: launchEnvironment(tsherveBunSpec, ctx),
    };
  },
};

// ---------------------------------------------------------------- gosherve (gosherve.ts)

/** The built-in gosherve releases: their tag and the variables that name a binary, in the order tried. */
export const GOSHERVE_TAGS = {
  'gosherve-old': { tag: 'v0.3.3', envVars: ['SERVER_BENCH_GOSHERVE_OLD_BIN', tagEnvVar('v0.3.3')] },
  gosherve: { tag: 'v0.3.5', envVars: ['SERVER_BENCH_GOSHERVE_BIN', tagEnvVar('v0.3.5')] },
} as const;
const gosherveOld = gosherveTagImpl('gosherve-old', GOSHERVE_TAGS['gosherve-old'].tag, GOSHERVE_TAGS['gosherve-old'].envVars);
export const gosherve = gosherveTagImpl('gosherve', GOSHERVE_TAGS.gosherve.tag, GOSHERVE_TAGS.gosherve.envVars);

// ---------------------------------------------------------------- nginx (reference)

const nginxSpec = implSpec('nginx');

export const nginx: Impl = {
  ...specFields(nginxSpec),
  movablePorts: true,
  async prepare() {
    const v = await nginxVersion();
    return v === null ? { unavailable: 'nginx: not installed (apt-get install -y nginx-light, or leave it out of --impls)' } : { version: v };
  },
  launch(ctx: LocalImplContext): LaunchSpec {
    const prefix = ctx.workDir ?? join(ctx.cacheDir, 'nginx');
    mkdirSync(prefix, { recursive: true });
    // As root, nginx's worker would drop to "nobody", who cannot read a webroot under /root.
    const accessLog = nginxLogging(ctx.serverLogs ?? DEFAULT_SERVER_LOGS).perRequest;
    // One worker per core of the cell, as tsherve and tsherve-bun get (one worker left nginx on one core at sizes 2 and 16).
    const conf = renderNginxConfig({
      webroot: ctx.webroot,
      redirects: ctx.redirects ?? [],
      port: ctx.ports?.site ?? nginxSpec.sitePort,
      host: ctx.host,
      prefixDir: prefix,
      workers: Math.max(1, ctx.cpus),
      runAsRoot: process.getuid?.() === 0,
      accessLog,
    });
    const confPath = join(prefix, 'nginx.conf');
    writeFileSync(confPath, conf);
    return { command: 'nginx', args: ['-p', prefix, '-c', confPath, '-e', 'stderr'], env: {} };
  },
  logging: (mode) => nginxLogging(mode),
};

/** shipped: Debian's nginx.conf logs every request (access_log /var/log/nginx/access.log), so ours does too. */
function nginxLogging(mode: ServerLogs): RequestLogging {
  return mode === 'quiet'
    ? { perRequest: false, setting: 'access_log off' }
    : { perRequest: true, setting: 'access_log <prefix>/access.log (combined, as Debian ships it)' };
}

/** Every built-in implementation; the order is the default interleaving order. */
export const IMPLS: readonly Impl[] = [gosherveOld, gosherve, servy, tsherve, tsherveBun, nginx];

export const IMPL_NAMES: readonly string[] = IMPLS.map((i) => i.name);

export function implByName(name: string): Impl {
  const impl = IMPLS.find((i) => i.name === name);
  if (!impl)
    throw new UsageError(`unknown implementation "${name}"`, `valid: ${IMPL_NAMES.join(', ')}, or gosherve@<tag> / gosherve@./checkout / servy@./checkout`);
  return impl;
}

/**
 * `--impls` entries → implementations, in order, without duplicates: built-in names, `gosherve@<tag>`
 * (any tag go install can get), `gosherve@./path` and `servy@./path` (checkouts, named after their folder). Every bad
 * entry is collected in `problems` instead of stopping at the first.
 */
export function resolveImpls(specs: readonly string[], problems: BenchError[] = []): Impl[] {
  const out: Impl[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    try {
      let impl: Impl;
      if (spec.startsWith('gosherve@')) {
        const parsed = parseGosherveSpec(spec.slice('gosherve@'.length));
        impl = gosherveSpecImpl(parsed, [...IMPL_NAMES, ...out.map((i) => i.name)]);
        if (parsed.kind === 'checkout') {
          if (seen.has(`dir:${parsed.dir}`)) continue;
          seen.add(`dir:${parsed.dir}`);
        }
      } else if (spec.startsWith('servy@')) {
        const { dir } = parseServySpec(spec.slice('servy@'.length));
        if (seen.has(`dir:${dir}`)) continue;
        seen.add(`dir:${dir}`);
        impl = servyCheckoutImpl(dir, [...IMPL_NAMES, ...out.map((i) => i.name)]);
      } else impl = implByName(spec);
      if (out.some((i) => i.name === impl.name)) continue;
      out.push(impl);
    } catch (err) {
      if (err instanceof BenchError) problems.push(err);
      else throw err;
    }
  }
  return out;
}

/**
 * The default set: every non-reference implementation, plus the nginx reference when nginx is
 * installed (a reference that is available costs one cell per size and gives the reports their
 * "fraction of the best" column; when it is missing it is simply left out, not reported as skipped).
 */
export async function defaultImpls(): Promise<Impl[]> {
  const out = IMPLS.filter((i) => !i.reference);
  if ((await nginxVersion()) !== null) out.push(nginx);
  return out;
}
