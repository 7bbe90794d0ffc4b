// The VM backend: for each size, boot the runner, wait for SSH, run k6test for every
// implementation × repetition over SSH (output on the progress display), pull each cell's folder
// over SFTP into the same reports layout as the local backend (validated with the zod schemas),
// then power off and wait for QEMU. Ctrl-C or any error leaves no runner and no temp disk behind
// and keeps finished cells.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defaultReference, InterruptedError, type BenchEvents, type BenchOutcome } from '../bench.js';
import { BenchError, ExitCode, UsageError } from '../errors.js';
import { gitRevision, hostInfo } from '../hostinfo.js';
import { IMPL_NAMES, repoRoot } from '../impls.js';
import { InfoSchema, OUTCOME_FILE, OutcomeSchema, type Info } from '../k6test.js';
import { cellDir, newRunId, RESULT_FILE, TEXT_SUMMARY_FILE, verificationFile } from '../layout.js';
import { buildMatrix, type Cell } from '../matrix.js';
import { CellResultSchema, SCHEMA_VERSION, VerificationSchema, type CellResult, type RunInfo, type Size } from '../schema.js';
import { DEFAULT_SEED, DEFAULT_SITE_BYTES } from '../sitegen.js';
import { createRunDir, readJson, writeCell, writeRunInfo, writeVerification } from '../store.js';
import { bootVm, checkKvm, locateRunner, type BootedVm } from './runner.js';
import { shellQuote, waitForSsh, type SshSession } from './ssh.js';
import { guestEmulated, virtNote } from './virt.js';

export interface VmBenchOptions {
  impls: string[];
  sizes: Size[];
  reps: number;
  durationSeconds: number;
  warmupSeconds: number;
  vus: number | null;
  engine: 'k6' | 'wrk';
  loadgen: 'dedicated' | 'shared';
  allowTcg: boolean;
  /** Runner per size from --runner; otherwise located from the environment. */
  runners?: Record<string, string>;
  /** This run's folder; default reportsDir/<run-id>. */
  out: string | null;
  reportsDir: string;
  reference: string | null;
  sshTimeoutMs?: number;
  poweroffTimeoutMs?: number;
  kvmPath?: string;
  /** Emulated or not, when the runners' maker knows (the Debian runner probes KVM); else from /dev/kvm. */
  emulated?: boolean;
}

