// The whole pipeline end to end, as a user runs it: the built CLI as a real process, real servers
// (tsherve, nginx, two small Go servers this test writes and the harness builds from their
// checkouts, and gosherve v0.3.3 and v0.3.5 whenever binaries are provided), wrk, a 2 MB generated
// site, ~2 s per cell. Every test here uses the fixed ports 8080/8081, so they run one after another.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { cellDir, RESULT_FILE } from '../../src/results/layout.js';
import { findListener, waitPortsFree } from '../../src/servers/ports.js';
import { CellResultSchema, RunInfoSchema, VerificationSchema } from '../../src/results/schema.js';
import { loadRun } from '../../src/results/store.js';
import { writeGoServer } from '../fixtures/go-servers.js';
import { assertCliBuilt, CLI, oneLine, ROOT } from '../support/cli.js';
import { REAL_GOSHERVE_TAG, realGosherve } from '../support/real-servers.js';

const SMALL = ['--sizes', '1', '--duration', '2s', '--warmup', '1s', '--site-size', '2MB', '--engine', 'wrk'];

let reports: string;
let goServers: string;
const mark = randomUUID();
const real = realGosherve();

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...(process.env as Record<string, string>), SERVER_BENCH_REPORTS: reports, SERVER_BENCH_TEST_MARK: mark, ...extra };
}

async function cli(args: string[], extraEnv: Record<string, string> = {}, timeoutMs = 120_000) {
  return execa(process.execPath, [CLI, ...args], { env: env(extraEnv), reject: false, timeout: timeoutMs, cwd: ROOT, extendEnv: false });
}

/** Processes (other than us) carrying this test's marker in their environment: servers or wrk left behind. */
async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^[0-9]+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (!environ.includes(mark)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (/\) Z /.test(stat)) continue; // a zombie holds nothing
    out.push(`${pid} ${(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ')}`);
  }
  return out;
}

beforeAll(async () => {
  assertCliBuilt();
  reports = await mkdtemp(join(tmpdir(), 'bench-e2e-'));
  goServers = await mkdtemp(join(tmpdir(), 'bench-e2e-go-'));
  await writeGoServer(join(goServers, 'map-every-request'), { refreshEveryRequest: true });
  await writeGoServer(join(goServers, 'tiny-fileserver'), { refreshEveryRequest: false });
  // Build both into the cache now: on a machine with an empty Go build cache the first build
  // compiles net/http from scratch, which is not what the bench's timeout is for.
  const built = await cli(
    ['prepare', '--impls', `gosherve@${join(goServers, 'map-every-request')},gosherve@${join(goServers, 'tiny-fileserver')}`],
    {},
    600_000,
  );
  expect(built.exitCode, built.stderr).toBe(0);
}, 620_000);

afterAll(async () => {
  expect(await leftovers()).toEqual([]);
  await rm(reports, { recursive: true, force: true });
  await rm(goServers, { recursive: true, force: true });
});

