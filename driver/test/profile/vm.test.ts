// bench --profile --backend vm, the parts that run without a VM: the flags taken by the VM backend,
// the runtime drop-in a profiled tsherve unit starts with (written, reloaded, removed), the unit's
// PIDs from its cgroup, the pulled profile files moved into the run, and — with the real perf and
// Node — a server started as a VM unit starts (its own user, a private /tmp in its own mount
// namespace, NODE_OPTIONS from the drop-in) profiled with its JavaScript function names.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchError } from '../../src/errors.js';
import { FOLDED_FILE, PROFILE_FILE } from '../../src/results/layout.js';
import { cellSpecOf } from '../../src/run/loop.js';
import { foldPerfData, startPerfRecord } from '../../src/profile/perf.js';
import { cgroupPids, dropInPath, NODE_OPTIONS_FOR_PROFILE, profileDropIn, withProfileDropIn } from '../../src/profile/unit.js';
import { importProfileFiles, profileFileNames } from '../../src/vm/profile-pull.js';
import { benchPlan, problemsOf } from '../support/plan.js';

let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-vmprof-'));
});
afterAll(async () => {
  for (const c of children) {
    try {
      process.kill(c.pid as number, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('bench --backend vm --profile', () => {
  it('is taken: one profiled repetition after the measured ones, its CellSpec carrying the settings', async () => {
    const plan = await benchPlan(['--backend', 'vm', '--sizes', '1', '--reps', '2', '--profile', '--profile-hz', '199']);
    expect(plan.profile).toEqual({ hz: 199, callGraph: 'fp', inStats: false });
    const size = plan.sizes[0] as (typeof plan.sizes)[number];
    const cell = (rep: number) => ({ id: `tsherve-r${rep}`, impl: 'tsherve', size, rep, order: rep - 1 });
    expect(cellSpecOf(plan, 'wrk', cell(2), false).profile).toBeNull();
    expect(cellSpecOf(plan, 'wrk', cell(3), false).profile).toEqual({ hz: 199, callGraph: 'fp' });
  });

  it('its detail flags still need --profile, on the VM backend too', async () => {
    expect(await problemsOf(['--backend', 'vm', '--profile-hz', '999'])).toEqual([
      '--profile-hz, --profile-call-graph and --profile-in-stats need --profile (add --profile)',
    ]);
  });
});

describe('the profiled start of a VM unit (profile/unit.ts)', () => {
  it("tsherve gets V8's perf-map flags through NODE_OPTIONS and a writable working folder; native servers nothing", () => {
    const text = profileDropIn('tsherve') as string;
    expect(text).toContain('[Service]\nEnvironment="NODE_OPTIONS=--perf-basic-prof --interpreted-frames-native-stack"\nWorkingDirectory=/tmp\n');
    // Node refuses these two in NODE_OPTIONS; they must not be there.
    expect(NODE_OPTIONS_FOR_PROFILE.some((f) => f.startsWith('--logfile') || f === '--no-logfile-per-isolate')).toBe(false);
    for (const impl of ['gosherve', 'gosherve-old', 'nginx', 'tsherve-bun', 'servy']) expect(profileDropIn(impl)).toBeNull();
  });

  it('Node accepts exactly those flags in NODE_OPTIONS, writing its perf map', async () => {
    const child = spawn(process.execPath, ['-e', 'console.log(process.pid)'], {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS: NODE_OPTIONS_FOR_PROFILE.join(' ') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    const pid = Number(out.trim());
    expect(existsSync(`/tmp/perf-${pid}.map`)).toBe(true);
    await rm(`/tmp/perf-${pid}.map`, { force: true });
  });

  it('the drop-in is in place for the start only, systemd reloaded before and after, also when the start fails', async () => {
    const root = join(dir, 'run-systemd');
    const path = dropInPath('bench-tsherve', root);
    expect(path).toBe(join(root, 'bench-tsherve.service.d', 'server-bench-profile.conf'));
    const reloads: boolean[] = [];
    const reload = async () => void reloads.push(existsSync(path));
    const seen = await withProfileDropIn({ impl: 'tsherve', unit: 'bench-tsherve', reload, root }, async () => readFile(path, 'utf8'));
    expect(seen).toBe(profileDropIn('tsherve'));
    expect(reloads).toEqual([true, false]);
    expect(existsSync(path)).toBe(false);
    await expect(
      withProfileDropIn({ impl: 'tsherve', unit: 'bench-tsherve', reload, root }, async () => Promise.reject(new Error('unit failed'))),
    ).rejects.toThrow('unit failed');
    expect(reloads).toEqual([true, false, true, false]);
    expect(existsSync(path)).toBe(false);
    // A native server: no drop-in, no reload.
    await withProfileDropIn({ impl: 'gosherve', unit: 'bench-gosherve', reload, root }, async () => undefined);
    expect(reloads).toHaveLength(4);
    expect(existsSync(dropInPath('bench-gosherve', root))).toBe(false);
  });

  it("reads the unit's processes from cgroup.procs (a plain file stands in for cgroupfs; the real one in the Debian guest run)", async () => {
    await mkdir(join(dir, 'fake-cg'), { recursive: true });
    await writeFile(join(dir, 'fake-cg', 'cgroup.procs'), '12\n\n345\n');
    expect(await cgroupPids(join(dir, 'fake-cg'))).toEqual([12, 345]);
    expect(await cgroupPids(join(dir, 'no-such-cg'))).toEqual([]);
  });
});

describe('a profiled cell pulled from the VM (vm/profile-pull.ts)', () => {
  it("copies profile.proto and profile.folded into the run's cell folder and names what did not come back", async () => {
    const from = join(dir, 'pulled');
    await mkdir(from, { recursive: true });
    await writeFile(join(from, PROFILE_FILE), 'proto');
    await writeFile(join(from, FOLDED_FILE), 'main;f 3\n');
    const to = join(dir, 'run', 'cells', '1cpu', 'tsherve', 'r2');
    expect(await importProfileFiles(from, to, { files: { pprof: PROFILE_FILE, folded: FOLDED_FILE } })).toEqual([]);
    expect(await readFile(join(to, FOLDED_FILE), 'utf8')).toBe('main;f 3\n');
    expect(await readFile(join(to, PROFILE_FILE), 'utf8')).toBe('proto');
    await rm(join(from, PROFILE_FILE));
    expect(await importProfileFiles(from, join(dir, 'run2'), { files: { pprof: PROFILE_FILE, folded: FOLDED_FILE } })).toEqual([PROFILE_FILE]);
  });

  it('refuses a result naming any other file (no path out of the cell folder)', () => {
    expect(() => profileFileNames({ files: { pprof: '../../../etc/x', folded: FOLDED_FILE } })).toThrow(BenchError);
    expect(() => profileFileNames({ files: { pprof: PROFILE_FILE, folded: 'other.folded' } })).toThrow(/names a profile file "other.folded"/);
  });
});

describe('perf against a server started the way a VM unit starts it', () => {
  it('names its JavaScript functions: own user, private /tmp in its own mount namespace, NODE_OPTIONS, working folder /tmp', async () => {
    // The work runs in a named function for ~20 s; perf samples it for 2 s while it runs.
    const code =
      'function burnInPrivateTmp(n){let s=0;for(let i=0;i<n;i++)s+=Math.sqrt(i);return s}const end=Date.now()+20000;let t=0;while(Date.now()<end)t+=burnInPrivateTmp(1e5);';
    const child = spawn(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -t tmpfs tmpfs /tmp && cd /tmp && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" -e "$1"',
        process.execPath,
        code,
      ],
      {
        env: { ...process.env, NODE_OPTIONS: NODE_OPTIONS_FOR_PROFILE.join(' ') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const pid = child.pid as number;
    // The map appears in the process's own /tmp (seen through /proc), never in ours.
    const privateMap = `/proc/${pid}/root/tmp/perf-${pid}.map`;
    for (let i = 0; i < 300 && !existsSync(privateMap); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(privateMap), `no ${privateMap}; the child said: ${out}`).toBe(true);
    expect(existsSync(`/tmp/perf-${pid}.map`)).toBe(false);
    const dataFile = join(dir, 'unit.data');
    const rec = await startPerfRecord({ pids: [pid], hz: 99, callGraph: 'fp', dataFile });
    await new Promise((r) => setTimeout(r, 2_000));
    await rec.stop();
    const folded = await foldPerfData(dataFile);
    child.kill('SIGKILL');
    const named = folded.stacks.filter((s) => s.frames.some((f) => f.name.includes('burnInPrivateTmp'))).reduce((n, s) => n + s.samples, 0);
    expect(folded.samples).toBeGreaterThan(0);
    expect(named / folded.samples).toBeGreaterThan(0.5);
    // V8's own log went to the private /tmp (the working folder), not to stdout, i.e. the journal.
    expect(out).not.toMatch(/code-creation|MemoryChunk/);
  }, 60_000);
});
