// cgroup v2 leaves. Where cgroup v2 is writable (a systemd host as root) a real leaf confines a
// real process; where it is not (this CI's cgroup v1 machine) the fallback must be reported with
// its reason and createLeaf must return null: both are assertions, neither is skipped.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cgroup2Mount, createLeaf, detectCgroup } from '../../src/servers/cgroup.js';
import { cgroupMonitor } from '../../src/servers/resources.js';

const MOUNTINFO = [
  '25 30 0:22 / /sys/fs/cgroup/memory rw,relatime shared:7 - cgroup cgroup rw,memory',
  '35 30 0:31 / /sys/fs/cgroup/unified rw,relatime shared:17 - cgroup2 cgroup2 rw',
].join('\n');

describe('cgroup v2', () => {
  it('finds the cgroup2 mount in mountinfo', () => {
    expect(cgroup2Mount(MOUNTINFO)).toBe('/sys/fs/cgroup/unified');
    expect(cgroup2Mount(`${MOUNTINFO}\n36 30 0:32 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw`)).toBe('/sys/fs/cgroup');
    expect(cgroup2Mount('25 30 0:22 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu')).toBeNull();
  });

  it('either confines a real process in a leaf, or reports why it cannot', async () => {
    const support = detectCgroup(true);
    if (!support.writable) {
      expect(support.reason).toMatch(/cgroup v2|cgroup v1|controller|cannot/);
      expect(support.reason.length).toBeGreaterThan(20);
      expect(await createLeaf('test-fallback', { memoryMaxBytes: 64 * 1024 * 1024, cpus: [] })).toBeNull();
      return;
    }
    const leaf = await createLeaf(`test-${process.pid}`, { memoryMaxBytes: 512 * 1024 * 1024, cpus: [] });
    expect(leaf).not.toBeNull();
    if (!leaf) return;
    expect(leaf.memoryEnforced).toBe(true);
    const child = execa(process.execPath, [
      '-e',
      'const b=Buffer.alloc(64*1024*1024,1);const end=Date.now()+500;while(Date.now()<end){}setTimeout(()=>console.log(b.length),300)',
    ]);
    try {
      leaf.addPid(child.pid as number);
      expect(leaf.pids()).toContain(child.pid);
      const monitor = cgroupMonitor(leaf);
      await child;
      expect(await monitor.cpuSeconds()).toBeGreaterThan(0.2);
      expect(await monitor.peakRssBytes()).toBeGreaterThan(64 * 1024 * 1024);
      await monitor.stop();
    } finally {
      child.kill('SIGKILL');
      await leaf.remove();
    }
  });
});