/** The k6test command line for one cell (run by root's shell in the VM). */
export function k6testCommand(c: { impl: string; vus: number; durationSeconds: number; warmupSeconds: number; rep: number; order: number; engine: string; loadgen: string; out: string; verify: boolean }): string {
  return ['k6test', c.impl, '--vus', String(c.vus), '--duration', `${c.durationSeconds}s`, '--warmup', `${c.warmupSeconds}s`, '--rep', String(c.rep), '--order', String(c.order), '--engine', c.engine, '--loadgen', c.loadgen, '--out', c.out, ...(c.verify ? [] : ['--no-verify'])].map(shellQuote).join(' ');
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

/** Move one pulled cell folder into the run: validated, the emulated mark added when under TCG. */
async function importCell(staging: string, runDir: string, cell: Cell, emulated: boolean): Promise<{ outcome: z.infer<typeof OutcomeSchema> | null; result: CellResult | null }> {
  const outcomeFile = join(staging, OUTCOME_FILE);
  const outcome = existsSync(outcomeFile) ? await readJson(outcomeFile, OutcomeSchema, 'k6test outcome') : null;
  const vfile = verificationFile(staging, cell.size.name, cell.impl);
  if (existsSync(vfile)) await writeVerification(runDir, await readJson(vfile, VerificationSchema, 'verification'));
  const dir = cellDir(staging, cell.size.name, cell.impl, cell.rep);
  const rfile = join(dir, RESULT_FILE);
  if (!existsSync(rfile)) return { outcome, result: null };
  const result = await readJson(rfile, CellResultSchema, 'cell result');
  if (result.id !== cell.id) throw new BenchError(`the VM returned cell ${result.id} for ${cell.id}`, 'the VM and the driver disagree; rebuild both from one revision', ExitCode.failure);
  if (emulated && !result.warnings.some((w) => w.code === 'emulated')) {
    result.warnings.push({ code: 'emulated', message: 'the VM ran under TCG emulation (no KVM): numbers are not comparable to a real machine' });
  }
  const text = existsSync(join(dir, TEXT_SUMMARY_FILE)) ? await readFile(join(dir, TEXT_SUMMARY_FILE), 'utf8') : null;
  await writeCell(runDir, result, text);
  return { outcome, result };
}

export async function runVmBackend(opts: VmBenchOptions, emit: BenchEvents, signal?: AbortSignal): Promise<BenchOutcome> {
  // Everything that can be checked before a VM boots is checked now.
  for (const i of opts.impls) if (!IMPL_NAMES.includes(i)) throw new UsageError(`unknown implementation "${i}"`, `valid: ${IMPL_NAMES.join(', ')}`);
  const runners = new Map(opts.sizes.map((s) => [s.name, locateRunner(s.name, opts.runners?.[s.name] ?? null)]));
  const { emulated } = opts.emulated !== undefined ? { emulated: opts.emulated } : checkKvm(opts.allowTcg, opts.kvmPath);
  if (emulated) emit({ kind: 'info', message: 'running under TCG emulation (--allow-tcg): every number is marked emulated' });
  const runDir = opts.out ?? join(opts.reportsDir, newRunId());
  const matrix = buildMatrix(opts.impls, opts.sizes, opts.reps);
  await createRunDir(runDir);
  const run: RunInfo = {
    schemaVersion: SCHEMA_VERSION,
    runId: runDir.split('/').pop() ?? runDir,
    createdAt: new Date().toISOString(),
    backend: 'vm',
    loadgen: opts.loadgen,
    emulated,
    config: {
      impls: opts.impls,
      sizes: opts.sizes,
      reps: opts.reps,
      durationSeconds: opts.durationSeconds,
      warmupSeconds: opts.warmupSeconds,
      vusOverride: opts.vus,
      engine: opts.engine,
      reference: opts.reference ?? defaultReference(opts.impls),
    },
    site: { kind: 'generated', seed: DEFAULT_SEED, targetBytes: DEFAULT_SITE_BYTES, files: 0, bytes: 0, aliases: 0 },
    order: matrix.cells.map((c) => c.id),
    skipped: [],
    host: await hostInfo(),
    versions: { node: process.version, go: null, engine: 'unknown', impls: {} },
    git: await gitRevision(repoRoot()),
  };
  await writeRunInfo(runDir, run);
  emit({ kind: 'run', runDir, cells: matrix.cells.length, resumed: 0 });
  const results: CellResult[] = [];
  const failed: string[] = [];
  const started = Date.now();
  const perCell = opts.warmupSeconds + opts.durationSeconds + 5;
  let index = 0;
  const total = matrix.cells.length;
  const guestSays: boolean[] = []; // per booted size: emulated?
  for (const size of opts.sizes) {
    const cells = matrix.cells.filter((c) => c.size.name === size.name);
    if (cells.length === 0) continue;
    if (signal?.aborted) throw new InterruptedError(runDir, false);
    await mkdir(join(runDir, 'vm'), { recursive: true });
    const consoleLog = join(runDir, 'vm', `${size.name}cpu-console.log`);
    emit({ kind: 'info', message: `size ${size.name}: booting ${runners.get(size.name)} (console: ${consoleLog})` });
    let vm: BootedVm | null = null;
    let ssh: SshSession | null = null;
    const onAbort = () => {
      ssh?.close();
      void vm?.destroy(2_000);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      vm = await bootVm({ size: size.name, runner: runners.get(size.name) as string, consoleLog });
      if (signal?.aborted) throw new InterruptedError(runDir, false);
      const booted = vm;
      ssh = await waitForSsh(() => {
        const hostKey = booted.hostKey();
        return hostKey ? { host: '127.0.0.1', port: booted.port, privateKey: booted.keys.privateKey, hostKey } : null;
      }, { timeoutMs: opts.sshTimeoutMs ?? (emulated ? 600_000 : 180_000), stillAlive: () => booted.exited(), consoleTail: () => booted.consoleTail(), ...(signal ? { signal } : {}) });
      emit({ kind: 'info', message: `size ${size.name}: SSH up on 127.0.0.1:${vm.port}` });
      const infoRun = await ssh.exec(`k6test --info --engine ${opts.engine}`);
      let info: Info;
      try {
        info = InfoSchema.parse(JSON.parse(infoRun.stdout));
      } catch {
        throw new BenchError(`k6test --info in the VM failed (exit ${infoRun.code}): ${infoRun.stderr.trim().split('\n').slice(-2).join(' | ') || infoRun.stdout.slice(0, 200)}`, 'rebuild the VM from the same revision as the driver', ExitCode.failure);
      }
      if (info.size.name !== size.name) throw new BenchError(`the runner for size ${size.name} booted a size-${info.size.name} VM`, 'check --runner / SERVER_BENCH_VM_RUNNERS', ExitCode.environment);
      run.versions.engine = info.engineVersion ?? 'unknown';
      run.versions.node = info.node;
      if (info.site) run.site = { kind: 'generated', seed: DEFAULT_SEED, targetBytes: DEFAULT_SITE_BYTES, ...info.site };
      run.versions.impls = Object.fromEntries(info.impls.filter((i) => opts.impls.includes(i)).map((i) => [i, `VM unit bench-${i} (${info.virt ?? 'virt unknown'})`]));
      // The guest's systemd-detect-virt, not the host's /dev/kvm, says whether this boot is emulated.
      const note = virtNote(info.virt, emulated);
      if (note) emit({ kind: 'info', message: `size ${size.name}: ${note}` });
      guestSays.push(guestEmulated(info.virt, emulated));
      run.emulated = guestSays.some(Boolean);
      await writeRunInfo(runDir, run);
      const verified = new Set<string>();
      const skippedImpl = new Map<string, string>();
      for (const cell of cells) {
        const i = index++;
        if (signal?.aborted) throw new InterruptedError(runDir, false);
        const skip = skippedImpl.get(cell.impl);
        if (skip) {
          emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason: skip });
          continue;
        }
        const remoteOut = `${info.outDir.replace(/\/+$/, '')}/${cell.id}`;
        const cmd = k6testCommand({ impl: cell.impl, vus: opts.vus ?? size.vus, durationSeconds: opts.durationSeconds, warmupSeconds: opts.warmupSeconds, rep: cell.rep, order: cell.order, engine: opts.engine, loadgen: opts.loadgen, out: remoteOut, verify: !verified.has(cell.impl) });
        emit({ kind: 'phase', index: i, total, cellId: cell.id, phase: 'start', detail: 'k6test over SSH', elapsedSeconds: (Date.now() - started) / 1000, remainingSeconds: (total - i) * perCell });
        const show = lineSplitter((l) => emit({ kind: 'info', message: `  vm ${size.name}: ${l}` }));
        const r = await ssh.exec(cmd, { onStderr: show, ...(signal ? { signal } : {}) });
        if (signal?.aborted) throw new InterruptedError(runDir, false);
        if (r.code === 255 || vm.exited()) throw new BenchError(`the VM dropped the connection during ${cell.id}: ${vm.consoleTail()}`, `see ${consoleLog}`, ExitCode.failure);
        const staging = join(vm.tmpDir, 'pull', cell.id);
        let imported: Awaited<ReturnType<typeof importCell>> = { outcome: null, result: null };
        try {
          await ssh.pullDir(remoteOut, staging);
          imported = await importCell(staging, runDir, cell, run.emulated);
        } catch (err) {
          if (err instanceof BenchError) throw err;
          // Nothing to pull (k6test failed before writing): reported below as a failed cell.
        } finally {
          await rm(staging, { recursive: true, force: true });
        }
        verified.add(cell.impl);
        if (imported.result && r.code === 0) {
          results.push(imported.result);
          emit({ kind: 'cell-done', index: i, total, result: imported.result });
        } else if (imported.outcome?.kind === 'skipped') {
          const reason = imported.outcome.reason ?? 'skipped';
          skippedImpl.set(cell.impl, reason);
          run.skipped.push({ impl: cell.impl, size: size.name, reason });
          await writeRunInfo(runDir, run);
          emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason });
        } else {
          failed.push(cell.id);
          const why = imported.outcome?.reason ?? (r.stderr.trim().split('\n').slice(-1)[0] || `k6test exited with code ${r.code}`);
          emit({ kind: 'cell-skipped', index: i, total, cellId: cell.id, reason: `failed: ${why}` });
        }
      }
      // Power off: the connection drops (exit 255 or none); then QEMU exits on its own.
      emit({ kind: 'info', message: `size ${size.name}: powering off` });
      await Promise.race([ssh.exec('poweroff').catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
      ssh.close();
      ssh = null;
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.poweroffTimeoutMs ?? 60_000).unref());
      if ((await Promise.race([vm.exitPromise.then(() => 'exited' as const), timeout])) === 'timeout') {
        emit({ kind: 'info', message: `size ${size.name}: the VM did not power off in time; killing it` });
      }
    } catch (err) {
      if (signal?.aborted) throw new InterruptedError(runDir, false);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      ssh?.close();
      await vm?.destroy(5_000);
    }
  }
  return { runDir, run, results, skipped: run.skipped, failed };
}
