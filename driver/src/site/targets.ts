// The run's one target list: built once from the site itself, stored in the run folder
// (targets.json, its hash in run.json and in every cell), and used to load and verify every
// implementation and size alike. Before, each implementation was crawled on its own, so servers
// that answer a path differently were loaded with different request mixes (issue 12: 556 paths for
// tsherve, 542 for gosherve v0.3.5). Now a path one server answers differently is a finding on that
// server, never a different load.
//
// From the tree: every file, a folder's index.html as the folder (`/dir/`, `/` for the root), and
// every alias of the map that no file shadows. Hidden files (a name starting with ".") are left out:
// sites do not link them and several servers refuse them. Paths are percent-encoded per segment.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Redirect, Targets } from '../contracts.js';
import { InputError } from '../errors.js';
import { writeJsonAtomic } from '../results/store.js';

export const TARGETS_FILE = 'targets.json';

const TargetsFileSchema = z.object({
  kind: z.literal('server-bench-targets'),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  paths: z.array(z.string().startsWith('/')),
  redirects: z.array(z.object({ alias: z.string().min(1), target: z.string().url() })),
});

/** URL paths of the site's files, folders with an index.html as `dir/`, sorted. Follows symlinks to files. */
export async function treePaths(webroot: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, segments: string[]): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      const st = e.isSymbolicLink() ? await stat(p).catch(() => null) : null;
      const isDir = e.isDirectory() || (st?.isDirectory() ?? false);
      const isFile = e.isFile() || (st?.isFile() ?? false);
      const seg = [...segments, encodeURIComponent(e.name)];
      if (isDir && !e.isSymbolicLink()) await walk(p, seg);
      else if (isFile) out.push(e.name === 'index.html' ? `/${segments.map((s) => `${s}/`).join('')}` : `/${seg.join('/')}`);
    }
  };
  await walk(webroot, []);
  return [...new Set(out)].sort();
}

/** The run's targets from the site's tree and the map's (unshadowed) redirects. */
export async function siteTargets(webroot: string, redirects: readonly Redirect[]): Promise<Targets> {
  const paths = await treePaths(webroot);
  if (!paths.includes('/')) throw new InputError(`${webroot} has no index.html`, 'the site needs an index.html at its root: every server answers / with it');
  const shadowed = new Set(paths);
  return { paths, redirects: redirects.filter((r) => !shadowed.has(`/${r.alias}`)) };
}

/** sha256 over the sorted paths and aliases: two runs loaded the same way have the same hash. */
export function targetsHash(t: Targets): string {
  const h = createHash('sha256');
  for (const p of [...t.paths].sort()) h.update(`path ${p}\n`);
  for (const r of [...t.redirects].sort((a, b) => a.alias.localeCompare(b.alias))) h.update(`alias ${r.alias} ${r.target}\n`);
  return `sha256:${h.digest('hex')}`;
}

export async function writeTargets(runDir: string, t: Targets): Promise<string> {
  const hash = targetsHash(t);
  await writeJsonAtomic(join(runDir, TARGETS_FILE), { kind: 'server-bench-targets', hash, paths: t.paths, redirects: t.redirects });
  return hash;
}

/** The stored list (for --resume: the same load as before), validated; a corrupt file is one line. */
export async function readTargets(runDir: string): Promise<{ targets: Targets; hash: string }> {
  const file = join(runDir, TARGETS_FILE);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(`cannot read the run's target list ${file}: ${(err as Error).message}`, 'the run folder is damaged; start a new run');
  }
  const parsed = TargetsFileSchema.safeParse(data);
  if (!parsed.success)
    throw new InputError(`corrupt target list ${file}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 'the run folder is damaged; start a new run');
  const targets = { paths: parsed.data.paths, redirects: parsed.data.redirects };
  if (targetsHash(targets) !== parsed.data.hash)
    throw new InputError(`corrupt target list ${file}: its hash does not match its paths`, 'the run folder is damaged; start a new run');
  return { targets, hash: parsed.data.hash };
}
