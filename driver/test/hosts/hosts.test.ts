// --backend hosts against a real OpenSSH sshd on 127.0.0.1 (test/support/sshd.ts): the hosts file's
// one-line errors, the host key pin, an unreachable port and a refused key each as one line, the
// facts measured on the machine (compared with this machine's own /proc), SFTP both ways, `hosts
// check` through the CLI, and the per-machine units rendered from the Debian guest's.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchError } from '../../src/errors.js';
import { hostKeyBlob, parseHostsFile, type SshTargetSpec } from '../../src/hosts/file.js';
import { describeFacts, measureFacts, parseFacts } from '../../src/hosts/facts.js';
import { renderHostFiles } from '../../src/hosts/hostfiles.js';
import { cpuRange } from '../../src/vm/image/units.js';
import { openHost } from '../../src/hosts/remote.js';
import { recordPid, stopRemoteK6test } from '../../src/hosts/backend.js';
import { IMPL_SPECS } from '../../src/run/matrix-files.js';
import { sshdMissing, startSshd, type TestSshd } from '../support/sshd.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'driver', 'src', 'cli', 'main.js');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAvSLJv1M8n0tzbFGzc2eNGXoXQ8pQ6gS3GbqK4ZLzJk test';

function entry(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { ssh: { user: 'root', host: '192.0.2.1', identityFile: '/nonexistent/id', hostKey: KEY }, serverCpus: [0], generatorCpus: [1], ...over };
}
const parse = (hosts: unknown) => parseHostsFile(JSON.stringify({ hosts }), '/x/hosts.json');
const oneLine = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(BenchError);
    return (err as BenchError).oneLine();
  }
  throw new Error('did not throw');
};

