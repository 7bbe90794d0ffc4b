// The VM backend end to end against a stand-in runner (fixtures/fake-runner.mjs): the built
// driver as a real process, a real OpenSSH sshd on the forwarded loopback port accepting only the
// per-run key, our k6test on this host (local supervisor, wrk), real servers. Cases: a full size
// with two implementations, a runner that dies during boot, SSH that never comes up, a host key
// that changes, Ctrl-C mid-run. Servers use the fixed ports 8080/8081: the cases run in order.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { cellDir, RESULT_FILE } from '../../src/results/layout.js';
import { waitPortsFree } from '../../src/servers/ports.js';
import { generateSite } from '../../src/site/generate.js';
import { loadRun } from '../../src/results/store.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const RUNNER = join(ROOT, 'driver', 'test', 'fixtures', 'fake-runner.mjs');
const ENTRY = join(ROOT, 'dist', 'driver', 'src', 'cli', 'commands', 'bench.js');
const VM_ENTRY = join(ROOT, 'dist', 'driver', 'src', 'cli', 'commands', 'vm.js');
const SMALL = ['--sizes', '1', '--duration', '2s', '--warmup', '1s', '--engine', 'wrk'];

let work: string;
let site: string;
let mapFile: string;

interface Case {
  mark: string;
  tmp: string;
  reports: string;
}

async function newCase(): Promise<Case> {
  const c = { mark: randomUUID(), tmp: await mkdtemp(join(work, 'tmp-')), reports: await mkdtemp(join(work, 'reports-')) };
  return c;
}

/** The driver as a user's process: `server-bench bench --backend vm …` through the command's main(). */
function driver(c: Case, args: string[], extraEnv: Record<string, string> = {}, entry = ENTRY): ResultPromise<{ reject: false; timeout: number; all: true }> {
  const code = `import(${JSON.stringify(entry)}).then((m) => m.main(process.argv.slice(1))).then((c) => process.exit(c))`;
  return execa(process.execPath, ['-e', code, '--', ...(entry === ENTRY ? ['--backend', 'vm'] : []), ...args], {
    reject: false,
    timeout: 90_000,
    all: true,
    cwd: work,
    env: {
      SERVER_BENCH_VM_RUNNER_1: RUNNER,
      SERVER_BENCH_REPORTS: c.reports,
      SERVER_BENCH_TEST_MARK: c.mark,
      TMPDIR: c.tmp, // every temp folder of the driver and the "VM" lands here: it must end empty
      FAKE_VM_WEBROOT: site,
      FAKE_VM_MAP: mapFile,
      ...extraEnv,
    },
  });
}

/**
 * Live processes of a case: those carrying its mark in their environment (runner, sessions,
 * k6test, servers, wrk) and those naming its temp folder on their command line (sshd, whose
 * process title overwrites its environment).
 */
async function leftovers(c: Case): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^[0-9]+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!environ.includes(c.mark) && !cmdline.includes(c.tmp)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat === '' || /\) Z /.test(stat)) continue;
    out.push(`${pid} ${(await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ')}`);
  }
  return out;
}

