// The local backend's supervisor: starts an implementation as a child process pinned with
// `taskset -c`, in its own process group, confined by a cgroup v2 leaf (memory.max) when one is
// writable and otherwise measured by sampling its process tree; waits until the site port answers;
// stops the whole group (SIGTERM, then SIGKILL). No server outlives the harness, even on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Impl, ImplContext, ResourceMonitor, ServerHandle, ServerPlacement, Supervisor } from '../contracts.js';
import { createLeaf, type Leaf } from './cgroup.js';
import { pinnedCommand } from './cpus.js';
import { BenchError, ExitCode, tail } from '../errors.js';
import { assertPortsFree, waitPortsFree } from './ports.js';
import { cgroupMonitor, processGroupPids, procTreeMonitor } from './resources.js';

/** Process groups of every server started by this process, for the exit hook. */
const liveGroups = new Set<number>();
let exitHooked = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Last resort: whatever ends the harness (an uncaught error, process.exit), its servers die with it. */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
}

/** Keeps the last `max` bytes of a stream: the server's log tail for error messages, without disk I/O per request. */
class RingLog {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max = 64 * 1024) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.max && this.chunks.length > 1) this.size -= (this.chunks.shift() as Buffer).length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface LocalSupervisorOptions {
  /** How long a server may take to answer its first request. */
  readyTimeoutMs?: number;
  /** How long SIGTERM may take before SIGKILL. */
  stopTimeoutMs?: number;
}

/**
 * The lines of a start-up log worth one error line: the last ones naming an error (a Node stack's
 * "SyntaxError: ..." line, Go's "panic:" / slog level=ERROR) rather than the stack frames below them.
 */
export function startupTail(log: string): string {
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /(\w*Error\b|\berror\b|ERROR|fatal|panic|refused|EADDRINUSE|EACCES|ENOENT)/.test(l) && !/^at /.test(l));
  return (errors.length > 0 ? errors.slice(-2) : lines.slice(-3)).join(' | ').slice(0, 600);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1_000), redirect: 'manual' });
    await r.body?.cancel();
    return true; // any HTTP answer means the server is up
  } catch {
    return false;
  }
}

/**
 * Bounded wait with exponential backoff (25 ms doubling to 500 ms) until `url` gives any HTTP
 * answer; `check` runs before each try and throws when waiting is pointless (the server died).
 * Resolves false when `timeoutMs` passes. Shared by the local and the systemd supervisor.
 */
export async function waitAnswering(url: string, timeoutMs: number, check: () => void = () => {}): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    check();
    if (await answers(url)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Wait until `url` answers; the child dying or the deadline passing is a BenchError with its output. */
async function waitReady(impl: string, url: string, child: ChildProcess, log: RingLog, timeoutMs: number): Promise<void> {
  const up = await waitAnswering(url, timeoutMs, () => {
    if (!exited(child)) return;
    const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
    throw new BenchError(
      `${impl} ${how} during start-up: ${startupTail(log.text()) || 'no output'}`,
      'run the server by hand with the same environment to see why',
      ExitCode.failure,
    );
  });
  if (!up)
    throw new BenchError(
      `${impl} did not answer on ${url} within ${Math.round(timeoutMs / 1000)} s: ${startupTail(log.text()) || 'no output'}`,
      'check that it can read the webroot and reach the map URL',
      ExitCode.failure,
    );
}

let leafCounter = 0;

async function tryLeaf(name: string, placement: ServerPlacement): Promise<Leaf | null> {
  try {
    return await createLeaf(name, { memoryMaxBytes: placement.memoryLimitBytes, cpus: placement.cpus });
  } catch {
    return null; // not writable here: recorded as memory-not-enforced
  }
}

export function localSupervisor(opts: LocalSupervisorOptions = {}): Supervisor {
  const handles = new Set<ServerHandle>();
  return {
    async start(impl: Impl, ctx: ImplContext, placement: ServerPlacement): Promise<ServerHandle> {
      const ports = [impl.sitePort, ...(impl.metricsPort !== null ? [impl.metricsPort] : [])];
      await assertPortsFree(ports);
      const spec = impl.launch(ctx);
      // The leaf exists before the server does, and a shell joins it before exec'ing the server,
      // so workers forked during start-up are confined and counted too.
      const leaf = await tryLeaf(`${impl.name}-${process.pid}-${++leafCounter}`, placement);
      const pinned = pinnedCommand(placement.cpus, spec.command, spec.args);
      const { command, args } = leaf
        ? { command: '/bin/sh', args: ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', leaf.path, pinned.command, ...pinned.args] }
        : pinned;
      const log = new RingLog();
      const child = spawn(command, args, {
        env: { ...process.env, ...spec.env },
        cwd: spec.cwd,
        detached: true, // its own process group: one kill reaches workers and helpers too
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
      child.stdout?.on('data', (b: Buffer) => log.push(b));
      child.stderr?.on('data', (b: Buffer) => log.push(b));
      const pid = child.pid;
      if (pid === undefined) {
        const err = await spawnError;
        await leaf?.remove().catch(() => undefined);
        throw new BenchError(
          `cannot start ${impl.name} (${spec.command}): ${err.message}`,
          `run server-bench prepare --impls ${impl.name}`,
          ExitCode.environment,
        );
      }
      liveGroups.add(pid);
      hookExit();
      const exitPromise = new Promise<void>((resolve) => {
        if (exited(child)) resolve();
        else child.once('exit', () => resolve());
      });
      void exitPromise.then(() => liveGroups.delete(pid));

      const monitor: ResourceMonitor = leaf ? cgroupMonitor(leaf) : procTreeMonitor(pid);
      const memoryEnforced = leaf?.memoryEnforced ?? false;
      const effective: ServerPlacement = { ...placement, memoryEnforced };
      const baseUrl = `http://${ctx.host}:${impl.sitePort}`;
      let stopped: Promise<void> | null = null;
      const stop = (): Promise<void> => {
        stopped ??= (async () => {
          await monitor.stop().catch(() => undefined);
          if (!exited(child)) {
            killGroup(pid, 'SIGTERM');
            const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), opts.stopTimeoutMs ?? 5_000);
            await exitPromise;
            clearTimeout(timer);
          }
          killGroup(pid, 'SIGKILL'); // helpers the leader left behind
          liveGroups.delete(pid);
          await leaf?.remove().catch(() => undefined);
          await waitPortsFree(ports, 5_000);
          handles.delete(handle);
        })();
        return stopped;
      };
      const handle: ServerHandle = {
        impl: impl.name,
        baseUrl,
        metricsUrl: impl.metricsPort !== null ? `http://${ctx.host}:${impl.metricsPort}/metrics` : null,
        placement: effective,
        monitor,
        logTail: async (lines = 10) => tail(log.text(), lines),
        pids: async () => processGroupPids(pid),
        stop,
      };
      handles.add(handle);
      try {
        await Promise.race([
          waitReady(impl.name, `${baseUrl}/`, child, log, opts.readyTimeoutMs ?? 30_000),
          spawnError.then((e) =>
            Promise.reject(
              new BenchError(
                `cannot start ${impl.name} (${spec.command}): ${e.message}`,
                `run server-bench prepare --impls ${impl.name}`,
                ExitCode.environment,
              ),
            ),
          ),
        ]);
      } catch (err) {
        await stop();
        throw err;
      }
      return handle;
    },
    async stopAll() {
      await Promise.all([...handles].map((h) => h.stop()));
    },
  };
}

/** Synchronously kill every server group this process started (signal handlers that must not wait). */
export function killAllServersNow(): void {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
}
