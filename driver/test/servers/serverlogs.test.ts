// --server-logs: the mode's parsing and default, what each implementation does in each mode, the
// reports' header and warning, and — with real processes (the small Go servers this suite builds,
// tsherve, nginx) — that shipped logs each request and quiet logs none.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Impl } from '../../src/contracts.js';
import { UsageError } from '../../src/errors.js';
import { gosherveCheckoutImpl } from '../../src/servers/gosherve.js';
import { gosherve, nginx, tsherve, type LocalImplContext } from '../../src/servers/registry.js';
import { startMapServer } from '../../src/site/map-server.js';
import { nginxVersion, renderNginxConfig } from '../../src/servers/nginx.js';
import { waitPortsFree } from '../../src/servers/ports.js';
import { buildResults } from '../../src/report/results.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { renderHtml } from '../../src/report/html.js';
import { SCHEMA_VERSION, type RunInfo } from '../../src/results/schema.js';
import { DEFAULT_SERVER_LOGS, describeServerLogs, loggingDiffers, parseServerLogs, type ServerLogs } from '../../src/servers/serverlogs.js';
import { servy } from '../../src/servers/servy.js';
import { generateSite } from '../../src/site/generate.js';
import { localSupervisor } from '../../src/servers/supervisor-local.js';
import { writeGoServer } from '../fixtures/go-servers.js';

