// `server-bench bench --backend vm`: the same flags as the local bench, plus --allow-tcg,
// --runner PATH (one size) and --ssh-timeout; validated up front, then the VM backend runs the
// matrix and the same reports are written as for the local backend (runend.ts).
import { parseArgs } from 'node:util';
import { validateBenchInput, type BenchInput } from '../bench.js';
import { IMPL_NAMES, implByName } from '../impls.js';
import type { RequestLogging } from '../serverlogs.js';
import { parseDuration } from '../duration.js';
import { ExitCode, UsageError, reportError } from '../errors.js';
import { progressWriter } from '../progress.js';
import { finishRun, interruptible } from '../runend.js';
import { runVmBackend, type VmBenchOptions } from '../vm/backend.js';
import { killAllVmsNow } from '../vm/runner.js';
import { debianImpls, parseImageFlag, prepareDebianVms } from '../vm/runner-debian.js';

export type { VmBenchOptions };

export const VM_BENCH_HELP = `usage: server-bench bench --backend vm [bench flags] [--image nix|debian] [--allow-tcg] [--runner PATH] [--ssh-timeout D]

Boots one VM per size (NixOS: under nix run .#bench only the sizes asked for are built;
--image debian: built here from Debian packages, see server-bench vm image --help), runs
k6test for every implementation × repetition over SSH and pulls the results into reports/<run-id>.
Bench flags: --impls --sizes --duration --warmup --reps --vus --engine --loadgen --out --reference
--json (not --webroot, --redirects, --site-size, --seed or --resume: the VMs serve the default site).
The VM units run every server as shipped (--server-logs shipped; quiet runs locally only).
  --image debian    the Debian guest image (cached; KVM when it boots the guest, else TCG; wrk)
  --allow-tcg       run without KVM (emulated; every number is marked so)
  --runner PATH     the VM runner (bin/run-bench-<size>-vm) when one size is given
  --ssh-timeout D   how long to wait for the VM's SSH (default 3m, 10m under TCG)
`;

/**
 * How the VM units log (nix/impls.nix, vm.nix): as shipped, except nginx, whose generated
 * nginx.conf keeps its access log off (a log per request would fill the guest's tmpfs).
 */
