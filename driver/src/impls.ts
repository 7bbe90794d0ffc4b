// The implementation registry: how to obtain each server and start it locally. Its shared facts
// (description, ports, metric prefix, environment) come from matrix/impls.json (matrix-files.ts),
// which the flake's VM units are made from too. The harness has no per-implementation code paths
// beyond these records. Ports are fixed (8080/8081) for every implementation, as gosherve's are,
// so every cell is alike (same ports, same checks) and only one server runs at a time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { access, constants, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Impl, ImplContext, LaunchSpec, Redirect } from './contracts.js';
import { tail, UsageError } from './errors.js';
import { implEnvironment, implSpec, type ImplSpec } from './matrix-files.js';
import { nginxVersion, renderNginxConfig } from './nginx.js';

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

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
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
  return m ? (m[1] ?? '').trim().split(/\s+/).filter((f) => f !== '') : [];
}

function tsherveNodeFlags(cli: string): string[] {
  try {
    return shebangNodeFlags(readFileSync(cli, 'utf8').split('\n', 1)[0] ?? '');
  } catch {
    return []; // prepare() reports a missing build
  }
}

const tsherveSpec = implSpec('tsherve');

export const tsherve: Impl = {
  ...specFields(tsherveSpec),
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
      args: [...tsherveNodeFlags(tsherveCli()), tsherveCli()],
      // One worker per server CPU; log level info (requests are logged at debug: the hot path stays quiet).
      env: implEnvironment(tsherveSpec, { webroot: ctx.webroot, mapUrl: ctx.mapUrl, host: ctx.host, cpus: Math.max(1, ctx.cpus) }),
    };
  },
};

// ---------------------------------------------------------------- gosherve

/** Log level given to gosherve (matrix/impls.json): info, as upstream's default (one log line per request). */
export const GOSHERVE_LOG_LEVEL: string = implSpec('gosherve').environment.GOSHERVE_LOG_LEVEL ?? '(gosherve default)';

function gosherveImpl(name: string, tag: string, envOverride: string): Impl {
  const spec = implSpec(name);
  const cachedBin = (cacheDir: string) => join(cacheDir, 'gosherve', tag, 'bin', 'gosherve');
  const resolveBin = (ctx: ImplContext) => {
    const override = process.env[envOverride];
    return override && override !== '' ? resolve(override) : cachedBin(ctx.cacheDir);
  };
  return {
    ...specFields(spec),
    async prepare(ctx) {
      const override = process.env[envOverride];
      if (override && override !== '') {
        if (await isExecutable(resolve(override))) return { version: `${tag} (${resolve(override)})` };
        return { unavailable: `${name} ${tag}: ${envOverride}=${override} is not an executable file (point it at a gosherve ${tag} binary)` };
      }
      const bin = cachedBin(ctx.cacheDir);
      if (await isExecutable(bin)) return { version: tag };
      const gobin = dirname(bin);
      const how = `build it into ${bin} (GOBIN=${gobin} go install github.com/jnsgruk/gosherve/cmd/gosherve@${tag}, from a module cache or a git checkout of that tag) or set ${envOverride}`;
      let cause: string;
      try {
        await mkdir(gobin, { recursive: true });
        await execa('go', ['install', `github.com/jnsgruk/gosherve/cmd/gosherve@${tag}`], {
          env: { GOBIN: gobin },
          timeout: 300_000,
        });
        if (await isExecutable(bin)) return { version: tag };
        cause = 'go install finished but produced no binary';
      } catch (err) {
        const e = err as { code?: string; exitCode?: number; stderr?: string; timedOut?: boolean; shortMessage?: string };
        if (e.code === 'ENOENT') cause = 'go is not installed';
        else if (e.timedOut) cause = 'go install timed out';
        else cause = `go install failed: ${tail(e.stderr ?? e.shortMessage ?? String(err), 1)}`;
      }
      return { unavailable: `${name} ${tag}: ${cause}; ${how}` };
    },
    launch(ctx) {
      return {
        command: resolveBin(ctx),
        args: [],
        env: implEnvironment(spec, { webroot: ctx.webroot, mapUrl: ctx.mapUrl, host: ctx.host, cpus: Math.max(1, ctx.cpus) }),
      };
    },
  };
}

export const gosherveOld = gosherveImpl('gosherve-old', 'v0.3.3', 'SERVER_BENCH_GOSHERVE_OLD_BIN');
export const gosherve = gosherveImpl('gosherve', 'v0.3.5', 'SERVER_BENCH_GOSHERVE_BIN');

// ---------------------------------------------------------------- nginx (reference)

const nginxSpec = implSpec('nginx');

export const nginx: Impl = {
  ...specFields(nginxSpec),
  async prepare() {
    const v = await nginxVersion();
    return v === null ? { unavailable: 'nginx: not installed (apt-get install -y nginx-light, or leave it out of --impls)' } : { version: v };
  },
  launch(ctx: LocalImplContext): LaunchSpec {
    const prefix = ctx.workDir ?? join(ctx.cacheDir, 'nginx');
    mkdirSync(prefix, { recursive: true });
    // As root, nginx's worker would drop to "nobody", who cannot read a webroot under /root.
    const conf = renderNginxConfig({ webroot: ctx.webroot, redirects: ctx.redirects ?? [], port: nginxSpec.sitePort, host: ctx.host, prefixDir: prefix, runAsRoot: process.getuid?.() === 0 });
    const confPath = join(prefix, 'nginx.conf');
    writeFileSync(confPath, conf);
    return { command: 'nginx', args: ['-p', prefix, '-c', confPath, '-e', 'stderr'], env: {} };
  },
};

/** Every built-in implementation; the order is the default interleaving order. */
export const IMPLS: readonly Impl[] = [gosherveOld, gosherve, tsherve, nginx];

export const IMPL_NAMES: readonly string[] = IMPLS.map((i) => i.name);

export function implByName(name: string): Impl {
  const impl = IMPLS.find((i) => i.name === name);
  if (!impl) throw new UsageError(`unknown implementation "${name}"`, `valid: ${IMPL_NAMES.join(', ')}`);
  return impl;
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
