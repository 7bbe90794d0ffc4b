// Linux perf at the edge: is it there and may it sample (checkPerf), record a set of processes on
// CPU with call graphs, started paused and switched on over perf's control pipe so the profile
// covers exactly the measured window (startPerfRecord), and turn the recording into folded stacks
// by streaming `perf script` through the pure folder (foldPerfData).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { BenchError, EnvironmentError, ExitCode, tail } from '../errors.js';
import { PerfScriptFolder, type FoldResult } from './folded.js';

export type CallGraph = 'fp' | 'dwarf';

/** The perf binary: $SERVER_BENCH_PERF (e.g. Ubuntu's /usr/lib/linux-tools/<version>/perf), else perf on PATH. */
export function perfBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.SERVER_BENCH_PERF && env.SERVER_BENCH_PERF !== '' ? env.SERVER_BENCH_PERF : 'perf';
}

export const PERF_INSTALL_HINT =
  'install it: apt-get install -y linux-perf on Debian, linux-tools-$(uname -r) on Ubuntu, or set SERVER_BENCH_PERF; or leave out --profile';

/** The one place that says what to change when perf may not sample the servers. */
const PERF_PERMISSION_HINT =
  'run server-bench as root, or allow it: sysctl -w kernel.perf_event_paranoid=1, and kernel.kptr_restrict=0 for kernel function names';

export interface PerfAccess {
  uid: number;
  /** /proc/sys/kernel/perf_event_paranoid, null when unreadable. */
  paranoid: number | null;
  /** CAP_PERFMON or CAP_SYS_ADMIN in the effective set. */
  capable: boolean;
}

/**
 * Whether perf may sample the servers with kernel frames. Root or CAP_PERFMON may always; others
 * need perf_event_paranoid ≤ 1 (at 2 perf silently drops to user space only, so the kernel's share,
 * where a file server spends much of its time, would vanish; Debian's 3 forbids it altogether).
 */
export function permissionProblem(a: PerfAccess): BenchError | null {
  if (a.uid === 0 || a.capable) return null;
  if (a.paranoid !== null && a.paranoid <= 1) return null;
  const setting = a.paranoid === null ? 'cannot be read' : `is ${a.paranoid}`;
  return new EnvironmentError(
    `--profile: perf may not sample the servers with kernel frames: server-bench is not root and kernel.perf_event_paranoid ${setting}`,
    PERF_PERMISSION_HINT,
  );
}

/** What perf's own failure text means, as one actionable error. */
export function classifyPerfFailure(stderr: string, code: number | null): BenchError {
  const text = stderr.replace(/\s+/g, ' ');
  if (/perf_event_paranoid|Permission denied|not permitted|Access to performance monitoring/i.test(text)) {
    return new EnvironmentError(
      "--profile: perf was refused access to the server's processes (perf_event_paranoid or ptrace permissions)",
      PERF_PERMISSION_HINT,
    );
  }
  if (/perf not found for kernel|WARNING: perf not found/i.test(text)) {
    return new EnvironmentError('--profile: perf is installed but not for this kernel', PERF_INSTALL_HINT);
  }
  return new BenchError(
    `perf record failed (exit ${code ?? 'signal'}): ${tail(stderr, 3) || 'no output'}`,
    'run perf record -e cpu-clock -g -p <pid> by hand to see why',
    ExitCode.environment,
  );
}

