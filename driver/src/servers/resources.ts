// Measuring what a server or load generator costs: CPU seconds (user + system) and peak resident
// memory, either from a cgroup v2 leaf's own counters (exact, cgroupMonitor) or by sampling the
// process tree under a pid in /proc (procTreeMonitor), plus a single-pid CPU tracker for engines.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import type { ResourceMonitor } from '../contracts.js';
import type { Leaf } from './cgroup.js';

let clockTicks: number | null = null;
let pageBytes: number | null = null;

function getconf(name: string, fallback: number): number {
  try {
    const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isFinite(n) && n > 0 ? n : fallback;
  } catch {
    return fallback;
  }
}

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux we know of). */
export function clkTck(): number {
  clockTicks ??= getconf('CLK_TCK', 100);
  return clockTicks;
}

export function pageSize(): number {
  pageBytes ??= getconf('PAGESIZE', 4096);
  return pageBytes;
}

export interface ProcStat {
  pid: number;
  ppid: number;
  /** Process group: a server started in a group of its own keeps its workers in it. */
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, identifies a process across pid reuse. */
  starttime: number;
  /** utime + stime, seconds. */
  ownCpu: number;
  /** cutime + cstime, seconds: CPU of children this process has waited for. */
  childrenCpu: number;
  state: string;
}

/** Parse /proc/<pid>/stat; null when the process is gone. */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm may contain spaces and parentheses: the fields start after the last ")".
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i]);
  const hz = clkTck();
  // f[0]=state (field 3), f[1]=ppid, f[2]=pgrp, f[11..14]=utime,stime,cutime,cstime (fields 14-17), f[19]=starttime (22)
  return { pid, state: f[0] ?? '?', ppid: n(1), pgrp: n(2), starttime: n(19), ownCpu: (n(11) + n(12)) / hz, childrenCpu: (n(13) + n(14)) / hz };
}

/** Resident bytes of one process (statm's second field × page size); null when gone. */
export function readRssBytes(pid: number): number | null {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * pageSize();
  } catch {
    return null;
  }
}

/** Every live process in process group `pgid` (a profiler attaches to them all). */
export function processGroupPids(pgid: number): number[] {
  return allPids().filter((pid) => readProcStat(pid)?.pgrp === pgid);
}

function allPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) if (/^\d+$/.test(name)) out.push(Number(name));
  return out;
}

/**
 * Samples the process tree under `rootPid`. CPU is the sum over the live tree of utime + stime +
 * cutime + cstime: a worker that exits and is reaped by its parent moves its CPU into the
 * parent's cutime, so it keeps counting. A member whose parent is not in the tree (reparented to
 * init, or the parent left first) keeps the CPU it was last seen with. Membership is sticky, so a
 * reparented worker is still followed. Memory is the sum of resident bytes over live members;
 * shared pages count once per process (what "summed over workers" means).
 */
class ProcTree {
  private readonly members = new Map<string, ProcStat>(); // key pid:starttime
  private exitedCpu = 0;
  private baseline: number | null = null;

  constructor(readonly rootPid: number) {}

  /**
   * Take one sample: CPU seconds since the first sample and the tree's resident bytes. A full
   * sample scans every process to find new descendants; a partial one re-reads only known members
   * (cheap enough to run every 150 ms; a short-lived child it never saw still counts through its
   * parent's cutime).
   */
  sample(full = true): { cpuSeconds: number; rssBytes: number; alive: boolean } {
    const stats = new Map<number, ProcStat>();
    const pids = full || this.members.size === 0 ? allPids() : [this.rootPid, ...[...this.members.values()].map((m) => m.pid)];
    for (const pid of pids) {
      const s = readProcStat(pid);
      if (s) stats.set(pid, s);
    }
    const root = stats.get(this.rootPid);
    const liveKeys = new Set<string>();
    const livePids = new Set<number>();
    // Current descendants of the root (ppid links), plus every earlier member still alive.
    const children = new Map<number, number[]>();
    for (const s of stats.values()) {
      const list = children.get(s.ppid) ?? [];
      list.push(s.pid);
      children.set(s.ppid, list);
    }
    const queue = root ? [root.pid] : [];
    for (const m of this.members.values()) if (stats.get(m.pid)?.starttime === m.starttime) queue.push(m.pid);
    for (let i = 0; i < queue.length && i < 100_000; i++) {
      const pid = queue[i] as number;
      if (livePids.has(pid)) continue;
      const s = stats.get(pid);
      if (!s) continue;
      livePids.add(pid);
      liveKeys.add(`${pid}:${s.starttime}`);
      queue.push(...(children.get(pid) ?? []));
    }
    // Members that disappeared: absorbed by a live parent's cutime, else keep their last value.
    for (const [key, m] of this.members) {
      if (liveKeys.has(key)) continue;
      if (!livePids.has(m.ppid)) this.exitedCpu += m.ownCpu + m.childrenCpu;
      this.members.delete(key);
    }
    let cpu = this.exitedCpu;
    let rss = 0;
    for (const pid of livePids) {
      const s = stats.get(pid) as ProcStat;
      this.members.set(`${pid}:${s.starttime}`, s);
      cpu += s.ownCpu + s.childrenCpu;
      if (s.state !== 'Z') rss += readRssBytes(pid) ?? 0;
    }
    this.baseline ??= cpu;
    return { cpuSeconds: Math.max(0, cpu - this.baseline), rssBytes: rss, alive: root !== undefined };
  }
}

