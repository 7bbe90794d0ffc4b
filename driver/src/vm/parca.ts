// bench --backend vm --parca HOST:PORT: Parca's agent in each NixOS VM sends its on-CPU profiles of
// the whole guest to a Parca server the user names, as the blog this project follows did, without
// rebuilding the VMs. The guest's only way out is one QEMU guestfwd (restrict=on keeps it): the
// agent sends to PARCA_GUEST, and QEMU runs our relay (vm/parca-relay.ts) per connection, which
// joins it to the server. The unit (vm.nix, nix/parca-agent.nix) is in every NixOS VM, started
// here once SSH is up; nix/parca.nix still turns it on at boot for `nix run .#bench`.
import { BenchError, ExitCode, UsageError } from '../errors.js';

/** The guest-side address the agent sends to: nix/parca-agent.nix's guestAddress and guestPort. */
export const PARCA_GUEST = { address: '10.0.2.100', port: 7070 } as const;
export const PARCA_UNIT = 'parca-agent.service';

export interface ParcaTarget {
  host: string;
  port: number;
}

/** HOST:PORT (a name or an IPv4 address; [v6]:PORT) → the server; anything else is a usage line. Pure. */
export function parseParcaFlag(text: string): ParcaTarget {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):([0-9]{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new UsageError(`--parca: "${text}" is not HOST:PORT`, 'for example --parca 127.0.0.1:7070 (a Parca server as this machine reaches it)');
  return { host: (m[1] ?? m[2]) as string, port };
}

/**
 * The QEMU user-network option that gives the guest its way to the server: each connection to
 * PARCA_GUEST runs `node parca-relay.js HOST PORT` with the connection on its stdin and stdout.
 * QEMU splits netdev options at commas, so no part may hold one. Pure.
 */
export function parcaGuestfwd(t: ParcaTarget, node: string, relay: string): string {
  const parts = [node, relay, t.host, String(t.port)];
  const bad = parts.find((p) => /[,\s'"]/.test(p));
  if (bad !== undefined)
    throw new BenchError(
      `--parca: QEMU cannot run the relay from "${bad}" (a comma, space or quote in it)`,
      'run server-bench from a folder whose path has none',
      ExitCode.environment,
    );
  return `guestfwd=tcp:${PARCA_GUEST.address}:${PARCA_GUEST.port}-cmd:${parts.join(' ')}`;
}

/** The one line when the VM has no agent unit to start (the Debian guest, or a VM built before it). */
export function parcaStartError(code: number | null, stderr: string): BenchError {
  const missing = /not (be )?found|No such file|does not exist/i.test(stderr);
  return new BenchError(
    missing
      ? `--parca: this VM has no ${PARCA_UNIT}`
      : `--parca: systemctl start ${PARCA_UNIT} failed in the VM (exit ${code ?? 'none'}): ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`,
    missing ? 'rebuild the NixOS VMs from this revision (nix/README.md, "Parca\'s agent")' : `see server-bench vm exec -- journalctl -u ${PARCA_UNIT}`,
    ExitCode.environment,
  );
}
