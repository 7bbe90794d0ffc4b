// Which cores the server and the load generator get: a size of N CPUs pins the server to N cores
// and the generator to the rest (or to the same cores, when asked to share), or is skipped with
// the reason when the host is too small. Pinning itself is `taskset -c <list>`.
import { readFileSync } from 'node:fs';

/** "0-3,8,10-11" → [0,1,2,3,8,10,11]; throws on anything else. */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a CPU list: "${list}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return [...new Set(out)].sort((x, y) => x - y);
}

/** [0,1,2,5] → "0-2,5" (taskset and cpuset.cpus accept it). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** CPUs this process may run on (its affinity, which containers and taskset narrow), e.g. [0, 1]. */
export function allowedCpus(statusText?: string): number[] {
  const status = statusText ?? readFileSync('/proc/self/status', 'utf8');
  const m = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
  if (!m) throw new Error('no Cpus_allowed_list in /proc/self/status');
  return parseCpuList(m[1] as string);
}

export type CpuPlan = { server: number[]; loadgen: number[]; shared: boolean } | { skip: string };

/**
 * dedicated: the server gets the first `serverCpus` allowed cores and the load generator all the
 * others (at least one), so the generator never competes with the server.
 * shared: both run on the server's cores, like the original post's k6-inside-the-VM setup.
 */
export function planCpus(hostCpus: readonly number[], serverCpus: number, loadgen: 'dedicated' | 'shared'): CpuPlan {
  if (!Number.isInteger(serverCpus) || serverCpus < 1) return { skip: `size ${serverCpus}: the CPU count must be a positive integer` };
  const host = [...hostCpus].sort((a, b) => a - b);
  const allows = `this host allows ${host.length} (CPUs ${formatCpuList(host) || 'none'})`;
  if (loadgen === 'shared') {
    if (serverCpus > host.length) return { skip: `size ${serverCpus} needs ${serverCpus} CPUs; ${allows}` };
    const cpus = host.slice(0, serverCpus);
    return { server: cpus, loadgen: [...cpus], shared: true };
  }
  if (serverCpus + 1 > host.length) {
    const fits = serverCpus <= host.length ? "; --loadgen shared fits (the load generator then shares the server's cores)" : '';
    return { skip: `size ${serverCpus} needs ${serverCpus} server CPUs + 1 for the load generator; ${allows}${fits}` };
  }
  return { server: host.slice(0, serverCpus), loadgen: host.slice(serverCpus), shared: false };
}

/** taskset's arguments before the command: ['-c', '0-1']; [] = not pinned. */
export function tasksetArgs(cpus: readonly number[]): string[] {
  return cpus.length > 0 ? ['-c', formatCpuList(cpus)] : [];
}

/** The command line that runs `command args` pinned to `cpus` (unchanged when cpus is empty). */
export function pinnedCommand(cpus: readonly number[], command: string, args: readonly string[]): { command: string; args: string[] } {
  if (cpus.length === 0) return { command, args: [...args] };
  return { command: 'taskset', args: [...tasksetArgs(cpus), command, ...args] };
}
