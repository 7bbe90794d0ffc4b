// Confining a server in a cgroup v2 leaf (memory.max, cpuset) and reading its exact CPU and peak
// memory back. Where cgroup v2 is not writable with a memory controller (cgroup v1 hosts, unprivileged
// containers) detectCgroup() says why and createLeaf() returns null: the caller records
// memoryEnforced = false and measures with /proc sampling instead (resources.ts).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatCpuList } from './cpus.js';

export type CgroupSupport = { writable: true; mount: string; parent: string; controllers: string[] } | { writable: false; reason: string };

/** The folder under the cgroup v2 root that holds server-bench's leaves. */
const PARENT_NAME = 'server-bench';

export interface LeafOptions {
  /** memory.max in bytes; null = no limit. */
  memoryMaxBytes: number | null;
  /** cpuset.cpus; empty = inherit (pinning with taskset still applies). */
  cpus: number[];
}

export interface Leaf {
  path: string;
  memoryEnforced: boolean;
  addPid(pid: number): void;
  pids(): number[];
  /** usage_usec from cpu.stat, in seconds, since the leaf was created. */
  cpuSeconds(): number;
  /** Peak memory charged to the leaf since creation or the last resetPeak(). */
  peakBytes(): number;
  /** Start a new peak window: memory.peak's per-fd reset (Linux ≥ 6.12), else sampling memory.current. */
  resetPeak(): Promise<void>;
  /** Read memory.current once into the sampled peak (used when memory.peak cannot be reset). */
  samplePeak(): void;
  /** Kill what is left in the leaf and remove it. */
  remove(): Promise<void>;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? String(e);
}

/** Mount point of the cgroup v2 hierarchy, from mountinfo; /sys/fs/cgroup preferred. */
export function cgroup2Mount(mountinfo?: string): string | null {
  const text = mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
  const mounts: string[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right || !right.startsWith('cgroup2 ')) continue;
    const point = left.split(' ')[4];
    if (point) mounts.push(point.replace(/\\040/g, ' '));
  }
  return mounts.find((m) => m === '/sys/fs/cgroup') ?? mounts[0] ?? null;
}

let cached: CgroupSupport | null = null;

/** Can we make leaves with a memory limit here? Cached; `fresh` re-probes. */
export function detectCgroup(fresh = false): CgroupSupport {
  if (cached && !fresh) return cached;
  cached = probe();
  return cached;
}

