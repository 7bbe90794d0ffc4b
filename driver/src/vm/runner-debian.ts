// `--image debian`: runners for the Debian guest image with the NixOS runner's interface
// (nix/README.md), so the VM backend, `vm start` and their tests drive both the same way. A runner
// is a small bash file per size and accelerator beside the image: it makes the per-run qcow2
// overlay at NIX_DISK_IMAGE (backed by the cached image), exports SHARED_DIR over 9p, appends
// QEMU_NET_OPTS to a restricted user-mode network and QEMU_OPTS to the command line, says on the
// console which accelerator runs and why, and execs QEMU (its pid is QEMU's).
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError, UsageError } from '../errors.js';
import { defaultCacheDir, repoRoot } from '../servers/registry.js';
import { vmSizeOf } from '../run/matrix-files.js';
import { chooseAccel, type AccelChoice } from './image/accel.js';
import { ensureDebianImage, type DebianImage, type ImageManifest } from './image/build.js';
import { SHARED_TAG } from './image/recipe.js';
import { DEBIAN_LAYOUT } from './image/units.js';

const IMAGE_FLAVOURS = ['nix', 'debian'] as const;
export type ImageFlavour = (typeof IMAGE_FLAVOURS)[number];

export function parseImageFlag(v: string | undefined): ImageFlavour {
  if (v === undefined) return 'nix';
  if ((IMAGE_FLAVOURS as readonly string[]).includes(v)) return v as ImageFlavour;
  throw new UsageError(
    `--image ${v}: not a guest image`,
    "use --image nix (the flake's NixOS VMs, default) or --image debian (built here from Debian packages)",
  );
}

/** The runner script for one size (pure: tested, and written beside the image). */
export function renderDebianRunner(o: { image: DebianImage; size: string; accel: AccelChoice }): string {
  const s = vmSizeOf(o.size);
  const q = (t: string) => `'${t.replace(/'/g, `'\\''`)}'`;
  const cpu = o.accel.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
  const append = [
    'root=/dev/vda',
    'rw',
    'console=ttyS0',
    'quiet',
    'net.ifnames=0',
    `${DEBIAN_LAYOUT.sizeArg}=${s.name}`,
    `systemd.hostname=bench-${s.name}`,
    'panic=-1',
  ].join(' ');
  return `#!/bin/bash
# server-bench: Debian guest, size ${s.name} (${s.vmCores} vCPUs, ${s.vmMemoryMiB} MiB), QEMU with ${o.accel.accel.toUpperCase()}.
# The NixOS runner's interface (nix/README.md): NIX_DISK_IMAGE (created as an overlay of the image
# when missing), SHARED_DIR (9p tag ${SHARED_TAG}), QEMU_NET_OPTS, QEMU_OPTS, QEMU_KERNEL_PARAMS;
# arguments go to QEMU. Written by server-bench for image ${o.image.manifest.key.slice(0, 16)}.
set -euo pipefail
image=${q(o.image.dir)}
disk=\${NIX_DISK_IMAGE:-./bench-${s.name}.qcow2}
if [ ! -e "$disk" ]; then
  qemu-img create -q -f qcow2 -b "$image/root.img" -F raw "$disk"
fi
share=()
if [ -n "\${SHARED_DIR:-}" ]; then
  share=(-virtfs "local,path=$SHARED_DIR,mount_tag=${SHARED_TAG},security_model=none,id=${SHARED_TAG}")
fi
echo ${q(`server-bench: QEMU with ${o.accel.accel.toUpperCase()}: ${o.accel.reason}`)}
# shellcheck disable=SC2086 # QEMU_OPTS is word-split on purpose, as the NixOS runner does
exec qemu-system-x86_64 -name bench-${s.name} -machine q35 ${cpu.join(' ')} -smp ${s.vmCores} -m ${s.vmMemoryMiB} \\
  -nodefaults -no-user-config -display none -serial mon:stdio -no-reboot \\
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \\
  -append "${append} \${QEMU_KERNEL_PARAMS:-}" \\
  -drive "file=$disk,if=virtio,format=qcow2,discard=unmap" \\
  -netdev "user,id=net0,restrict=on\${QEMU_NET_OPTS:+,$QEMU_NET_OPTS}" -device virtio-net-pci,netdev=net0 \\
  -device virtio-rng-pci "\${share[@]}" \\
  \${QEMU_OPTS:-} "$@"
`;
}

/**
 * The implementations to run from a Debian image: those asked for (each must be in the image), or
 * every one it carries (gosherve only when a binary was given at build time).
 */
export function debianImpls(manifest: ImageManifest, asked: string[] | null): string[] {
  if (asked === null) return manifest.impls;
  const absent = asked.filter((i) => !manifest.impls.includes(i));
  if (absent.length > 0) {
    const why = absent.map((i) => manifest.missing.find((m) => m.impl === i)?.reason ?? 'not in the image').join('; ');
    throw new UsageError(
      `the Debian image has no ${absent.join(', ')}: ${why}`,
      `leave ${absent.join(', ')} out of --impls, or give the binary and run server-bench vm image build`,
    );
  }
  return asked;
}

export interface DebianVms {
  image: DebianImage;
  accel: AccelChoice;
  /** Runner path per size name. */
  runners: Record<string, string>;
  emulated: boolean;
}

/**
 * The cached image (built when missing or stale), the accelerator, and a runner per size. Under
 * TCG without --allow-tcg: the environment error the NixOS flavour gives without /dev/kvm.
 */
export async function prepareDebianVms(o: {
  sizes: string[];
  allowTcg: boolean;
  log: (line: string) => void;
  signal?: AbortSignal;
  cacheDir?: string;
}): Promise<DebianVms> {
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const image = await ensureDebianImage({ root: repoRoot(), cacheDir, log: o.log, ...(o.signal ? { signal: o.signal } : {}) });
  const accel = await chooseAccel({ kernel: image.kernel, cacheDir });
  if (accel.accel === 'tcg' && !o.allowTcg)
    throw new EnvironmentError(
      `the Debian guest would run emulated (TCG), 10–50× slower: ${accel.reason}`,
      'pass --allow-tcg to run anyway with every number marked emulated, or set SERVER_BENCH_VM_ACCEL=kvm to insist on KVM',
    );
  o.log(`vm: Debian guest with ${accel.accel.toUpperCase()} (${accel.reason})`);
  const dir = join(image.dir, `runners-${accel.accel}`);
  await mkdir(dir, { recursive: true });
  const runners: Record<string, string> = {};
  for (const size of o.sizes) {
    if (!image.manifest.sizes.includes(size)) throw new UsageError(`the Debian image has no size ${size}`, `sizes: ${image.manifest.sizes.join(', ')}`);
    const file = join(dir, `run-bench-${size}-vm`);
    const text = renderDebianRunner({ image, size, accel });
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
      await writeFile(file, text);
      await chmod(file, 0o755);
    }
    runners[size] = file;
  }
  return { image, accel, runners, emulated: accel.accel === 'tcg' };
}
