// The VM backend: cells run in one VM per size (NixOS, or --image debian). prepare checks KVM and
// finds (or builds) every size's runner; for each size the VM is booted, SSH awaited and `k6test --info` read (the VM's
// versions and site go into run.json); each cell is sent as a CellSpec on stdin to `k6test --spec -` over SSH
// (its output on the progress display), and its folder pulled over SFTP into the same reports
// layout as the local backend (validated with the zod schemas); then the VM is powered off. Ctrl-C
// or any error leaves no runner and no temp disk behind and keeps finished cells.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError, ExitCode } from '../errors.js';
import { implByName, IMPL_NAMES } from '../servers/registry.js';
import { cellDir, RESULT_FILE, TEXT_SUMMARY_FILE, verificationFile } from '../results/layout.js';
import type { CellSpec } from '../run/cellspec.js';
import { specId } from '../run/cellspec.js';
import type { BenchEvents } from '../run/events.js';
import type { Backend, CellHooks, CellRun, Prepared, RunRecord } from '../run/loop.js';
import type { RunPlan } from '../run/plan.js';
import { CellResultSchema, VerificationSchema, type CellResult, type Size } from '../results/schema.js';
import type { RequestLogging } from '../servers/serverlogs.js';
import { DEFAULT_SEED, DEFAULT_SITE_BYTES } from '../site/generate.js';
import { readJson, writeCell, writeVerification } from '../results/store.js';
import { bootVm, checkKvm, killAllVmsNow, type BootedVm } from './runner.js';
import { prepareRunner } from './runner-build.js';
import { debianImpls, prepareDebianVms } from './runner-debian.js';
import { waitForSsh, type SshSession } from './ssh.js';
import { guestEmulated, virtNote } from './virt.js';
import { importProfileFiles } from './profile-pull.js';
import { PARCA_UNIT, parcaGuestfwd, parcaStartError } from './parca.js';

/** bench --parca's relay, which QEMU runs per guest connection (vm/parca-relay.ts, compiled beside this file). */
const PARCA_RELAY = join(dirname(fileURLToPath(import.meta.url)), 'parca-relay.js');
import { InfoSchema, OUTCOME_FILE, OutcomeSchema, type Info, type Outcome } from './wire.js';

/** What the first Ctrl-C says it is doing, and what a second one kills at once. */
export const VM_STOPPING = 'stopping the VM';
export { killAllVmsNow as killVmsNow };

/** The command each cell runs in the VM: the CellSpec comes on stdin. */
export const K6TEST_SPEC_COMMAND = 'k6test --spec -';

/** Test knobs; the command line sets the rest through the plan (plan.vm). */
export interface VmBackendOptions {
  poweroffTimeoutMs?: number;
  kvmPath?: string;
}

/**
 * How the VM units log (nix/impls.nix, vm.nix): as shipped, except nginx, whose generated
 * nginx.conf keeps its access log off (a log per request would fill the guest's tmpfs).
 */
export function vmLogging(impls: readonly string[]): Record<string, RequestLogging> {
  const out: Record<string, RequestLogging> = {};
  for (const name of impls) {
    const impl = IMPL_NAMES.includes(name) ? implByName(name) : null;
    const l = name === 'nginx' ? { perRequest: false, setting: "access_log off (the VM's nginx.conf)" } : impl?.logging?.('shipped');
    if (l) out[name] = l;
  }
  return out;
}

