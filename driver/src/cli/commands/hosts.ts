// `server-bench hosts check|provision --hosts FILE [--sizes LIST]`: the machines of a hosts file
// (hosts/file.ts), one line each. check exits 4 when any machine is not ready; provision puts the
// Debian guest's bundle and the size's units on Debian/Ubuntu machines (hosts/provision.ts).
import { ExitCode, reportError, UsageError } from '../../errors.js';
import { readHostsFile, hostOf, type HostSpec } from '../../hosts/file.js';
import { checkHost, provisionHosts, statusLine } from '../../hosts/provision.js';
import { interruptible } from '../../run/finish.js';
import { parseCommandArgs } from '../args.js';

export const HOSTS_HELP = `usage: server-bench hosts check --hosts FILE [--sizes LIST] [--engine wrk|k6]
       server-bench hosts provision --hosts FILE [--sizes LIST]

check      per machine, one line: reachable with the pinned host key, root (or sudo -n), systemd,
           the tools (wrk or k6, taskset), the bundle and the size's units installed, k6test answering
           for that size; what is missing and how to fix it. Exit code 4 when any is not ready.
provision  Debian/Ubuntu machines: sends the Debian guest image's bundle (Node, the project, its
           node_modules, the generated site; server-bench vm image build makes it) over SFTP,
           installs the size's units with the file's cores and enables them. Idempotent: nothing is
           sent again when the machine has it. NixOS machines import nixosModules.server-bench.

The hosts file is JSON (docs/hosts.md):
  {"hosts": {"1": {"ssh": {"user": "root", "host": "192.0.2.10", "port": 22,
                           "identityFile": "~/.ssh/id_ed25519", "hostKey": "ssh-ed25519 AAAA…"},
                   "serverCpus": [0], "generatorCpus": [1]}}}
`;

function pick(file: ReturnType<typeof readHostsFile>, sizes: string | undefined): HostSpec[] {
  if (sizes === undefined) return file.hosts;
  return sizes
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => hostOf(file, s));
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(HOSTS_HELP);
      return sub === undefined ? ExitCode.usage : ExitCode.ok;
    }
    const { values } = parseCommandArgs(
      `hosts ${sub}`,
      {
        args: rest,
        options: { hosts: { type: 'string' }, sizes: { type: 'string' }, engine: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
        allowPositionals: false,
      },
      { hosts: 'FILE', sizes: 'LIST', engine: 'wrk|k6' },
    );
    if (values.help) {
      process.stdout.write(HOSTS_HELP);
      return ExitCode.ok;
    }
    if (values.hosts === undefined) throw new UsageError(`hosts ${sub}: --hosts FILE is required`, 'name the hosts file (docs/hosts.md)');
    const engine = values.engine === undefined ? null : values.engine === 'wrk' || values.engine === 'k6' ? values.engine : null;
    if (values.engine !== undefined && engine === null) throw new UsageError(`--engine ${values.engine}: not an engine`, 'use --engine wrk or --engine k6');
    const hosts = pick(readHostsFile(values.hosts), values.sizes);
    if (sub === 'check') {
      let bad = 0;
      for (const h of hosts) {
        const s = await checkHost(h, engine, values.hosts);
        if (s.missing.length > 0) bad++;
        process.stdout.write(`${statusLine(s)}\n`);
      }
      return bad > 0 ? ExitCode.environment : ExitCode.ok;
    }
    if (sub === 'provision') {
      const stop = interruptible('stopping provisioning', () => undefined);
      try {
        const results = await provisionHosts(hosts, (l) => process.stderr.write(`server-bench: ${l}\n`), stop.signal);
        for (const r of results) process.stdout.write(`${r.line}\n`);
        return ExitCode.ok;
      } finally {
        stop.dispose();
      }
    }
    throw new UsageError(`hosts ${sub}: not a hosts command`, 'use hosts check or hosts provision');
  } catch (err) {
    return reportError(err);
  }
}
