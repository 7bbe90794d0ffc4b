// bench --backend vm --parca HOST:PORT without a VM: the flag (and its refusal with the Debian
// guest), the QEMU guestfwd it adds, the one line when the VM has no agent unit, and the relay QEMU
// runs per guest connection, with real sockets: bytes from "the guest" (its stdin) reach a TCP
// server and its answer comes back on stdout.
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, UsageError } from '../../src/errors.js';
import { PARCA_GUEST, parcaGuestfwd, parcaStartError, parseParcaFlag } from '../../src/vm/parca.js';
import { benchPlan, problemsOf } from '../support/plan.js';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const RELAY = join(ROOT, 'dist', 'driver', 'src', 'vm', 'parca-relay.js');

describe('--parca HOST:PORT', () => {
  it('takes a name, an IPv4 or a bracketed IPv6 address with a port, and nothing else', () => {
    expect(parseParcaFlag('127.0.0.1:7070')).toEqual({ host: '127.0.0.1', port: 7070 });
    expect(parseParcaFlag('parca.internal:443')).toEqual({ host: 'parca.internal', port: 443 });
    expect(parseParcaFlag('[::1]:7070')).toEqual({ host: '::1', port: 7070 });
    for (const bad of ['127.0.0.1', ':7070', 'host:0', 'host:70000', 'a b:1', 'host:7070,restrict=off']) {
      expect(() => parseParcaFlag(bad), bad).toThrow(UsageError);
    }
  });

  it('goes into the plan for the NixOS VMs; the Debian guest and the local backend refuse it', async () => {
    const plan = await benchPlan(['--backend', 'vm', '--sizes', '1', '--parca', '127.0.0.1:7171']);
    expect(plan.vm.parca).toEqual({ host: '127.0.0.1', port: 7171 });
    expect(await problemsOf(['--backend', 'vm', '--image', 'debian', '--parca', '127.0.0.1:7070'])).toEqual([
      '--parca: the Debian guest has no Parca agent (Debian does not package parca-agent) (use the NixOS VMs (--image nix) for --parca)',
    ]);
    expect(await problemsOf(['--parca', '127.0.0.1:7070'])).toEqual([
      '--parca is not taken by --backend local (see server-bench bench --backend local --help)',
    ]);
  });

  it("adds one guestfwd from the agent's address to the relay, and refuses paths QEMU would split", () => {
    expect(parcaGuestfwd({ host: '127.0.0.1', port: 7171 }, '/usr/bin/node', '/x/parca-relay.js')).toBe(
      `guestfwd=tcp:${PARCA_GUEST.address}:${PARCA_GUEST.port}-cmd:/usr/bin/node /x/parca-relay.js 127.0.0.1 7171`,
    );
    expect(() => parcaGuestfwd({ host: '127.0.0.1', port: 1 }, '/usr/bin/node', '/a,b/parca-relay.js')).toThrow(/a comma, space or quote/);
  });

  it('says what to do when the VM has no agent unit, or it fails to start', () => {
    const missing = parcaStartError(5, 'Failed to start parca-agent.service: Unit parca-agent.service not found.\n');
    expect(missing.oneLine()).toBe('--parca: this VM has no parca-agent.service (rebuild the NixOS VMs from this revision (nix/README.md, "Parca\'s agent"))');
    expect(missing.exitCode).toBe(ExitCode.environment);
    expect(parcaStartError(1, 'Job for parca-agent.service failed.\n').oneLine()).toMatch(
      /^--parca: systemctl start parca-agent.service failed in the VM \(exit 1\): Job for parca-agent.service failed\. \(see server-bench vm exec -- journalctl -u parca-agent.service\)$/,
    );
  });
});

describe('the relay QEMU runs per guest connection (vm/parca-relay.ts, built)', () => {
  it('joins its stdin and stdout to one TCP connection to the server, both ways, and ends with it', async () => {
    const received: Buffer[] = [];
    const server = createServer((sock) => {
      sock.on('data', (b) => {
        received.push(b);
        if (Buffer.concat(received).toString().includes('\n')) sock.end('pong from parca\n');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const relay = spawn(process.execPath, [RELAY, '127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      relay.stdout.on('data', (b: Buffer) => (out += b.toString()));
      relay.stdin.write('ping from the guest\n');
      const code = await new Promise<number | null>((r) => relay.once('close', r));
      expect(Buffer.concat(received).toString()).toBe('ping from the guest\n');
      expect(out).toBe('pong from parca\n');
      expect(code).toBe(0);
    } finally {
      server.close();
    }
  });

  it('a server that is not there: exit 1 with the address, nothing on stdout', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const relay = spawn(process.execPath, [RELAY, '127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    relay.stdout.on('data', (b: Buffer) => (out += b.toString()));
    relay.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => relay.once('close', r));
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(new RegExp(`^parca-relay: 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
  });
});
