// Booting a VM runner (`bin/run-bench-<size>-vm`, nix/README.md): find it for a size, refuse
// without /dev/kvm unless --allow-tcg, and start it with a fresh disk image, a loopback SSH forward
// on a free port and a shared folder holding the per-run key, all in one per-boot temp folder that
// is removed with the VM. The runner execs QEMU, so its pid is QEMU's: killing it ends the VM.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync, fstatSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { EnvironmentError, tail, UsageError } from '../errors.js';
import { jsonOrUndefined } from '../results/store.js';
import { generateKeyPair, publicKeyBlob, type KeyPair } from './keys.js';

/** Runner executables by size: --runner (one size), SERVER_BENCH_VM_RUNNER_<size>, SERVER_BENCH_VM_RUNNERS (JSON size → path). The flake's apps set SERVER_BENCH_VM_DRVS instead (runner-build.ts). */
export function locateRunner(size: string, flag: string | null = null, env: NodeJS.ProcessEnv = process.env): string {
  let path = flag ?? env[`SERVER_BENCH_VM_RUNNER_${size}`] ?? null;
  if (path === null && env.SERVER_BENCH_VM_RUNNERS) {
    const r = z.record(z.string(), z.string()).safeParse(jsonOrUndefined(env.SERVER_BENCH_VM_RUNNERS));
    if (!r.success) throw new UsageError('SERVER_BENCH_VM_RUNNERS is not a JSON object of size → path', 'fix or unset it; or use --runner PATH');
    path = r.data[size] ?? null;
  }
  if (path === null)
    throw new EnvironmentError(
      `no VM runner for size ${size}`,
      `run through nix run .#bench, or pass --runner PATH / set SERVER_BENCH_VM_RUNNER_${size} (nix build .#vm-${size} → result/bin/run-bench-${size}-vm)`,
    );
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new EnvironmentError(`VM runner for size ${size} is not executable: ${path}`, `build it with nix build .#vm-${size}`);
  }
  return path;
}

/** KVM present and usable? Without it QEMU emulates (TCG), 10–50× slower, warning only in the console log. */
export function checkKvm(allowTcg: boolean, kvmPath = '/dev/kvm'): { emulated: boolean } {
  try {
    accessSync(kvmPath, constants.R_OK | constants.W_OK);
    return { emulated: false };
  } catch {
    if (allowTcg) return { emulated: true };
    throw new EnvironmentError(
      `${kvmPath} is missing or not accessible: the VM would run emulated (TCG), 10–50× slower`,
      'enable KVM (or add yourself to the kvm group), or pass --allow-tcg to run anyway with every number marked emulated',
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** The last lines of the console log (the runner writes it directly, so it survives us). */
function consoleTailOf(file: string, lines = 8): string {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(size, 16_384);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
  // eslint-disable-next-line no-control-regex
  return tail(text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''), lines);
}

export interface BootedVm {
  size: string;
  port: number;
  keys: KeyPair;
  tmpDir: string;
  sharedDir: string;
  diskImage: string;
  consoleLog: string;
  child: ChildProcess;
  pid: number;
  /** Null while running, else how it ended ("exited with code 1"). */
  exited(): string | null;
  consoleTail(lines?: number): string;
  /** The published host key blob, or null while the guest has not published it. */
  hostKey(): Buffer | null;
  /** Resolves when the runner has exited. */
  exitPromise: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; waits for the exit; removes the temp folder. */
  destroy(graceMs?: number): Promise<void>;
}

/** Pids of every runner started by this process, killed synchronously on exit (last resort). */
const live = new Set<number>();
let hooked = false;
export function killAllVmsNow(): void {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/**
 * Start a runner. `persistent` (server-bench vm start): the VM outlives this process, so it is not
 * killed on our exit and its temp folder stays until `vm stop`.
 */
export async function bootVm(o: {
  size: string;
  runner: string;
  consoleLog: string;
  keys?: KeyPair;
  port?: number;
  qemuOpts?: string;
  persistent?: boolean;
  netOpts?: string[];
}): Promise<BootedVm> {
  const tmpDir = await mkdtemp(join(tmpdir(), `server-bench-vm-${o.size}-`));
  const sharedDir = join(tmpDir, 'shared');
  await mkdir(sharedDir);
  const keys = o.keys ?? generateKeyPair();
  await writeFile(join(sharedDir, 'authorized_keys'), keys.authorizedKey, { mode: 0o600 });
  const port = o.port ?? (await freePort());
  const diskImage = join(tmpDir, `bench-${o.size}.qcow2`);
  const runTmp = join(tmpDir, 'tmp');
  await mkdir(runTmp);
  let log: number;
  try {
    log = openSync(o.consoleLog, 'a');
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NIX_DISK_IMAGE: diskImage,
    // More user-network options (bench --parca's guestfwd) follow the SSH forward.
    QEMU_NET_OPTS: [`hostfwd=tcp:127.0.0.1:${port}-:22`, ...(o.netOpts ?? [])].join(','),
    SHARED_DIR: sharedDir,
    TMPDIR: runTmp,
    USE_TMPDIR: '1',
    ...(o.qemuOpts ? { QEMU_OPTS: o.qemuOpts } : {}),
  };
  // The console goes straight to the log file: no pipe that would tie the VM's life to ours.
  const child = spawn(o.runner, [], { env, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  if (o.persistent) child.unref();
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let how: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      how = `could not start (${err.message})`;
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    const err = await spawnError;
    await rm(tmpDir, { recursive: true, force: true });
    throw new EnvironmentError(`cannot start the VM runner ${o.runner}: ${err.message}`, `build it with nix build .#vm-${o.size}`);
  }
  if (!o.persistent) live.add(pid);
  if (!hooked && !o.persistent) {
    hooked = true;
    process.on('exit', killAllVmsNow);
  }
  void exitPromise.then(() => live.delete(pid));
  const hostKeyFile = join(sharedDir, 'host_ed25519_key.pub');
  let destroyed: Promise<void> | null = null;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the runner's group: QEMU and anything a wrapper script started
    } catch {
      try {
        child.kill(sig);
      } catch {
        // gone
      }
    }
  };
  return {
    size: o.size,
    port,
    keys,
    tmpDir,
    sharedDir,
    diskImage,
    consoleLog: o.consoleLog,
    child,
    pid,
    exited: () => how,
    consoleTail: (n = 8) => consoleTailOf(o.consoleLog, n),
    hostKey: () => {
      if (!existsSync(hostKeyFile)) return null;
      try {
        return publicKeyBlob(readFileSync(hostKeyFile, 'utf8'));
      } catch {
        return null;
      }
    },
    exitPromise,
    destroy(graceMs = 10_000) {
      destroyed ??= (async () => {
        if (how === null) {
          signalGroup('SIGTERM');
          const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
          await exitPromise;
          clearTimeout(timer);
        }
        signalGroup('SIGKILL'); // helpers the runner left in its group
        live.delete(pid);
        await rm(tmpDir, { recursive: true, force: true });
      })();
      return destroyed;
    },
  };
}
