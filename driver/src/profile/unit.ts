// bench --profile inside a VM: what a server's systemd unit needs so perf can name its frames, for
// the one profiled start only, and the unit's processes for perf to attach to. Both guests (NixOS,
// Debian) start the servers from fixed units, so nothing is baked into the images: a Node server
// gets V8's perf-map flags through a runtime drop-in (/run/systemd/system/<unit>.service.d/), which
// is removed again as soon as the server runs (the environment is read once, at exec).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NODE_PROFILE_FLAGS } from '../servers/registry.js';

/** Implementations whose unit runs Node (tsherve; tsherve-bun runs Bun, which writes no perf map). */
const NODE_UNIT_IMPLS: ReadonlySet<string> = new Set(['tsherve']);

/**
 * NODE_PROFILE_FLAGS minus the two Node refuses in NODE_OPTIONS (--logfile=+, --no-logfile-per-isolate:
 * "is not allowed in NODE_OPTIONS"). Without them V8 writes its isolate-*.log into the working
 * folder, and when that folder is read-only (ProtectSystem=strict: the unit's "/") it logs every
 * code event to stdout, i.e. into the journal, under load. Hence WorkingDirectory=/tmp below: the
 * unit's PrivateTmp, writable by its DynamicUser and gone when it stops.
 */
export const NODE_OPTIONS_FOR_PROFILE: readonly string[] = NODE_PROFILE_FLAGS.filter((f) => !f.startsWith('--logfile') && f !== '--no-logfile-per-isolate');

const PROFILE_DROP_IN_NAME = 'server-bench-profile.conf';

/** The drop-in for a profiled start of `impl`'s unit, or null when it needs none (native code). Pure. */
export function profileDropIn(impl: string): string | null {
  if (!NODE_UNIT_IMPLS.has(impl)) return null;
  return [
    '# server-bench: bench --profile, this start only (k6test removes it once the server runs).',
    '[Service]',
    `Environment="NODE_OPTIONS=${NODE_OPTIONS_FOR_PROFILE.join(' ')}"`,
    'WorkingDirectory=/tmp',
    '',
  ].join('\n');
}

export function dropInPath(unit: string, root = '/run/systemd/system'): string {
  return join(root, `${unit}.service.d`, PROFILE_DROP_IN_NAME);
}

/**
 * Run `start` with the profile drop-in of `impl` in place (when it needs one): written, systemd
 * reloaded, started, then removed and reloaded again, also when the start fails.
 */
export async function withProfileDropIn<T>(o: { impl: string; unit: string; reload: () => Promise<void>; root?: string }, start: () => Promise<T>): Promise<T> {
  const text = profileDropIn(o.impl);
  if (text === null) return start();
  const path = dropInPath(o.unit, o.root);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, { mode: 0o644 });
  try {
    await o.reload();
    return await start();
  } finally {
    await rm(path, { force: true });
    await o.reload();
  }
}

/** The PIDs in a unit's cgroup (cgroup.procs: its whole process tree, workers included). */
export async function cgroupPids(cgroupDir: string): Promise<number[]> {
  const text = await readFile(join(cgroupDir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}
