// CPU lists, the plan that splits cores between server and load generator, and real pinning.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { allowedCpus, formatCpuList, parseCpuList, pinnedCommand, planCpus, tasksetArgs } from '../../src/servers/cpus.js';

describe('cpu lists', () => {
  it('parses and formats the kernel syntax', () => {
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('1')).toEqual([1]);
    expect(parseCpuList('3,1,1-2\n')).toEqual([1, 2, 3]);
    expect(formatCpuList([0, 1, 2, 3, 8, 10, 11])).toBe('0-3,8,10-11');
    expect(formatCpuList([5])).toBe('5');
    expect(() => parseCpuList('0-x')).toThrow(/not a CPU list/);
  });
  it("reads this process's affinity", () => {
    const cpus = allowedCpus();
    expect(cpus.length).toBeGreaterThan(0);
    expect(allowedCpus('Name:\tx\nCpus_allowed_list:\t0-1,4\n')).toEqual([0, 1, 4]);
  });
});

describe('planCpus', () => {
  it('dedicated: server first, load generator gets the rest', () => {
    expect(planCpus([0, 1], 1, 'dedicated')).toEqual({ server: [0], loadgen: [1], shared: false });
    expect(planCpus([0, 1, 2, 3], 2, 'dedicated')).toEqual({ server: [0, 1], loadgen: [2, 3], shared: false });
    expect(planCpus([4, 2, 6], 1, 'dedicated')).toEqual({ server: [2], loadgen: [4, 6], shared: false });
  });
  it('dedicated: a size that leaves no core for the generator is skipped with the reason', () => {
    expect(planCpus([0, 1], 2, 'dedicated')).toEqual({
      skip: "size 2 needs 2 server CPUs + 1 for the load generator; this host allows 2 (CPUs 0-1); --loadgen shared fits (the load generator then shares the server's cores)",
    });
    expect(planCpus([0, 1], 16, 'dedicated')).toEqual({ skip: 'size 16 needs 16 server CPUs + 1 for the load generator; this host allows 2 (CPUs 0-1)' });
  });
  it('shared: both on the server cores', () => {
    expect(planCpus([0, 1], 2, 'shared')).toEqual({ server: [0, 1], loadgen: [0, 1], shared: true });
    expect(planCpus([0, 1], 16, 'shared')).toEqual({ skip: 'size 16 needs 16 CPUs; this host allows 2 (CPUs 0-1)' });
  });
  it('rejects a nonsense size', () => {
    expect(planCpus([0, 1], 0, 'dedicated')).toHaveProperty('skip');
  });
});

describe('pinning', () => {
  it('builds taskset command lines', () => {
    expect(tasksetArgs([])).toEqual([]);
    expect(tasksetArgs([0, 1, 3])).toEqual(['-c', '0-1,3']);
    expect(pinnedCommand([], 'wrk', ['-v'])).toEqual({ command: 'wrk', args: ['-v'] });
    expect(pinnedCommand([1], 'wrk', ['-v'])).toEqual({ command: 'taskset', args: ['-c', '1', 'wrk', '-v'] });
  });
  it('really pins a process', async () => {
    const cpu = allowedCpus().at(-1) as number;
    const p = pinnedCommand([cpu], 'cat', ['/proc/self/status']);
    const r = await execa(p.command, p.args);
    expect(r.stdout).toMatch(new RegExp(`^Cpus_allowed_list:\\s*${cpu}$`, 'm'));
  });
});
