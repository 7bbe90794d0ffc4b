// Building a VM runner on demand: the flake's apps carry SERVER_BENCH_VM_DRVS, each size's runner
// as a derivation (.drv) that is instantiated but not built (nix/vm-drvs.nix), and the driver
// builds only the sizes a command uses with `nix-store --realise`, so `--sizes 1` never builds the
// 16-vCPU VM. The build is kept by a GC root in the cache folder (the guest reads the host's store
// over 9p while it runs). A runner named by --runner or SERVER_BENCH_VM_RUNNER(S) wins.
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { EnvironmentError, tail, UsageError } from '../errors.js';
import { defaultCacheDir } from '../servers/registry.js';
import { jsonOrUndefined } from '../results/store.js';
import { locateRunner } from './runner.js';

const DrvTableSchema = z.record(
  z.string().regex(/^[0-9]+$/),
  z.object({
    drv: z.string().regex(/^\/.*\.drv$/),
    /** The runner inside the built output, e.g. bin/run-bench-1-vm. */
    program: z.string().regex(/^[^/].*$/),
  }),
);
export type DrvTable = z.infer<typeof DrvTableSchema>;

/** SERVER_BENCH_VM_DRVS (JSON, set by the flake's apps), or null when unset. */
export function runnerDrvs(env: NodeJS.ProcessEnv = process.env): DrvTable | null {
  const raw = env.SERVER_BENCH_VM_DRVS;
  if (raw === undefined || raw === '') return null;
  const r = DrvTableSchema.safeParse(jsonOrUndefined(raw));
  if (!r.success) throw new UsageError('SERVER_BENCH_VM_DRVS is not a JSON object of size → {drv, program}', 'nix run .#bench sets it; or use --runner PATH');
  return r.data;
}

/** Is a runner for this size named explicitly (flag or environment), so nothing is built? */
function explicitRunner(size: string, flag: string | null, env: NodeJS.ProcessEnv): boolean {
  if (flag !== null || (env[`SERVER_BENCH_VM_RUNNER_${size}`] ?? '') !== '') return true;
  const raw = env.SERVER_BENCH_VM_RUNNERS ?? '';
  if (raw === '') return false;
  const table = jsonOrUndefined(raw);
  // A malformed table goes to locateRunner, which says what is wrong with it.
  return typeof table !== 'object' || table === null || Array.isArray(table) || size in table;
}

export interface RunnerBuildOptions {
  env?: NodeJS.ProcessEnv;
  /** Called before a build starts (it can take minutes): the progress line. */
  onBuild?: (size: string, drv: string) => void;
  signal?: AbortSignal;
}

/**
 * The runner executable for a size: an explicit one as locateRunner finds it, else the size's
 * derivation from SERVER_BENCH_VM_DRVS built now (only this size), else locateRunner's error.
 */
export async function prepareRunner(size: string, flag: string | null, o: RunnerBuildOptions = {}): Promise<string> {
  const env = o.env ?? process.env;
  const entry = explicitRunner(size, flag, env) ? undefined : runnerDrvs(env)?.[size];
  if (!entry) return locateRunner(size, flag, env);
  const roots = join(defaultCacheDir(env), 'vm-runners');
  mkdirSync(roots, { recursive: true });
  const root = join(roots, `vm-${size}`);
  o.onBuild?.(size, entry.drv);
  try {
    // The build log goes to our stderr as it happens; the tail is kept for the error.
    await execa('nix-store', ['--realise', entry.drv, '--add-root', root], {
      env,
      stdout: 'pipe',
      stderr: ['inherit', 'pipe'],
      ...(o.signal ? { cancelSignal: o.signal } : {}),
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; shortMessage?: string; isCanceled?: boolean };
    if (e.isCanceled) throw err;
    if (e.code === 'ENOENT')
      throw new EnvironmentError(
        `cannot build the size-${size} VM: nix-store is not installed`,
        'run through nix run .#bench (it needs Nix), or pass --runner PATH',
      );
    throw new EnvironmentError(
      `building the size-${size} VM failed: ${tail(e.stderr ?? e.shortMessage ?? String(err), 3)}`,
      `build it by hand to see the whole log: nix-store --realise ${entry.drv}`,
    );
  }
  if (!existsSync(root))
    throw new EnvironmentError(`nix-store built the size-${size} VM but left no GC root at ${root}`, `build it by hand: nix-store --realise ${entry.drv}`);
  // The root is a symlink to the store path; the runner is resolved through it once, now.
  return locateRunner(size, join(realpathSync(root), entry.program), env);
}
