// Is the build this command runs from older than its sources? A user who edits tsherve (or the
// harness) and runs again must measure what they edited, so a stale dist/ is refused, naming the
// files, instead of silently benchmarking the old code. Only in a source checkout (an installed
// package has no .ts sources next to its build).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EnvironmentError } from '../errors.js';

/** Folders whose .ts files are compiled into dist/<same path>/*.js. */
const SOURCE_DIRS = ['driver/src', 'servers/tsherve/src', 'shared'] as const;

function tsFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Sources newer than their compiled file (or without one), relative to `root`. */
export function staleSources(root: string, dirs: readonly string[] = SOURCE_DIRS): string[] {
  const stale: string[] = [];
  for (const d of dirs) {
    for (const src of tsFiles(join(root, d))) {
      const rel = relative(root, src);
      const out = mtime(join(root, 'dist', rel.replace(/\.ts$/, '.js')));
      const m = mtime(src);
      if (out === null || (m !== null && m > out)) stale.push(rel);
    }
  }
  return stale.sort();
}

/** Throw when the build is older than its sources: run `npm run build` (npm run bench does). */
export function assertFreshBuild(root: string): void {
  const stale = staleSources(root);
  if (stale.length === 0) return;
  const names = stale.slice(0, 3).join(', ') + (stale.length > 3 ? ` and ${stale.length - 3} more` : '');
  throw new EnvironmentError(
    `the build in dist/ is older than ${names}: this would measure the old code`,
    'run npm run build first (npm run bench builds before it runs)',
  );
}
