// bench --port: which ports the servers listen on. By default 8080/8081, as gosherve's are fixed
// there (no flag for either). `--port N` moves the others to N (site) and N+1 (metrics); `--port
// auto` takes the first free pair from 8080 up. Either way the pair is held for the run with a
// lock file naming our pid (in the temporary folder), so a second run given --port auto takes the
// next pair instead of colliding with the first between two cells. gosherve runs only on 8080/8081.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Impl, ImplContext } from '../contracts.js';
import { EnvironmentError, UsageError } from '../errors.js';
import { implEnvironment, type ImplSpec } from '../run/matrix-files.js';
import { canBind, findListener } from './ports.js';

const DEFAULT_SITE_PORT = 8080;
/** How far --port auto looks: pairs from 8080 to 8178. */
const AUTO_PAIRS = 50;

export type PortRequest = number | 'auto' | null;

/** `--port` text → a site port (1024–65534: the metrics port is the next one) or 'auto'. */
export function parsePortFlag(text: string): number | 'auto' {
  if (text === 'auto') return 'auto';
  if (!/^[0-9]+$/.test(text) || Number(text) < 1024 || Number(text) > 65534)
    throw new UsageError(`--port: "${text}" is not a port from 1024 to 65534`, 'for example --port 9080 (metrics on 9081), or --port auto');
  return Number(text);
}

/**
 * An implementation's environment for one launch: its matrix/impls.json template filled from the
 * context, with the ports --port moved it to (onPorts sets ctx.ports). Every launch that has a
 * template takes it from here, so a movable server gets its ports without a line of its own.
 */
export function launchEnvironment(spec: ImplSpec, ctx: ImplContext): Record<string, string> {
  const ports = ctx.ports ? { sitePort: ctx.ports.site, metricsPort: ctx.ports.metrics } : {};
  return implEnvironment(spec, { webroot: ctx.webroot, mapUrl: ctx.mapUrl, host: ctx.host, cpus: Math.max(1, ctx.cpus), ...ports });
}

/** The implementation on other ports: its record says them (URLs, checks) and its launch gets them. */
export function onPorts(impl: Impl, site: number): Impl {
  if (site === impl.sitePort) return impl;
  const ports = { site, metrics: site + 1 };
  return { ...impl, sitePort: ports.site, metricsPort: impl.metricsPort === null ? null : ports.metrics, launch: (ctx) => impl.launch({ ...ctx, ports }) };
}

/** Why an implementation cannot run on `site`, or null when it can. */
export function cannotMove(impl: Impl, site: number): string | null {
  if (site === impl.sitePort || impl.movablePorts === true) return null;
  return `${impl.name} listens on ${impl.sitePort}${impl.metricsPort !== null ? `/${impl.metricsPort}` : ''} only (no flag changes them); --port ${site} moves the others`;
}

const lockDir = (): string => join(tmpdir(), 'server-bench-ports');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Hold `site` for this process: false when another live process holds it. */
function takeLock(site: number): boolean {
  mkdirSync(lockDir(), { recursive: true });
  const file = join(lockDir(), `${site}.pid`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (holder === process.pid) return true;
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) return false;
      rmSync(file, { force: true }); // a run that died without releasing it
    }
  }
  return false;
}

async function pairFree(site: number): Promise<boolean> {
  for (const p of [site, site + 1]) {
    if ((await findListener(p)) !== null) return false;
    if (!(await canBind(p, '0.0.0.0')) || !(await canBind(p, '127.0.0.1'))) return false;
  }
  return true;
}

export interface HeldPorts {
  site: number;
  release(): void;
}

/**
 * The site port this run uses, held until `release`: the default (not held: the busy-port check
 * names whoever has it), the one asked for, or the first free pair (auto).
 */
export async function holdPorts(request: PortRequest): Promise<HeldPorts> {
  const held = (site: number): HeldPorts => ({ site, release: () => rmSync(join(lockDir(), `${site}.pid`), { force: true }) });
  if (request === null) return { site: DEFAULT_SITE_PORT, release: () => undefined };
  if (request !== 'auto') {
    if (!takeLock(request))
      throw new EnvironmentError(
        `--port ${request}: another server-bench run holds it (${join(lockDir(), `${request}.pid`)})`,
        'pass --port auto to take a free pair, or another port',
      );
    return held(request);
  }
  for (let i = 0; i < AUTO_PAIRS; i++) {
    const site = DEFAULT_SITE_PORT + 2 * i;
    if (!takeLock(site)) continue;
    if (await pairFree(site)) return held(site);
    rmSync(join(lockDir(), `${site}.pid`), { force: true });
  }
  throw new EnvironmentError(
    `--port auto: no free pair of ports from ${DEFAULT_SITE_PORT} to ${DEFAULT_SITE_PORT + 2 * AUTO_PAIRS - 1}`,
    'free one, or pass --port N for a port outside that range',
  );
}