describe('--server-logs', () => {
  it('defaults to quiet, takes shipped or quiet, and names both for anything else', () => {
    expect(DEFAULT_SERVER_LOGS).toBe('quiet');
    expect(parseServerLogs(undefined)).toBe('quiet');
    expect(parseServerLogs('shipped')).toBe('shipped');
    expect(parseServerLogs('quiet')).toBe('quiet');
    expect(() => parseServerLogs('loud')).toThrow(UsageError);
    expect(() => parseServerLogs('loud')).toThrow(/--server-logs: unknown mode "loud"/);
  });

  it('each implementation logs every request as shipped (but tsherve) and none when quiet', () => {
    const impls: Impl[] = [gosherve, servy, tsherve, nginx];
    const at = (mode: ServerLogs) => Object.fromEntries(impls.map((i) => [i.name, i.logging?.(mode)]));
    expect(at('shipped')).toEqual({
      gosherve: { perRequest: true, setting: 'GOSHERVE_LOG_LEVEL=info' },
      servy: { perRequest: true, setting: 'SERVY_LOG_LEVEL=info' },
      tsherve: { perRequest: false, setting: 'TSHERVE_LOG_LEVEL=info (requests only at debug)' },
      nginx: { perRequest: true, setting: 'access_log <prefix>/access.log (combined, as Debian ships it)' },
    });
    expect(at('quiet')).toEqual({
      gosherve: { perRequest: false, setting: 'GOSHERVE_LOG_LEVEL=error' },
      servy: { perRequest: false, setting: 'SERVY_LOG_LEVEL=error' },
      tsherve: { perRequest: false, setting: 'TSHERVE_LOG_LEVEL=info (requests only at debug)' },
      nginx: { perRequest: false, setting: 'access_log off' },
    });
  });

  it("nginx's configuration has its access log on only when asked", () => {
    const base = { webroot: '/w', redirects: [], port: 8080, prefixDir: '/p' };
    expect(renderNginxConfig(base)).toMatch(/^\s*access_log off;$/m);
    expect(renderNginxConfig({ ...base, accessLog: true })).toMatch(/^\s*access_log \/p\/access\.log;$/m);
  });

  it('the reports warn only when the servers compared log differently', () => {
    const loud = { perRequest: true, setting: 'X=info' };
    const quiet = { perRequest: false, setting: 'off' };
    expect(loggingDiffers({ a: loud, b: quiet, c: loud }, ['a', 'b', 'c'])).toBe(
      'the servers compared log differently: a, c wrote a line per request, b did not; logging is part of their numbers (run with --server-logs quiet to compare serving alone)',
    );
    expect(loggingDiffers({ a: quiet, b: quiet }, ['a', 'b'])).toBeNull();
    expect(loggingDiffers({ a: loud, b: loud }, ['a', 'b'])).toBeNull();
    // Only the servers compared count (b had no results), and an old run without the record gets no warning.
    expect(loggingDiffers({ a: loud, b: quiet }, ['a'])).toBeNull();
    expect(loggingDiffers(undefined, ['a', 'b'])).toBeNull();
    expect(describeServerLogs('quiet', { a: quiet }, ['a'])).toBe('server logs: quiet (per-request logging off): a off');
    expect(describeServerLogs(undefined, undefined, ['a'])).toBe(
      "server logs: shipped (each server's own defaults) [not recorded: runs before --server-logs logged as shipped]",
    );
  });

  it('every report states the mode in its header and carries the warning', () => {
    const run: RunInfo = {
      schemaVersion: SCHEMA_VERSION,
      runId: 'logs',
      createdAt: '2026-01-01T00:00:00.000Z',
      backend: 'local',
      loadgen: 'dedicated',
      emulated: false,
      config: {
        impls: ['a', 'b'],
        sizes: [{ name: '1', cpus: 1, memoryMiB: 256, vus: 1 }],
        reps: 1,
        durationSeconds: 1,
        warmupSeconds: 0,
        vusOverride: null,
        engine: 'wrk',
        reference: 'a',
        serverLogs: 'shipped',
      },
      site: { kind: 'generated', seed: 1, targetBytes: 1e6, files: 1, bytes: 1, aliases: 0 },
      order: [],
      skipped: [],
      host: { hostname: 'h', cpuModel: 'c', cores: 2, memoryBytes: 1, kernel: 'k', os: 'o', cgroupV2Writable: false, kvm: false },
      versions: { node: 'v20', go: null, engine: 'wrk', impls: {} },
      git: { revision: null, dirty: false },
      logging: { a: { perRequest: true, setting: 'A_LOG=info' }, b: { perRequest: false, setting: 'quiet' } },
    };
    const cell = (impl: string) => ({
      schemaVersion: SCHEMA_VERSION,
      id: `${impl}-1cpu-r1`,
      impl,
      size: run.config.sizes[0]!,
      rep: 1,
      order: 0,
      engine: { name: 'wrk' as const, version: 'wrk' },
      vus: 1,
      connections: 6,
      warmupSeconds: 0,
      durationSeconds: 1,
      requests: 100,
      reqPerSec: 100,
      bytes: 1000,
      bytesPerSec: 1000,
      latencyMs: { avg: 1, p50: 1, p90: 1, p95: 1, p99: 1, max: 1 },
      statusCounts: { '200': 100 },
      failedChecks: 0,
      errors: 0,
      mapFetches: 0,
      resources: {
        serverCpuSeconds: 1,
        serverPeakRssBytes: 1,
        memoryLimitBytes: null,
        memoryEnforced: false,
        serverCpus: [0],
        loadgenCpuSeconds: 1,
        loadgenCpus: [1],
        loadgenUtilisation: 0.5,
      },
      warnings: [],
      startedAt: run.createdAt,
      finishedAt: run.createdAt,
      raw: null,
    });
    const results = buildResults({ run, cells: [cell('a'), cell('b')], verifications: [] });
    expect(results.warnings.find((w) => w.code === 'logs-differ')?.message).toMatch(
      /^the servers compared log differently: a wrote a line per request, b did not/,
    );
    expect(renderTerminal(results)).toContain("server logs: shipped (each server's own defaults): a A_LOG=info, b quiet");
    expect(renderTerminal(results)).toContain('warning: the servers compared log differently');
    expect(renderMarkdown(results)).toContain("Server logs: shipped (each server's own defaults): a A_LOG=info, b quiet.");
    expect(renderHtml(results)).toContain('server logs shipped');
    const same = buildResults({
      run: {
        ...run,
        config: { ...run.config, serverLogs: 'quiet' },
        logging: { a: { perRequest: false, setting: 'x' }, b: { perRequest: false, setting: 'y' } },
      },
      cells: [cell('a'), cell('b')],
      verifications: [],
    });
    expect(same.warnings.map((w) => w.code)).not.toContain('logs-differ');
    expect(renderMarkdown(same)).toContain('Server logs: quiet (per-request logging off)');
  });
});

