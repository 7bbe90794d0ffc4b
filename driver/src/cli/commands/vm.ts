// `server-bench vm start|stop|exec|test`: a long-lived VM for poking around, as the original's
// benchvm workflow. start boots a runner that outlives the command and records it (vm/state.ts);
// exec and test (benchvm-exec.ts, benchvm-test.ts) use it; stop powers it off and cleans up.
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { ParseArgsConfig } from 'node:util';
import { parseDuration } from '../duration.js';
import { parseCommandArgs } from '../args.js';
import { interruptible } from '../../run/finish.js';
import { VM_HELP, vmHelpFor } from './vm-help.js';
import { ExitCode, UsageError, reportError } from '../../errors.js';
import { bootVm, checkKvm, freePort, type BootedVm } from '../../vm/runner.js';
import { prepareRunner } from '../../vm/runner-build.js';
import { waitForSsh } from '../../vm/ssh.js';
import { guestEmulated } from '../../vm/virt.js';
import { parseImageFlag, prepareDebianVms } from '../../vm/runner-debian.js';
import { alive, connectState, readState, removeState, savePrivateKey, stateDir, writeState } from '../../vm/state.js';
import { join } from 'node:path';

/** The servers' site port in the guest (matrix/impls.json sitePort, the same for every implementation). */
const GUEST_SITE_PORT = 8080;

function parse(command: string, argv: string[], options: ParseArgsConfig['options']): { values: Record<string, string | boolean | undefined> } {
  const { values } = parseCommandArgs(
    command,
    { args: argv, options, strict: true, allowPositionals: false },
    { size: 'N', runner: 'PATH', 'ssh-timeout': 'D', image: 'I' },
  );
  return { values: values as Record<string, string | boolean | undefined> };
}