describe('server-bench bench, end to end', () => {
  let runDir = '';

  /** One run of `impls` (names as the run stores them: the first two load the map differently), checked end to end. */
  async function runAndCheck(specs: string[], names: string[], perRequest: string, onStart: string): Promise<string> {
    // Other suites may briefly run a server on the default ports (tsherve's are 8080/8081 too).
    await waitPortsFree([8080, 8081], 30_000);
    const r = await cli(['bench', '--impls', specs.join(','), '--reps', '1', ...SMALL, '--json'], {}, 240_000);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { runDir: string; results: unknown[] };
    const dir = out.runDir;
    expect(dir.startsWith(reports)).toBe(true);
    const run = RunInfoSchema.parse(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')));
    expect(run.order).toEqual(names.map((n) => `${n}-1cpu-r1`));
    expect(run.skipped).toEqual([]);
    expect(Object.keys(run.versions.impls).sort()).toEqual([...names].sort());

    const loaded = await loadRun(dir);
    expect(loaded.cells).toHaveLength(names.length);
    for (const impl of names) {
      const v = VerificationSchema.parse(JSON.parse(await readFile(join(dir, 'verify', '1cpu', `${impl}.json`), 'utf8')));
      expect(v.passed, `${impl}: ${JSON.stringify(v.findings.slice(0, 3))}`).toBe(true);
      expect(v.targets).toBeGreaterThan(10);
      const c = CellResultSchema.parse(JSON.parse(await readFile(join(cellDir(dir, '1', impl, 1), RESULT_FILE), 'utf8')));
      expect(c.requests, impl).toBeGreaterThan(0);
      expect(c.failedChecks, impl).toBe(0);
      expect(c.engine.name).toBe('wrk');
      expect(c.resources.serverCpuSeconds, impl).toBeGreaterThan(0);
      expect(c.resources.serverPeakRssBytes, impl).toBeGreaterThan(0);
      expect(c.resources.loadgenCpuSeconds, impl).toBeGreaterThan(0);
      expect(c.resources.serverCpus).toEqual([0]);
      expect(c.resources.loadgenCpus).toEqual([1]);
      expect(existsSync(join(cellDir(dir, '1', impl, 1), 'summary.json'))).toBe(true);
    }
    // The map server counts every fetch: a server that refreshes on every request fetches it far
    // more often than one that fetches it at start-up (and on a miss).
    const fetches = (impl: string) => loaded.cells.find((c) => c.impl === impl)?.mapFetches ?? -1;
    expect(fetches(onStart)).toBeGreaterThanOrEqual(0);
    expect(fetches(onStart)).toBeLessThanOrEqual(2);
    expect(fetches(perRequest)).toBeGreaterThanOrEqual(10 * Math.max(1, fetches(onStart)));
    expect(await findListener(8080)).toBeNull();
    return dir;
  }

  it('runs every implementation, verifies, measures, and stores valid results (servers built from checkouts)', async () => {
    const specs = [`gosherve@${join(goServers, 'map-every-request')}`, `gosherve@${join(goServers, 'tiny-fileserver')}`, 'tsherve', 'nginx'];
    runDir = await runAndCheck(specs, ['map-every-request', 'tiny-fileserver', 'tsherve', 'nginx'], 'map-every-request', 'tiny-fileserver');
    // Each column is labelled with what it ran: a checkout by its folder and content hash (no git here).
    const run = RunInfoSchema.parse(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')));
    expect(run.versions.impls['tiny-fileserver']).toMatch(
      new RegExp(`^tiny-fileserver content [0-9a-f]{12} \\(checkout ${join(goServers, 'tiny-fileserver')}\\)$`),
    );
    // The default --server-logs is quiet: recorded, per server, and in every report's header.
    expect(run.config.serverLogs).toBe('quiet');
    expect(run.logging).toEqual({
      'map-every-request': { perRequest: false, setting: 'GOSHERVE_LOG_LEVEL=error' },
      'tiny-fileserver': { perRequest: false, setting: 'GOSHERVE_LOG_LEVEL=error' },
      tsherve: { perRequest: false, setting: 'TSHERVE_LOG_LEVEL=info (requests only at debug)' },
      nginx: { perRequest: false, setting: 'access_log off' },
    });
    expect(run.config.implSpecs).toEqual(specs);
    const md = await readFile(join(runDir, 'report.md'), 'utf8');
    expect(md).toContain('tiny-fileserver content');
    expect(md).toContain('Server logs: quiet (per-request logging off): map-every-request GOSHERVE_LOG_LEVEL=error');
    expect(md).not.toContain('logs-differ');
  }, 300_000);

  it('--server-logs shipped: each server as shipped, recorded, and the reports warn that they log differently', async () => {
    await waitPortsFree([8080, 8081], 30_000);
    const specs = [`gosherve@${join(goServers, 'tiny-fileserver')}`, 'tsherve', 'nginx'];
    const r = await cli(['bench', '--impls', specs.join(','), '--reps', '1', ...SMALL, '--server-logs', 'shipped'], {}, 240_000);
    expect(r.exitCode, r.stderr).toBe(0);
    const dir = /^results: (\S+) \(/m.exec(r.stdout)?.[1] ?? '';
    expect(dir.startsWith(reports), r.stdout).toBe(true);
    const run = RunInfoSchema.parse(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')));
    expect(run.config.serverLogs).toBe('shipped');
    expect(run.logging?.['tiny-fileserver']).toEqual({ perRequest: true, setting: 'GOSHERVE_LOG_LEVEL=info' });
    expect(run.logging?.nginx?.perRequest).toBe(true);
    expect(run.logging?.tsherve?.perRequest).toBe(false);
    // The terminal table (stdout), report.md and report.html all say so, and warn.
    expect(r.stdout).toContain("server logs: shipped (each server's own defaults)");
    expect(r.stdout.replace(/\n {2}/g, ' ')).toMatch(
      /warning: the servers compared log differently: tiny-fileserver, nginx wrote a line per request, tsherve did not/,
    );
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain("Server logs: shipped (each server's own defaults)");
    expect(md).toContain('**logs-differ**');
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('server logs shipped');
    expect(html).toContain('logs-differ');
    // compare refuses a shipped run against a quiet one without --force.
    const cmp = await cli(['compare', runDir, dir]);
    expect(cmp.exitCode).not.toBe(0);
    expect(cmp.stderr).toContain('server logs: quiet (baseline) vs shipped (candidate)');
  }, 300_000);

  it.runIf(real.both)(
    `runs gosherve v0.3.3 and v0.3.5 beside tsherve and nginx ${REAL_GOSHERVE_TAG}`,
    async () => {
      const dir = await runAndCheck(
        ['gosherve-old', 'gosherve', 'tsherve', 'nginx'],
        ['gosherve-old', 'gosherve', 'tsherve', 'nginx'],
        'gosherve-old',
        'gosherve',
      );
      const run = RunInfoSchema.parse(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')));
      expect(run.versions.impls.gosherve).toMatch(/^v0\.3\.5/);
      expect(run.versions.impls['gosherve-old']).toMatch(/^v0\.3\.3/);
    },
    240_000,
  );

  it('loads and verifies every implementation with the one stored target list; a server that answers less gets findings, not a smaller load', async () => {
    const noIndex = await writeGoServer(join(goServers, 'no-dir-index'), { refreshEveryRequest: false, dirIndex: false });
    await waitPortsFree([8080, 8081], 30_000);
    const r = await cli(['bench', '--impls', `tsherve,gosherve@${noIndex}`, '--reps', '1', ...SMALL, '--json'], {}, 600_000);
    // A failed verification is a failed cell: exit 5 (README), said once at the end.
    expect(r.exitCode, r.stderr).toBe(ExitCode.failure);
    expect(
      r.stderr.split('\n').filter((l) => /^server-bench: no-dir-index at size 1 was not measured: verification failed/.test(l)),
      r.stderr,
    ).toHaveLength(1);
    const dir = (JSON.parse(r.stdout) as { runDir: string }).runDir;
    const stored = JSON.parse(await readFile(join(dir, 'targets.json'), 'utf8')) as { hash: string; paths: string[]; redirects: unknown[] };
    const run = RunInfoSchema.parse(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')));
    expect(run.targetsHash).toBe(stored.hash);
    expect(stored.paths).toContain('/');
    expect(stored.paths.some((p) => p.endsWith('/') && p !== '/')).toBe(true);
    const ts = CellResultSchema.parse(JSON.parse(await readFile(join(cellDir(dir, '1', 'tsherve', 1), RESULT_FILE), 'utf8')));
    expect(ts.targetsHash).toBe(stored.hash);
    const total = stored.paths.length + stored.redirects.length;
    for (const impl of ['tsherve', 'no-dir-index']) {
      const v = VerificationSchema.parse(JSON.parse(await readFile(join(dir, 'verify', '1cpu', `${impl}.json`), 'utf8')));
      expect(v.targets, impl).toBe(total);
    }
    const bad = VerificationSchema.parse(JSON.parse(await readFile(join(dir, 'verify', '1cpu', 'no-dir-index.json'), 'utf8')));
    expect(bad.passed).toBe(false);
    const dirPaths = stored.paths.filter((p) => p.endsWith('/'));
    expect(
      bad.findings
        .filter((f) => f.status === 'fail')
        .map((f) => new URL(f.url).pathname)
        .sort(),
    ).toEqual(dirPaths.sort());
    expect(run.skipped).toEqual([expect.objectContaining({ impl: 'no-dir-index', reason: expect.stringMatching(/^verification failed/) })]);
  }, 620_000);

  it('skips an unavailable gosherve with one line naming every place tried, and runs the rest', async () => {
    await waitPortsFree([8080, 8081], 30_000);
    const cache = await mkdtemp(join(tmpdir(), 'bench-e2e-cache-'));
    try {
      // GOPROXY=off: go install fails at once, as it does wherever the module proxy refuses gosherve.
      const r = await cli(['bench', '--impls', 'gosherve,servy,tsherve', '--reps', '1', ...SMALL, '--json'], {
        SERVER_BENCH_CACHE: cache,
        SERVER_BENCH_GOSHERVE_BIN: '',
        SERVER_BENCH_GOSHERVE_BIN_V0_3_5: '',
        GOPROXY: 'off',
        GOFLAGS: '-mod=mod',
        SERVER_BENCH_SERVY_BIN: '',
        SERVER_BENCH_SERVY_CHECKOUT: '',
      });
      // Asked for by name and unavailable: exit 4 (README), each said once, the rest still measured.
      expect(r.exitCode, r.stderr).toBe(ExitCode.environment);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('server-bench: asked for but unavailable'))).toEqual([
        'server-bench: asked for but unavailable: gosherve, servy (see the skip lines above; server-bench prepare says how to get each)',
      ]);
      const skips = r.stderr.split('\n').filter((l) => /gosherve v0\.3\.5: no binary/.test(l));
      expect(skips, r.stderr).toHaveLength(1);
      expect(skips[0]).toContain('SERVER_BENCH_GOSHERVE_BIN');
      expect(skips[0]).toContain(join(cache, 'gosherve', 'v0.3.5', 'bin', 'gosherve'));
      expect(skips[0]).toMatch(/go install github\.com\/jnsgruk\/gosherve\/cmd\/gosherve@v0\.3\.5/);
      // servy without a binary or a checkout: one line saying how to provide one.
      const servySkips = r.stderr.split('\n').filter((l) => /servy: no binary or checkout/.test(l));
      expect(servySkips, r.stderr).toHaveLength(1);
      expect(servySkips[0]).toContain('servy@./path/to/servy-checkout');
      const out = JSON.parse(r.stdout) as { runDir: string };
      const loaded = await loadRun(out.runDir);
      expect(loaded.cells.map((c) => c.id)).toEqual(['tsherve-1cpu-r1']);
      expect(loaded.run.skipped.map((s) => s.impl)).toEqual(['gosherve', 'servy']);
      // Nothing half-built in the cache.
      expect(existsSync(join(cache, 'gosherve', 'v0.3.5'))).toBe(false);
      expect((await readdir(join(cache, 'gosherve')).catch(() => [])).filter((d) => d.startsWith('.tmp-'))).toEqual([]);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  }, 180_000);

  it("--connections sets wrk's connection count; the reports carry requests per server CPU-second", async () => {
    await waitPortsFree([8080, 8081], 30_000);
    const out = join(reports, 'connections');
    const r = await cli(['bench', '--impls', 'tsherve', '--reps', '1', ...SMALL, '--connections', '3', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const run = RunInfoSchema.parse(JSON.parse(await readFile(join(out, 'run.json'), 'utf8')));
    expect(run.config.connectionsOverride).toBe(3);
    const c = CellResultSchema.parse(JSON.parse(await readFile(join(cellDir(out, '1', 'tsherve', 1), RESULT_FILE), 'utf8')));
    expect(c.connections).toBe(3);
    expect(c.vus).toBe(1); // the default would have been 1 × 6
    expect(r.stdout).toMatch(/\d[\d,]* req\/CPU-s/);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    const row = md.split('\n').find((l) => l.startsWith('| 1 vCPU / 256 MB / 3 connections | tsherve'));
    expect(row).toMatch(
      /^\| 1 vCPU \/ 256 MB \/ 3 connections \| tsherve \| [\d,]+ \[n = 1\] \| 1× \(reference\) \| [\d,]+ \[n = 1\] \| 1× \(reference\) \| \d+ % of 1 core \|$/,
    );
    expect(await readFile(join(cellDir(out, '1', 'tsherve', 1), 'summary.txt'), 'utf8')).toMatch(
      /^tsherve-1cpu-r1 · .* 1 VUs, 3 connections\nserver CPU [\d.]+ s \([\d,]+ requests per CPU-second\)/,
    );
  }, 60_000);

  it("a busy host is said: another process on the server's core during the cell gives a host-busy warning with its CPU seconds", async () => {
    await waitPortsFree([8080, 8081], 30_000);
    const out = join(reports, 'busy-host');
    // A spinning process pinned to the server's core (CPU 0 here: the server's, the generator has CPU 1), bounded to 60 s.
    const spinner = spawn('taskset', ['-c', '0', process.execPath, '-e', 'const end = Date.now() + 60_000; while (Date.now() < end);'], { stdio: 'ignore' });
    try {
      const r = await cli(['bench', '--impls', 'tsherve', '--reps', '1', ...SMALL, '--duration', '4s', '--out', out]);
      expect(r.exitCode, r.stderr).toBe(0);
      const c = CellResultSchema.parse(JSON.parse(await readFile(join(cellDir(out, '1', 'tsherve', 1), RESULT_FILE), 'utf8')));
      expect(c.resources.serverCpus).toEqual([0]);
      // The spinner had about half of CPU 0 for 4 s: well over a CPU-second that was neither the server's nor wrk's.
      expect(c.resources.hostOtherCpuSeconds ?? 0).toBeGreaterThan(0.8);
      const busy = c.warnings.filter((w) => w.code === 'host-busy');
      expect(busy, JSON.stringify(c.warnings)).toHaveLength(1);
      expect(busy[0]?.message).toMatch(/^the host was busy while this cell measured: other processes used \d+ % of the cell's 2 core\(s\) \([\d.]+ CPU-s\)/);
      expect(r.stdout).toMatch(/warning: tsherve at size 1 \(rep 1\): the host was busy while this cell measured/);
    } finally {
      spinner.kill('SIGKILL');
    }
  }, 90_000);

  it('keeps finished cells on Ctrl-C, leaves no process behind, and resumes only the missing cells', async () => {
    await waitPortsFree([8080, 8081], 30_000);
    const child = spawn(process.execPath, [CLI, 'bench', '--impls', 'tsherve,nginx', '--reps', '2', ...SMALL, '--out', join(reports, 'interrupted')], {
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: ROOT,
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const first = join(cellDir(join(reports, 'interrupted'), '1', 'tsherve', 1), RESULT_FILE);
    const deadline = Date.now() + 60_000;
    while (!existsSync(first) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(first), stderr).toBe(true);
    // Into the next cell's server start / load: its first progress line ([2/N] …), bounded.
    const next = Date.now() + 30_000;
    while (!/^\[2\/\d+\] /m.test(stderr) && Date.now() < next && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toMatch(/^\[2\/\d+\] /m);
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(ExitCode.interrupted);
    expect(stderr).toMatch(/server-bench: interrupted \(finished cells are kept in .*--resume interrupted\)/);
    expect(await leftovers()).toEqual([]);
    expect(await findListener(8080)).toBeNull();
    expect(await findListener(8081)).toBeNull();

    const before = { text: await readFile(first, 'utf8'), mtime: (await stat(first)).mtimeMs };
    // The code "changed" while the run was interrupted: the resume says so once and records it.
    const runJson = join(reports, 'interrupted', 'run.json');
    const stored = RunInfoSchema.parse(JSON.parse(await readFile(runJson, 'utf8')));
    await writeFile(runJson, JSON.stringify({ ...stored, git: { revision: 'deadbeef0000', dirty: false } }, null, 2));
    const r = await cli(['bench', '--resume', 'interrupted', '--json']);
    expect(r.stderr.match(/--resume interrupted: git deadbeef0000 → /g) ?? [], r.stderr).toHaveLength(1);
    const resumed = RunInfoSchema.parse(JSON.parse(await readFile(runJson, 'utf8')));
    expect(resumed.resumes).toHaveLength(1);
    expect(resumed.resumes?.[0]?.cellsBefore).toBe(1);
    expect(resumed.resumes?.[0]?.changed[0]).toMatch(/^git deadbeef0000 → /);
    expect(await readFile(join(reports, 'interrupted', 'report.md'), 'utf8')).toMatch(
      /2 repetition\(s\) interleaved, resumed 1 time\(s\): the cells run after a resume are not interleaved with those before it \(changed in between: git deadbeef0000 → /,
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 cell\(s\) to run, 1 already finished/);
    // --json lists every cell of the run, the one finished before the resume included.
    const json = JSON.parse(r.stdout) as { results: { id: string }[] };
    expect(json.results.map((x) => x.id).sort()).toEqual(['nginx-1cpu-r1', 'nginx-1cpu-r2', 'tsherve-1cpu-r1', 'tsherve-1cpu-r2']);
    expect(await readFile(first, 'utf8')).toBe(before.text);
    expect((await stat(first)).mtimeMs).toBe(before.mtime);
    const loaded = await loadRun(join(reports, 'interrupted'));
    expect(loaded.cells.map((c) => c.id).sort()).toEqual(['nginx-1cpu-r1', 'nginx-1cpu-r2', 'tsherve-1cpu-r1', 'tsherve-1cpu-r2']);
    expect(r.stdout).toMatch(/tsherve/);
  }, 150_000);

  describe('each bad input is one line and a distinct exit code', () => {
    it('unknown implementation', async () => {
      const r = await cli(['bench', '--impls', 'tsherve,nosuch']);
      expect(r.exitCode).toBe(ExitCode.usage);
      expect(oneLine(r.stderr)).toMatch(/^server-bench: --impls: unknown implementation "nosuch" \(valid: .*gosherve-old/);
    });

    it('unknown size', async () => {
      const r = await cli(['bench', '--sizes', '1,3']);
      expect(r.exitCode).toBe(ExitCode.usage);
      expect(oneLine(r.stderr)).toMatch(/unknown size "3" \(--sizes takes vCPU counts from: 1, 2, 16\)/);
    });

    it('bad duration', async () => {
      const r = await cli(['bench', '--duration', '10x']);
      expect(r.exitCode).toBe(ExitCode.usage);
      expect(oneLine(r.stderr)).toMatch(/--duration: bad duration "10x"/);
    });

    it('several problems at once, in one line', async () => {
      const r = await cli(['bench', '--impls', 'nosuch', '--sizes', '3', '--warmup', 'soon']);
      expect(r.exitCode).toBe(ExitCode.usage);
      const line = oneLine(r.stderr);
      expect(line).toContain('unknown implementation "nosuch"');
      expect(line).toContain('unknown size "3"');
      expect(line).toContain('--warmup: bad duration "soon"');
    });

    it('--connections must be a positive whole number', async () => {
      const r = await cli(['bench', '--connections', '0']);
      expect(r.exitCode).toBe(ExitCode.usage);
      expect(oneLine(r.stderr)).toMatch(/--connections: "0" is not a positive whole number \(for example --connections 3\)/);
    });

    it('unknown flag', async () => {
      const r = await cli(['bench', '--fast']);
      expect(r.exitCode).toBe(ExitCode.usage);
      expect(oneLine(r.stderr)).toMatch(/--fast.*\(see server-bench bench --help\)/);
    });

    it('missing webroot', async () => {
      const r = await cli(['bench', '--webroot', '/nonexistent/site']);
      expect(r.exitCode).toBe(ExitCode.input);
      expect(oneLine(r.stderr)).toMatch(/--webroot \/nonexistent\/site: no such directory/);
    });

    it('no load generator on PATH', async () => {
      const bin = await mkdtemp(join(tmpdir(), 'bench-nopath-'));
      try {
        await symlink(process.execPath, join(bin, 'node'));
        const r = await cli(['bench', '--sizes', '1'], { PATH: bin });
        expect(r.exitCode).toBe(ExitCode.environment);
        expect(oneLine(r.stderr)).toMatch(/no load generator found.*apt-get install (-y )?wrk/);
      } finally {
        await rm(bin, { recursive: true, force: true });
      }
    });

    it('busy port: names the process holding it', async () => {
      const holder: Server = createServer();
      await new Promise<void>((resolve, reject) => {
        holder.once('error', reject);
        holder.listen({ port: 8080, host: '0.0.0.0' }, () => resolve());
      });
      try {
        const r = await cli(['bench', '--impls', 'tsherve', '--reps', '1', ...SMALL]);
        expect(r.exitCode).toBe(ExitCode.environment);
        expect(oneLine(r.stderr)).toMatch(new RegExp(`port 8080 is in use by .*\\(pid ${process.pid}.*\\(stop it \\(kill ${process.pid}\\)`));
      } finally {
        await new Promise((r) => holder.close(r));
      }
    });

    it('corrupt stored result on --resume', async () => {
      expect(runDir).not.toBe('');
      const copy = join(reports, 'corrupt');
      await cp(runDir, copy, { recursive: true });
      const bad = join(cellDir(copy, '1', 'tsherve', 1), RESULT_FILE);
      await writeFile(bad, 'garbage{');
      const r = await cli(['bench', '--resume', 'corrupt']);
      expect(r.exitCode).toBe(ExitCode.input);
      expect(oneLine(r.stderr)).toContain(`corrupt cell result ${bad}: not valid JSON`);
      // The reports read through the same store: one line naming the file there too.
      const rep = await cli(['report', copy]);
      expect(rep.exitCode).toBe(ExitCode.input);
      const lines = rep.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`corrupt cell result ${bad}`);
    });

    it('unknown command', async () => {
      const r = await cli(['benchmark']);
      expect(r.exitCode).toBe(ExitCode.usage);
      expect(oneLine(r.stderr)).toMatch(/unknown command "benchmark"/);
    });
  });
});