describe('--server-logs with --backend vm', () => {
  it('records how the VM units log (as shipped; nginx without an access log) and refuses quiet with one line', async () => {
    const { main, vmLogging } = await import('../../src/cli/commands/bench-vm.js');
    expect(vmLogging(['gosherve', 'servy', 'tsherve', 'nginx'])).toEqual({
      gosherve: { perRequest: true, setting: 'GOSHERVE_LOG_LEVEL=info' },
      servy: { perRequest: true, setting: 'SERVY_LOG_LEVEL=info' },
      tsherve: { perRequest: false, setting: 'TSHERVE_LOG_LEVEL=info (requests only at debug)' },
      nginx: { perRequest: false, setting: "access_log off (the VM's nginx.conf)" },
    });
    const writes: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['--server-logs', 'quiet'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(writes.join('')).toMatch(
      /^server-bench: --backend vm: --server-logs quiet is not available \(the VM units run every server as the flake defines it \(shipped\); run --server-logs quiet with the local backend\)\n$/,
    );
  });
});

// Real servers, real logs: the supervisor keeps each server's stdout and stderr (logTail).
describe('--server-logs with real servers', () => {
  let work: string;
  let site: string;
  let cache: string;
  let fixture: Impl;
  let map: Awaited<ReturnType<typeof startMapServer>>;
  const supervisor = localSupervisor();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'serverlogs-'));
    cache = join(work, 'cache');
    site = (await generateSite({ dir: join(work, 'site'), seed: 3, targetBytes: 200_000 })).dir;
    map = await startMapServer({ text: 'gh https://github.com/jnsgruk\n' });
    fixture = gosherveCheckoutImpl(await writeGoServer(join(work, 'logging-server'), { refreshEveryRequest: false }), []);
  }, 180_000);

  afterAll(async () => {
    await supervisor.stopAll();
    await map?.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Start `impl` in `mode`, send five requests, stop it; its log and working folder. */
  async function fiveRequests(impl: Impl, mode: ServerLogs): Promise<{ log: string; workDir: string }> {
    await waitPortsFree([8080, 8081], 30_000);
    const workDir = await mkdtemp(join(work, `${impl.name}-${mode}-`));
    const ctx: LocalImplContext = { webroot: site, mapUrl: map.url, cacheDir: cache, cpus: 1, host: '127.0.0.1', redirects: [], workDir, serverLogs: mode };
    const prep = await impl.prepare(ctx);
    expect('version' in prep, JSON.stringify(prep)).toBe(true);
    const server = await supervisor.start(impl, ctx, { cpus: [], memoryLimitBytes: null, memoryEnforced: false });
    try {
      for (let i = 0; i < 5; i++) expect((await fetch(`${server.baseUrl}/?n=${i}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200)); // let the last lines reach the pipe
      return { log: await server.logTail(200), workDir };
    } finally {
      await server.stop();
    }
  }

  // logTail joins the lines with " | ".
  const requestLines = (log: string) => (log.match(/"msg":"request"/g) ?? []).length;

  it('a gosherve-like server logs each request as shipped, and none when quiet', async () => {
    expect(requestLines((await fiveRequests(fixture, 'shipped')).log)).toBeGreaterThanOrEqual(5);
    expect(requestLines((await fiveRequests(fixture, 'quiet')).log)).toBe(0);
  }, 180_000);

  it('nginx writes an access log as shipped, and none when quiet', async () => {
    if ((await nginxVersion()) === null) throw new Error('nginx is not installed (apt-get install -y nginx-light; .ci/run installs it)');
    const shipped = await fiveRequests(nginx, 'shipped');
    const lines = (await readFile(join(shipped.workDir, 'access.log'), 'utf8')).split('\n').filter((l) => l.includes('"GET /?n='));
    expect(lines).toHaveLength(5);
    const quiet = await fiveRequests(nginx, 'quiet');
    expect(existsSync(join(quiet.workDir, 'access.log'))).toBe(false);
  }, 60_000);

  it('tsherve logs no request in either mode', async () => {
    for (const mode of ['shipped', 'quiet'] as const) {
      const { log } = await fiveRequests(tsherve, mode);
      expect(log).toMatch(/"msg":"listening"/);
      expect(log).not.toMatch(/"\/\?n=/);
    }
  }, 60_000);
});
