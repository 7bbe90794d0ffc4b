// KVM or TCG for the Debian guest: KVM only when it really boots the guest's kernel. /dev/kvm that
// opens is not enough: a paravirtual nested KVM (kvm_pvm) boots only kernels built for it and makes
// QEMU abort or hang on a stock one. So: a forced choice (SERVER_BENCH_VM_ACCEL), then no /dev/kvm,
// then kvm_pvm, then a probe that boots the kernel under KVM until it prints its banner. The
// probe's answer is kept for this host boot (/proc/sys/kernel/random/boot_id) and kernel.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../../errors.js';
import { writeJsonAtomic } from '../../results/store.js';

const AccelChoiceSchema = z.object({ accel: z.enum(['kvm', 'tcg']), reason: z.string() });
export type AccelChoice = z.infer<typeof AccelChoiceSchema>;

export interface AccelOptions {
  kernel: string;
  /** Where the probe's answer is kept. */
  cacheDir: string;
  kvmPath?: string;
  /** /sys/module, where a loaded kvm_pvm shows. */
  sysModule?: string;
  env?: NodeJS.ProcessEnv;
  probeTimeoutMs?: number;
  qemu?: string;
}

/** Boot `kernel` under KVM with no disk: its banner on the serial line within the timeout means KVM works. */
export function probeKvm(kernel: string, timeoutMs = 20_000, qemu = 'qemu-system-x86_64'): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const args = [
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '128',
      '-smp',
      '1',
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
      '-kernel',
      kernel,
      '-append',
      'console=ttyS0 panic=-1',
    ];
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let done = false;
    const finish = (ok: boolean, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => finish(false, `the kernel printed nothing under KVM in ${Math.round(timeoutMs / 1000)} s (it hangs)`), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (/Linux version/.test(out)) finish(true, 'the guest kernel booted under KVM');
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', (e) => finish(false, `QEMU could not start (${e.message})`));
    child.once('exit', (code, sig) => finish(false, `QEMU stopped under KVM (${sig ?? `exit ${code}`}): ${err.trim().split('\n').slice(-1)[0] ?? ''}`.trim()));
  });
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** KVM when it boots the guest kernel, else TCG; the reason is one line for the user. */
export async function chooseAccel(o: AccelOptions): Promise<AccelChoice> {
  const env = o.env ?? process.env;
  const forced = env.SERVER_BENCH_VM_ACCEL;
  if (forced) {
    if (forced !== 'kvm' && forced !== 'tcg') throw new UsageError(`SERVER_BENCH_VM_ACCEL=${forced}`, 'use kvm or tcg, or unset it to let server-bench probe');
    return { accel: forced, reason: `SERVER_BENCH_VM_ACCEL=${forced}` };
  }
  const kvm = o.kvmPath ?? '/dev/kvm';
  try {
    accessSync(kvm, constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: `${kvm} is missing or not accessible` };
  }
  if (existsSync(join(o.sysModule ?? '/sys/module', 'kvm_pvm'))) {
    return { accel: 'tcg', reason: `${kvm} is paravirtual nested KVM (kvm_pvm), which boots only kernels built for it; a stock kernel hangs` };
  }
  const k = await stat(o.kernel);
  const file = join(o.cacheDir, 'vm', 'accel.json');
  const id = `${bootId()} ${o.kernel} ${k.size} ${k.mtimeMs}`;
  const Cached = z.object({ id: z.string(), choice: AccelChoiceSchema });
  try {
    const c = Cached.parse(JSON.parse(await readFile(file, 'utf8')));
    if (c.id === id) return c.choice;
  } catch {
    // no answer for this boot and kernel yet
  }
  const probe = await probeKvm(o.kernel, o.probeTimeoutMs, o.qemu);
  const choice: AccelChoice = probe.ok
    ? { accel: 'kvm', reason: probe.detail }
    : { accel: 'tcg', reason: `KVM does not boot the guest kernel: ${probe.detail}` };
  await mkdir(join(o.cacheDir, 'vm'), { recursive: true });
  await writeJsonAtomic(file, { id, choice });
  return choice;
}
