// What machine a run happened on, for run.json: CPU model, cores, memory, kernel, OS, cgroup v2
// writability, /dev/kvm; tool versions (Node, Go) and the git revision of this checkout.
// Every probe is best-effort: a missing tool is recorded as null, never an error.
import { access, constants, readFile } from 'node:fs/promises';
import { availableParallelism, hostname, release, totalmem } from 'node:os';
import { execa } from 'execa';
import { detectCgroup } from '../servers/cgroup.js';
import type { HostInfo } from '../results/schema.js';

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function canAccess(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

export async function hostInfo(): Promise<HostInfo> {
  const cpuinfo = (await readText('/proc/cpuinfo')) ?? '';
  const model = /^(?:model name|Model|Hardware)\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const osRelease = (await readText('/etc/os-release')) ?? '';
  const os = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'unknown';
  return {
    hostname: hostname(),
    cpuModel: model,
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    kernel: release(),
    os,
    // The same answer the cells' memory confinement gets (a writable v2 tree with the memory controller).
    cgroupV2Writable: detectCgroup().writable,
    kvm: await canAccess('/dev/kvm', constants.R_OK | constants.W_OK),
  };
}

/** `go version` → "go1.22.5", or null when Go is not installed. */
export async function goVersion(): Promise<string | null> {
  try {
    const r = await execa('go', ['version'], { timeout: 10_000 });
    return /go[0-9][^\s]*/.exec(r.stdout)?.[0] ?? r.stdout.trim();
  } catch {
    return null;
  }
}

export async function gitRevision(cwd: string): Promise<{ revision: string | null; dirty: boolean }> {
  try {
    const rev = await execa('git', ['rev-parse', 'HEAD'], { cwd, timeout: 10_000 });
    const st = await execa('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, timeout: 10_000 });
    return { revision: rev.stdout.trim(), dirty: st.stdout.trim().length > 0 };
  } catch {
    return { revision: null, dirty: false };
  }
}
