// --backend hosts end to end against a real remote machine (CI: .ci/hosts-e2e; not in `npm test`):
// the Debian guest booted in QEMU (`vm start --image debian --size 1`) plays a Debian machine of
// size 1 reached over SSH with its own pinned host key. hosts check says it is not provisioned;
// hosts provision sends the bundle and installs the units; a second provision sends nothing; check
// says ready; one real cell runs through `bench --backend hosts` and lands in the same reports with
// the machine's facts measured there; a unit removed there, a wrong host key and an unreachable
// port are one line each.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRun } from '../../src/results/store.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'driver', 'src', 'cli', 'main.js');
const MINUTE = 60_000;
const SITE_SIZE = process.env.SERVER_BENCH_VM_SITE_SIZE ?? '2MB';

let work: string;
let xdg: string;
let reports: string;
let hostsFile: string;
let ssh: { user: string; host: string; port: number; identityFile: string; hostKey: string };

function cli(args: string[], timeoutMs: number) {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    all: true,
    timeout: timeoutMs,
    cwd: work,
    env: { SERVER_BENCH_REPORTS: reports, XDG_RUNTIME_DIR: xdg, SERVER_BENCH_VM_SITE_SIZE: SITE_SIZE, TMPDIR: join(work, 'tmp') },
  });
}

async function writeHosts(file: string, over: Partial<typeof ssh> = {}): Promise<string> {
  await writeFile(file, JSON.stringify({ hosts: { '1': { ssh: { ...ssh, ...over }, serverCpus: [0], generatorCpus: [1] } } }, null, 2));
  return file;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  work = await mkdtemp(join(tmpdir(), 'hosts-e2e-'));
  for (const d of ['tmp', 'reports', 'xdg']) await execa('mkdir', ['-m', '700', join(work, d)]);
  xdg = join(work, 'xdg');
  reports = join(work, 'reports');
});

