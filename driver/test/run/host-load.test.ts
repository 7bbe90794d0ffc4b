// run/host-load.ts: the cell's cores' use by other work, from /proc/stat.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { hostBusyMessage, hostLoad, parseProcStat, readCpuTicks } from '../../src/run/host-load.js';

const stat = (cpu0: string, cpu1: string) => `cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 ${cpu0}\ncpu1 ${cpu1}\nintr 1 2 3\nctxt 99\n`;

describe('parseProcStat', () => {
  it('reads each cpuN line (not the total): busy without idle, iowait or steal; steal; total', () => {
    const m = parseProcStat(stat('100 10 50 800 20 5 5 10 7 0', '1 0 1 98 0 0 0 0 0 0'));
    expect([...m.keys()]).toEqual([0, 1]);
    expect(m.get(0)).toEqual({ busy: 170, steal: 10, total: 1000 });
    expect(m.get(1)).toEqual({ busy: 2, steal: 0, total: 100 });
  });
  it('reads this machine’s /proc/stat: one entry per CPU, counters that only grow', async () => {
    const a = await readCpuTicks();
    const text = await readFile('/proc/stat', 'utf8');
    expect(a?.size).toBe(text.split('\n').filter((l) => /^cpu\d+ /.test(l)).length);
    const b = await readCpuTicks();
    for (const [cpu, t] of a ?? []) expect(b?.get(cpu)?.total ?? 0).toBeGreaterThanOrEqual(t.total);
  });
});

describe('hostLoad and hostBusyMessage', () => {
  const before = parseProcStat(stat('0 0 0 0 0 0 0 0 0 0', '0 0 0 0 0 0 0 0 0 0'));
  // 10 s on two cores: CPU 0 busy 9 s, CPU 1 busy 6 s and 0.5 s stolen.
  const after = parseProcStat(stat('900 0 0 100 0 0 0 0 0 0', '500 0 100 350 0 0 0 50 0 0'));
  it('is what the cores did minus the server and the generator', () => {
    const l = hostLoad(before, after, [0, 1], 8, 5);
    expect(l?.otherCpuSeconds).toBeCloseTo(2, 6);
    expect(l?.stealShare).toBeCloseTo(50 / 2000, 6);
    expect(hostBusyMessage(l!, 10, 2)).toBe(
      "the host was busy while this cell measured: other processes used 10 % of the cell's 2 core(s) (2.0 CPU-s); the hypervisor took 3 % of their time (steal); quiet the host or add repetitions",
    );
  });
  it('says nothing for a quiet host, and cannot tell other work without the generator’s CPU', () => {
    const quiet = hostLoad(before, after, [0, 1], 9.5, 5);
    expect(quiet?.otherCpuSeconds).toBeCloseTo(0.5, 6);
    expect(hostBusyMessage({ otherCpuSeconds: 0.5, stealShare: 0.01 }, 10, 2)).toBeNull();
    expect(hostLoad(before, after, [0, 1], 8, null)?.otherCpuSeconds).toBeNull();
    expect(hostLoad(before, after, [0, 7], 8, 5)).toBeNull(); // a core /proc/stat does not list
  });
});
