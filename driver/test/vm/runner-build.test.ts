// Building only the requested sizes' VMs (nix/vm-drvs.nix + driver/src/vm/runner-build.ts), with
// real Nix: stand-in "VM" derivations are instantiated and built in a Nix store of our own under a
// temp folder (NIX_CONFIG store=local?store=…, no sandbox, no build users), so nothing touches the
// machine's /nix/store and no nixpkgs is needed. The stand-in runner exits at once.
import { execFile } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.js';
import { prepareRunner, runnerDrvs } from '../../src/vm/runner-build.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const BENCH_VM = join(ROOT, 'dist', 'driver', 'src', 'cli', 'commands', 'bench-vm.js');

let work: string;
let env: NodeJS.ProcessEnv;
let table: string;
let app: string;

/** Stand-in VMs: size 1, 2, 16 build a runner that exits 3; size 4's build fails. */
const vmsExpr = `let
  mkVm = size: script: (derivation {
    name = "stand-in-vm-\${size}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" script ];
  }) // { meta.mainProgram = "run-bench-\${size}-vm"; };
  ok = size: mkVm size "/bin/mkdir -p $out/bin && printf '#!/bin/sh\\\\nexit 3\\\\n' > $out/bin/run-bench-\${size}-vm && /bin/chmod +x $out/bin/run-bench-\${size}-vm";
in {
  "1" = ok "1";
  "2" = ok "2";
  "16" = ok "16";
  "4" = mkVm "4" "echo 'stand-in VM build broke: disk full' >&2; exit 1";
}`;

async function nix(cmd: string, args: string[], inEnv: NodeJS.ProcessEnv = env): Promise<string> {
  const { stdout } = await run(cmd, args, { cwd: ROOT, env: inEnv, timeout: 60_000 });
  return stdout.trim();
}

/** An environment whose Nix commands use a store of their own under `dir`. */
function storeEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Every fetch Nix might try dies on loopback (nix.md §6).
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    all_proxy: 'http://127.0.0.1:9',
    NIX_CONFIG: [`store = local?store=${dir}/store&state=${dir}/state&log=${dir}/log`, 'build-users-group =', 'sandbox = false', 'substituters ='].join('\n'),
  };
}

/** As the flake's writeShellApplication does: the table is text inside the app's derivation. */
const appExpr = (name: string, tableExpr: string) => `derivation {
  name = "${name}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [ "-c" "echo \${builtins.toJSON (${tableExpr})} > $out" ];
}`;
const TABLE_EXPR = `import ./nix/vm-drvs.nix (${vmsExpr})`;

/** The output path a .drv would build (not built by asking). */
async function outputOf(drv: string): Promise<string> {
  return nix('nix-store', ['--query', '--outputs', drv]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sb-runner-build-'));
  env = { ...storeEnv(join(work, 'nix')), SERVER_BENCH_CACHE: join(work, 'cache') };
  table = JSON.parse(await nix('nix-instantiate', ['--eval', '--strict', '--json', '-E', TABLE_EXPR])) as string;
  env.SERVER_BENCH_VM_DRVS = table;
  // `nix run .#bench` instantiates the app, which writes every VM's .drv (not its output) to the
  // store; then builds the app. The same here.
  app = await nix('nix-store', ['--realise', await nix('nix-instantiate', ['-E', appExpr('stand-in-app', TABLE_EXPR)])]);
}, 90_000);

