// `server-bench vm exec [--size N] -- <command>` (the original's benchvm-exec): run a command as
// root in a VM started with `vm start`, over SSH with the run's key and the pinned host key;
// its output streams to ours and its exit code is ours.
import { ExitCode, UsageError, reportError } from '../../errors.js';
import { shellQuote } from '../../vm/ssh.js';
import { connectState, pickSize, readState } from '../../vm/state.js';

export async function main(argv: string[]): Promise<number> {
  try {
    const dash = argv.indexOf('--');
    const flags = dash >= 0 ? argv.slice(0, dash) : [];
    const command = dash >= 0 ? argv.slice(dash + 1) : argv;
    let size: string | undefined;
    for (let i = 0; i < flags.length; i++) {
      if (flags[i] === '--size' && flags[i + 1] !== undefined) size = flags[++i];
      else throw new UsageError(`vm exec: unexpected "${flags[i]}"`, 'usage: server-bench vm exec [--size N] -- <command>');
    }
    if (command.length === 0) throw new UsageError('vm exec: no command given', 'usage: server-bench vm exec [--size N] -- <command>');
    const s = await readState(pickSize(size));
    const ssh = await connectState(s);
    try {
      // One argument is passed as a shell command line as is (ssh(1)'s convention); several are joined.
      const line = command.length === 1 ? (command[0] as string) : command.map(shellQuote).join(' ');
      const r = await ssh.exec(line, { onStdout: (c) => process.stdout.write(c), onStderr: (c) => process.stderr.write(c) });
      return r.code ?? ExitCode.failure;
    } finally {
      ssh.close();
    }
  } catch (err) {
    return reportError(err);
  }
}
