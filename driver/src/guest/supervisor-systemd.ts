// The supervisor inside the VM: one systemd unit per implementation (`bench-<impl>`, vm.nix).
// Starts and stops units with systemctl, waits for the site port, reads the unit's own cgroup
// (cpu.stat usage_usec, memory.peak) for CPU and memory, and quotes `journalctl -u` in errors.
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Impl, ImplContext, ResourceMonitor, ServerHandle, ServerPlacement, Supervisor } from '../contracts.js';
import { BenchError, CommandError, ExitCode, tail } from '../errors.js';
import { waitAnswering } from '../servers/supervisor-local.js';
import { cgroupPids, withProfileDropIn } from '../profile/unit.js';

export const SYSTEMD_CGROUP_ROOT = '/sys/fs/cgroup/system.slice';

/** usage_usec from a cgroup v2 cpu.stat text, in seconds; null when absent. */
export function parseCpuStat(text: string): number | null {
  const m = /^usage_usec (\d+)$/m.exec(text);
  return m ? Number(m[1]) / 1e6 : null;
}

/** A memory.peak / memory.current / memory.max value: bytes, or null for "max" or garbage. */
export function parseMemoryValue(text: string): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  return Number(t);
}

export function unitCgroupDir(unit: string, root = SYSTEMD_CGROUP_ROOT): string {
  return join(root, `${unit}.service`);
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * ResourceMonitor over a systemd unit's cgroup. memory.peak resets per open file (Linux ≥ 6.12):
 * the fd opened at reset time is kept and read back; older kernels give the peak since unit start.
 */
export function unitCgroupMonitor(dir: string): ResourceMonitor {
  let peakFd: number | null = null;
  const closeFd = () => {
    if (peakFd !== null) closeSync(peakFd);
    peakFd = null;
  };
  return {
    async cpuSeconds() {
      return parseCpuStat(readOr(join(dir, 'cpu.stat'))) ?? 0;
    },
    async resetPeak() {
      closeFd();
      try {
        peakFd = openSync(join(dir, 'memory.peak'), 'r+');
        writeSync(peakFd, 'reset\n');
      } catch {
        closeFd(); // not resettable here: the peak since the unit started is what we get
      }
    },
    async peakRssBytes() {
      if (peakFd !== null) {
        const buf = Buffer.alloc(64);
        const n = readSync(peakFd, buf, 0, buf.length, 0);
        const v = parseMemoryValue(buf.subarray(0, n).toString());
        if (v !== null) return v;
      }
      return parseMemoryValue(readOr(join(dir, 'memory.peak'))) ?? parseMemoryValue(readOr(join(dir, 'memory.current'))) ?? 0;
    },
    async stop() {
      closeFd();
    },
  };
}

export interface SystemdSupervisorOptions {
  /** Every server unit, so stopAll() stops all of them (k6test: one server at a time). */
  units: string[];
  /** Implementation name → unit name (default bench-<impl>). */
  unitOf?: (impl: string) => string;
  readyTimeoutMs?: number;
  cgroupRoot?: string;
}

async function systemctl(args: string[]): Promise<void> {
  const r = await execa('systemctl', args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  if (r.exitCode !== 0)
    throw new CommandError(`systemctl ${args.join(' ')}`, r.exitCode ?? null, r.signal ?? null, tail(String(r.stderr), 2), 'see journalctl -xe in the VM');
}

export async function journalTail(unit: string, lines = 20): Promise<string> {
  const r = await execa('journalctl', ['-u', unit, '-n', String(lines), '--no-pager', '-o', 'cat'], { reject: false, stdin: 'ignore', timeout: 15_000 });
  return tail(String(r.stdout), lines);
}

export function systemdSupervisor(opts: SystemdSupervisorOptions): Supervisor {
  const unitOf = opts.unitOf ?? ((impl: string) => `bench-${impl}`);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  return {
    async start(impl: Impl, ctx: ImplContext, placement: ServerPlacement): Promise<ServerHandle> {
      const unit = unitOf(impl.name);
      await systemctl(['reset-failed', `${unit}.service`]).catch(() => undefined);
      // bench --profile: a Node server's unit gets V8's perf-map flags for this start (profile/unit.ts).
      const startUnit = () => systemctl(['start', `${unit}.service`]);
      await (ctx.profile ? withProfileDropIn({ impl: impl.name, unit, reload: () => systemctl(['daemon-reload']) }, startUnit) : startUnit());
      const baseUrl = `http://${ctx.host}:${impl.sitePort}`;
      if (!(await waitAnswering(`${baseUrl}/`, readyTimeoutMs))) {
        const journal = await journalTail(unit);
        await systemctl(['stop', `${unit}.service`]).catch(() => undefined);
        throw new BenchError(
          `${unit} did not answer on ${baseUrl}/ within ${Math.round(readyTimeoutMs / 1000)} s: ${journal || 'no journal lines'}`,
          `look at journalctl -u ${unit} in the VM (server-bench vm exec -- journalctl -u ${unit})`,
          ExitCode.failure,
        );
      }
      const cgroup = unitCgroupDir(unit, opts.cgroupRoot);
      const monitor = unitCgroupMonitor(cgroup);
      const memMax = parseMemoryValue(readOr(join(cgroup, 'memory.max')));
      let stopped: Promise<void> | null = null;
      return {
        impl: impl.name,
        baseUrl,
        metricsUrl: impl.metricsPort !== null ? `http://${ctx.host}:${impl.metricsPort}/metrics` : null,
        placement: { ...placement, memoryEnforced: memMax !== null, memoryLimitBytes: memMax ?? placement.memoryLimitBytes },
        monitor,
        logTail: (lines = 20) => journalTail(unit, lines),
        pids: () => cgroupPids(cgroup),
        stop: () => {
          stopped ??= (async () => {
            await monitor.stop();
            await systemctl(['stop', `${unit}.service`]);
          })();
          return stopped;
        },
      };
    },
    async stopAll() {
      if (opts.units.length > 0) await systemctl(['stop', ...opts.units.map((u) => `${u}.service`)]);
    },
  };
}