describe('the hosts file', () => {
  it('reads a size entry: port defaulted, the identity file resolved beside the file, the key as its blob', () => {
    const f = parse({
      '1': entry({ ssh: { user: 'bench', host: 'h', identityFile: 'keys/id', hostKey: `[h]:2222 ${KEY.split(' ').slice(0, 2).join(' ')}` } }),
    });
    const h = f.hosts[0];
    expect(h?.ssh).toMatchObject({ user: 'bench', host: 'h', port: 22, identityFile: '/x/keys/id' });
    expect(h?.ssh.hostKey.subarray(4, 15).toString()).toBe('ssh-ed25519');
    expect(h?.generator).toBeNull();
  });

  it.each([
    [{ '1': entry({ serverCpus: [0, 1] }) }, /hosts\.1\.serverCpus: 2 core\(s\) for size 1 \(list exactly 1 core/],
    [{ '1': entry({ generatorCpus: [0] }) }, /hosts\.1\.generatorCpus: core\(s\) 0 are the server's too/],
    [{ '3': entry() }, /hosts\.3: not a size \(sizes: 1, 2, 16/],
    [
      { '1': entry({ ssh: { user: 'root', host: 'h', identityFile: 'i', hostKey: 'ssh-ed25519 bm90IGEga2V5' } }) },
      /hosts\.1\.ssh\.hostKey: .*\(paste the line of \/etc\/ssh\/ssh_host_ed25519_key\.pub/,
    ],
    [{ '1': entry({ ssh: { user: 'root', host: 'h', port: 70000, identityFile: 'i', hostKey: KEY } }) }, /hosts\.1\.ssh\.port: .*\(sshd's port/],
    [{ '1': entry({ cores: 4 }) }, /hosts\.1: unknown key "cores"/],
    [{}, /hosts: no host/],
  ])('%j → one line naming the key and the fix', (hosts, re) => {
    const line = oneLine(() => parse(hosts));
    expect(line).toMatch(re);
    expect(line).not.toContain('\n');
  });

  it('names a file that is not JSON', () => {
    expect(oneLine(() => parseHostsFile('{"hosts": ', '/x/h.json'))).toMatch(/^\/x\/h\.json: not JSON/);
  });

  it('hostKeyBlob takes a .pub line and a known_hosts entry, and refuses a blob of another type', () => {
    expect(hostKeyBlob(KEY)?.type).toBe('ssh-ed25519');
    expect(hostKeyBlob(`|1|abc=|def= ${KEY}`)?.type).toBe('ssh-ed25519');
    expect(hostKeyBlob(`ssh-rsa ${KEY.split(' ')[1]}`)).toBeNull();
    expect(hostKeyBlob('no key here')).toBeNull();
  });
});

describe('the machine files rendered from the Debian guest', () => {
  const impls = IMPL_SPECS.filter((i) => i.name === 'tsherve' || i.name === 'nginx');
  const files = renderHostFiles({
    impls,
    host: { size: '2', serverCpus: [2, 5], generatorCpus: [0, 1] },
    scripts: { benchSite: 'true', sshSetup: 'true', mapServer: '' },
    tsherveNodeFlags: [],
  });
  const byPath = new Map(files.map((f) => [f.path, f]));

  it("puts the size's units in /etc/systemd/system with the file's cores, and size.json with them", () => {
    const unit = byPath.get('/etc/systemd/system/bench-tsherve.service');
    expect(unit?.kind === 'file' && unit.content).toMatch(/^AllowedCPUs=2,5$/m);
    expect(unit?.kind === 'file' && unit.content).toMatch(/^MemoryMax=4096M$/m);
    const map = byPath.get('/etc/systemd/system/bench-redirect-map.service');
    expect(map?.kind === 'file' && map.content).toMatch(/^AllowedCPUs=0-1$/m);
    const size = byPath.get('/etc/server-bench/size.json');
    expect(size?.kind === 'file' && JSON.parse(size.content)).toMatchObject({
      name: '2',
      cpus: 2,
      serverCpuList: [2, 5],
      loadgenCpuList: [0, 1],
      loadgenCpus: 2,
    });
  });

  it("leaves out the guest's boot-time size generator and per-boot SSH key setup", () => {
    expect([...byPath.keys()].filter((p) => p.includes('system-generators') || p.includes('ssh-setup') || p.includes('/sizes/'))).toEqual([]);
    expect(byPath.get('/usr/local/bin/k6test')?.kind).toBe('file');
  });

  it('cpuRange writes gaps and runs', () => {
    expect(cpuRange([5, 0, 1, 2, 7])).toBe('0-2,5,7');
    expect(cpuRange([3])).toBe('3');
  });
});

describe('facts', () => {
  it('parses the script output, and names the first field missing', () => {
    const p = parseFacts(
      'hostname=h\ncpuModel=X\ncores=4\nmemKiB=1024\nkernel=6.1\narch=x86_64\nvirt=none\ninit=systemd\nos=debian|12|Debian GNU/Linux 12\nuid=0\n',
    );
    expect(p).toMatchObject({ facts: { cores: 4, memoryBytes: 1024 * 1024, virt: 'none', os: { id: 'debian', version: '12' } }, uid: 0 });
    expect(parseFacts('hostname=h\ncores=\n')).toEqual({ missing: 'cores' });
  });
});

const missing = sshdMissing();
describe.skipIf(missing !== null)(`a real sshd${missing ? ` (${missing})` : ''}`, () => {
  let sshd: TestSshd;
  let work: string;
  let target: SshTargetSpec;
  beforeAll(async () => {
    sshd = await startSshd();
    work = await mkdtemp(join(tmpdir(), 'hosts-test-'));
    target = {
      user: sshd.user,
      host: '127.0.0.1',
      port: sshd.port,
      identityFile: sshd.identityFile,
      hostKeyLine: sshd.hostKeyLine,
      hostKey: (hostKeyBlob(sshd.hostKeyLine) as { blob: Buffer }).blob,
    };
  });
  afterAll(async () => {
    await sshd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it("measures the machine's facts there (this machine: the same /proc)", async () => {
    const h = await openHost(target);
    try {
      const { facts, uid } = await measureFacts(h);
      expect(uid).toBe(process.getuid?.());
      expect(facts.cores).toBe(cpus().length);
      expect(facts.kernel).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
      expect(facts.memoryBytes).toBe(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024);
      expect(facts.cpuModel).toBe(cpus()[0]?.model.trim());
      expect(describeFacts(facts)).toContain(`${facts.cores} cores`);
    } finally {
      h.close();
    }
  });

  it('pushes and pulls files over SFTP', async () => {
    const h = await openHost(target);
    try {
      const local = join(work, 'up.txt');
      await writeFile(local, 'payload\n');
      const remoteDir = join(work, 'remote');
      await mkdir(join(remoteDir, 'sub'), { recursive: true });
      await h.pushFile(local, join(remoteDir, 'sub', 'file.txt'));
      const got = await h.pullDir(remoteDir, join(work, 'down'));
      expect(got).toEqual([join(work, 'down', 'sub', 'file.txt')]);
      expect(await readFile(join(work, 'down', 'sub', 'file.txt'), 'utf8')).toBe('payload\n');
    } finally {
      h.close();
    }
  });

  it('refuses a host key other than the pinned one, in one line', async () => {
    const wrong = { ...target, hostKeyLine: sshd.otherHostKeyLine, hostKey: (hostKeyBlob(sshd.otherHostKeyLine) as { blob: Buffer }).blob };
    const err = await openHost(wrong).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as BenchError).oneLine()).toMatch(/^\S+@127\.0\.0\.1:\d+: the host key is not the pinned one \(refusing to connect/);
  });

  it('says a refused login and an unreachable port in one line each', async () => {
    const refused = await openHost({ ...target, identityFile: sshd.otherIdentityFile }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((refused as BenchError).oneLine()).toMatch(/login refused for \S+ with .*other_ed25519 \(add the key's public half/);
    const closed = await openHost({ ...target, port: 1 }, 3_000).then(
      () => null,
      (e: unknown) => e,
    );
    expect((closed as BenchError).oneLine()).toMatch(/127\.0\.0\.1:1: unreachable \(ECONNREFUSED\) \(check ssh\.host and ssh\.port/);
  });

  it('Ctrl-C: the process there is interrupted by its pid from a second session and waited for', async () => {
    const h = await openHost(target);
    const pidFile = join(work, 'k6test.pid');
    try {
      const ac = new AbortController();
      let out = '';
      // As HOST_CELL_COMMAND: the shell records its pid, then exec keeps it; here a shell that ignores nothing.
      const run = h.exec(`${recordPid(pidFile)}; echo $$; exec sleep 30`, { onStdout: (c) => (out += c), signal: ac.signal });
      for (let i = 0; i < 100 && !/\d+\n/.test(out); i++) await new Promise((r) => setTimeout(r, 20));
      const pid = Number(out.trim());
      expect(pid).toBeGreaterThan(1);
      const t0 = Date.now();
      ac.abort();
      // As the backend does on Ctrl-C: a second session interrupts the process by its pid (sshd
      // does not end a command when its channel closes), and then the first channel ends too.
      const other = await openHost(target);
      const stop = await other.exec(stopRemoteK6test(3_000, pidFile));
      other.close();
      expect(stop.stdout.trim()).toMatch(/^(stopped|killed|gone)$/);
      await run;
      expect(Date.now() - t0).toBeLessThan(5_000);
      let alive = true;
      for (let i = 0; i < 50 && alive; i++) {
        try {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 20));
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
      // Nothing to stop: no pid file.
      expect(existsSync(pidFile)).toBe(false);
      expect((await h.exec(stopRemoteK6test(1_000, pidFile))).code).toBe(0);
      // A pid file left by a process that ended, its pid now another process's (here: a live sleep
      // with another start time): that process is not signalled, and the file goes.
      const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        writeFileSync(pidFile, `${bystander.pid} 1\n`);
        const stale = await h.exec(stopRemoteK6test(1_000, pidFile));
        expect(stale.stdout.trim()).toBe('gone');
        expect(existsSync(pidFile)).toBe(false);
        await new Promise((r) => setTimeout(r, 300));
        expect(bystander.exitCode).toBeNull();
        expect(bystander.signalCode).toBeNull();
      } finally {
        bystander.kill('SIGKILL');
      }
    } finally {
      h.close();
    }
  });

  it('hosts check: one line per machine with what is missing, exit 4', async () => {
    const file = join(work, 'hosts.json');
    const ssh = { user: sshd.user, host: '127.0.0.1', port: sshd.port, identityFile: sshd.identityFile, hostKey: sshd.hostKeyLine };
    await writeFile(
      file,
      JSON.stringify({
        hosts: {
          '1': { ssh, serverCpus: [0], generatorCpus: [1] },
          '2': { ssh: { ...ssh, hostKey: sshd.otherHostKeyLine }, serverCpus: [0, 1], generatorCpus: [2] },
        },
      }),
    );
    const r = await execa(process.execPath, [CLI, 'hosts', 'check', '--hosts', file], { reject: false, stdin: 'ignore' });
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(`^size 1 \\S+@127\\.0\\.0\\.1:${sshd.port} \\(.* cores .*\\): missing: .*not provisioned \\(server-bench hosts provision`),
    );
    // This machine's PID 1 is not systemd (a container): said, not hidden.
    const pid1 = readFileSync('/proc/1/comm', 'utf8').trim();
    if (pid1 !== 'systemd') expect(lines[0]).toContain(`not run by systemd (PID 1 is ${pid1})`);
    expect(lines[1]).toMatch(/^size 2 \S+@127\.0\.0\.1:\d+: missing: \S+: the host key is not the pinned one/);
  });

  it('hosts check takes a generator machine (no refusal) and says on the same line what it lacks', async () => {
    const file = join(work, 'hosts-gen.json');
    const ssh = { user: sshd.user, host: '127.0.0.1', port: sshd.port, identityFile: sshd.identityFile, hostKey: sshd.hostKeyLine };
    const hosts = (generator: unknown) => JSON.stringify({ hosts: { '1': { ssh, serverCpus: [0], generatorCpus: [1], generator } } });
    // The generator is this machine through the same sshd: reachable, but core 4096 is not there.
    await writeFile(file, hosts({ ssh, cpus: [4096], serverAddress: '127.0.0.1:18080' }));
    const r = await execa(process.execPath, [CLI, 'hosts', 'check', '--hosts', file, '--engine', 'wrk'], { reject: false, stdin: 'ignore' });
    expect(r.exitCode, r.stderr).toBe(4);
    const [line] = r.stdout.split('\n').filter(Boolean);
    expect(line).not.toMatch(/not run yet/);
    expect(line).toMatch(new RegExp(`; generator \\S+@127\\.0\\.0\\.1:${sshd.port}: core\\(s\\) 4096 do not exist`));
    // A generator that refuses the connection: its own line, the server machine's lines kept.
    await writeFile(file, hosts({ ssh: { ...ssh, port: 1 }, cpus: [0] }));
    const u = await execa(process.execPath, [CLI, 'hosts', 'check', '--hosts', file, '--engine', 'wrk'], { reject: false, stdin: 'ignore' });
    expect(u.stdout).toMatch(/not provisioned .*; generator \S+@127\.0\.0\.1:1: unreachable \(ECONNREFUSED\)/);
  });
});