function probe(): CgroupSupport {
  const mount = cgroup2Mount();
  if (!mount) return { writable: false, reason: 'no cgroup v2 hierarchy is mounted (cgroup v1 only)' };
  let controllers: string[];
  try {
    controllers = readFileSync(join(mount, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch (e) {
    return { writable: false, reason: `cannot read ${join(mount, 'cgroup.controllers')}: ${errCode(e)}` };
  }
  const missing = ['memory', 'cpu'].filter((c) => !controllers.includes(c));
  if (missing.length > 0) {
    return {
      writable: false,
      reason: `cgroup v2 at ${mount} has no ${missing.join(' or ')} controller (available: ${controllers.join(' ') || 'none'}); on this host they are bound to cgroup v1`,
    };
  }
  const wanted = ['memory', 'cpu', ...(controllers.includes('cpuset') ? ['cpuset'] : [])];
  const parent = join(mount, PARENT_NAME);
  try {
    enableControllers(mount, wanted);
    mkdirSync(parent, { recursive: true });
    enableControllers(parent, wanted);
  } catch (e) {
    return { writable: false, reason: `cannot set up ${parent}: ${errCode(e)} (needs root on a host whose cgroup v2 tree is not read-only)` };
  }
  // A real leaf, a limit and a process move: the only way to know the kernel lets us.
  const probeDir = join(parent, `probe-${process.pid}`);
  try {
    mkdirSync(probeDir);
    writeFileSync(join(probeDir, 'memory.max'), 'max');
  } catch (e) {
    return { writable: false, reason: `cannot create a leaf in ${parent}: ${errCode(e)}` };
  } finally {
    try {
      rmdirSync(probeDir);
    } catch {
      // best effort: an empty probe folder does no harm
    }
  }
  return { writable: true, mount, parent, controllers: wanted };
}

function enableControllers(dir: string, wanted: string[]): void {
  const have = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/);
  const add = wanted.filter((c) => !have.includes(c));
  if (add.length > 0) writeFileSync(join(dir, 'cgroup.subtree_control'), add.map((c) => `+${c}`).join(' '));
}

function readKeyed(file: string, key: string): number | null {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function readNumber(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** A leaf named `name` under server-bench's parent, or null when cgroup v2 is not writable here. */
export async function createLeaf(name: string, opts: LeafOptions): Promise<Leaf | null> {
  const support = detectCgroup();
  if (!support.writable) return null;
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const path = join(support.parent, safe);
  if (existsSync(path)) await removeDir(path); // a leftover from an interrupted run
  mkdirSync(path);

  let memoryEnforced = false;
  if (opts.memoryMaxBytes !== null) {
    writeFileSync(join(path, 'memory.max'), String(Math.floor(opts.memoryMaxBytes)));
    // Without this the limit spills into swap instead of binding.
    if (existsSync(join(path, 'memory.swap.max'))) writeFileSync(join(path, 'memory.swap.max'), '0');
    memoryEnforced = true;
  }
  if (opts.cpus.length > 0 && support.controllers.includes('cpuset')) writeFileSync(join(path, 'cpuset.cpus'), formatCpuList(opts.cpus));

  // memory.peak resets per open file: keep one fd for the leaf's life (Linux ≥ 6.12).
  let peakFd: number | null = null;
  let sampled: number | null = null; // peak from memory.current samples, when the fd reset is unsupported
  const current = () => readNumber(join(path, 'memory.current')) ?? 0;
  const readPeakFd = (fd: number): number => {
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return Number(buf.subarray(0, n).toString().trim());
  };

  const leaf: Leaf = {
    path,
    memoryEnforced,
    addPid(pid) {
      writeFileSync(join(path, 'cgroup.procs'), String(pid));
    },
    pids() {
      try {
        return readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    },
    cpuSeconds() {
      return (readKeyed(join(path, 'cpu.stat'), 'usage_usec') ?? 0) / 1e6;
    },
    peakBytes() {
      if (sampled !== null) return Math.max(sampled, current());
      if (peakFd !== null) return readPeakFd(peakFd);
      return readNumber(join(path, 'memory.peak')) ?? Math.max(sampled ?? 0, current());
    },
    async resetPeak() {
      const file = join(path, 'memory.peak');
      if (peakFd === null && existsSync(file)) {
        try {
          peakFd = openSync(file, 'r+');
        } catch {
          peakFd = null;
        }
      }
      if (peakFd !== null) {
        try {
          writeSync(peakFd, 'reset\n');
          sampled = null;
          return;
        } catch {
          closeSync(peakFd);
          peakFd = null;
        }
      }
      sampled = current();
    },
    samplePeak() {
      if (sampled !== null) sampled = Math.max(sampled, current());
    },
    async remove() {
      if (peakFd !== null) closeSync(peakFd);
      peakFd = null;
      await removeDir(path);
    },
  };
  return leaf;
}

async function removeDir(path: string): Promise<void> {
  const procs = () => {
    try {
      return readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  for (let attempt = 0; attempt < 40; attempt++) {
    const left = procs();
    if (left.length === 0) {
      try {
        rmdirSync(path);
        return;
      } catch (e) {
        if (errCode(e) === 'ENOENT') return;
        if (errCode(e) !== 'EBUSY') throw e;
      }
    } else if (existsSync(join(path, 'cgroup.kill'))) {
      writeFileSync(join(path, 'cgroup.kill'), '1');
    } else {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await sleep(50);
  }
  throw new Error(`cannot remove cgroup ${path}: processes still inside after 2 s`);
}
