// The load engines against a real server: nginx on an ephemeral port serving a few files, a 404
// and two redirect aliases (301, 308), loaded by the real wrk through our Lua script. The k6 engine
// is checked for its command line and script location; its parsing runs on real k6 output in
// k6summary.test.ts (CI has no k6).
import { randomFillSync } from 'node:crypto';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Targets } from '../../src/contracts.js';
import { allowedCpus, pinnedCommand, planCpus } from '../../src/servers/cpus.js';
import { BenchError, EnvironmentError, ExitCode, UsageError } from '../../src/errors.js';
import { selectEngine } from '../../src/engines/index.js';
import { K6_INSTALL_HINT, k6Args, k6Engine, k6Env, k6ScriptPath } from '../../src/engines/k6.js';
import { freePort } from '../support/site-servers.js';
import { createWrkEngine, normaliseWrk, parseWrkOutput, wrkEngine, wrkLuaPath, wrkThreads } from '../../src/engines/wrk.js';

let dir = '';
let port = 0;
let nginx: ResultPromise | null = null;
const cpus = allowedCpus();
const plan = planCpus(cpus, 1, 'dedicated');
const serverCpus = 'skip' in plan ? [] : plan.server;
const loadgenCpus = 'skip' in plan ? [] : plan.loadgen;

const targets: Targets = {
  paths: ['/', '/style.css', '/img/a.bin', '/img/b.bin', '/missing.html'],
  redirects: [
    { alias: 'gh', target: 'https://github.com/x' },
    { alias: 'old', target: 'https://example.org/old' },
  ],
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-engines-'));
  chmodSync(dir, 0o755); // nginx's worker drops root privileges and must read the files
  const www = join(dir, 'www');
  mkdirSync(join(www, 'img'), { recursive: true });
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(www, 'index.html'), '<!doctype html><title>t</title><link rel="stylesheet" href="/style.css">');
  writeFileSync(join(www, 'style.css'), 'body { margin: 0 }\n');
  writeFileSync(join(www, 'img', 'a.bin'), randomFillSync(Buffer.alloc(20_000)));
  writeFileSync(join(www, 'img', 'b.bin'), randomFillSync(Buffer.alloc(150_000)));
  port = await freePort();
  const logs = join(dir, 'logs');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
