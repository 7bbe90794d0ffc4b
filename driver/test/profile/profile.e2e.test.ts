// bench --profile end to end, as a user runs it: the built CLI, real servers (gosherve v0.3.3 and
// v0.3.5, tsherve, nginx), wrk, real perf, a 2 MB generated site. Checks what the issue asks a
// profile to show (gosherve v0.3.3's map refresh on the request path, tsherve's own handler and the
// kernel copy), the files (pprof read by `go tool pprof`, folded stacks), the reports, that profiled
// repetitions stay out of the statistics, and the warning for a server without symbols (nginx, and
// a stripped copy of gosherve). Uses the fixed ports 8080/8081 like bench.e2e.test.ts; the cases
// need the real gosherve binaries (support/real-servers.ts) and say so in the suite's last line.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellDir } from '../../src/results/layout.js';
import { waitPortsFree } from '../../src/servers/ports.js';
import { parseFolded } from '../../src/profile/folded.js';
import { shareMatching } from '../../src/profile/top.js';
import { ResultsSchema } from '../../src/report/results.js';
import { CellResultSchema, RunInfoSchema } from '../../src/results/schema.js';
import { REAL_GOSHERVE_TAG, realGosherve } from '../support/real-servers.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'driver', 'src', 'cli', 'main.js');
const SMALL = ['--sizes', '1', '--duration', '3s', '--warmup', '1s', '--site-size', '2MB', '--engine', 'wrk'];
const runFile = promisify(execFile);
const IMPLS = ['gosherve-old', 'gosherve', 'tsherve', 'nginx'];
const real = realGosherve();
let reports: string;

async function cli(args: string[], extraEnv: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args], {
    env: { ...(process.env as Record<string, string>), SERVER_BENCH_REPORTS: reports, ...extraEnv },
    reject: false,
    timeout: 240_000,
    cwd: ROOT,
    extendEnv: false,
  });
}

async function folded(runDir: string, impl: string, rep: number) {
  return parseFolded(await readFile(join(cellDir(runDir, '1', impl, rep), 'profile.folded'), 'utf8'));
}

/** V8 perf maps of processes that no longer exist: a profiled run must leave none. */
async function orphanPerfMaps(): Promise<string[]> {
  return (await readdir('/tmp')).filter((f) => {
    const m = /^perf-(\d+)\.map$/.exec(f);
    return m !== null && !existsSync(`/proc/${m[1]}`);
  });
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  reports = await mkdtemp(join(tmpdir(), 'profile-e2e-'));
});

afterAll(async () => {
  await rm(reports, { recursive: true, force: true });
});