afterAll(async () => {
  // Store files are read-only; make them removable first.
  await run('chmod', ['-R', 'u+w', work]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('nix/vm-drvs.nix', () => {
  it('names each size by its unbuilt derivation and program', async () => {
    const t = runnerDrvs(env);
    expect(Object.keys(t ?? {}).sort()).toEqual(['1', '16', '2', '4']);
    for (const [size, e] of Object.entries(t ?? {})) {
      expect(e.drv).toMatch(new RegExp(`/[a-z0-9]{32}-stand-in-vm-${size}\\.drv$`));
      expect(e.program).toBe(`bin/run-bench-${size}-vm`);
      expect(existsSync(e.drv), 'instantiated').toBe(true);
      expect(existsSync(await outputOf(e.drv)), 'not built').toBe(false);
    }
  });

  it('an app carrying the table builds without building any VM', async () => {
    expect(existsSync(app)).toBe(true);
    for (const e of Object.values(runnerDrvs(env) ?? {})) expect(existsSync(await outputOf(e.drv)), e.drv).toBe(false);
    // The table the flake had (each runner's output path) makes the app build every VM first, and
    // so fail on the broken one: the stand-ins tell the two apart. (A store of its own.)
    const eagerEnv = storeEnv(join(work, 'nix-eager'));
    const eager = appExpr('stand-in-eager-app', `builtins.mapAttrs (_: vm: "\${vm}") (${vmsExpr})`);
    const eagerDrv = await nix('nix-instantiate', ['-E', eager], eagerEnv);
    await expect(nix('nix-store', ['--realise', eagerDrv], eagerEnv)).rejects.toThrow(/stand-in VM build broke/);
  }, 90_000);
});

describe('prepareRunner', () => {
  it('builds the requested size only, keeps a GC root, and returns its runner', async () => {
    const t = runnerDrvs(env);
    const runner = await prepareRunner('2', null, { env });
    expect(runner).toMatch(/-stand-in-vm-2\/bin\/run-bench-2-vm$/);
    const root = join(work, 'cache', 'vm-runners', 'vm-2');
    expect(readlinkSync(root)).toBe(await outputOf(t?.['2']?.drv ?? ''));
    expect(existsSync(await outputOf(t?.['16']?.drv ?? ''))).toBe(false);
    // Built once: the second call finds it (nix-store --realise of a valid output is a no-op).
    expect(await prepareRunner('2', null, { env })).toBe(runner);
  }, 60_000);

  it('uses an explicit runner without building anything', async () => {
    const t = runnerDrvs(env);
    const explicit = join(ROOT, 'driver', 'test', 'fixtures', 'fake-runner.mjs');
    expect(await prepareRunner('16', explicit, { env })).toBe(explicit);
    expect(await prepareRunner('16', null, { env: { ...env, SERVER_BENCH_VM_RUNNER_16: explicit } })).toBe(explicit);
    expect(existsSync(await outputOf(t?.['16']?.drv ?? ''))).toBe(false);
  });

  it('reports a failed build with the tail of its log and how to see the rest', async () => {
    const err = await prepareRunner('4', null, { env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toMatch(/building the size-4 VM failed: .*stand-in VM build broke: disk full/s);
    expect((err as EnvironmentError).hint).toMatch(/nix-store --realise \/.*-stand-in-vm-4\.drv/);
  }, 60_000);

  it('says what is wrong with a malformed table, and falls back to the usual error for a size it lacks', async () => {
    await expect(prepareRunner('1', null, { env: { ...env, SERVER_BENCH_VM_DRVS: '{"1":"/nix/store/x"}' } })).rejects.toThrow(
      /SERVER_BENCH_VM_DRVS is not a JSON object/,
    );
    await expect(prepareRunner('8', null, { env })).rejects.toThrow(/no VM runner for size 8/);
  });
});

describe('bench --backend vm with the flake table', () => {
  it('--sizes 1 builds the size-1 VM and no other', async () => {
    const t = runnerDrvs(env);
    expect(existsSync(await outputOf(t?.['1']?.drv ?? '')), 'size 1 before').toBe(false);
    const r = await execa(
      process.execPath,
      [
        '-e',
        `import(${JSON.stringify(BENCH_VM)}).then((m) => m.main(process.argv.slice(1))).then((c) => process.exit(c))`,
        '--',
        '--backend',
        'vm',
        '--sizes',
        '1',
        '--impls',
        'tsherve',
        '--reps',
        '1',
        '--duration',
        '2s',
        '--warmup',
        '0s',
        '--engine',
        'wrk',
        '--allow-tcg',
        '--ssh-timeout',
        '20s',
      ],
      {
        env: { ...env, SERVER_BENCH_REPORTS: join(work, 'reports'), TMPDIR: work },
        reject: false,
        all: true,
        timeout: 90_000,
      },
    );
    expect(r.all).toMatch(/building the size-1 VM/);
    expect(r.all).not.toMatch(/building the size-(2|16) VM/);
    expect(existsSync(await outputOf(t?.['1']?.drv ?? ''))).toBe(true);
    for (const s of ['16', '4']) expect(existsSync(await outputOf(t?.[s]?.drv ?? '')), `size ${s}`).toBe(false);
    // The stand-in runner exits at once: the run fails at boot, as it should, naming the runner.
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/exited with code 3/);
  }, 120_000);
});
