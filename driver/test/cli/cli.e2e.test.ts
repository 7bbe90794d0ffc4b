// The command line's rough edges, through the built CLI as a real process (issue 13): --version and
// every subcommand's --help; our one-line wording for what node:util parseArgs refuses; durations
// with units; --webroot given a file; flags named in their errors; the corrupt run.json hint;
// --resume refusing flags that would change the stored run; Ctrl-C while a large site generates;
// a size the host cannot fit; --port (a busy 8080, two runs at once, gosherve's fixed ports).
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { waitPortsFree } from '../../src/servers/ports.js';
import { VerificationSchema } from '../../src/results/schema.js';
import { assertCliBuilt, CLI, oneLine, ROOT } from '../support/cli.js';

const RUNS = join(ROOT, 'driver', 'test', 'fixtures', 'runs');
const SMALL = ['--sizes', '1', '--reps', '1', '--duration', '2s', '--warmup', '1s', '--site-size', '2MB', '--engine', 'wrk'];

let home: string;
let reports: string;
let cache: string;
let tmp: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  // TMPDIR: the --port locks of these runs live in a folder of their own.
  return { ...(process.env as Record<string, string>), SERVER_BENCH_REPORTS: reports, SERVER_BENCH_CACHE: cache, TMPDIR: tmp, ...extra };
}

async function cli(args: string[], extra: Record<string, string> = {}, timeoutMs = 120_000) {
  return execa(process.execPath, [CLI, ...args], { env: env(extra), reject: false, timeout: timeoutMs, cwd: ROOT, extendEnv: false });
}

beforeAll(async () => {
  assertCliBuilt();
  home = await mkdtemp(join(tmpdir(), 'cli-e2e-'));
  reports = join(home, 'reports');
  cache = join(home, 'cache');
  tmp = join(home, 'tmp');
  for (const d of [reports, cache, tmp]) await execa('mkdir', ['-p', d]);
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('--version and --help', () => {
  it('--version prints the version and exits 0', async () => {
    const r = await cli(['--version']);
    expect(r.exitCode, r.stderr).toBe(0);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.stdout).toBe(`server-bench ${pkg.version} (node ${process.version})`);
  });

  it.each([
    '--help',
    'bench --help',
    'bench --backend vm --help',
    'verify --help',
    'prepare --help',
    'report --help',
    'compare --help',
    'vm --help',
    'vm start --help',
    'vm stop --help',
    'vm exec --help',
    'vm test --help',
    'vm image --help',
    'vm image build --help',
  ])('server-bench %s: usage on stdout, nothing on stderr, exit 0', async (line) => {
    const r = await cli(line.split(' '));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: server-bench/);
    // More than a bare usage line: what it does, or its flags.
    expect(r.stdout.trim().split('\n').length, r.stdout).toBeGreaterThan(2);
  });
});

