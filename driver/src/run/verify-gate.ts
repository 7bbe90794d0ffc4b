// `server-bench verify`: the verification gate alone. Each implementation in turn is started on the
// site (local supervisor, no pinning), verified against the site's target list (targets.ts,
// verify.ts), and stopped: no load.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Impl } from '../contracts.js';
import type { LocalImplContext } from '../servers/registry.js';
import { startMapServer } from '../site/map-server.js';
import type { Verification } from '../results/schema.js';
import type { ServerLogs } from '../servers/serverlogs.js';
import { killAllServersNow, localSupervisor } from '../servers/supervisor-local.js';
import { siteTargets } from '../site/targets.js';
import { verify } from '../site/verify.js';
import type { BenchEvents } from './events.js';
import { prepareSite, type SiteRequest } from './site.js';

export interface VerifyGateOutcome {
  impl: string;
  unavailable?: string;
  verification?: Verification;
}

/** Start each implementation in turn on the site, crawl, verify, stop: no load. */
export async function runVerifyGate(
  opts: { impls: Impl[]; site: SiteRequest; cacheDir: string; serverLogs: ServerLogs },
  emit: BenchEvents,
): Promise<VerifyGateOutcome[]> {
  const site = await prepareSite(opts.site, opts.cacheDir);
  for (const note of site.notes) emit({ kind: 'info', message: note });
  const workDir = await mkdtemp(join(tmpdir(), 'server-bench-'));
  const mapServer = await startMapServer({ text: site.mapText });
  const supervisor = localSupervisor();
  const out: VerifyGateOutcome[] = [];
  const targets = await siteTargets(site.webroot, site.redirects);
  const ctx: LocalImplContext = {
    webroot: site.webroot,
    mapUrl: mapServer.url,
    cacheDir: opts.cacheDir,
    cpus: 1,
    host: '127.0.0.1',
    redirects: site.redirects,
    workDir,
    serverLogs: opts.serverLogs,
  };
  try {
    for (const impl of opts.impls) {
      const prep = await impl.prepare(ctx);
      if ('unavailable' in prep) {
        emit({ kind: 'skip', impl: impl.name, size: '*', reason: prep.unavailable });
        out.push({ impl: impl.name, unavailable: prep.unavailable });
        continue;
      }
      emit({ kind: 'info', message: `verify ${impl.name} ${prep.version}` });
      const server = await supervisor.start(impl, ctx, { cpus: [], memoryLimitBytes: null, memoryEnforced: false });
      try {
        const verification = await verify({
          impl: impl.name,
          size: 'host',
          baseUrl: server.baseUrl,
          metricsUrl: server.metricsUrl,
          metricPrefix: impl.metricPrefix,
          targets,
          webroot: site.webroot,
        });
        out.push({ impl: impl.name, verification });
      } finally {
        await server.stop();
      }
    }
    return out;
  } finally {
    await supervisor.stopAll().catch(() => killAllServersNow());
    await mapServer.close().catch(() => undefined);
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
