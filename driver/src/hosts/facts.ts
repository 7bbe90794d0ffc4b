// What a machine of the hosts file is, measured on it over SSH (never taken from the file): CPU
// model, online cores, memory, kernel, virtualisation (systemd-detect-virt), the OS, and whether
// systemd runs it. One POSIX shell script, key=value lines back, parsed with zod.
import { z } from 'zod';
import { EnvironmentError } from '../errors.js';
import type { HostSession } from './remote.js';
import { targetName } from './file.js';

/** Runs as any user; every line is printed even when its tool is missing (then empty). */
const FACTS_SCRIPT = [
  'echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"',
  `echo "cpuModel=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)"`,
  'echo "cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"',
  `echo "memKiB=$(sed -n 's/^MemTotal:[[:space:]]*\\([0-9]*\\).*/\\1/p' /proc/meminfo)"`,
  'echo "kernel=$(uname -r)"',
  'echo "virt=$(systemd-detect-virt 2>/dev/null)"',
  'echo "init=$(cat /proc/1/comm 2>/dev/null)"',
  `echo "os=$( (. /etc/os-release 2>/dev/null && echo "$ID|$VERSION_ID|$PRETTY_NAME") )"`,
  'echo "arch=$(uname -m)"',
  'echo "uid=$(id -u)"',
].join('\n');

const HostFactsSchema = z.object({
  hostname: z.string(),
  cpuModel: z.string(),
  cores: z.number().int().positive(),
  memoryBytes: z.number().int().positive(),
  kernel: z.string(),
  /** uname -m: the bundle's Node is x86_64. */
  arch: z.string(),
  /** systemd-detect-virt: "none" on bare metal, "kvm", "qemu" (TCG), …; null when the tool is absent. */
  virt: z.string().nullable(),
  /** /proc/1/comm: "systemd" when systemd runs the machine. */
  init: z.string(),
  os: z.object({ id: z.string(), version: z.string(), name: z.string() }),
});
export type HostFacts = z.infer<typeof HostFactsSchema>;

/** The script's output → facts; null with the first missing field when the output is not whole. */
export function parseFacts(text: string): { facts: HostFacts; uid: number } | { missing: string } {
  const kv: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  const [id = '', version = '', name = ''] = (kv.os ?? '').split('|');
  const raw = {
    hostname: kv.hostname ?? '',
    cpuModel: kv.cpuModel || 'unknown',
    cores: Number(kv.cores),
    memoryBytes: Number(kv.memKiB) * 1024,
    kernel: kv.kernel ?? '',
    arch: kv.arch ?? '',
    virt: kv.virt ? kv.virt : null,
    init: kv.init ?? '',
    os: { id: id || 'unknown', version, name: name || id || 'unknown' },
  };
  const r = HostFactsSchema.safeParse(raw);
  if (!r.success) return { missing: r.error.issues[0]?.path.join('.') ?? 'facts' };
  return { facts: r.data, uid: Number(kv.uid) };
}

export async function measureFacts(h: HostSession): Promise<{ facts: HostFacts; uid: number }> {
  const r = await h.exec(FACTS_SCRIPT);
  const p = parseFacts(r.stdout);
  if ('missing' in p)
    throw new EnvironmentError(
      `${targetName(h.target)}: cannot read the machine's ${p.missing} (exit ${r.code}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''})`,
      'the machine needs a POSIX shell, /proc and uname',
    );
  return p;
}

/** "bench-1: Intel Xeon … · 4 cores · 3.8 GiB · Linux 6.1.0 · virt kvm · Debian GNU/Linux 12" */
export function describeFacts(f: HostFacts): string {
  return `${f.hostname}: ${f.cpuModel} · ${f.cores} cores · ${(f.memoryBytes / 2 ** 30).toFixed(1)} GiB · Linux ${f.kernel} · virt ${f.virt ?? 'unknown'} · ${f.os.name}`;
}
