// --backend hosts: the machines a run's cells ran on, as run.json records them (measured on each
// machine, never taken from the hosts file), one line per size, for the Markdown and HTML reports.
import type { RunInfo } from '../results/schema.js';

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/** "size 1: bench-1 (root@h:22), Intel … , 2 cores, 1.2 GiB, Linux 6.1.0, virt kvm; server cores 0, generator cores 1" */
export function describeMachines(run: Pick<RunInfo, 'machines'>): string[] {
  return Object.entries(run.machines ?? {}).map(([size, m]) => {
    const gen = m.generator
      ? `; load from ${m.generator.hostname} (${m.generator.target}, ${m.generator.cores} cores) to ${m.generator.serverAddress}, RTT ${m.generator.rttMs === null ? 'not measured' : `${m.generator.rttMs.toFixed(2)} ms`}, link ${m.generator.linkBytesPerSecond === null ? 'not measured' : `${(m.generator.linkBytesPerSecond / 1e6).toFixed(0)} MB/s`}`
      : `; server cores ${m.serverCpus.join(',')}, generator cores ${m.generatorCpus.join(',')}`;
    return `size ${size}: ${m.hostname} (${m.target}), ${m.cpuModel}, ${m.cores} cores, ${gib(m.memoryBytes)}, ${m.os}, Linux ${m.kernel}, virt ${m.virt ?? 'unknown'}${gen}`;
  });
}
