// A real VM, end to end (CI: .ci/vm-e2e; not in `npm test`, it boots QEMU three times): the Debian
// guest image built (or found cached) by `server-bench vm image build`; `vm start --size 1` and
// `vm exec`; the running guest then plays a remote Debian machine for --backend hosts, with this
// machine as its separate generator machine through a real sshd (hosts check, hosts provision twice,
// a real cell and a profiled one through bench --backend hosts --profile with the load relayed here,
// the one-line failures); `vm stop`; `bench --backend vm --image debian` with every implementation the
// image carries; and a bench interrupted mid-cell. Asserts verified and stored cells, emulated exactly
// when the runner chose TCG, the size's memory limit enforced by the guest's cgroup (memory.peak read
// there), and no QEMU, disk or temp folder left. Prints how long each phase took.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { defaultCacheDir } from '../../src/servers/registry.js';
import { vmSizeOf } from '../../src/run/matrix-files.js';
import { loadRun } from '../../src/results/store.js';
import { chooseAccel, probeKvm, type AccelChoice } from '../../src/vm/image/accel.js';
import { ImageManifestSchema, type ImageManifest } from '../../src/vm/image/build.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'driver', 'src', 'cli', 'main.js');
const MINUTE = 60_000;
const SITE_SIZE = process.env.SERVER_BENCH_VM_SITE_SIZE ?? '2MB';

const mark = randomUUID();
let work: string;
let tmp: string;
let reports: string;
let xdg: string;
let imageDir: string;
let manifest: ImageManifest;
let accel: AccelChoice;
const timings: [string, number][] = [];
let vmTmpDir = '';
// --backend hosts: the running guest as a machine of size 1.
let hostsFile = '';
let ssh: { user: string; host: string; port: number; identityFile: string; hostKey: string };
// Its generator machine: this machine through a real sshd on 127.0.0.1, reaching the guest's site port as QEMU forwards it.
let genSshd: TestSshd | null = null;
let sitePort = 0;

/** The hosts file for the guest as size 1; `generator`: with this machine as its generator machine. */
async function writeHosts(file: string, over: Partial<typeof ssh> = {}, generator = false): Promise<string> {
  const g = genSshd;
  const gen =
    generator && g
      ? {
          generator: {
            ssh: { user: g.user, host: '127.0.0.1', port: g.port, identityFile: g.identityFile, hostKey: g.hostKeyLine },
            cpus: [1],
            serverAddress: `127.0.0.1:${sitePort}`,
          },
        }
      : {};
  await writeFile(file, JSON.stringify({ hosts: { '1': { ssh: { ...ssh, ...over }, serverCpus: [0], generatorCpus: [1], ...gen } } }, null, 2));
  return file;
}

function cli(args: string[], timeoutMs: number): ResultPromise<{ reject: false; all: true; timeout: number }> {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    all: true,
    timeout: timeoutMs,
    cwd: work,
    // TMPDIR: every temp folder and per-run disk of the driver lands here and must be gone after.
    // A 2 MB site: crawling and verifying the default one (~700 paths) takes minutes per cell under TCG.
    env: { SERVER_BENCH_REPORTS: reports, SERVER_BENCH_TEST_MARK: mark, TMPDIR: tmp, XDG_RUNTIME_DIR: xdg, SERVER_BENCH_VM_SITE_SIZE: SITE_SIZE },
  });
}

/** `bench` on the Debian guest, size 1, one repetition of `duration` cells (2 s warm-up) with wrk, TCG allowed; `more` after. */
function debianBench(duration: string, more: string[], timeoutMs: number): ReturnType<typeof cli> {
  return cli(
    [
      'bench',
      '--backend',
      'vm',
      '--image',
      'debian',
      '--sizes',
      '1',
      '--reps',
      '1',
      '--duration',
      duration,
      '--warmup',
      '2s',
      '--engine',
      'wrk',
      '--allow-tcg',
      ...more,
    ],
    timeoutMs,
  );
}

async function timed<T>(phase: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    const s = (Date.now() - t0) / 1000;
    timings.push([phase, s]);
    process.stderr.write(`vm-e2e: ${phase}: ${s.toFixed(1)} s\n`);
  }
}

