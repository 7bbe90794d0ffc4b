// Was the host quiet while a cell measured? The kernel's per-CPU time counters (/proc/stat) on the
// cell's cores, read before and after the measured window, say how much of those cores went to
// anything but the server and the load generator (other processes: a build, another benchmark) and
// how much the hypervisor took (steal). Reading is I/O at the edge; the arithmetic is pure.
import { readFile } from 'node:fs/promises';

/** Linux reports /proc/stat in USER_HZ ticks, 100 per second on every architecture it exports to user space. */
const USER_HZ = 100;

/** One CPU's counters in ticks: busy = every non-idle state but steal; steal = time the hypervisor ran something else. */
export interface CpuTicks {
  busy: number;
  steal: number;
  total: number;
}

/** Parse /proc/stat's `cpuN` lines (user nice system idle iowait irq softirq steal guest guest_nice). */
export function parseProcStat(text: string): Map<number, CpuTicks> {
  const out = new Map<number, CpuTicks>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f = (m[2] ?? '').trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    // guest and guest_nice are already counted in user and nice.
    out.set(Number(m[1]), { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal });
  }
  return out;
}

/** The counters now, or null where /proc/stat cannot be read (not Linux). */
export async function readCpuTicks(): Promise<Map<number, CpuTicks> | null> {
  return readFile('/proc/stat', 'utf8').then(parseProcStat, () => null);
}

export interface HostLoad {
  /** CPU seconds on the cell's cores used by neither the server nor the load generator; null when the generator's CPU is unknown. */
  otherCpuSeconds: number | null;
  /** Share of the cell's cores' time the hypervisor took (0..1). */
  stealShare: number;
}

/** What happened on `cpus` between two readings, given the server's and the generator's own CPU seconds. */
export function hostLoad(
  before: Map<number, CpuTicks>,
  after: Map<number, CpuTicks>,
  cpus: number[],
  serverCpuSeconds: number,
  loadgenCpuSeconds: number | null,
): HostLoad | null {
  let busy = 0;
  let steal = 0;
  let total = 0;
  for (const c of new Set(cpus)) {
    const a = before.get(c);
    const b = after.get(c);
    if (!a || !b) return null;
    busy += b.busy - a.busy;
    steal += b.steal - a.steal;
    total += b.total - a.total;
  }
  if (total <= 0) return null;
  const other = loadgenCpuSeconds === null ? null : Math.max(0, busy / USER_HZ - serverCpuSeconds - loadgenCpuSeconds);
  return { otherCpuSeconds: other, stealShare: steal / total };
}

/** Warn above these: 5 % of the cell's cores to other work, or 2 % stolen by the hypervisor. */
const OTHER_SHARE = 0.05;
const STEAL_SHARE = 0.02;

/** The host-busy warning's text for a cell of `seconds` on `cores` cores, or null when the host was quiet enough. */
export function hostBusyMessage(load: HostLoad, seconds: number, cores: number): string | null {
  const otherShare = load.otherCpuSeconds === null || seconds <= 0 || cores <= 0 ? 0 : load.otherCpuSeconds / (seconds * cores);
  const parts: string[] = [];
  if (otherShare >= OTHER_SHARE)
    parts.push(`other processes used ${(otherShare * 100).toFixed(0)} % of the cell's ${cores} core(s) (${(load.otherCpuSeconds ?? 0).toFixed(1)} CPU-s)`);
  if (load.stealShare >= STEAL_SHARE) parts.push(`the hypervisor took ${(load.stealShare * 100).toFixed(0)} % of their time (steal)`);
  return parts.length === 0 ? null : `the host was busy while this cell measured: ${parts.join('; ')}; quiet the host or add repetitions`;
}
