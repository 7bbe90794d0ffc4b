// Resource measurement with real processes: CPU of a busy child, peak memory of an allocating
// child, a process tree whose workers exit before the parent, and the /proc parsers.
import { readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { allowedCpus, pinnedCommand } from '../../src/servers/cpus.js';
import { clkTck, pageSize, procTreeMonitor, readProcStat, readRssBytes, trackPidCpu } from '../../src/servers/resources.js';

const children: ResultPromise[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A node child that spins for `ms`, then prints its own CPU seconds (process.cpuUsage). */
const busy = (ms: number) => `const end=Date.now()+${ms};while(Date.now()<end){}const u=process.cpuUsage();console.log((u.user+u.system)/1e6)`;

describe('/proc readers', () => {
  it('reads our own stat and rss', () => {
    const s = readProcStat(process.pid);
    expect(s?.ppid).toBe(process.ppid);
    expect(s?.ownCpu).toBeGreaterThan(0);
    expect(readRssBytes(process.pid)).toBeGreaterThan(10 * 1024 * 1024);
    expect(readProcStat(2 ** 22 + 7)).toBeNull();
    expect(clkTck()).toBe(100);
    expect(pageSize()).toBeGreaterThanOrEqual(4096);
  });
});

/** A process's command name, or null once it is gone. */
function commOf(pid: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

describe('procTreeMonitor', () => {
  it('a pinned busy loop uses about the CPU it reports itself', async () => {
    const cpu = allowedCpus().at(-1) as number;
    const p = pinnedCommand([cpu], process.execPath, ['-e', `${busy(1200)};setTimeout(()=>{},400)`]);
    const child = execa(p.command, p.args);
    children.push(child);
    const monitor = procTreeMonitor(child.pid as number, { intervalMs: 100 });
    // Read while the child sleeps after its loop: it is still alive, its CPU is final.
    let reported = 0;
    child.stdout?.on('data', (d: Buffer) => (reported = Number(d.toString().trim())));
    const deadline = Date.now() + 10_000;
    while (reported === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const measured = await monitor.cpuSeconds();
    await monitor.stop();
    await child;
    expect(reported).toBeGreaterThan(0.2); // the loop ran (loosely: other tests share the cores)
    expect(measured).toBeGreaterThan(reported * 0.85);
    expect(measured).toBeLessThan(reported + 0.3);
  });

  it('a process that allocates 100 MB shows a peak of at least 100 MB', async () => {
    const child = execa(process.execPath, ['-e', 'const b=Buffer.alloc(100*1024*1024,1);console.log("ready");setTimeout(()=>console.log(b.length),1500)']);
    children.push(child);
    const monitor = procTreeMonitor(child.pid as number, { intervalMs: 100 });
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    // The monitor samples every 100 ms: poll its peak while the process still holds the buffer (bounded).
    let peak = await monitor.peakRssBytes();
    const sampled = Date.now() + 1_000;
    while (peak < 100 * 1024 * 1024 && Date.now() < sampled) {
      await new Promise((r) => setTimeout(r, 50));
      peak = await monitor.peakRssBytes();
    }
    await child;
    await monitor.stop();
    expect(peak).toBeGreaterThanOrEqual(100 * 1024 * 1024);
    // After the process is gone the peak stays; a reset starts a new (empty) window.
    expect(await monitor.peakRssBytes()).toBe(peak);
    await monitor.resetPeak();
    expect(await monitor.peakRssBytes()).toBe(0);
  });

  it('a parent with two workers: the sum, including workers that already exited', async () => {
    const worker = `${process.execPath} -e '${busy(700)}'`;
    // Both workers exit well before the parent: their CPU must survive them.
    const child = execa('sh', ['-c', `${worker} & ${worker} & wait; sleep 0.8`]);
    children.push(child);
    const monitor = procTreeMonitor(child.pid as number, { intervalMs: 100 });
    const reports: number[] = [];
    child.stdout?.on('data', (d: Buffer) => reports.push(...d.toString().trim().split('\n').map(Number)));
    const deadline = Date.now() + 10_000;
    while (reports.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Both reaped, parent still sleeping: no node worker left among the shell's children (a zombie
    // stays listed until reaped), bounded.
    const workersLeft = (): string[] =>
      readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
        .split(' ')
        .filter((p) => p !== '' && commOf(p) === 'node');
    const reaped = Date.now() + 5_000;
    while (workersLeft().length > 0 && Date.now() < reaped) await new Promise((r) => setTimeout(r, 20));
    expect(workersLeft()).toEqual([]);
    const measured = await monitor.cpuSeconds();
    await monitor.stop();
    await child;
    const sum = (reports[0] ?? 0) + (reports[1] ?? 0);
    expect(reports).toHaveLength(2);
    expect(measured).toBeGreaterThan(sum * 0.85);
    expect(measured).toBeLessThan(sum + 0.4);
  });
});

describe('trackPidCpu', () => {
  it('keeps the last value after the process exits', async () => {
    const child = execa(process.execPath, ['-e', busy(600)]);
    children.push(child);
    const tracker = trackPidCpu(child.pid as number, { intervalMs: 50 });
    const r = await child;
    const last = tracker.stop();
    const reported = Number(r.stdout.trim());
    expect(last).not.toBeNull();
    expect(last as number).toBeGreaterThan(reported * 0.6);
    expect(last as number).toBeLessThan(reported + 0.3);
  });
});