error_log ${logs}/error.log warn;
pid ${logs}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${logs}; proxy_temp_path ${logs}; fastcgi_temp_path ${logs}; uwsgi_temp_path ${logs}; scgi_temp_path ${logs};
  server {
    listen 127.0.0.1:${port};
    root ${www};
    location = /gh { return 301 https://github.com/x; }
    location = /old { return 308 https://example.org/old; }
  }
}
`,
  );
  const p = pinnedCommand(serverCpus, 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
  nginx = execa(p.command, p.args, { reject: false, stdin: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/style.css`);
      if (r.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`nginx did not answer on ${port}: ${readFileSync(join(logs, 'error.log'), 'utf8').slice(-500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  if (nginx) {
    nginx.kill('SIGQUIT');
    const t = setTimeout(() => nginx?.kill('SIGKILL'), 3000);
    await nginx;
    clearTimeout(t);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('wrk engine (real wrk, real nginx)', () => {
  it('loads every target and reports status codes, bytes, latency and its own CPU', async () => {
    const progress: number[] = [];
    const outDir = join(dir, 'run1');
    const r = await createWrkEngine({ statusCodes: true }).run({
      baseUrl: `http://127.0.0.1:${port}`,
      targets,
      vus: 1,
      connections: 6,
      durationSeconds: 2,
      cpus: loadgenCpus,
      outDir,
      onProgress: (p) => progress.push(p.elapsedSeconds),
    });
    expect(r.engine).toBe('wrk');
    expect(r.engineVersion).toMatch(/\d+\.\d+/);
    expect(r.requests).toBeGreaterThan(100);
    expect(r.statusCounts['200']).toBeGreaterThan(0);
    expect(r.statusCounts['301']).toBeGreaterThan(0);
    expect(r.statusCounts['308']).toBeGreaterThan(0);
    expect(r.statusCounts['404']).toBeGreaterThan(0);
    // Every response counted once; the 404 path is the only failed check (1 target in 7).
    expect(Object.values(r.statusCounts).reduce((a, b) => a + b, 0)).toBe(r.requests);
    expect(r.failedChecks).toBe(r.statusCounts['404']);
    expect(r.failedChecks / r.requests).toBeGreaterThan(0.08);
    expect(r.failedChecks / r.requests).toBeLessThan(0.22);
    expect(r.errors).toBe(0);
    expect(r.bytes).toBeGreaterThan(r.requests * 1000);
    const l = r.latencyMs as Record<keyof typeof r.latencyMs, number>;
    expect(Object.values(r.latencyMs)).not.toContain(null);
    expect(l.p50).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p90);
    expect(l.p90).toBeLessThanOrEqual(l.p95);
    expect(l.p95).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.max);
    expect(r.durationSeconds).toBeGreaterThan(1.8);
    expect(r.durationSeconds).toBeLessThan(3.5);
    expect(r.loadgenCpuSeconds).toBeGreaterThan(0.05);
    expect(r.loadgenCpuSeconds as number).toBeLessThan(r.durationSeconds * Math.max(1, loadgenCpus.length) + 0.5);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(r.raw).toMatchObject({ requests: r.requests, threads: wrkThreads(6, loadgenCpus), status_mode: 'codes' });
    expect(readFileSync(join(outDir, 'wrk-targets.txt'), 'utf8')).toBe('/\n/style.css\n/img/a.bin\n/img/b.bin\n/missing.html\n/gh\n/old\n');
    expect(readFileSync(join(outDir, 'wrk-output.txt'), 'utf8')).toMatch(/WRK_JSON /);
  });

  it("by default counts status classes from wrk's own counters (no per-response Lua)", async () => {
    const r = await wrkEngine.run({
      baseUrl: `http://127.0.0.1:${port}`,
      targets,
      vus: 1,
      connections: 6,
      durationSeconds: 1,
      cpus: loadgenCpus,
      outDir: join(dir, 'classes'),
    });
    expect(r.raw).toMatchObject({ status_mode: 'classes', statuses: {} });
    expect(Object.keys(r.statusCounts).sort()).toEqual(['2xx-3xx', '4xx-5xx']);
    expect((r.statusCounts['2xx-3xx'] as number) + (r.statusCounts['4xx-5xx'] as number)).toBe(r.requests);
    // One target in seven is the 404.
    expect(r.failedChecks).toBe(r.statusCounts['4xx-5xx']);
    expect(r.failedChecks / r.requests).toBeGreaterThan(0.08);
    expect(r.failedChecks / r.requests).toBeLessThan(0.22);
    expect(r.requests).toBeGreaterThan(100);
  });

  it('an abort stops wrk at once and leaves no process behind', async () => {
    const outDir = join(dir, 'aborted');
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 700);
    const err = await wrkEngine
      .run({ baseUrl: `http://127.0.0.1:${port}`, targets, vus: 1, connections: 6, durationSeconds: 30, cpus: loadgenCpus, outDir, signal: ac.signal })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).exitCode).toBe(ExitCode.interrupted);
    expect(Date.now() - started).toBeLessThan(8_000);
    const ps = await execa('ps', ['-eo', 'args']);
    expect(ps.stdout).not.toContain(join(outDir, 'wrk-targets.txt'));
  });

  it('wrk threads: one per generator core, never more than connections', () => {
    expect(wrkThreads(6, [1])).toBe(1);
    expect(wrkThreads(60, [2, 3, 4, 5])).toBe(4);
    expect(wrkThreads(2, [0, 1, 2, 3])).toBe(2);
  });

  it('a missing or broken report line is an error that says so', () => {
    expect(() => parseWrkOutput('Running 2s test\n')).toThrow(/wrk printed no WRK_JSON line/);
    expect(() => parseWrkOutput('WRK_JSON {"requests":')).toThrow(/not JSON/);
    expect(() => parseWrkOutput('WRK_JSON {"requests":-1}')).toThrow(/wrk's report: requests/);
  });

  it('normalises an empty run (no responses) without inventing latency', () => {
    const r = normaliseWrk(
      {
        requests: 0,
        bytes: 0,
        duration_us: 2_000_000,
        threads: 1,
        status_mode: 'codes',
        errors: { connect: 6, read: 0, write: 0, status: 0, timeout: 0 },
        latency_us: { min: null, mean: null, stdev: null, p50: null, p90: null, p95: null, p99: null, max: null },
        statuses: {},
      },
      { engineVersion: '4.1.0', loadgenCpuSeconds: null },
    );
    // wrk's histogram is empty: every latency statistic is absent (null), not 0 ms.
    expect(r).toMatchObject({ requests: 0, errors: 6, failedChecks: 0 });
    expect(r.latencyMs).toEqual({ avg: null, p50: null, p90: null, p95: null, p99: null, max: null });
  });
});