function readParanoid(): number | null {
  try {
    const n = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function effectiveCapable(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return false;
    const caps = BigInt(`0x${m[1]}`);
    const has = (bit: number) => ((caps >> BigInt(bit)) & 1n) === 1n;
    return has(38) || has(21); // CAP_PERFMON, CAP_SYS_ADMIN
  } catch {
    return false;
  }
}

function perfAccess(): PerfAccess {
  return { uid: process.getuid?.() ?? -1, paranoid: readParanoid(), capable: effectiveCapable() };
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<Finished & { spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stderr, spawnError: e });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

/**
 * Up-front check for `bench --profile`: perf is installed, we may sample with kernel frames, and a
 * real recording of a process of ours (as the servers will be) succeeds. Throws the one error to fix.
 */
export async function checkPerf(perf = perfBinary(), access: PerfAccess = perfAccess()): Promise<void> {
  const version = await run(perf, ['--version'], 10_000);
  if (version.spawnError?.code === 'ENOENT' || version.code === 127) {
    throw new EnvironmentError(`--profile needs Linux perf, which is not installed (${perf} not found)`, PERF_INSTALL_HINT);
  }
  if (version.code !== 0) throw classifyPerfFailure(version.stderr, version.code);
  const denied = permissionProblem(access);
  if (denied) throw denied;
  const dir = await mkdtemp(join(tmpdir(), 'server-bench-perf-'));
  const target = spawn('sleep', ['10'], { stdio: 'ignore' });
  try {
    const probe = await run(
      perf,
      [
        'record',
        '-e',
        'cpu-clock',
        '-F',
        '99',
        '--call-graph',
        'fp',
        '--no-buildid',
        '--no-buildid-cache',
        '-o',
        join(dir, 'probe.data'),
        '-p',
        String(target.pid),
        '--',
        'sleep',
        '0.1',
      ],
      30_000,
    );
    if (probe.code !== 0) throw classifyPerfFailure(probe.stderr, probe.code);
  } finally {
    target.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PerfRecordOptions {
  pids: readonly number[];
  hz: number;
  callGraph: CallGraph;
  dataFile: string;
  perf?: string;
  /** How long perf may take to attach and acknowledge "enable". */
  startTimeoutMs?: number;
}

export interface PerfRecording {
  readonly dataFile: string;
  /** Stop sampling and wait until perf has written its file (idempotent; kills perf if it hangs). */
  stop(): Promise<void>;
}

/** perf's own processes, for the exit hook: a recording never outlives the harness. */
const livePerf = new Set<number>();
let exitHooked = false;

/**
 * Attach perf to `pids` (and, by inheritance, to the processes they start later) with sampling
 * off, then switch it on over the control pipe and wait for perf's "ack": when this resolves,
 * samples are being taken. Failures carry perf's own explanation.
 */
export async function startPerfRecord(o: PerfRecordOptions): Promise<PerfRecording> {
  if (o.pids.length === 0) throw new BenchError('--profile: the server has no processes to sample', 'the server exited; see its log', ExitCode.failure);
  const callGraph = o.callGraph === 'fp' ? 'fp' : 'dwarf,16384';
  const args = [
    'record',
    '-e',
    'cpu-clock',
    '-F',
    String(o.hz),
    '--call-graph',
    callGraph,
    '--no-buildid',
    '--no-buildid-cache',
    '-D',
    '-1',
    '--control',
    'fd:3,4',
    '-p',
    o.pids.join(','),
    '-o',
    o.dataFile,
  ];
  const child = spawn(o.perf ?? perfBinary(), args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid !== undefined) {
    livePerf.add(pid);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const p of livePerf) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // gone
          }
        }
      });
    }
  }
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
  });
  const closed = new Promise<Finished>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
  void closed.then(() => pid !== undefined && livePerf.delete(pid));
  const ctl = child.stdio[3] as Writable;
  const ack = child.stdio[4] as Readable;
  ctl.on('error', () => undefined); // perf gone: the close promise reports it
  const acked = new Promise<void>((resolve) => {
    let seen = '';
    ack.on('data', (b: Buffer) => {
      seen += b.toString('utf8');
      if (seen.includes('ack')) resolve();
    });
  });
  const spawnFailed = new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
  ctl.write('enable\n');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), o.startTimeoutMs ?? 30_000);
  });
  type Start = { kind: 'ack' } | { kind: 'closed'; end: Finished } | { kind: 'error'; error: NodeJS.ErrnoException } | { kind: 'timeout' };
  const first: Start = await Promise.race([
    acked.then((): Start => ({ kind: 'ack' })),
    closed.then((end): Start => ({ kind: 'closed', end })),
    spawnFailed.then((error): Start => ({ kind: 'error', error })),
    timeout.then((): Start => ({ kind: 'timeout' })),
  ]);
  clearTimeout(timer);
  if (first.kind !== 'ack') {
    child.kill('SIGKILL');
    if (first.kind === 'timeout')
      throw new BenchError(
        `perf record did not start sampling within ${Math.round((o.startTimeoutMs ?? 30_000) / 1000)} s: ${tail(stderr, 2) || 'no output'}`,
        'run perf record -p <pid> by hand to see why',
        ExitCode.failure,
      );
    if (first.kind === 'error') {
      if (first.error.code === 'ENOENT') throw new EnvironmentError('--profile needs Linux perf, which is not installed', PERF_INSTALL_HINT);
      throw new BenchError(`cannot start perf: ${first.error.message}`, PERF_INSTALL_HINT, ExitCode.environment);
    }
    throw classifyPerfFailure(first.end.stderr, first.end.code);
  }
  let stopping: Promise<void> | null = null;
  return {
    dataFile: o.dataFile,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGINT'); // perf stops sampling and finishes the file
          const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
          const done = await closed;
          clearTimeout(killer);
          if (done.signal === 'SIGKILL')
            throw new BenchError('perf record did not finish writing within 60 s', 'the profile of this cell is lost; run it again', ExitCode.failure);
        }
      })();
      return stopping;
    },
  };
}

/**
 * `perf script` over a recording, folded as it streams (a 30 s profile prints tens of megabytes).
 * Symbols resolve now: the binaries, and V8's /tmp/perf-<pid>.map files, must still be there (perf
 * reads a map in the process's own mount namespace, e.g. a VM unit's PrivateTmp, while it runs:
 * tested in profile-vm.test.ts).
 */
export async function foldPerfData(dataFile: string, perf = perfBinary()): Promise<FoldResult> {
  const child = spawn(perf, ['script', '-i', dataFile, '-F', 'comm,pid,tid,period,event,ip,sym,dso', '--no-inline'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
  });
  const closed = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  const folder = new PerfScriptFolder();
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  for await (const line of lines) folder.push(line);
  const end = await closed;
  if (end.error || end.code !== 0)
    throw new BenchError(
      `perf script failed on ${dataFile}: ${end.error?.message ?? tail(stderr, 2)}`,
      'run perf script -i on the file by hand to see why',
      ExitCode.failure,
    );
  return folder.result();
}

/** V8 writes /tmp/perf-<pid>.map for every process started with --perf-basic-prof; they are ours to remove. */
export async function removePerfMaps(pids: Iterable<number>): Promise<void> {
  await Promise.all([...pids].map((p) => rm(`/tmp/perf-${p}.map`, { force: true }).catch(() => undefined)));
}
