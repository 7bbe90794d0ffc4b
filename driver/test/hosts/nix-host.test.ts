// nixosModules.server-bench offline: the pure size record a real NixOS machine's units are made from
// (nix/host-size.nix, evaluated with nix-instantiate), its one-line refusals, and the module wiring
// (the flake exports it; the VMs and the module share nix/bench-units.nix).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const repo = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const nixEnv = {
  ...process.env,
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  all_proxy: 'http://127.0.0.1:9',
  NIX_CONFIG: 'substituters =',
};
const haveNix = existsSync('/usr/bin/nix-instantiate') || existsSync('/nix/var/nix/profiles/default/bin/nix-instantiate');

async function nixEval(expr: string): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  const r = await execa('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], { cwd: repo, env: nixEnv, reject: false, timeout: 30_000 });
  return r.exitCode === 0
    ? { ok: true, value: JSON.parse(r.stdout) }
    : {
        ok: false,
        error:
          String(r.stderr)
            .split('\n')
            .find((l) => l.startsWith('error:')) ?? String(r.stderr),
      };
}

describe.skipIf(!haveNix)('nix/host-size.nix', () => {
  it("keeps the size's memory and VUs and puts in the machine's cores", async () => {
    const r = await nixEval('import ./nix/host-size.nix { size = "2"; serverCpus = [ 2 5 ]; generatorCpus = [ 0 ]; }');
    expect(r).toEqual({
      ok: true,
      value: expect.objectContaining({ name: '2', cpus: 2, memoryMiB: 4096, vus: 10, serverCpuList: [2, 5], loadgenCpuList: [0], loadgenCpus: 1 }),
    });
  });

  it.each([
    ['{ size = "2"; serverCpus = [ 2 ]; generatorCpus = [ 0 ]; }', /serverCpus has 1 core\(s\); size 2 needs exactly 2/],
    ['{ size = "1"; serverCpus = [ 0 ]; generatorCpus = [ 0 ]; }', /generatorCpus shares core\(s\) 0 with serverCpus/],
    ['{ size = "3"; serverCpus = [ 0 ]; generatorCpus = [ 1 ]; }', /no size "3" \(sizes: 1, 16, 2\)/],
  ])('%s → one line', async (args, re) => {
    const r = await nixEval(`import ./nix/host-size.nix ${args}`);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toMatch(re);
  });
});

describe('the module wiring', () => {
  it('the flake exports nixosModules.server-bench over nix/host-module.nix, and the VMs and the module share nix/bench-units.nix', async () => {
    const flake = await readFile(join(repo, 'flake.nix'), 'utf8');
    expect(flake).toMatch(
      /nixosModules\.server-bench =[\s\S]*imports = \[ \.\/nix\/host-module\.nix \];[\s\S]*serverBench\.packages = lib\.mkDefault \(vmPackages pkgs\.stdenv\.hostPlatform\.system\);/,
    );
    expect(await readFile(join(repo, 'vm.nix'), 'utf8')).toMatch(
      /imports = \[\n\s+"\$\{modulesPath\}\/virtualisation\/qemu-vm\.nix"\n\s+\.\/nix\/bench-units\.nix\n\s+\];/,
    );
    const mod = await readFile(join(repo, 'nix/host-module.nix'), 'utf8');
    expect(mod).toContain('imports = [ ./bench-units.nix ];');
    expect(mod).toContain('serverBench.size = import ./host-size.nix { inherit (cfg) size serverCpus generatorCpus; };');
    // No VM part in the shared file: a real machine must not become a QEMU guest.
    expect(await readFile(join(repo, 'nix/bench-units.nix'), 'utf8')).not.toMatch(/qemu-vm|virtualisation\./);
  });
});
