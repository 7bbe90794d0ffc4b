// --backend hosts: the machines a run's cells ran on, as run.json records them (measured on each
// machine, never taken from the hosts file), one line per size, for the Markdown and HTML reports.
import type { RunInfo } from '../results/schema.js';

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/** "size 1: bench-1 (root@h:22), Intel … , 2 cores, 1.2 GiB, Linux 6.1.0, virt kvm; server cores 0, generator cores 1" */
export function describeMachines(run: Pick<RunInfo, 'machines'>): string[] {
  return Object.entries(run.machines ?? {}).map(([size, m]) => {
    const g = m.generator;
    const gen = g
      ? `; load from ${g.hostname} (${g.target}), ${g.cpuModel}, ${g.cores} cores, ${gib(g.memoryBytes)}, ${g.os}, Linux ${g.kernel}, virt ${g.virt ?? 'unknown'}, generator cores ${g.cpus.join(',')}, to ${g.serverAddress}: RTT ${g.rttMs === null ? 'not measured' : `${g.rttMs.toFixed(3)} ms median${g.rttMinMs !== null ? `, ${g.rttMinMs.toFixed(3)} ms min` : ''}`}, link ${g.linkBytesPerSecond === null ? 'not measured' : `${(g.linkBytesPerSecond / 1e6).toFixed(0)} MB/s (one TCP stream)`}; server cores ${m.serverCpus.join(',')}`
      : `; server cores ${m.serverCpus.join(',')}, generator cores ${m.generatorCpus.join(',')}`;
    return `size ${size}: ${m.hostname} (${m.target}), ${m.cpuModel}, ${m.cores} cores, ${gib(m.memoryBytes)}, ${m.os}, Linux ${m.kernel}, virt ${m.virt ?? 'unknown'}${gen}`;
  });
}
