// bench --profile against the real perf: the up-front check (installed, permitted), perf's own
// refusal text turned into the fix, and a recording of real Node processes — started with the
// flags tsherve gets when profiled — switched on over the control pipe, following a child started
// after attaching, folded with JavaScript names, and its V8 map files cleaned up.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchError, ExitCode } from '../../src/errors.js';
import { NODE_PROFILE_FLAGS } from '../../src/servers/registry.js';
import {
  checkPerf,
  classifyPerfFailure,
  foldPerfData,
  PERF_INSTALL_HINT,
  perfBinary,
  permissionProblem,
  removePerfMaps,
  startPerfRecord,
} from '../../src/profile/perf.js';
import { processGroupPids } from '../../src/servers/resources.js';

const run = promisify(execFile);
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-perf-'));
});

afterAll(async () => {
  for (const c of children) {
    try {
      process.kill(-(c.pid as number), 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(dir, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<BenchError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BenchError) return err;
    throw err;
  }
  throw new Error('expected a BenchError');
}

describe('checkPerf', () => {
  it('passes here: perf installed and we are root', async () => {
    expect(process.getuid?.()).toBe(0);
    await expect(checkPerf()).resolves.toBeUndefined();
  });

  it('perf missing: the install line, environment exit code', async () => {
    const e = await caught(checkPerf('/nonexistent/perf'));
    expect(e.exitCode).toBe(ExitCode.environment);
    expect(e.oneLine()).toBe(`--profile needs Linux perf, which is not installed (/nonexistent/perf not found) (${PERF_INSTALL_HINT})`);
    expect(perfBinary({ SERVER_BENCH_PERF: '/opt/perf' })).toBe('/opt/perf');
    expect(perfBinary({})).toBe('perf');
  });

  it('not root and perf_event_paranoid > 1: says what to change, before any perf run', async () => {
    const e = await caught(checkPerf('perf', { uid: 1000, paranoid: 2, capable: false }));
    expect(e.exitCode).toBe(ExitCode.environment);
    expect(e.message).toMatch(/not root and kernel\.perf_event_paranoid is 2/);
    expect(e.hint).toMatch(/sysctl -w kernel\.perf_event_paranoid=1/);
    expect(permissionProblem({ uid: 1000, paranoid: 3, capable: false })?.message).toMatch(/is 3/);
    expect(permissionProblem({ uid: 1000, paranoid: null, capable: false })?.message).toMatch(/cannot be read/);
    expect(permissionProblem({ uid: 1000, paranoid: 1, capable: false })).toBeNull();
    expect(permissionProblem({ uid: 1000, paranoid: 2, capable: true })).toBeNull();
    expect(permissionProblem({ uid: 0, paranoid: 3, capable: false })).toBeNull();
  });

  it("perf's refusal to a user who may not sample a process is turned into the same fix", async () => {
    // As nobody, attach to a process of root's: the kernel refuses, perf explains in many lines.
    const target = spawn('sleep', ['20'], { stdio: 'ignore' });
    try {
      const r = await run(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          'perf',
          'record',
          '-e',
          'cpu-clock',
          '-o',
          '/dev/null',
          '-p',
          String(target.pid),
          '--',
          'sleep',
          '0.1',
        ],
        { cwd: '/tmp' },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/perf_event_paranoid|Permission|not permitted/);
      const e = classifyPerfFailure(r.stderr, r.code);
      expect(e.exitCode).toBe(ExitCode.environment);
      expect(e.hint).toMatch(/as root, or allow it: sysctl -w kernel\.perf_event_paranoid=1/);
    } finally {
      target.kill('SIGKILL');
    }
    expect(classifyPerfFailure('WARNING: perf not found for kernel 6.8.0-45\n', 2).hint).toBe(PERF_INSTALL_HINT);
    expect(classifyPerfFailure('something else\nbroke', 1).message).toBe('perf record failed (exit 1): something else | broke');
  });
});

describe('recording a real Node server tree', () => {
  it("starts sampling on perf's ack, follows a child started later, names JavaScript functions, cleans up", async () => {
    // A parent that spins in parentSpin; after a signal it forks a child that spins in childSpin.
    const script = join(dir, 'spin.mjs');
    await writeFile(
      script,
      `import { fork } from 'node:child_process';
function parentSpin(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }
function childSpin(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 2); return x; }
if (process.argv[2] === 'child') { childSpin(1500); process.exit(0); }
process.on('SIGUSR2', () => { fork(process.argv[1], ['child']); });
setInterval(() => parentSpin(40), 50);
`,
    );
    const parent = spawn(process.execPath, [...NODE_PROFILE_FLAGS, script], { cwd: dir, detached: true, stdio: 'ignore' });
    children.push(parent);
    const pgid = parent.pid as number;
    // Running, with V8's perf map written (--perf-basic-prof: /tmp/perf-<pid>.map), bounded.
    const mapFile = `/tmp/perf-${pgid}.map`;
    const started = Date.now() + 10_000;
    while (!(existsSync(mapFile) && statSync(mapFile).size > 0) && Date.now() < started) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(mapFile), mapFile).toBe(true);
    const pids = processGroupPids(pgid);
    expect(pids).toEqual([pgid]);
    const dataFile = join(dir, 'perf.data');
    const rec = await startPerfRecord({ pids, hz: 999, callGraph: 'fp', dataFile });
    process.kill(pgid, 'SIGUSR2');
    // Poll until the child has come and gone (it spins 1.5 s), bounded.
    const deadline = Date.now() + 15_000;
    let sawChild = false;
    while (Date.now() < deadline) {
      const now = processGroupPids(pgid);
      if (now.length > 1) sawChild = true;
      if (sawChild && now.length === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sawChild).toBe(true);
    await rec.stop();
    await rec.stop(); // idempotent
    const folded = await foldPerfData(dataFile);
    const names = (pid: 'parent' | 'child') =>
      folded.stacks
        .filter((s) => s.frames.some((f) => f.kind === 'js' && f.name === (pid === 'parent' ? 'parentSpin' : 'childSpin')))
        .reduce((n, s) => n + s.samples, 0);
    expect(names('parent')).toBeGreaterThan(10);
    expect(names('child')).toBeGreaterThan(10); // inherited by the child forked after perf attached
    expect(folded.pids.length).toBeGreaterThanOrEqual(2);
    expect(folded.stacks.some((s) => s.frames.some((f) => f.kind === 'js' && f.file?.endsWith('spin.mjs')))).toBe(true);
    for (const p of folded.pids) expect(existsSync(`/tmp/perf-${p}.map`)).toBe(true);
    await removePerfMaps(folded.pids);
    for (const p of folded.pids) expect(existsSync(`/tmp/perf-${p}.map`)).toBe(false);
    // --logfile=+ keeps V8's log out of the working folder.
    expect((await readdir(dir)).filter((f) => f.startsWith('isolate-'))).toEqual([]);
    process.kill(-pgid, 'SIGKILL');
  }, 60_000);

  it('a process that is gone: perf fails with its reason', async () => {
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    const e = await caught(startPerfRecord({ pids: [gone.pid as number], hz: 99, callGraph: 'fp', dataFile: join(dir, 'gone.data') }));
    expect(e.message).toMatch(/^perf record failed \(exit \d+\): .+/);
    const none = await caught(startPerfRecord({ pids: [], hz: 99, callGraph: 'fp', dataFile: join(dir, 'none.data') }));
    expect(none.message).toMatch(/no processes to sample/);
  });
});

describe('bench --backend vm --profile-hz without --profile', () => {
  it('is refused with one line, as on the local backend (profile-vm.test.ts tests --profile itself)', async () => {
    const { main } = await import('../../src/cli/commands/bench-vm.js');
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await main(['--profile-hz=999'])).toBe(ExitCode.usage);
    } finally {
      process.stderr.write = write;
    }
    expect(lines[0]).toBe('server-bench: --profile-hz, --profile-call-graph and --profile-in-stats need --profile (add --profile)\n');
  });
});