describe('bad input: one line naming the cause and the fix', () => {
  it.each([
    [['bench', '--duration', '-1'], /^server-bench: --duration: "-1" is negative \(--duration takes a duration like/],
    [['bench', '--duration'], /^server-bench: bench: --duration needs a value \(give it as --duration D; see server-bench bench --help\)$/],
    [['bench', '--reps', '--json'], /^server-bench: bench: --reps needs a value \(give it as --reps N;/],
    [['bench', '--json=yes'], /^server-bench: bench: --json is a switch and takes no value/],
    [['bench', '--fast'], /^server-bench: bench: unknown flag --fast \(see server-bench bench --help\)$/],
    [['vm', 'start', '--size'], /^server-bench: vm start: --size needs a value \(give it as --size N; see server-bench vm start --help\)$/],
    [['compare', '--threshold'], /^server-bench: compare: --threshold needs a value/],
    [['bench', '--duration', '45'], /^server-bench: --duration: "45" has no unit \(write 45s for seconds or 45ms for milliseconds\)$/],
    [['bench', '--warmup', 'soon'], /^server-bench: --warmup: bad duration "soon"/],
    [['bench', '--impls', 'tsherve,apache'], /^server-bench: --impls: unknown implementation "apache" \(valid: /],
    [
      ['bench', '--impls', 'tsherve', '--reference', 'nginx'],
      /^server-bench: --reference nginx: not one of the implementations this run runs \(choose one of: tsherve \(or add it to --impls\)\)$/,
    ],
  ])('%j', async (args, expected) => {
    const r = await cli(args);
    expect(r.exitCode, r.stderr).toBe(ExitCode.usage);
    expect(oneLine(r.stderr)).toMatch(expected);
    expect(r.stderr).not.toMatch(/ambiguous|To specify|Did you forget/);
  });

  it('--duration 1m and --warmup 5s are taken (formatDuration prints them so: duration.test.ts)', async () => {
    // A plan only (the missing reports folder stops nothing): accepted means no usage error.
    const r = await cli(['bench', '--duration', '1m', '--warmup', '5s', '--impls', 'nosuch']);
    expect(oneLine(r.stderr)).not.toMatch(/duration|warmup/);
  });

  it('--webroot given a file says it is a file', async () => {
    const file = join(home, 'index.html');
    await writeFile(file, '<p>hi</p>');
    const r = await cli(['bench', '--webroot', file]);
    expect(r.exitCode).toBe(ExitCode.input);
    expect(oneLine(r.stderr)).toBe(
      `server-bench: --webroot ${file} is a file, not a folder (pass the folder that holds your site's index.html (perhaps ${home}))`,
    );
  });

  it('a corrupt run.json: the hint does not suggest deleting it', async () => {
    await cp(join(RUNS, 'normal'), join(reports, 'corrupt-run'), { recursive: true });
    await writeFile(join(reports, 'corrupt-run', 'run.json'), '{"schemaVersion": ');
    for (const args of [
      ['bench', '--resume', 'corrupt-run'],
      ['report', join(reports, 'corrupt-run')],
    ]) {
      const r = await cli(args);
      expect(r.exitCode).toBe(ExitCode.input);
      const line = oneLine(r.stderr);
      expect(line).toContain(`corrupt run file ${join(reports, 'corrupt-run', 'run.json')}: not valid JSON`);
      expect(line).not.toMatch(/delete/);
      expect(line).toMatch(/restore it from a copy or version control .*or start a new run without --resume\)$/);
    }
  });
});

describe('the terminal summary', () => {
  it('fits the terminal ($COLUMNS when stdout is not one) and ends with a hyperfine-style verdict', async () => {
    await cp(join(RUNS, 'normal'), join(reports, 'width'), { recursive: true });
    for (const columns of ['80', '120']) {
      const r = await cli(['report', join(reports, 'width')], { COLUMNS: columns });
      expect(r.exitCode, r.stderr).toBe(0);
      // Before: 99 columns whatever the terminal (152 for a run of six implementations).
      expect(Math.max(...r.stdout.split('\n').map((l) => [...l].length)), r.stdout).toBeLessThanOrEqual(Number(columns));
      expect(r.stdout).toContain("size 2: tsherve: 1.34 ± 0.19× gosherve's req/s (p = 0.016)");
    }
  });
});

describe('--resume', () => {
  it('refuses flags that would change the stored run, naming each difference in one line; nothing runs', async () => {
    await cp(join(RUNS, 'normal'), join(reports, 'normal'), { recursive: true });
    const before = await readdir(join(reports, 'normal'), { recursive: true });
    const r = await cli(['bench', '--resume', 'normal', '--reps', '5', '--duration', '1s', '--json']);
    expect(r.exitCode, r.stderr).toBe(ExitCode.usage);
    expect(oneLine(r.stderr)).toBe(
      'server-bench: --resume normal: --reps 5 (the run has 3), --duration 1s (the run has 30s): a resumed run keeps the settings it started with (leave those flags out to finish the run as it was started, or start a new run with them)',
    );
    expect(await readdir(join(reports, 'normal'), { recursive: true })).toEqual(before);
  });
});

describe('runs that cannot start', () => {
  it('Ctrl-C while a large site is generated stops it promptly: exit 130, no half-written site, no run folder', async () => {
    const runs = await readdir(reports);
    const child = spawn(process.execPath, [CLI, 'bench', '--impls', 'tsherve', '--engine', 'wrk', '--sizes', '1', '--site-size', '3GB'], {
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: ROOT,
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    let code: number | null;
    let took: number;
    try {
      while (!stderr.includes('site: generating') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toContain('site: generating');
      await new Promise((r) => setTimeout(r, 1000)); // well into the generation
      const sent = Date.now();
      child.kill('SIGINT');
      code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
      took = Date.now() - sent;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); // a build that ignores Ctrl-C here
    }
    expect(code, stderr).toBe(ExitCode.interrupted);
    // Before: generation went on to the end (a 3 GB site, ~36 s here) and left an empty run folder.
    expect(took, stderr).toBeLessThan(5_000);
    expect(stderr).toMatch(/^server-bench: interrupted$/m);
    expect(await readdir(join(cache, 'sites')).catch(() => [])).toEqual([]);
    expect(await readdir(reports)).toEqual(runs);
  }, 60_000);

  it('--sizes 2 on a 2-core host: nothing to run, the reason names --loadgen shared, exit 4, no run folder', async () => {
    const runs = await readdir(reports);
    const r = await execa(
      'taskset',
      ['-c', '0,1', process.execPath, CLI, 'bench', '--impls', 'tsherve', '--engine', 'wrk', '--sizes', '2', '--site-size', '2MB'],
      { env: env(), reject: false, timeout: 60_000, cwd: ROOT, extendEnv: false },
    );
    expect(r.exitCode, r.stderr).toBe(ExitCode.environment);
    expect(oneLine(r.stderr)).toBe(
      "server-bench: nothing to run: size 2 needs 2 server CPUs + 1 for the load generator; this host allows 2 (CPUs 0-1); --loadgen shared fits (the load generator then shares the server's cores) (add --loadgen shared, or choose a size this host fits (--sizes 1))",
    );
    expect(await readdir(reports)).toEqual(runs);
  }, 60_000);
});

describe('an implementation asked for by name that is unavailable', () => {
  it('verify --impls: exit 4, the reason said once', async () => {
    await waitPortsFree([8080, 8081], 30_000);
    const r = await cli(['verify', '--impls', 'tsherve,servy', '--site-size', '2MB'], { SERVER_BENCH_SERVY_BIN: '', SERVER_BENCH_SERVY_CHECKOUT: '' });
    expect(r.exitCode, r.stderr).toBe(ExitCode.environment);
    expect(r.stdout).toMatch(/^tsherve: PASS/m);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('servy: unavailable: '))).toHaveLength(1);
  }, 120_000);
});

describe('--port', () => {
  /** The port a finished run's tsherve was verified on. */
  async function portOf(stdout: string): Promise<number> {
    const dir = /^results: (\S+) \(/m.exec(stdout)?.[1] ?? '';
    const v = VerificationSchema.parse(JSON.parse(await readFile(join(dir, 'verify', '1cpu', 'tsherve.json'), 'utf8')));
    return Number(new URL(v.findings[0]?.url ?? '').port);
  }

  it('--port auto: a busy 8080 is no dead end, and two runs at once take different ports', async () => {
    await waitPortsFree([8080, 8081, 8082, 8083], 30_000);
    const holder: Server = createServer();
    await new Promise<void>((resolve, reject) => {
      holder.once('error', reject);
      holder.listen({ port: 8080, host: '0.0.0.0' }, () => resolve());
    });
    try {
      // Without --port the busy port is an error that now names the way out.
      const stuck = await cli(['bench', '--impls', 'tsherve', ...SMALL]);
      expect(stuck.exitCode).toBe(ExitCode.environment);
      expect(oneLine(stuck.stderr)).toMatch(/port 8080 is in use by .*; or pass --port auto/);
      const [a, b] = await Promise.all(
        ['a', 'b'].map((id) => cli(['bench', '--impls', 'tsherve', '--port', 'auto', ...SMALL, '--out', join(reports, `port-auto-${id}`)])),
      );
      if (!a || !b) throw new Error('two runs');
      expect(a.exitCode, a.stderr).toBe(0);
      expect(b.exitCode, b.stderr).toBe(0);
      const ports = [await portOf(a.stdout), await portOf(b.stdout)].sort();
      expect(ports).toEqual([8082, 8084]);
      // Each released its pair when it ended.
      expect(await readdir(join(tmp, 'server-bench-ports'))).toEqual([]);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  }, 180_000);

  it('--port N moves the servers that can move; gosherve, whose ports are fixed, is refused by name', async () => {
    await waitPortsFree([9080, 9081], 30_000);
    const r = await cli(['bench', '--impls', 'tsherve', '--port', '9080', ...SMALL]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await portOf(r.stdout)).toBe(9080);
    const refused = await cli(['bench', '--impls', 'tsherve,gosherve', '--port', '9080', ...SMALL]);
    expect(refused.exitCode).toBe(ExitCode.usage);
    expect(oneLine(refused.stderr)).toBe(
      'server-bench: --port 9080: gosherve listens on 8080/8081 only (no flag changes them); --port 9080 moves the others (leave gosherve out of --impls, or run it without --port)',
    );
    const bad = await cli(['bench', '--port', '80']);
    expect(bad.exitCode).toBe(ExitCode.usage);
    expect(oneLine(bad.stderr)).toMatch(/--port: "80" is not a port from 1024 to 65534/);
  }, 120_000);
});
