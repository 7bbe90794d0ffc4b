// The files a Debian/Ubuntu machine of the hosts file gets beside the bundle (hosts/bundle.ts):
// the Debian guest's own files (vm/image/units.ts renderGuestFiles) for ONE size whose server and
// generator cores are the hosts file's, made permanent instead of chosen at boot — the size's units
// go straight into /etc/systemd/system and its size.json into /etc/server-bench (the guest's boot
// generator, which reads the size from the kernel command line, is left out), and the guest's
// per-boot SSH key setup is left out (the machine keeps its own sshd and keys). Pure.
import { createHash } from 'node:crypto';
import type { ImplSpec } from '../run/matrix-files.js';
import { vmSizeOf, type VmSize } from '../run/matrix-files.js';
import { DEBIAN_LAYOUT, renderGuestFiles, type GuestFile, type GuestFilesInput } from '../vm/image/units.js';
import type { HostSpec } from './file.js';

/** What `hosts provision` leaves on a machine, read back by `hosts check` and the backend. */
export const PROVISIONED_FILE = `${DEBIAN_LAYOUT.etc}/provisioned.json`;
/** The bundle's key (the Debian image's), beside the bundle. */
export const BUNDLE_KEY_FILE = `${DEBIAN_LAYOUT.install}/.bundle-key`;

/** The size as the machine runs it: the size table's memory and VUs, the hosts file's cores. */
function hostSize(h: Pick<HostSpec, 'size' | 'serverCpus' | 'generatorCpus'>): VmSize {
  const s = vmSizeOf(h.size);
  return { ...s, serverCpuList: [...h.serverCpus], loadgenCpuList: [...h.generatorCpus], loadgenCpus: h.generatorCpus.length };
}

export type HostFilesInput = Omit<GuestFilesInput, 'sizes' | 'listenHost'> & {
  host: Pick<HostSpec, 'size' | 'serverCpus' | 'generatorCpus'> & Partial<Pick<HostSpec, 'generator'>>;
};

export function renderHostFiles(input: HostFilesInput): GuestFile[] {
  const size = hostSize(input.host);
  // Load from a separate generator machine reaches the servers from outside: they listen on every address.
  const rendered = renderGuestFiles({ ...input, sizes: [size], ...(input.host.generator ? { listenHost: '0.0.0.0' } : {}) });
  const L = DEBIAN_LAYOUT;
  const sizeDir = `${L.etc}/sizes/${size.name}`;
  const out: GuestFile[] = [];
  for (const f of rendered) {
    if (f.path === '/etc/systemd/system-generators/server-bench-size') continue;
    if (f.path.includes('bench-ssh-setup')) continue;
    if (f.path === `${L.etc}/size.json`) continue;
    if (f.path.startsWith(`${sizeDir}/units/`) && f.kind === 'file') {
      out.push({ ...f, path: `/etc/systemd/system/${f.path.slice(`${sizeDir}/units/`.length)}` });
      continue;
    }
    if (f.path === `${sizeDir}/size.json`) {
      const { name, cpus, memoryMiB, vus, loadgenCpus, serverCpuList, loadgenCpuList } = size;
      out.push({
        kind: 'file',
        path: `${L.etc}/size.json`,
        content: `${JSON.stringify({ name, cpus, memoryMiB, vus, loadgenCpus, serverCpuList, loadgenCpuList, loadgen: 'dedicated' })}\n`,
        mode: 0o644,
      });
      continue;
    }
    out.push(f);
  }
  out.push({
    kind: 'symlink',
    path: '/etc/systemd/system/multi-user.target.wants/bench-redirect-map.service',
    target: '/etc/systemd/system/bench-redirect-map.service',
  });
  out.push({ kind: 'symlink', path: L.node, target: '/opt/node/bin/node' });
  return out;
}

/** A stable hash of the files (paths, kinds, modes, contents): equal on the machine = nothing to do. */
export function filesKey(files: readonly GuestFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    h.update(`${f.kind} ${f.path} ${f.kind === 'symlink' ? f.target : f.kind === 'file' ? `${f.mode.toString(8)} ${f.content}` : f.mode.toString(8)}\n`);
  }
  return h.digest('hex');
}

/** The unit names of the implementations the files carry (server units only). */
export function serverUnits(impls: readonly ImplSpec[]): string[] {
  return impls.map((i) => `${i.unit.name}.service`);
}