/** Move one pulled cell folder into the run: validated, the emulated mark added when under TCG. */
async function importCell(staging: string, runDir: string, spec: CellSpec, emulated: boolean): Promise<{ outcome: Outcome | null; result: CellResult | null }> {
  const outcomeFile = join(staging, OUTCOME_FILE);
  const outcome = existsSync(outcomeFile) ? await readJson(outcomeFile, OutcomeSchema, 'k6test outcome') : null;
  const vfile = verificationFile(staging, spec.size.name, spec.impl);
  if (existsSync(vfile)) await writeVerification(runDir, await readJson(vfile, VerificationSchema, 'verification'));
  const dir = cellDir(staging, spec.size.name, spec.impl, spec.rep);
  const rfile = join(dir, RESULT_FILE);
  if (!existsSync(rfile)) return { outcome, result: null };
  const result = await readJson(rfile, CellResultSchema, 'cell result');
  if (result.id !== specId(spec))
    throw new BenchError(
      `the VM returned cell ${result.id} for ${specId(spec)}`,
      'the VM and the driver disagree; rebuild both from one revision',
      ExitCode.failure,
    );
  if (emulated && !result.warnings.some((w) => w.code === 'emulated')) {
    result.warnings.push({ code: 'emulated', message: 'the VM ran under TCG emulation (no KVM): numbers are not comparable to a real machine' });
  }
  // bench --profile: the guest's recorder wrote profile.proto and profile.folded beside result.json.
  const lost = result.profile ? await importProfileFiles(dir, cellDir(runDir, spec.size.name, spec.impl, spec.rep), result.profile) : [];
  if (lost.length > 0) result.warnings.push({ code: 'profile', message: `the profile of ${spec.impl} came back from the VM without ${lost.join(' and ')}` });
  const text = existsSync(join(dir, TEXT_SUMMARY_FILE)) ? await readFile(join(dir, TEXT_SUMMARY_FILE), 'utf8') : null;
  await writeCell(runDir, result, text);
  return { outcome, result };
}

function lineSplitter(emit: (line: string) => void): (chunk: string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) emit(l.trimEnd());
  };
}

type ExecResult = Awaited<ReturnType<SshSession['exec']>>;

/**
 * One cell over SSH, for the VM and the hosts backend alike: the CellSpec (writing into `remoteOut`)
 * on the stdin of `command` (k6test --spec -), its stderr lines on the progress display after `label`.
 */