async function start(argv: string[]): Promise<number> {
  const { values: v } = parse('vm start', argv, {
    size: { type: 'string' },
    runner: { type: 'string' },
    'allow-tcg': { type: 'boolean' },
    'ssh-timeout': { type: 'string' },
    image: { type: 'string' },
  });
  const size = typeof v.size === 'string' ? v.size : '1';
  const existing = await readState(size).catch(() => null);
  if (existing)
    throw new UsageError(
      `a VM of size ${size} is already running (pid ${existing.pid}, SSH on 127.0.0.1:${existing.port})`,
      `stop it first: server-bench vm stop --size ${size}`,
    );
  const image = parseImageFlag(typeof v.image === 'string' ? v.image : undefined);
  let runner: string;
  let emulated: boolean;
  if (image === 'debian') {
    if (typeof v.runner === 'string')
      throw new UsageError('--runner and --image debian both name the VM', 'leave out --runner: the Debian image makes its own runners');
    const d = await prepareDebianVms({ sizes: [size], allowTcg: v['allow-tcg'] === true, log: (l) => process.stderr.write(`server-bench: ${l}\n`) });
    runner = d.runners[size] as string;
    emulated = d.emulated;
  } else {
    emulated = checkKvm(v['allow-tcg'] === true).emulated;
    runner = await prepareRunner(size, typeof v.runner === 'string' ? v.runner : null, {
      onBuild: (s, drv) => process.stderr.write(`server-bench: building the size-${s} VM (${drv})\n`),
    });
  }
  await mkdir(stateDir(), { recursive: true, mode: 0o700 });
  const consoleLog = join(stateDir(), `${size}-console.log`);
  // Listen for Ctrl-C before the runner starts: until its state file is written the VM is ours to
  // clean up, and a signal that arrived while bootVm ran (the temp disk already exists) would
  // otherwise end this process by default, leaving a runner and its disk that `vm stop` cannot find.
  // A second Ctrl-C kills at once.
  let vm: BootedVm | null = null;
  const stopping = interruptible('stopping the VM', () => {
    if (vm === null) return;
    try {
      process.kill(-vm.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    rmSync(vm.tmpDir, { recursive: true, force: true });
  });
  try {
    // The guest's site port too, for a generator machine on this host (docs/hosts.md: the guest as a hosts-file machine).
    const sitePort = await freePort();
    const booted = await bootVm({ size, runner, consoleLog, persistent: true, netOpts: [`hostfwd=tcp:127.0.0.1:${sitePort}-:${GUEST_SITE_PORT}`] });
    vm = booted;
    if (stopping.signal.aborted) throw stopping.signal.reason;
    const ssh = await waitForSsh(
      () => {
        const hostKey = booted.hostKey();
        return hostKey ? { host: '127.0.0.1', port: booted.port, privateKey: booted.keys.privateKey, hostKey } : null;
      },
      {
        timeoutMs: typeof v['ssh-timeout'] === 'string' ? parseDuration(v['ssh-timeout'], '--ssh-timeout') * 1000 : emulated ? 600_000 : 180_000,
        stillAlive: () => booted.exited(),
        consoleTail: () => booted.consoleTail(),
        signal: stopping.signal,
      },
    );
    // The guest knows whether it is emulated; /dev/kvm on the host was only a guess.
    const virt = (await ssh.exec('systemd-detect-virt').catch(() => ({ stdout: '' }))).stdout.trim() || null;
    emulated = guestEmulated(virt, emulated);
    ssh.close();
    await writeState({
      size,
      pid: booted.pid,
      port: booted.port,
      sitePort,
      privateKeyFile: await savePrivateKey(booted.tmpDir, booted.keys.privateKey),
      hostKey: readFileSync(join(booted.sharedDir, 'host_ed25519_key.pub'), 'utf8').trim(),
      tmpDir: booted.tmpDir,
      consoleLog,
      emulated,
      startedAt: new Date().toISOString(),
    });
    process.stdout.write(
      `VM size ${size} running: pid ${booted.pid}, SSH on 127.0.0.1:${booted.port}, site port ${GUEST_SITE_PORT} on 127.0.0.1:${sitePort}, console ${consoleLog}${emulated ? ', emulated (TCG)' : ''}\n`,
    );
  } catch (err) {
    await (vm as BootedVm | null)?.destroy(2_000);
    throw err;
  } finally {
    stopping.dispose();
  }
  return ExitCode.ok;
}

/** Power off (over SSH), wait, kill what is left, remove the temp disk and the state file. */
async function stop(argv: string[]): Promise<number> {
  const { values: v } = parse('vm stop', argv, { size: { type: 'string' } });
  const { pickSize } = await import('../../vm/state.js');
  const size = pickSize(typeof v.size === 'string' ? v.size : undefined);
  const s = await readState(size);
  try {
    const ssh = await connectState(s);
    await Promise.race([ssh.exec('poweroff').catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
    ssh.close();
  } catch {
    // Unreachable over SSH: the kill below ends it.
  }
  const deadline = Date.now() + 60_000;
  while (alive(s.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive(s.pid)) {
    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      try {
        process.kill(-s.pid, sig);
      } catch {
        // gone
      }
      await new Promise((r) => setTimeout(r, 2_000));
      if (!alive(s.pid)) break;
    }
  }
  try {
    process.kill(-s.pid, 'SIGKILL'); // helpers the runner left in its process group
  } catch {
    // none
  }
  await rm(s.tmpDir, { recursive: true, force: true });
  await removeState(size);
  process.stdout.write(`VM size ${size} stopped\n`);
  return ExitCode.ok;
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    const help = sub !== undefined ? vmHelpFor(sub, rest) : null;
    if (help !== null) {
      process.stdout.write(help);
      return ExitCode.ok;
    }
    switch (sub) {
      case 'start':
        return await start(rest);
      case 'stop':
        return await stop(rest);
      case 'exec':
        return await (await import('./benchvm-exec.js')).main(rest);
      case 'test':
        return await (await import('./benchvm-test.js')).main(rest);
      case 'image':
        return await (await import('./vm-image.js')).main(rest);
      case undefined:
      case '--help':
      case '-h':
        process.stdout.write(VM_HELP);
        return sub === undefined ? ExitCode.usage : ExitCode.ok;
      default:
        throw new UsageError(`vm: unknown subcommand "${sub}"`, 'use start, stop, exec, test or image');
    }
  } catch (err) {
    return reportError(err);
  }
}
