// The Parca agent option of the VMs (nix/parca.nix → nix/parca-agent.nix → vm.nix), evaluated with
// nix-instantiate (pure: no nixpkgs needed): off by default; when a server is set, one
// guest-to-host forward and parca-agent's command line pointing at it.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PARCA_GUEST } from '../src/vm/parca.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const nixEnv = { ...process.env, http_proxy: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', all_proxy: 'http://127.0.0.1:9' };

async function nixEval(expr: string): Promise<unknown> {
  const { stdout } = await run('nix-instantiate', ['--eval', '--strict', '--json', '--option', 'substituters', '', '-E', expr], {
    cwd: repo,
    env: nixEnv,
    timeout: 30_000,
  });
  return JSON.parse(stdout);
}

describe('Parca agent in the VMs', () => {
  it('is off at boot by default: nix/parca.nix names no server, so no forward and the unit waits for bench --parca', async () => {
    expect(await nixEval('import ./nix/parca.nix')).toEqual({ host: null, port: 7070, insecure: true, extraArgs: [] });
    expect(await nixEval('import ./nix/parca-agent.nix { settings = import ./nix/parca.nix; exe = "/nix/store/x-parca-agent/bin/parca-agent"; }')).toEqual({
      enable: false,
      forward: null,
      // The address bench --parca's guestfwd serves (driver/src/vm/parca.ts PARCA_GUEST).
      args: ['/nix/store/x-parca-agent/bin/parca-agent', `--remote-store-address=${PARCA_GUEST.address}:${PARCA_GUEST.port}`, '--remote-store-insecure'],
    });
  });

  it('with a server: QEMU forwards 10.0.2.100:7070 in the guest to it, and the agent sends there', async () => {
    const on = await nixEval(
      'import ./nix/parca-agent.nix { settings = import ./nix/parca.nix // { host = "127.0.0.1"; port = 7171; extraArgs = [ "--node=bench" ]; }; exe = "/nix/store/x-parca-agent/bin/parca-agent"; }',
    );
    expect(on).toEqual({
      enable: true,
      forward: { from: 'guest', proto: 'tcp', guest: { address: '10.0.2.100', port: 7070 }, host: { address: '127.0.0.1', port: 7171 } },
      args: ['/nix/store/x-parca-agent/bin/parca-agent', '--remote-store-address=10.0.2.100:7070', '--remote-store-insecure', '--node=bench'],
    });
    const tls = (await nixEval(
      '(import ./nix/parca-agent.nix { settings = import ./nix/parca.nix // { host = "parca.internal"; insecure = false; }; exe = "parca-agent"; }).args',
    )) as string[];
    expect(tls).toEqual(['parca-agent', '--remote-store-address=10.0.2.100:7070']);
  });

  it('vm.nix takes the settings from serverBench.parcaAgent: the unit always, started at boot and forwarded only when set', async () => {
    const vm = await readFile(join(repo, 'vm.nix'), 'utf8');
    expect(vm).toContain('default = import ./nix/parca.nix;');
    expect(vm).toContain('forwardPorts = lib.optional (parca.forward != null) parca.forward;');
    expect(vm).toMatch(
      /systemd\.services = \{\n\s+# [^\n]*\n[^\n]*\n\s+parca-agent = \{\n[^\n]*\n\s+wantedBy = lib\.optional parca\.enable "multi-user\.target";/,
    );
    expect(vm).toContain('ExecStart = lib.escapeShellArgs parca.args;');
  });
});