export function vmLogging(impls: readonly string[]): Record<string, RequestLogging> {
  const out: Record<string, RequestLogging> = {};
  for (const name of impls) {
    const impl = IMPL_NAMES.includes(name) ? implByName(name) : null;
    const l = name === 'nginx' ? { perRequest: false, setting: 'access_log off (the VM\'s nginx.conf)' } : impl?.logging?.('shipped');
    if (l) out[name] = l;
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const profileFlag = argv.find((a) => /^--profile(-hz|-call-graph|-in-stats)?(=|$)/.test(a));
    if (profileFlag !== undefined) {
      throw new UsageError(`${profileFlag.split('=')[0]}: the VM backend does not profile yet`, "run bench --profile with the local backend, or set nix/parca.nix to send the VMs' profiles to a Parca server (nix/README.md)");
    }
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        strict: true,
        allowPositionals: false,
        options: {
          backend: { type: 'string' }, impls: { type: 'string' }, sizes: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' },
          reps: { type: 'string' }, vus: { type: 'string' }, engine: { type: 'string' }, out: { type: 'string' }, loadgen: { type: 'string' },
          reference: { type: 'string' }, json: { type: 'boolean' }, 'allow-tcg': { type: 'boolean' }, runner: { type: 'string' }, 'ssh-timeout': { type: 'string' }, image: { type: 'string' },
          'server-logs': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      throw new UsageError(`bench: ${(err as Error).message.split('\n')[0]}`, 'see server-bench bench --backend vm --help');
    }
    const v = parsed.values;
    if (v.help) {
      process.stdout.write(VM_BENCH_HELP);
      return ExitCode.ok;
    }
    if (v['server-logs'] !== undefined && v['server-logs'] !== 'shipped') {
      throw new UsageError(`--backend vm: --server-logs ${v['server-logs']} is not available`, 'the VM units run every server as the flake defines it (shipped); run --server-logs quiet with the local backend');
    }
    if (v.backend !== undefined && v.backend !== 'vm') throw new UsageError(`--backend ${v.backend}: this command is the vm backend`, 'use server-bench bench for the local backend');
    const input: BenchInput = {};
    for (const k of ['impls', 'sizes', 'duration', 'warmup', 'reps', 'vus', 'out', 'loadgen', 'reference'] as const) if (v[k] !== undefined) input[k] = v[k];
    if (process.env.SERVER_BENCH_REPORTS) input.reportsDir = process.env.SERVER_BENCH_REPORTS;
    const specs = (input.impls ?? '').split(',').map((x) => x.trim()).filter((x) => x.includes('@'));
    if (specs.length > 0) {
      throw new UsageError(
        `--backend vm: ${specs.join(', ')} cannot run in the VMs, which carry the flake's pinned gosherve v0.3.3 and v0.3.5 only`,
        'run it with the local backend (server-bench bench --impls …), or add a flake input for that tag or checkout (nix/README.md)',
      );
    }
    // The engine runs in the VM: nothing to check on the host. The VMs carry nginx, so it is in the default set.
    const o = await validateBenchInput(input, { engine: false });
    const image = parseImageFlag(v.image);
    const engine = v.engine ?? (image === 'debian' ? 'wrk' : 'k6');
    if (engine !== 'k6' && engine !== 'wrk') throw new UsageError(`--engine ${engine}: the VMs run k6 (wrk for tests)`, 'use --engine k6');
    if (image === 'debian' && engine === 'k6') throw new UsageError('--engine k6: the Debian guest has no k6 (Debian does not package it)', 'use --engine wrk with --image debian, or the NixOS VMs (--image nix) for k6');
    if (v.runner !== undefined && o.sizes.length !== 1) throw new UsageError('--runner names one runner, for one size', 'add --sizes N, or set SERVER_BENCH_VM_RUNNERS');
    if (v.runner !== undefined && image === 'debian') throw new UsageError('--runner and --image debian both name the VM', 'leave out --runner: the Debian image makes its own runners');
    // Every implementation by default: the VMs carry all of them, nginx included.
    let impls = input.impls !== undefined ? o.impls.map((i) => i.name) : [...IMPL_NAMES];
    const options: VmBenchOptions = {
      impls,
      sizes: o.sizes,
      reps: o.reps,
      durationSeconds: o.durationSeconds,
      warmupSeconds: o.warmupSeconds,
      vus: o.vus,
      engine,
      loadgen: o.loadgen,
      allowTcg: v['allow-tcg'] === true,
      ...(v.runner !== undefined ? { runners: { [(o.sizes[0] as { name: string }).name]: v.runner } } : {}),
      out: o.out,
      reportsDir: o.reportsDir,
      reference: o.reference,
      logging: vmLogging(impls),
      ...(v['ssh-timeout'] !== undefined ? { sshTimeoutMs: parseDuration(v['ssh-timeout'], '--ssh-timeout') * 1000 } : {}),
    };
    const stop = interruptible('stopping the VM', killAllVmsNow);
    try {
      const progress = progressWriter();
      if (image === 'debian') {
        // The image (built or cached), the accelerator (KVM only when it boots) and a runner per size.
        const d = await prepareDebianVms({ sizes: o.sizes.map((s) => s.name), allowTcg: options.allowTcg, log: (message) => progress({ kind: 'info', message }), signal: stop.signal });
        impls = debianImpls(d.image.manifest, input.impls !== undefined ? impls : null);
        Object.assign(options, { impls, runners: d.runners, emulated: d.emulated });
      }
      const outcome = await runVmBackend(options, progress, stop.signal);
      return await finishRun(outcome, { reportsDir: o.reportsDir, json: v.json === true, retryHint: 'run the command again for those cells' });
    } finally {
      stop.dispose();
    }
  } catch (err) {
    return reportError(err);
  }
}