describe('server-bench bench --profile', () => {
  it.runIf(real.both)(
    `profiles one extra repetition per implementation: files, names, reports, statistics without it ${REAL_GOSHERVE_TAG}`,
    async () => {
      await waitPortsFree([8080, 8081], 30_000);
      const mapsBefore = new Set(await orphanPerfMaps());
      const r = await cli(['bench', '--profile', '--profile-hz', '999', '--impls', 'gosherve-old,gosherve,tsherve,nginx', '--reps', '1', ...SMALL, '--json']);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.exitCode, r.stderr).toBe(0);
      const runDir = (JSON.parse(r.stdout) as { runDir: string }).runDir;
      const run = RunInfoSchema.parse(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')));
      expect(run.config.reps).toBe(1);
      expect(run.config.profile).toEqual({ hz: 999, callGraph: 'fp', inStats: false });
      // The profiled round comes after the measured one, interleaved the same way.
      expect(run.order).toEqual([...IMPLS.map((i) => `${i}-1cpu-r1`), ...IMPLS.map((i) => `${i}-1cpu-r2`)]);

      for (const impl of IMPLS) {
        const measured = CellResultSchema.parse(JSON.parse(await readFile(join(cellDir(runDir, '1', impl, 1), 'result.json'), 'utf8')));
        expect(measured.profile, impl).toBeUndefined();
        const profiled = CellResultSchema.parse(JSON.parse(await readFile(join(cellDir(runDir, '1', impl, 2), 'result.json'), 'utf8')));
        expect(profiled.profile, impl).toMatchObject({
          tool: 'perf',
          event: 'cpu-clock',
          hz: 999,
          callGraph: 'fp',
          files: { pprof: 'profile.proto', folded: 'profile.folded' },
        });
        expect(profiled.profile!.samples, impl).toBeGreaterThan(50);
        expect(profiled.profile!.pids.length, impl).toBeGreaterThan(0);
        // go tool pprof reads every cell's profile.
        const { stdout } = await runFile('go', ['tool', 'pprof', '-top', join(cellDir(runDir, '1', impl, 2), 'profile.proto')], {
          env: { ...process.env, PPROF_TMPDIR: reports },
          timeout: 120_000,
        });
        expect(stdout, impl).toMatch(/Type: cpu/);
        expect(stdout, impl).toMatch(/\[kernel\]/);
      }

      // gosherve v0.3.3 refreshes the map on every file request; v0.3.5 never on the file path.
      const old = await folded(runDir, 'gosherve-old', 2);
      expect(shareMatching(old, /\(\*Server\)\.(RefreshRedirects|fetchRedirects)$/)).toBeGreaterThan(0.03);
      const cur = await folded(runDir, 'gosherve', 2);
      expect(shareMatching(cur, /pkg\/server\.handleFile$/)).toBeGreaterThan(0.1);
      expect(
        cur.filter((s) => s.frames.some((f) => f.name.endsWith('handleFile')) && s.frames.some((f) => /RefreshRedirects|fetchRedirects/.test(f.name))),
      ).toEqual([]);
      // tsherve: its own handler by JavaScript name, and the kernel's copy of the response (writev).
      const ts = await folded(runDir, 'tsherve', 2);
      expect(shareMatching(ts, /\([\w-]+\.js:\d+\)$/)).toBeGreaterThan(0.2);
      expect(shareMatching(ts, /^do_writev$/)).toBeGreaterThan(0.05);
      expect(ts.some((s) => s.frames.some((f) => f.kind === 'js' && f.file?.includes('/servers/tsherve/src/')))).toBe(true);

      // Reports: results.json has one profile per implementation; statistics only from r1.
      const results = ResultsSchema.parse(JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')));
      expect(results.cells.map((c) => [c.impl, c.n, c.reps])).toEqual([
        ['gosherve-old', 1, [1]],
        ['gosherve', 1, [1]],
        ['tsherve', 1, [1]],
        ['nginx', 1, [1]],
      ]);
      expect(results.repetitions).toHaveLength(8);
      expect(results.profiles?.map((p) => [p.impl, p.rep, p.files.pprof])).toEqual(IMPLS.map((i) => [i, 2, `cells/1cpu/${i}/r2/profile.proto`]));
      expect(results.profiles?.every((p) => p.top.self.length === 10 && p.top.total.length === 10 && p.overhead.unprofiledReqPerSec !== null)).toBe(true);
      // nginx is stripped and built without frame pointers: the profile is there, with a warning naming it.
      expect(
        results.warnings
          .filter((w) => w.code === 'profile' && w.impl === 'nginx')
          .map((w) => w.message)
          .join('\n'),
      ).toMatch(/lacks function names for \/usr\/sbin\/nginx/);
      const md = await readFile(join(runDir, 'report.md'), 'utf8');
      expect(md).toMatch(/## Profiles: where the time goes/);
      for (const impl of IMPLS) expect(md).toContain(`### ${impl} at 1 vCPU`);
      expect(md).toMatch(/\| 10 \| `[^`]+`.* \| \d+\.\d % \| `[^`]+`.* \| \d+\.\d % \|/);
      const html = await readFile(join(runDir, 'report.html'), 'utf8');
      expect(html.match(/<svg id="flame-\d+" class="flame"/g)).toHaveLength(4);
      // Nothing left behind: no V8 map of a finished server, no V8 log in the working folder.
      expect((await orphanPerfMaps()).filter((f) => !mapsBefore.has(f))).toEqual([]);
      expect((await readdir(ROOT)).filter((f) => f.startsWith('isolate-'))).toEqual([]);
    },
    300_000,
  );

  it.runIf(real.current !== null)(
    `a server without symbols: the profile is written, and a warning names the binary ${REAL_GOSHERVE_TAG}`,
    async () => {
      await waitPortsFree([8080, 8081], 30_000);
      const bin = join(reports, 'gosherve-stripped');
      await copyFile(real.current as string, bin);
      await runFile('strip', ['--strip-all', bin]);
      // strip keeps the build id: perf would find the unstripped twin in a ~/.debug build-id cache
      // if one exists, so this run gets an empty HOME (the cache folder comes from the env above).
      const home = await mkdtemp(join(tmpdir(), 'profile-home-'));
      const r = await cli(['bench', '--profile', '--profile-hz', '999', '--impls', 'gosherve', '--reps', '1', ...SMALL, '--json'], {
        SERVER_BENCH_GOSHERVE_BIN: bin,
        HOME: home,
        SERVER_BENCH_CACHE: process.env.SERVER_BENCH_CACHE ?? join(process.env.HOME ?? '/root', '.cache', 'server-bench'),
      });
      await rm(home, { recursive: true, force: true });
      expect(r.exitCode, r.stderr).toBe(0);
      const runDir = (JSON.parse(r.stdout) as { runDir: string }).runDir;
      const profiled = CellResultSchema.parse(JSON.parse(await readFile(join(cellDir(runDir, '1', 'gosherve', 2), 'result.json'), 'utf8')));
      expect(profiled.profile?.unresolved[0]?.module).toBe(bin);
      expect(profiled.warnings.find((w) => w.code === 'profile')?.message).toMatch(
        new RegExp(`lacks function names for ${bin.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(\\d+ % of samples\\).*stripped`),
      );
      expect(existsSync(join(cellDir(runDir, '1', 'gosherve', 2), 'profile.proto'))).toBe(true);
      expect((await folded(runDir, 'gosherve', 2)).some((s) => s.frames.some((f) => f.name === '[gosherve-stripped]'))).toBe(true);
    },
    180_000,
  );
});
