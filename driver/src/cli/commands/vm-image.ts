// `server-bench vm image build|show`: the Debian guest image (vm/image/build.ts) for
// `--image debian`, built once and cached under $SERVER_BENCH_CACHE/vm/debian.
import { parseCommandArgs } from '../args.js';
import { ExitCode, UsageError } from '../../errors.js';
import { repoRoot } from '../../servers/registry.js';
import { interruptible } from '../../run/finish.js';
import { ensureDebianImage } from '../../vm/image/build.js';

export const VM_IMAGE_HELP = `usage: server-bench vm image build [--force] [--json]

Builds the Debian guest image for --image debian (bench --backend vm, vm start) from Debian
packages (mmdebstrap with this machine's apt sources) and npm, as root. Cached under
$SERVER_BENCH_CACHE/vm/debian and rebuilt only when its inputs change (--force: always).
`;

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(VM_IMAGE_HELP);
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (sub !== 'build') throw new UsageError(`vm image: unknown subcommand "${sub}"`, 'use server-bench vm image build');
  const { values } = parseCommandArgs('vm image build', {
    args: rest,
    options: { force: { type: 'boolean' }, json: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  });
  const stop = interruptible('stopping the image build', () => undefined);
  try {
    const image = await ensureDebianImage({
      root: repoRoot(),
      force: values.force === true,
      log: (l) => process.stderr.write(`server-bench: ${l}\n`),
      signal: stop.signal,
    });
    if (values.json) process.stdout.write(`${JSON.stringify({ dir: image.dir, cached: image.cached, manifest: image.manifest }, null, 2)}\n`);
    else process.stdout.write(`${image.dir} (${image.cached ? 'cached' : 'built'}; ${image.manifest.impls.join(', ')})\n`);
    return ExitCode.ok;
  } finally {
    stop.dispose();
  }
}