export function execCell(
  session: SshSession,
  command: string,
  spec: CellSpec,
  remoteOut: string,
  hooks: CellHooks,
  label: string,
  /** The hosts backend's load relay: stdin stays open (`input`) and `take` consumes the stderr lines meant for it. */
  relay?: { input: NodeJS.ReadWriteStream; take: (line: string) => boolean },
): Promise<ExecResult> {
  const specLine = `${JSON.stringify({ ...spec, out: remoteOut } satisfies CellSpec)}\n`;
  relay?.input.write(specLine);
  return session.exec(command, {
    stdin: relay ? relay.input : specLine,
    onStderr: lineSplitter((l) => {
      if (!relay?.take(l)) hooks.info(`  ${label}: ${l}`);
    }),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
}

/**
 * After execCell: the cell folder pulled over SFTP into `staging` (removed after), imported into the
 * run, and what the cell came to: done, skipped as k6test said, or failed with its reason.
 */
export async function collectCell(
  session: SshSession,
  remoteOut: string,
  staging: string,
  spec: CellSpec,
  hooks: CellHooks,
  emulated: boolean,
  r: ExecResult,
): Promise<CellRun> {
  let imported: Awaited<ReturnType<typeof importCell>> = { outcome: null, result: null };
  try {
    await session.pullDir(remoteOut, staging);
    imported = await importCell(staging, hooks.runDir, spec, emulated);
  } catch (err) {
    if (err instanceof BenchError) throw err;
    // Nothing to pull (k6test failed before writing): reported below as a failed cell.
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (imported.result && r.code === 0) return { kind: 'done', result: imported.result };
  if (imported.outcome?.kind === 'skipped') return { kind: 'skipped', reason: imported.outcome.reason ?? 'skipped' };
  return { kind: 'failed', reason: imported.outcome?.reason ?? (r.stderr.trim().split('\n').slice(-1)[0] || `k6test exited with code ${r.code}`) };
}

export function vmBackend(options: VmBackendOptions = {}): Backend {
  let plan: RunPlan | null = null;
  // The host's guess (/dev/kvm, or the Debian runner's probe), then what each booted guest said.
  let emulated = false;
  const guestSays: boolean[] = [];
  let runEmulated = false;
  let names: string[] = [];
  const runners = new Map<string, string>();
  // The current size's VM: booted in beginSize, powered off in endSize, destroyed in close at the latest.
  let vm: BootedVm | null = null;
  let ssh: SshSession | null = null;
  let info: Info | null = null;
  let consoleLog = '';
  let signal: AbortSignal | undefined;
  const onAbort = () => {
    ssh?.close();
    void vm?.destroy(2_000);
  };

  const teardown = async () => {
    signal?.removeEventListener('abort', onAbort);
    ssh?.close();
    ssh = null;
    await vm?.destroy(5_000);
    vm = null;
    info = null;
  };

  return {
    resumable: false,
    cellOverheadSeconds: 5, // start, crawl, stop, SSH and SFTP

    async prepare(p: RunPlan, emit: BenchEvents, signal?: AbortSignal): Promise<Prepared> {
      plan = p;
      names = p.impls.map((i) => i.name);
      // Everything that can be checked before a VM boots is checked now.
      if (p.vm.image === 'debian') {
        // The image (built or cached), the accelerator (KVM only when it boots) and a runner per size.
        const d = await prepareDebianVms({
          sizes: p.sizes.map((s) => s.name),
          allowTcg: p.vm.allowTcg,
          log: (message) => emit({ kind: 'info', message }),
          ...(signal ? { signal } : {}),
        });
        names = debianImpls(d.image.manifest, p.vm.implsGiven ? names : null);
        for (const s of p.sizes) runners.set(s.name, d.runners[s.name] as string);
        emulated = d.emulated;
        if (emulated) emit({ kind: 'info', message: 'running under TCG emulation (--allow-tcg): every number is marked emulated' });
      } else {
        emulated = checkKvm(p.vm.allowTcg, options.kvmPath).emulated;
        if (emulated) emit({ kind: 'info', message: 'running under TCG emulation (--allow-tcg): every number is marked emulated' });
        // Only the requested sizes' runners: found, or built now from the flake's derivations.
        for (const s of p.sizes) {
          const onBuild = (size: string, drv: string) => emit({ kind: 'info', message: `building the size-${size} VM (${drv})` });
          runners.set(s.name, await prepareRunner(s.name, p.vm.runner, { onBuild, ...(signal ? { signal } : {}) }));
        }
      }
      runEmulated = emulated;
      // The VM's versions and site are known once it answers k6test --info (beginSize).
      return {
        impls: names,
        vetoes: [],
        engine: p.engine === 'wrk' ? 'wrk' : 'k6',
        emulated,
        site: { kind: 'generated', seed: DEFAULT_SEED, targetBytes: DEFAULT_SITE_BYTES, files: 0, bytes: 0, aliases: 0 },
        versions: { go: null, engine: 'unknown', impls: {} },
        logging: vmLogging(names),
      };
    },

    async beginSize(size: Size, run: RunRecord): Promise<void> {
      const p = plan as RunPlan;
      signal = run.signal;
      await mkdir(join(run.runDir, 'vm'), { recursive: true });
      consoleLog = join(run.runDir, 'vm', `${size.name}cpu-console.log`);
      run.emit({ kind: 'info', message: `size ${size.name}: booting ${runners.get(size.name)} (console: ${consoleLog})` });
      signal?.addEventListener('abort', onAbort, { once: true });
      const booted = await bootVm({
        size: size.name,
        runner: runners.get(size.name) as string,
        consoleLog,
        ...(p.vm.parca ? { netOpts: [parcaGuestfwd(p.vm.parca, process.execPath, PARCA_RELAY)] } : {}),
      });
      vm = booted;
      if (signal?.aborted) throw signal.reason;
      ssh = await waitForSsh(
        () => {
          const hostKey = booted.hostKey();
          return hostKey ? { host: '127.0.0.1', port: booted.port, privateKey: booted.keys.privateKey, hostKey } : null;
        },
        {
          timeoutMs: p.vm.sshTimeoutSeconds !== null ? p.vm.sshTimeoutSeconds * 1000 : emulated ? 600_000 : 180_000,
          stillAlive: () => booted.exited(),
          consoleTail: () => booted.consoleTail(),
          ...(signal ? { signal } : {}),
        },
      );
      run.emit({ kind: 'info', message: `size ${size.name}: SSH up on 127.0.0.1:${booted.port}` });
      if (p.vm.parca) {
        // bench --parca: the agent profiles the whole VM from here on (warm-up and load alike).
        const started = await ssh.exec(`systemctl start ${PARCA_UNIT}`);
        if (started.code !== 0) throw parcaStartError(started.code, started.stderr);
        run.emit({ kind: 'info', message: `size ${size.name}: parca-agent sends to ${p.vm.parca.host}:${p.vm.parca.port}` });
      }
      const engine = p.engine === 'wrk' ? 'wrk' : 'k6';
      const infoRun = await ssh.exec(`k6test --info --engine ${engine}`);
      let answer: Info;
      try {
        answer = InfoSchema.parse(JSON.parse(infoRun.stdout));
      } catch {
        throw new BenchError(
          `k6test --info in the VM failed (exit ${infoRun.code}): ${infoRun.stderr.trim().split('\n').slice(-2).join(' | ') || infoRun.stdout.slice(0, 200)}`,
          'rebuild the VM from the same revision as the driver',
          ExitCode.failure,
        );
      }
      if (answer.size.name !== size.name)
        throw new BenchError(
          `the runner for size ${size.name} booted a size-${answer.size.name} VM`,
          'check --runner / SERVER_BENCH_VM_RUNNERS',
          ExitCode.environment,
        );
      info = answer;
      await run.update((r) => {
        r.versions.engine = answer.engineVersion ?? 'unknown';
        r.versions.node = answer.node;
        if (answer.site) r.site = { kind: 'generated', seed: DEFAULT_SEED, targetBytes: DEFAULT_SITE_BYTES, ...answer.site };
        r.versions.impls = Object.fromEntries(
          answer.impls.filter((i) => names.includes(i)).map((i) => [i, `VM unit bench-${i} (${answer.virt ?? 'virt unknown'})`]),
        );
        // The guest's systemd-detect-virt, not the host's /dev/kvm, says whether this boot is emulated.
        guestSays.push(guestEmulated(answer.virt, emulated));
        runEmulated = guestSays.some(Boolean);
        r.emulated = runEmulated;
      });
      const note = virtNote(answer.virt, emulated);
      if (note) run.emit({ kind: 'info', message: `size ${size.name}: ${note}` });
    },

    async runCell(spec: CellSpec, hooks: CellHooks): Promise<CellRun> {
      const machine = vm as BootedVm;
      const session = ssh as SshSession;
      const id = specId(spec);
      const remoteOut = `${(info as Info).outDir.replace(/\/+$/, '')}/${id}`;
      hooks.onPhase('start', 'k6test over SSH');
      const r = await execCell(session, K6TEST_SPEC_COMMAND, spec, remoteOut, hooks, `vm ${spec.size.name}`);
      if (hooks.signal?.aborted) throw hooks.signal.reason;
      if (r.code === 255 || machine.exited())
        throw new BenchError(`the VM dropped the connection during ${id}: ${machine.consoleTail()}`, `see ${consoleLog}`, ExitCode.failure);
      return collectCell(session, remoteOut, join(machine.tmpDir, 'pull', id), spec, hooks, runEmulated, r);
    },

    async endSize(size: Size, run: RunRecord): Promise<void> {
      const machine = vm as BootedVm;
      // Power off: the connection drops (exit 255 or none); then QEMU exits on its own.
      run.emit({ kind: 'info', message: `size ${size.name}: powering off` });
      await Promise.race([ssh?.exec('poweroff').catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
      ssh?.close();
      ssh = null;
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), options.poweroffTimeoutMs ?? 60_000).unref());
      if ((await Promise.race([machine.exitPromise.then(() => 'exited' as const), timeout])) === 'timeout') {
        run.emit({ kind: 'info', message: `size ${size.name}: the VM did not power off in time; killing it` });
      }
      await teardown();
    },

    close: teardown,
  };
}