/** Our processes still alive: the mark in their environment (runner, QEMU) or the image on their command line. */
async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^[0-9]+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
    if (!environ.includes(mark) && !cmdline.includes(imageDir)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat === '' || /\) Z /.test(stat)) continue;
    out.push(`${pid} ${cmdline}`);
  }
  return out;
}

async function expectNothingLeft(): Promise<void> {
  let left: string[] = [];
  for (let i = 0; i < 100; i++) {
    left = await leftovers();
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(left).toEqual([]);
  expect(await readdir(tmp)).toEqual([]);
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  work = await mkdtemp(join(tmpdir(), 'vm-e2e-'));
  for (const d of ['tmp', 'reports', 'xdg']) await execa('mkdir', [join(work, d)]);
  tmp = join(work, 'tmp');
  reports = join(work, 'reports');
  xdg = join(work, 'xdg');
});

afterAll(async () => {
  // A failed assertion must not leave a VM running.
  if (xdg) await cli(['vm', 'stop', '--size', '1'], MINUTE).catch(() => undefined);
  await genSshd?.stop();
  await rm(work, { recursive: true, force: true });
  process.stderr.write(`vm-e2e timings (s): ${timings.map(([p, s]) => `${p} ${s.toFixed(1)}`).join(', ')}\n`);
});