/** Bounded wait for the marked processes to be gone (a killed group takes a moment to be reaped). */
async function expectNoLeftovers(c: Case): Promise<void> {
  let left: string[] = [];
  for (let i = 0; i < 40; i++) {
    left = await leftovers(c);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(left).toEqual([]);
}

function errorLine(all: string): string {
  const lines = all.split('\n').filter((l) => l.startsWith('server-bench: '));
  expect(lines.length).toBeGreaterThanOrEqual(1);
  return lines[lines.length - 1] as string;
}

/**
 * Other suites run servers on 8080/8081 too (tsherve's, the engine's e2e): when one grabbed the
 * port between our wait and k6test's start, the cells fail with "port 8080 is in use"; wait and
 * run the case again (bounded). Any other outcome is returned as is.
 */
async function withFreePorts<T extends { all?: string }>(run: () => Promise<T>): Promise<T> {
  let r: T | null = null;
  for (let attempt = 0; attempt < 4; attempt++) {
    await waitPortsFree([8080, 8081], 60_000);
    r = await run();
    if (!/port 808[01] is in use/.test(r.all ?? '')) return r;
  }
  return r as T;
}

/** The one run folder under reports/ (beside it, reports/index.html once reports are written). */
async function onlyRunDir(reports: string): Promise<string> {
  const runs = (await readdir(reports, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  expect(runs).toHaveLength(1);
  return join(reports, runs[0] as string);
}

beforeAll(async () => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build first (npm test does)`);
  work = await mkdtemp(join(tmpdir(), 'vm-backend-test-'));
  site = join(work, 'site');
  const generated = await generateSite({ dir: site, seed: 1, targetBytes: 2_000_000 });
  mapFile = join(work, 'redirects.txt');
  await writeFile(mapFile, generated.redirectsText);
  await mkdir(join(work, 'cache'), { recursive: true });
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('VM backend against a stand-in runner with a real sshd', () => {
  it('runs a size with two implementations and stores valid results in the reports layout', async () => {
    let c = await newCase();
    const r = await withFreePorts(async () => {
      c = await newCase();
      return driver(c, ['--impls', 'tsherve,nginx', '--reps', '1', ...SMALL, '--json']);
    });
    expect(r.all).not.toMatch(/internal error/);
    expect(r.exitCode, r.all).toBe(0);
    const runDir = await onlyRunDir(c.reports);
    const loaded = await loadRun(runDir); // every file validated by the zod schemas
    expect(loaded.run.backend).toBe('vm');
    expect(loaded.run.site).toMatchObject({ kind: 'generated', files: 47, aliases: 2 }); // from k6test --info
    expect(Object.keys(loaded.run.versions.impls).sort()).toEqual(['nginx', 'tsherve']);
    expect(loaded.run.order).toEqual(['tsherve-1cpu-r1', 'nginx-1cpu-r1']);
    expect(loaded.cells.map((x) => x.id).sort()).toEqual(['nginx-1cpu-r1', 'tsherve-1cpu-r1']);
    for (const cell of loaded.cells) {
      expect(cell.requests).toBeGreaterThan(0);
      expect(cell.failedChecks).toBe(0);
      expect(cell.engine.name).toBe('wrk');
      expect(cell.resources.serverCpuSeconds).toBeGreaterThan(0);
      expect(existsSync(join(cellDir(runDir, '1', cell.impl, 1), 'summary.txt'))).toBe(true);
    }
    expect(loaded.verifications.map((v) => [v.impl, v.passed]).sort()).toEqual([
      ['nginx', true],
      ['tsherve', true],
    ]);
    // The same reports as the local backend.
    for (const f of ['results.json', 'report.md', 'report.html']) expect(existsSync(join(runDir, f)), f).toBe(true);
    expect(existsSync(join(c.reports, 'index.html'))).toBe(true);
    // The console went to the run's log; the temp disk, shared folder and staging are gone.
    expect(await readFile(join(runDir, 'vm', '1cpu-console.log'), 'utf8')).toMatch(/Started OpenSSH Daemon/);
    expect(r.all).toMatch(/Power down|powering off/);
    expect(await readdir(c.tmp)).toEqual([]);
    await expectNoLeftovers(c);
  }, 90_000);

  // Under a paravirtual /dev/kvm or QEMU's silent fallback, opening /dev/kvm says nothing about the
  // guest: its own systemd-detect-virt decides run.json's emulated and the cells' warning, both ways.
  for (const virt of ['qemu', 'kvm'] as const) {
    it(`takes emulated from the guest's systemd-detect-virt (${virt}), not from /dev/kvm`, async () => {
      let c = await newCase();
      const r = await withFreePorts(async () => {
        c = await newCase();
        return driver(c, ['--impls', 'tsherve', '--reps', '1', '--sizes', '1', '--duration', '1s', '--warmup', '0s', '--engine', 'wrk', '--allow-tcg'], {
          FAKE_VM_VIRT: virt,
        });
      });
      expect(r.exitCode, r.all).toBe(0);
      const loaded = await loadRun(await onlyRunDir(c.reports));
      expect(loaded.run.emulated).toBe(virt === 'qemu');
      expect(loaded.cells).toHaveLength(1);
      expect(loaded.cells[0]?.warnings.some((w) => w.code === 'emulated')).toBe(virt === 'qemu');
      await expectNoLeftovers(c);
    }, 60_000);
  }

  it('reports a runner that dies during boot with its console tail, leaving nothing behind', async () => {
    const c = await newCase();
    const r = await driver(c, ['--impls', 'tsherve', ...SMALL], { FAKE_RUNNER_MODE: 'die-at-boot' });
    expect(r.exitCode, r.all).toBe(ExitCode.failure);
    const line = errorLine(r.all);
    expect(line).toMatch(/VM exited with code 1 during boot/);
    expect(line).toMatch(/Kernel panic/);
    expect(await readdir(c.tmp)).toEqual([]);
    await expectNoLeftovers(c);
  }, 30_000);

  it('gives up on SSH that never comes up after the timeout, with the last console lines, and kills the runner', async () => {
    const c = await newCase();
    const r = await driver(c, ['--impls', 'tsherve', ...SMALL, '--ssh-timeout', '3s'], { FAKE_RUNNER_MODE: 'no-ssh' });
    expect(r.exitCode, r.all).toBe(ExitCode.environment);
    const line = errorLine(r.all);
    expect(line).toMatch(/SSH to the VM did not come up within 3 s/);
    expect(line).toMatch(/still waiting for sshd/);
    expect(await readdir(c.tmp)).toEqual([]);
    await expectNoLeftovers(c);
  }, 30_000);

  it('refuses a host key other than the one the VM published', async () => {
    const c = await newCase();
    const r = await driver(c, ['--impls', 'tsherve', ...SMALL], { FAKE_RUNNER_MODE: 'wrong-hostkey' });
    expect(r.exitCode, r.all).toBe(ExitCode.failure);
    expect(errorLine(r.all)).toMatch(/host key changed/);
    expect(r.all).not.toMatch(/k6test: /); // nothing ran
    expect(await readdir(c.tmp)).toEqual([]);
    await expectNoLeftovers(c);
  }, 30_000);

  it('on Ctrl-C mid-run leaves no process and no temp disk, and keeps the finished cell', async () => {
    let c = await newCase();
    let out = '';
    let sent = false;
    const r = await withFreePorts(async () => {
      c = await newCase();
      out = '';
      sent = false;
      const child = driver(c, ['--impls', 'tsherve', '--reps', '2', ...SMALL]);
      child.all?.on('data', (b: Buffer) => {
        out += b.toString();
        // Interrupt while the second cell is loading: the first is finished and stored.
        if (!sent && /tsherve-1cpu-r2 warmup/.test(out)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      return child;
    });
    expect(sent, out).toBe(true);
    expect(r.exitCode, r.all).toBe(ExitCode.interrupted);
    // The hint offers what the VM backend can do: not --resume, which it does not take.
    expect(r.all).toMatch(/the VM backend has no --resume/);
    expect(r.all).not.toMatch(/continue with --resume/);
    const runDir = await onlyRunDir(c.reports);
    expect(existsSync(join(cellDir(runDir, '1', 'tsherve', 1), RESULT_FILE))).toBe(true);
    expect(existsSync(join(cellDir(runDir, '1', 'tsherve', 2), RESULT_FILE))).toBe(false);
    expect((await loadRun(runDir)).cells.map((x) => x.id)).toEqual(['tsherve-1cpu-r1']);
    expect(await readdir(c.tmp)).toEqual([]);
    await expectNoLeftovers(c);
    await waitPortsFree([8080, 8081], 10_000); // the server in the "VM" is gone too
  }, 90_000);

  it('vm start interrupted while waiting for SSH leaves no VM, no temp disk and no state file', async () => {
    const c = await newCase();
    const state = await mkdtemp(join(work, 'xdg-'));
    const child = driver(c, ['start', '--size', '1', '--allow-tcg', '--ssh-timeout', '60s'], { XDG_RUNTIME_DIR: state, FAKE_RUNNER_MODE: 'no-ssh' }, VM_ENTRY);
    let out = '';
    child.all?.on('data', (b: Buffer) => (out += b.toString()));
    // Wait until the runner is up (its temp disk exists), then Ctrl-C.
    for (let i = 0; i < 100 && (await readdir(c.tmp)).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await readdir(c.tmp), out).not.toEqual([]);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, r.all).toBe(ExitCode.interrupted);
    expect(existsSync(join(state, 'server-bench', 'vm', '1.json'))).toBe(false);
    expect(await readdir(c.tmp)).toEqual([]);
    await expectNoLeftovers(c);
  }, 60_000);

  // The contract once said "published before sshd listens"; a guest can only know sshd is up after
  // it starts (ExecStartPost). Either way the forward accepts and resets until sshd listens.
  // Each case also has the guest answer systemd-detect-virt (qemu = TCG, kvm): that, not the host's
  // /dev/kvm, is what the state file records.
  for (const [mode, virt] of [
    ['hostkey-before-sshd', 'qemu'],
    ['ok', 'kvm'],
  ] as const) {
    it(`vm start connects whether the host key is published before sshd listens or after (${mode}); emulated from the guest (${virt})`, async () => {
      const c = await newCase();
      const state = await mkdtemp(join(work, 'xdg-'));
      const vm = (args: string[]) => driver(c, args, { XDG_RUNTIME_DIR: state, FAKE_RUNNER_MODE: mode, FAKE_VM_VIRT: virt }, VM_ENTRY);
      try {
        const started = await vm(['start', '--size', '1', '--allow-tcg', '--ssh-timeout', '20s']);
        expect(started.all).not.toMatch(/internal error|Connection lost before handshake/);
        expect(started.exitCode, started.all).toBe(0);
        const st = JSON.parse(await readFile(join(state, 'server-bench', 'vm', '1.json'), 'utf8')) as { emulated: boolean };
        expect(st.emulated).toBe(virt === 'qemu');
        expect(started.stdout.includes('emulated (TCG)')).toBe(virt === 'qemu');
        const ex = await vm(['exec', '--', 'echo up']);
        expect(ex.exitCode, ex.all).toBe(0);
        expect(ex.stdout.trim()).toBe('up');
      } finally {
        await vm(['stop', '--size', '1']);
      }
      expect(await readdir(c.tmp)).toEqual([]);
      await expectNoLeftovers(c);
    }, 60_000);
  }

  it('vm start keeps a VM running for vm exec and vm test, and vm stop ends it and cleans up', async () => {
    const c = await newCase();
    const state = await mkdtemp(join(work, 'xdg-'));
    const env = { XDG_RUNTIME_DIR: state };
    const vm = (args: string[]) => driver(c, args, env, VM_ENTRY);
    try {
      const started = await vm(['start', '--size', '1', '--allow-tcg', '--ssh-timeout', '20s']);
      expect(started.exitCode, started.all).toBe(0);
      expect(started.all).toMatch(/VM size 1 running: pid \d+, SSH on 127\.0\.0\.1:\d+, site port 8080 on 127\.0\.0\.1:\d+/);
      const file = join(state, 'server-bench', 'vm', '1.json');
      const st = JSON.parse(await readFile(file, 'utf8')) as { pid: number; port: number; sitePort: number; hostKey: string; tmpDir: string };
      expect(st.hostKey).toMatch(/^ssh-ed25519 /);
      // The guest's site port is forwarded too (a generator machine's serverAddress 127.0.0.1:sitePort).
      expect(st.sitePort).toBeGreaterThan(0);
      expect(st.sitePort).not.toBe(st.port);
      expect(existsSync(st.tmpDir)).toBe(true); // the disk lives as long as the VM

      const ex = await vm(['exec', '--', 'echo hello from $(hostname) && exit 3']);
      expect(ex.exitCode, ex.all).toBe(3); // the command's own exit code
      expect(ex.stdout).toMatch(/^hello from /);

      const r = await withFreePorts(() => vm(['test', 'tsherve', '--duration', '2s', '--warmup', '0s', '--engine', 'wrk']));
      expect(r.exitCode, r.all).toBe(0);
      const copied = /copied to (\S+)/.exec(r.all)?.[1] ?? '';
      expect(copied.startsWith(join(c.reports, 'benchvm-test'))).toBe(true);
      expect(copied).toMatch(/-tsherve$/);
      expect(existsSync(join(cellDir(copied, '1', 'tsherve', 1), RESULT_FILE))).toBe(true);

      const stopped = await vm(['stop', '--size', '1']);
      expect(stopped.exitCode, stopped.all).toBe(0);
      expect(existsSync(file)).toBe(false);
      expect(existsSync(st.tmpDir)).toBe(false);
      const again = await vm(['exec', '--', 'true']);
      expect(again.exitCode).toBe(ExitCode.usage);
      expect(errorLine(again.all)).toMatch(/no VM is running/);
    } finally {
      await vm(['stop', '--size', '1']); // a failed assertion must not leave the VM running
    }
    await expectNoLeftovers(c);
  }, 90_000);
});
