// Which real third-party servers this machine has for the tests: gosherve binaries given by
// SERVER_BENCH_GOSHERVE_BIN / SERVER_BENCH_GOSHERVE_OLD_BIN or left in the harness's cache. Cases
// that need one carry REAL_GOSHERVE_TAG in their name; they run whenever the binaries exist and the
// suite's last line (real-servers-reporter.ts) says which ran, or why not.
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const REAL_GOSHERVE_TAG = '[real gosherve]';

function cacheDir(): string {
  const c = process.env.SERVER_BENCH_CACHE;
  return c !== undefined && c !== '' ? resolve(c) : join(homedir(), '.cache', 'server-bench');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function find(envVar: string, tag: string): string | null {
  const explicit = process.env[envVar];
  if (explicit !== undefined && explicit !== '') return executable(resolve(explicit)) ? resolve(explicit) : null;
  const cached = join(cacheDir(), 'gosherve', tag, 'bin', 'gosherve');
  return executable(cached) ? cached : null;
}

export interface RealGosherve {
  /** v0.3.5 ("gosherve") and v0.3.3 ("gosherve-old"): paths, or null. */
  current: string | null;
  old: string | null;
  /** Both are there. */
  both: boolean;
  /** Why the real cases do not run, or where the binaries are. */
  describe: string;
}

export function realGosherve(): RealGosherve {
  const current = find('SERVER_BENCH_GOSHERVE_BIN', 'v0.3.5');
  const old = find('SERVER_BENCH_GOSHERVE_OLD_BIN', 'v0.3.3');
  const both = current !== null && old !== null;
  const describe = both
    ? `gosherve v0.3.5 at ${current}, v0.3.3 at ${old}`
    : `no ${[current === null ? 'v0.3.5 (SERVER_BENCH_GOSHERVE_BIN)' : '', old === null ? 'v0.3.3 (SERVER_BENCH_GOSHERVE_OLD_BIN)' : ''].filter(Boolean).join(' and no ')} binary, and none in ${join(cacheDir(), 'gosherve')}`;
  return { current, old, both, describe };
}