describe('the Debian guest in a real QEMU', () => {
  it(
    'vm image build: built or cached, then cached',
    async () => {
      const first = await timed('image build (first call)', () => cli(['vm', 'image', 'build', '--json'], 30 * MINUTE));
      expect(first.exitCode, first.all).toBe(0);
      const j = JSON.parse(first.stdout) as { dir: string; cached: boolean; manifest: unknown };
      manifest = ImageManifestSchema.parse(j.manifest);
      imageDir = j.dir;
      expect(imageDir.startsWith(join(defaultCacheDir(), 'vm', 'debian', 'image-'))).toBe(true);
      expect(manifest.impls).toEqual(expect.arrayContaining(['tsherve', 'nginx']));
      if (!j.cached) process.stderr.write(`vm-e2e: built cold: base ${manifest.buildSeconds.base ?? 'cached'} s, image ${manifest.buildSeconds.image} s\n`);
      const again = await timed('image build (cached)', () => cli(['vm', 'image', 'build', '--json'], 5 * MINUTE));
      expect(again.exitCode, again.all).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ dir: imageDir, cached: true });
      accel = await chooseAccel({ kernel: join(imageDir, 'vmlinuz'), cacheDir: defaultCacheDir() });
      process.stderr.write(`vm-e2e: accelerator ${accel.accel} (${accel.reason})\n`);
      if (existsSync('/sys/module/kvm_pvm')) {
        // The case this machine has: /dev/kvm opens, yet KVM does not boot a stock kernel.
        expect(accel.accel).toBe('tcg');
        const probe = await probeKvm(join(imageDir, 'vmlinuz'), 20_000);
        process.stderr.write(`vm-e2e: KVM probe on kvm_pvm: ${probe.detail}\n`);
        expect(probe.ok).toBe(false);
      }
    },
    35 * MINUTE,
  );

  it(
    'vm start --size 1, vm exec: the guest runs the size, under the accelerator chosen',
    async () => {
      const started = await timed('vm start (boot to SSH)', () => cli(['vm', 'start', '--size', '1', '--image', 'debian', '--allow-tcg'], 15 * MINUTE));
      expect(started.exitCode, started.all).toBe(0);
      expect(started.stdout).toMatch(/VM size 1 running: pid \d+, SSH on 127\.0\.0\.1:\d+/);
      expect(started.stdout.includes('emulated (TCG)')).toBe(accel.accel === 'tcg');
      expect(started.all).toContain(`Debian guest with ${accel.accel.toUpperCase()}`);
      const state = JSON.parse(await readFile(join(xdg, 'server-bench', 'vm', '1.json'), 'utf8')) as { emulated: boolean; consoleLog: string; tmpDir: string };
      expect(state.emulated).toBe(accel.accel === 'tcg');
      expect(await readFile(state.consoleLog, 'utf8')).toContain(`server-bench: QEMU with ${accel.accel.toUpperCase()}`);

      const uname = await timed('vm exec uname -a', () => cli(['vm', 'exec', '--', 'uname -a'], 2 * MINUTE));
      expect(uname.exitCode, uname.all).toBe(0);
      expect(uname.stdout).toMatch(/^Linux bench-1 \S+-amd64 /);
      const size = vmSizeOf('1');
      const facts = await cli(
        [
          'vm',
          'exec',
          '--',
          'systemd-detect-virt; nproc; cat /etc/server-bench/size.json; systemctl show -p MemoryMax -p AllowedCPUs bench-tsherve; systemctl is-active bench-redirect-map; ip -4 -br address show eth0',
        ],
        2 * MINUTE,
      );
      expect(facts.exitCode, facts.all).toBe(0);
      const lines = facts.stdout.trim().split('\n');
      expect(lines[0]).toBe(accel.accel === 'tcg' ? 'qemu' : 'kvm');
      expect(lines[1]).toBe(String(size.vmCores));
      expect(JSON.parse(lines[2] as string)).toMatchObject({ name: '1', cpus: size.cpus, memoryMiB: size.memoryMiB, vmCores: size.vmCores });
      expect(facts.stdout).toContain(`MemoryMax=${size.memoryMiB * 2 ** 20}`);
      expect(facts.stdout).toContain('AllowedCPUs=0');
      expect(facts.stdout).toContain('\nactive\n');
      expect(facts.stdout).toMatch(/eth0\s+UP\s+10\.0\.2\.15\/24/);
      vmTmpDir = state.tmpDir;
    },
    25 * MINUTE,
  );

  // The running guest plays a remote Debian machine of size 1 for --backend hosts (issue 18), reached
  // over its forwarded SSH port with its own pinned host key: no second boot.
  it(
    'hosts check: the guest as a machine is reachable and not provisioned yet (one line)',
    async () => {
      const state = JSON.parse(await readFile(join(xdg, 'server-bench', 'vm', '1.json'), 'utf8')) as {
        port: number;
        sitePort: number;
        privateKeyFile: string;
        hostKey: string;
      };
      ssh = { user: 'root', host: '127.0.0.1', port: state.port, identityFile: state.privateKeyFile, hostKey: state.hostKey };
      sitePort = state.sitePort;
      genSshd = await startSshd();
      hostsFile = await writeHosts(join(work, 'hosts.json'), {}, true);
      const check = await timed('hosts check (not provisioned)', () => cli(['hosts', 'check', '--hosts', hostsFile], 5 * MINUTE));
      expect(check.exitCode, check.all).toBe(ExitCode.environment);
      expect(check.stdout.trim().split('\n')).toHaveLength(1);
      expect(check.stdout).toMatch(
        /^size 1 root@127\.0\.0\.1:\d+ \(bench-1: .* 2 cores .*virt (qemu|kvm).*\): missing: not provisioned \(server-bench hosts provision/,
      );
    },
    10 * MINUTE,
  );

  it(
    'hosts provision sends the bundle and the units; again sends nothing; check says ready',
    async () => {
      // The guest carries the image's /opt already: the compiled tree taken away and a stale file put
      // there, so provision has a real part to send and something to remove.
      const prep = await cli(['vm', 'exec', '--', 'rm -rf /opt/server-bench/dist && touch /opt/server-bench/stale-file'], 2 * MINUTE);
      expect(prep.exitCode, prep.all).toBe(0);
      const first = await timed('hosts provision (first)', () => cli(['hosts', 'provision', '--hosts', hostsFile], 20 * MINUTE));
      expect(first.exitCode, first.all).toBe(0);
      process.stderr.write(`vm-e2e: ${first.stdout.trim()}\n`);
      expect(first.stdout).toMatch(
        /^size 1 root@127\.0\.0\.1:\d+: provisioned: bundle [0-9a-f]{12} sent \([\d,]+ of [\d,]+ files differed, [\d.]+ MB; 1 removed in \d+ s\); \d+ files and units for size 1 \(server cores 0, generator 1\); k6test answers \([^)]*\btsherve\b[^)]*\bnginx\)/,
      );
      const [sent, total] = (/([\d,]+) of ([\d,]+) files differed/.exec(first.stdout) as RegExpExecArray).slice(1).map((n) => Number(n.replace(/,/g, '')));
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThan(total as number);
      const stale = await cli(
        ['vm', 'exec', '--', 'test -e /opt/server-bench/stale-file && echo there || echo gone; ls /opt/server-bench/dist/driver/src/guest/k6test-cli.js'],
        2 * MINUTE,
      );
      expect(stale.stdout.trim().split('\n')).toEqual(['gone', '/opt/server-bench/dist/driver/src/guest/k6test-cli.js']);
      const second = await timed('hosts provision (again)', () => cli(['hosts', 'provision', '--hosts', hostsFile], 10 * MINUTE));
      expect(second.exitCode, second.all).toBe(0);
      expect(second.stdout).toMatch(/already provisioned \(nothing sent\)/);
      const check = await cli(['hosts', 'check', '--hosts', hostsFile], 5 * MINUTE);
      expect(check.exitCode, check.all).toBe(0);
      expect(check.stdout).toMatch(/: ready$/m);
    },
    35 * MINUTE,
  );

  // One boot serves --backend hosts with a separate generator machine (issue 18) and bench --profile in
  // the guest (issue 14): k6test there relays each load run to this machine's wrk (through the sshd
  // above, against the forwarded site port) and records the server with perf; the profiled cell comes
  // back through the same SFTP pull as the VM backend's.
  it(
    "bench --backend hosts --profile with a generator machine: real cells there, the load from here, the path measured, facts measured there; perf in the machine names tsherve's own JavaScript functions",
    async () => {
      const before = new Set(await readdir(reports));
      const r = await timed('bench --backend hosts --profile, generator machine (tsherve, 5 s cells)', () =>
        cli(
          [
            'bench',
            '--backend',
            'hosts',
            '--hosts',
            hostsFile,
            '--sizes',
            '1',
            '--impls',
            'tsherve',
            '--reps',
            '1',
            '--duration',
            '5s',
            '--warmup',
            '2s',
            '--profile',
          ],
          25 * MINUTE,
        ),
      );
      expect(r.exitCode, r.all).toBe(0);
      process.stderr.write(`vm-e2e: hosts bench output:\n${r.stdout}\n`);
      const run = (await readdir(reports)).filter((d) => !before.has(d) && d !== 'index.html');
      expect(run).toHaveLength(1);
      const runDir = join(reports, run[0] as string);
      const loaded = await loadRun(runDir);
      expect(loaded.run.backend).toBe('hosts');
      expect(loaded.run.machines?.['1']).toMatchObject({
        target: `root@127.0.0.1:${ssh.port}`,
        hostname: 'bench-1',
        cores: 2,
        serverCpus: [0],
        generatorCpus: [1],
      });
      expect(loaded.run.machines?.['1']?.virt).toBe(accel.accel === 'tcg' ? 'qemu' : 'kvm');
      expect(loaded.run.emulated).toBe(accel.accel === 'tcg');
      expect(loaded.verifications.map((v) => [v.impl, v.passed])).toEqual([['tsherve', true]]);
      expect(loaded.cells.map((c) => [c.id, c.profile !== undefined]).sort()).toEqual([
        ['tsherve-1cpu-r1', false],
        ['tsherve-1cpu-r2', true],
      ]);
      const g = genSshd as TestSshd;
      const gen = loaded.run.machines?.['1']?.generator;
      expect(gen).toMatchObject({ target: `${g.user}@127.0.0.1:${g.port}`, cpus: [1], serverAddress: `127.0.0.1:${sitePort}` });
      expect(gen?.rttMs ?? 0).toBeGreaterThan(0);
      expect(gen?.linkBytesPerSecond ?? 0).toBeGreaterThan(0);
      process.stderr.write(
        `vm-e2e: generator machine: RTT ${gen?.rttMs?.toFixed(3)} ms median, link ${((gen?.linkBytesPerSecond ?? 0) / 1e6).toFixed(1)} MB/s\n`,
      );
      for (const cell of loaded.cells) {
        expect(cell.requests, cell.id).toBeGreaterThan(0);
        // The server's CPU measured in the guest; the load's here, on the generator machine's core 1.
        expect(cell.resources.serverCpuSeconds ?? 0, cell.id).toBeGreaterThan(0);
        expect(cell.resources.loadgenCpus, cell.id).toEqual([1]);
        expect(cell.resources.loadgenCpuSeconds ?? 0, cell.id).toBeGreaterThan(0);
        expect(
          cell.warnings.map((w) => w.code),
          cell.id,
        ).not.toContain('cores-shared');
        process.stderr.write(
          `vm-e2e: hosts ${cell.id}: ${cell.requests} requests, ${cell.reqPerSec.toFixed(0)} req/s, ${(cell.bytesPerSec / 1e6).toFixed(2)} MB/s, ${cell.profile ? `profile ${cell.profile.samples} samples` : 'unprofiled'}; warnings: ${cell.warnings.map((w) => w.code).join(', ')}\n`,
        );
      }
      expect(await readFile(join(runDir, 'report.md'), 'utf8')).toMatch(/load from .*RTT .*link /);
      expect(await readFile(join(runDir, 'report.md'), 'utf8')).toMatch(/- Machine size 1: bench-1 \(root@127\.0\.0\.1:\d+\)/);
      const profiled = loaded.cells.find((c) => c.rep === 2);
      expect(profiled?.profile?.samples ?? 0).toBeGreaterThan(0);
      const cell = join(runDir, 'cells', '1cpu', 'tsherve', 'r2');
      expect(existsSync(join(cell, 'profile.proto'))).toBe(true);
      const folded = await readFile(join(cell, 'profile.folded'), 'utf8');
      // JIT frames named from the unit's V8 perf map (its private /tmp), in tsherve's own files.
      expect(folded).toMatch(/servers\/tsherve\/src\/[^;]*\.js:\d+_\[j\]/);
      expect(await readFile(join(runDir, 'report.md'), 'utf8')).toContain('## Profiles: where the time goes');
      // Nothing of the cells is left on the machine: no cell folder, no k6test, no unit running.
      const left = await cli(
        [
          'vm',
          'exec',
          '--',
          'ls /var/lib/k6test/out | wc -l; test -e /run/server-bench-k6test.pid && echo pid || echo nopid; systemctl is-active bench-tsherve || true',
        ],
        2 * MINUTE,
      );
      expect(left.stdout.trim().split('\n')).toEqual(['0', 'nopid', 'inactive']);
      // Nor of the load here: no wrk, no generator folder.
      const here = await execa('sh', ['-c', 'pgrep -x wrk | wc -l; ls -d /tmp/server-bench-gen-* 2>/dev/null | wc -l']);
      expect(here.stdout.trim().split('\n')).toEqual(['0', '0']);
    },
    30 * MINUTE,
  );

  it(
    'hosts: a unit missing there, a wrong host key and an unreachable port are one line each',
    async () => {
      const rmUnit = await cli(['vm', 'exec', '--', 'rm /etc/systemd/system/bench-nginx.service'], 2 * MINUTE);
      expect(rmUnit.exitCode, rmUnit.all).toBe(0);
      const check = await cli(['hosts', 'check', '--hosts', hostsFile], 5 * MINUTE);
      expect(check.exitCode).toBe(ExitCode.environment);
      expect(check.stdout).toMatch(/missing: unit\(s\) bench-nginx\.service missing \(hosts provision again\)$/m);
      const other = (
        await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'other')]).then(() => readFile(join(work, 'other.pub'), 'utf8'))
      ).trim();
      const wrong = await cli(['hosts', 'check', '--hosts', await writeHosts(join(work, 'wrong.json'), { hostKey: other })], 2 * MINUTE);
      expect(wrong.stdout.trim()).toMatch(/^size 1 root@127\.0\.0\.1:\d+: missing: root@127\.0\.0\.1:\d+: the host key is not the pinned one/);
      const closed = await cli(['hosts', 'check', '--hosts', await writeHosts(join(work, 'closed.json'), { port: 1 })], 2 * MINUTE);
      expect(closed.stdout.trim()).toMatch(/^size 1 root@127\.0\.0\.1:1: missing: root@127\.0\.0\.1:1: unreachable \(ECONNREFUSED\)/);
      const before = new Set(await readdir(reports));
      const bench = await cli(['bench', '--backend', 'hosts', '--hosts', join(work, 'wrong.json'), '--sizes', '1', '--reps', '1'], 2 * MINUTE);
      expect(bench.exitCode).not.toBe(0);
      // The error line: one line, naming the machine and the refusal; no run folder is made.
      expect(bench.stderr.trim().split('\n').at(-1)).toMatch(
        /^server-bench: .*root@127\.0\.0\.1:\d+: the host key is not the pinned one \(refusing to connect/,
      );
      expect((await readdir(reports)).filter((d) => !before.has(d))).toEqual([]);
    },
    15 * MINUTE,
  );

  it(
    'vm stop: the guest powered off, its disk and temp folder gone, no process left',
    async () => {
      const stopped = await timed('vm stop', () => cli(['vm', 'stop', '--size', '1'], 3 * MINUTE));
      expect(stopped.exitCode, stopped.all).toBe(0);
      expect(existsSync(vmTmpDir)).toBe(false);
      await expectNothingLeft();
    },
    5 * MINUTE,
  );

  it(
    'bench --backend vm --image debian: every implementation verified and stored, limits from the guest cgroup',
    async () => {
      // The hosts bench above left its run here too: this bench's run is the new folder.
      const before = new Set(await readdir(reports));
      const r = await timed('bench (1 size, all impls, 5 s cells)', () => debianBench('5s', [], 25 * MINUTE));
      expect(r.all).not.toMatch(/internal error/);
      expect(r.exitCode, r.all).toBe(0);
      process.stderr.write(`${r.stdout}\n`);
      const runs = (await readdir(reports, { withFileTypes: true })).filter((e) => e.isDirectory() && !before.has(e.name));
      expect(runs).toHaveLength(1);
      const runDir = join(reports, (runs[0] as { name: string }).name);
      const loaded = await loadRun(runDir);
      expect(loaded.run.backend).toBe('vm');
      expect(loaded.run.emulated).toBe(accel.accel === 'tcg');
      expect(loaded.run.site).toMatchObject({ kind: 'generated', targetBytes: manifest.siteTargetBytes });
      expect(loaded.cells.map((c) => c.impl).sort()).toEqual([...manifest.impls].sort());
      expect(loaded.verifications.map((v) => [v.impl, v.passed]).sort()).toEqual(manifest.impls.map((i) => [i, true]).sort());
      const limit = vmSizeOf('1').memoryMiB * 2 ** 20;
      for (const cell of loaded.cells) {
        expect(cell.requests, cell.id).toBeGreaterThan(0);
        expect(cell.failedChecks, cell.id).toBe(0);
        expect(
          cell.warnings.some((w) => w.code === 'emulated'),
          cell.id,
        ).toBe(accel.accel === 'tcg');
        // MemoryMax of the unit, read back from its cgroup; memory.peak from the same cgroup.
        expect(cell.resources.memoryEnforced, cell.id).toBe(true);
        expect(cell.resources.memoryLimitBytes, cell.id).toBe(limit);
        expect(cell.resources.serverPeakRssBytes, cell.id).toBeGreaterThan(0);
        expect(cell.resources.serverPeakRssBytes as number, cell.id).toBeLessThanOrEqual(limit);
        process.stderr.write(
          `vm-e2e: ${cell.id}: ${cell.requests} requests, memory.peak ${((cell.resources.serverPeakRssBytes ?? 0) / 2 ** 20).toFixed(1)} MiB of ${limit / 2 ** 20} MiB\n`,
        );
      }
      for (const f of ['results.json', 'report.md', 'report.html', 'run.json']) expect(existsSync(join(runDir, f)), f).toBe(true);
      await expectNothingLeft();
    },
    30 * MINUTE,
  );

  it(
    'Ctrl-C mid-cell stops the VM and leaves no process, disk or temp folder',
    async () => {
      const before = new Set(await readdir(reports));
      let out = '';
      let sent = false;
      const child = debianBench('60s', ['--impls', 'tsherve'], 20 * MINUTE);
      child.all?.on('data', (b: Buffer) => {
        out += b.toString();
        // In the cell: k6test has started the server and is loading it.
        if (!sent && /tsherve-1cpu-r1 (warmup|measure)/.test(out)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      const r = await timed('bench interrupted mid-cell', () => child);
      expect(sent, out).toBe(true);
      expect(r.exitCode, r.all).toBe(ExitCode.interrupted);
      const run = (await readdir(reports)).filter((d) => !before.has(d) && d !== 'index.html');
      expect(run).toHaveLength(1);
      expect((await loadRun(join(reports, run[0] as string))).cells).toEqual([]);
      await expectNothingLeft();
    },
    25 * MINUTE,
  );
});