/**
 * ResourceMonitor from /proc sampling (the fallback when no cgroup v2 leaf exists). Samples every
 * `intervalMs` (default 150 ms) for the peak, and once more on every read so start/end deltas are
 * current. cpuSeconds() counts from the monitor's start.
 */
export function procTreeMonitor(rootPid: number, opts: { intervalMs?: number } = {}): ResourceMonitor {
  const tree = new ProcTree(rootPid);
  let peak = 0;
  let lastCpu = 0;
  let lastFull = 0;
  const take = (full = true) => {
    const now = Date.now();
    // A scan of all of /proc costs ~2 ms: once a second; known members in between.
    const s = tree.sample(full || now - lastFull >= 1000);
    if (full || now - lastFull >= 1000) lastFull = now;
    lastCpu = s.cpuSeconds;
    if (s.rssBytes > peak) peak = s.rssBytes;
    return s;
  };
  take();
  const timer = setInterval(() => take(false), opts.intervalMs ?? 150);
  timer.unref();
  return {
    async cpuSeconds() {
      take();
      return lastCpu;
    },
    async resetPeak() {
      peak = 0;
      take();
    },
    async peakRssBytes() {
      take();
      return peak;
    },
    async stop() {
      clearInterval(timer);
    },
  };
}

/**
 * ResourceMonitor from a cgroup v2 leaf: cpu.stat's usage_usec (every process that ever ran in
 * the leaf, exited ones included) and memory.peak. Note that cgroup memory counts what is charged
 * to the leaf: anonymous memory plus page cache and kernel memory the server caused, so it reads
 * higher than a pure RSS sum.
 */
export function cgroupMonitor(leaf: Leaf, opts: { intervalMs?: number } = {}): ResourceMonitor {
  const start = leaf.cpuSeconds();
  // Where memory.peak cannot be reset, sampling memory.current gives the window's peak instead.
  const timer = setInterval(() => void leaf.samplePeak(), opts.intervalMs ?? 150);
  timer.unref();
  return {
    async cpuSeconds() {
      return Math.max(0, leaf.cpuSeconds() - start);
    },
    async resetPeak() {
      await leaf.resetPeak();
    },
    async peakRssBytes() {
      return leaf.peakBytes();
    },
    async stop() {
      clearInterval(timer);
    },
  };
}

/**
 * CPU of one process (e.g. wrk or k6 with all their threads), polled until it exits: the last
 * value read is kept, because the numbers vanish with the process. Polls every `intervalMs`
 * (200 ms) and every `tailIntervalMs` (20 ms) once `tailAfterMs` has passed, so the time lost
 * between the last read and the exit is at most one tail interval.
 */
export function trackPidCpu(pid: number, opts: { intervalMs?: number; tailAfterMs?: number; tailIntervalMs?: number } = {}) {
  const started = Date.now();
  const first = readProcStat(pid);
  const key = first?.starttime;
  let last: number | null = first ? first.ownCpu + first.childrenCpu : null;
  let timer: NodeJS.Timeout | null = null;
  const poll = () => {
    const s = readProcStat(pid);
    if (s && s.starttime === key) last = s.ownCpu + s.childrenCpu;
    const tail = opts.tailAfterMs !== undefined && Date.now() - started >= opts.tailAfterMs;
    timer = setTimeout(poll, tail ? (opts.tailIntervalMs ?? 20) : (opts.intervalMs ?? 200));
    timer.unref();
  };
  poll();
  return {
    /** Latest CPU seconds read (null if the process was never seen). */
    current: () => last,
    /** Stop polling; returns the last value. */
    stop(): number | null {
      if (timer) clearTimeout(timer);
      return last;
    },
  };
}
