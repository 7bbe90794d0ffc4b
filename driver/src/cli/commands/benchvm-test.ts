// `server-bench vm test [--size N] <impl> [k6test flags]` (the original's benchvm-test): run
// k6test for one implementation in a VM started with `vm start`, then copy its out folder back
// into reports/benchvm-test/<timestamp>-<impl>/ (k6test's out folder: the cells layout).
import { join, resolve } from 'node:path';
import { ExitCode, UsageError, reportError } from '../../errors.js';
import { newRunId } from '../../results/layout.js';
import { shellQuote } from '../../vm/ssh.js';
import { connectState, pickSize, readState } from '../../vm/state.js';

export async function main(argv: string[]): Promise<number> {
  try {
    let size: string | undefined;
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '--size' && argv[i + 1] !== undefined) size = argv[++i];
      else if (argv[i] === '--out') throw new UsageError('vm test: --out is chosen by the driver', 'results land in reports/benchvm-test/');
      else rest.push(argv[i] as string);
    }
    const impl = rest[0];
    if (impl === undefined || impl.startsWith('-'))
      throw new UsageError('vm test: no implementation given', 'usage: server-bench vm test [--size N] <impl> [k6test flags]');
    const s = await readState(pickSize(size));
    const ssh = await connectState(s);
    try {
      const id = `${newRunId()}-${impl}`;
      const info = await ssh.exec('k6test --info');
      const outDir = (() => {
        try {
          return (JSON.parse(info.stdout) as { outDir?: string }).outDir ?? '/var/lib/k6test/out';
        } catch {
          return '/var/lib/k6test/out';
        }
      })();
      const target = `${outDir.replace(/\/+$/, '')}/benchvm-test-${id}`;
      const r = await ssh.exec(['k6test', ...rest, '--out', target].map(shellQuote).join(' '), {
        onStdout: (c) => process.stdout.write(c),
        onStderr: (c) => process.stderr.write(c),
      });
      const local = resolve(process.env.SERVER_BENCH_REPORTS ?? 'reports', 'benchvm-test', id);
      const files = await ssh.pullDir(target, local).catch(() => [] as string[]);
      process.stderr.write(`server-bench: ${files.length} file(s) copied to ${join(local)}\n`);
      return r.code ?? ExitCode.failure;
    } finally {
      ssh.close();
    }
  } catch (err) {
    return reportError(err);
  }
}