afterAll(async () => {
  if (xdg) await cli(['vm', 'stop', '--size', '1'], MINUTE).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('the Debian guest as a machine of --backend hosts', () => {
  it(
    'boots, and is not provisioned yet',
    async () => {
      const started = await cli(['vm', 'start', '--size', '1', '--image', 'debian', '--allow-tcg'], 20 * MINUTE);
      expect(started.exitCode, started.all).toBe(0);
      const state = JSON.parse(await readFile(join(xdg, 'server-bench', 'vm', '1.json'), 'utf8')) as { port: number; privateKeyFile: string; hostKey: string };
      ssh = { user: 'root', host: '127.0.0.1', port: state.port, identityFile: state.privateKeyFile, hostKey: state.hostKey };
      hostsFile = await writeHosts(join(work, 'hosts.json'));
      const check = await cli(['hosts', 'check', '--hosts', hostsFile], 5 * MINUTE);
      expect(check.exitCode, check.all).toBe(4);
      expect(check.stdout.trim().split('\n')).toHaveLength(1);
      expect(check.stdout).toMatch(
        /^size 1 root@127\.0\.0\.1:\d+ \(bench-1: .* 2 cores .*virt (qemu|kvm).*\): missing: not provisioned \(server-bench hosts provision/,
      );
    },
    25 * MINUTE,
  );

  it(
    'hosts provision sends the bundle and the units; again sends nothing; check says ready',
    async () => {
      const first = await cli(['hosts', 'provision', '--hosts', hostsFile], 20 * MINUTE);
      expect(first.exitCode, first.all).toBe(0);
      expect(first.stdout).toMatch(
        /^size 1 root@127\.0\.0\.1:\d+: provisioned: bundle [0-9a-f]{12} sent .*; \d+ files and units for size 1 \(server cores 0, generator 1\); k6test answers \(tsherve, nginx/,
      );
      const second = await cli(['hosts', 'provision', '--hosts', hostsFile], 10 * MINUTE);
      expect(second.exitCode, second.all).toBe(0);
      expect(second.stdout).toMatch(/already provisioned \(nothing sent\)/);
      const check = await cli(['hosts', 'check', '--hosts', hostsFile], 5 * MINUTE);
      expect(check.exitCode, check.all).toBe(0);
      expect(check.stdout).toMatch(/: ready$/m);
    },
    35 * MINUTE,
  );

  it(
    'bench --backend hosts runs a real cell there and stores it with the facts measured there',
    async () => {
      const r = await cli(
        ['bench', '--backend', 'hosts', '--hosts', hostsFile, '--sizes', '1', '--impls', 'tsherve', '--reps', '1', '--duration', '5s', '--warmup', '2s'],
        25 * MINUTE,
      );
      expect(r.exitCode, r.all).toBe(0);
      process.stderr.write(`hosts-e2e: bench output:\n${r.stdout}\n`);
      const runDir = /reports\/(\S+)/.exec(r.all)?.[0];
      const id = (await execa('ls', [reports])).stdout.trim().split('\n')[0] as string;
      const { run, cells: results, verifications } = await loadRun(join(reports, id));
      expect(runDir ?? id).toBeTruthy();
      expect(run.backend).toBe('hosts');
      expect(run.machines?.['1']).toMatchObject({ target: `root@127.0.0.1:${ssh.port}`, hostname: 'bench-1', cores: 2, serverCpus: [0], generatorCpus: [1] });
      expect(run.machines?.['1']?.virt).toMatch(/^(qemu|kvm)$/);
      expect(run.emulated).toBe(run.machines?.['1']?.virt === 'qemu');
      expect(results.map((c) => c.id)).toEqual(['tsherve-1cpu-r1']);
      expect(verifications.map((v) => [v.impl, v.passed])).toEqual([['tsherve', true]]);
      expect(await readFile(join(reports, id, 'report.md'), 'utf8')).toMatch(/- Machine size 1: bench-1 \(root@127\.0\.0\.1:\d+\)/);
      // Nothing of the cell is left on the machine.
      const left = await cli(
        ['vm', 'exec', '--', 'ls /var/lib/k6test/out | wc -l; test -e /run/server-bench-k6test.pid && echo pid || echo nopid'],
        2 * MINUTE,
      );
      expect(left.stdout.trim().split('\n')).toEqual(['0', 'nopid']);
    },
    30 * MINUTE,
  );

  it(
    'a unit missing there, a wrong host key and an unreachable port: one line each',
    async () => {
      const rmUnit = await cli(['vm', 'exec', '--', 'rm /etc/systemd/system/bench-nginx.service'], 2 * MINUTE);
      expect(rmUnit.exitCode, rmUnit.all).toBe(0);
      const check = await cli(['hosts', 'check', '--hosts', hostsFile], 5 * MINUTE);
      expect(check.exitCode).toBe(4);
      expect(check.stdout).toMatch(/missing: unit\(s\) bench-nginx\.service missing \(hosts provision again\)$/m);
      const other = (
        await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'other')]).then(() => readFile(join(work, 'other.pub'), 'utf8'))
      ).trim();
      const wrong = await cli(['hosts', 'check', '--hosts', await writeHosts(join(work, 'wrong.json'), { hostKey: other })], 2 * MINUTE);
      expect(wrong.stdout.trim()).toMatch(/^size 1 root@127\.0\.0\.1:\d+: missing: root@127\.0\.0\.1:\d+: the host key is not the pinned one/);
      const closed = await cli(['hosts', 'check', '--hosts', await writeHosts(join(work, 'closed.json'), { port: 1 })], 2 * MINUTE);
      expect(closed.stdout.trim()).toMatch(/^size 1 root@127\.0\.0\.1:1: missing: root@127\.0\.0\.1:1: unreachable \(ECONNREFUSED\)/);
      const bench = await cli(['bench', '--backend', 'hosts', '--hosts', join(work, 'wrong.json'), '--sizes', '1', '--reps', '1'], 2 * MINUTE);
      expect(bench.exitCode).not.toBe(0);
      // The error line: one line, naming the machine and the refusal; no run folder is made.
      expect(bench.stderr.trim().split('\n').at(-1)).toMatch(
        /^server-bench: .*root@127\.0\.0\.1:\d+: the host key is not the pinned one \(refusing to connect/,
      );
    },
    15 * MINUTE,
  );
});
