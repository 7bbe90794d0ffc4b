// What `server-bench vm --help` and `server-bench vm <subcommand> --help` print (exit 0): every
// subcommand's usage and flags. A --help anywhere before `--` is help, not a flag to refuse.
import { VM_IMAGE_HELP } from './vm-image.js';

const START = `usage: server-bench vm start --size N [--image nix|debian] [--runner PATH] [--allow-tcg] [--ssh-timeout D]

Boots one VM of size N (1, 2 or 16 vCPU) that outlives the command, for exec and test; prints its
SSH port and console log. Ctrl-C while it boots stops it.

  --size N          the VM's size (default 1)
  --image I         nix (the flake's NixOS VM, default) | debian (the guest built by vm image build)
  --runner PATH     a prebuilt runner (bin/run-bench-<size>-vm) instead of building one with nix
  --allow-tcg       boot without KVM (emulated: every number is marked so)
  --ssh-timeout D   how long to wait for SSH (default 3m, 10m under TCG; 30s, 2m, 1m30s)
`;

const STOP = `usage: server-bench vm stop [--size N]

Powers off the VM started with vm start (over SSH, then kills what is left) and removes its disk
and state. --size picks one when several run.
`;

const EXEC = `usage: server-bench vm exec [--size N] -- <command>

Runs <command> as root in the VM started with vm start; its output is ours and so is its exit code.
`;

const TEST = `usage: server-bench vm test [--size N] <impl> [k6test flags]

Runs k6test for one implementation in the VM started with vm start (the flags are k6test's:
--duration, --warmup, --vus, ...) and copies its results into reports/benchvm-test/.
`;

export const VM_HELP = `usage: server-bench vm <subcommand> [flags]

  start   boot a VM of one size that stays up (vm start --size N)
  stop    power it off and clean up
  exec    run a command in it (vm exec -- <command>)
  test    run k6test for one implementation in it
  image   build the Debian guest image (vm image build)

server-bench vm <subcommand> --help shows its flags.
`;

const SUBCOMMANDS: Record<string, string> = { start: START, stop: STOP, exec: EXEC, test: TEST, image: VM_IMAGE_HELP };

/** The help `vm <sub> …argv` asks for (--help or -h before any `--`), or null when it asks for none. */
export function vmHelpFor(sub: string, argv: readonly string[]): string | null {
  const dash = argv.indexOf('--');
  const flags = dash >= 0 ? argv.slice(0, dash) : argv;
  if (!flags.includes('--help') && !flags.includes('-h')) return null;
  return SUBCOMMANDS[sub] ?? null;
}