describe('engine selection', () => {
  it('auto picks k6 when installed, else wrk', async () => {
    const k6Installed = (await k6Engine.check()) === null;
    expect((await selectEngine('auto')).name).toBe(k6Installed ? 'k6' : 'wrk');
    expect((await selectEngine('wrk')).name).toBe('wrk');
  });
  it('an unknown engine is a usage error', async () => {
    await expect(selectEngine('ab')).rejects.toBeInstanceOf(UsageError);
  });
  it('with neither engine on PATH: an error naming apt-get install wrk', async () => {
    const saved = process.env.PATH;
    process.env.PATH = dir; // a folder with neither wrk nor k6
    try {
      const err = await selectEngine('auto').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as EnvironmentError).oneLine()).toMatch(/neither k6 nor wrk is installed.*apt-get install wrk/);
      expect(await wrkEngine.check()).toBe('wrk is not installed: run "apt-get install wrk" (Debian/Ubuntu) or "nix shell nixpkgs#wrk"');
      expect(await k6Engine.check()).toBe(`k6 is not installed: ${K6_INSTALL_HINT}`);
      await expect(selectEngine('k6')).rejects.toThrow(/k6 is not installed/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('k6 engine without k6', () => {
  it('finds our script and the Lua file from the module, and honours the override', () => {
    expect(readFileSync(k6ScriptPath(), 'utf8')).toMatch(/export function handleSummary/);
    expect(readFileSync(wrkLuaPath(), 'utf8')).toMatch(/WRK_JSON/);
    process.env.SERVER_BENCH_K6_SCRIPT = '/nix/store/x/k6/script.js';
    try {
      expect(k6ScriptPath()).toBe('/nix/store/x/k6/script.js');
    } finally {
      delete process.env.SERVER_BENCH_K6_SCRIPT;
    }
  });
  it('runs k6 without inherited K6_* overrides', () => {
    expect(k6Env({ PATH: '/bin', K6_VUS: '50', K6_DURATION: '1h', HOME: '/root' })).toEqual({ PATH: '/bin', HOME: '/root', K6_NO_USAGE_REPORT: 'true' });
  });
  it('builds the offline command line', () => {
    expect(k6Args({ targetsFile: '/o/targets.json', summaryDir: '/o', vus: 10, durationSeconds: 30, script: '/s.js' })).toEqual([
      'run',
      '--quiet',
      '--no-color',
      '--no-usage-report',
      '-e',
      'TARGETS=/o/targets.json',
      '-e',
      'SUMMARY_DIR=/o',
      '-e',
      'VUS=10',
      '-e',
      'DURATION=30s',
      '/s.js',
    ]);
  });
});
