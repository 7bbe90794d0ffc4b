// Which real third-party servers this machine has for the tests: gosherve binaries given by
// SERVER_BENCH_GOSHERVE_BIN / SERVER_BENCH_GOSHERVE_OLD_BIN or left in the harness's cache, and a
// servy checkout given by SERVER_BENCH_SERVY_CHECKOUT (servy embeds its site, so the tests build it
// with cargo for theirs). Cases that need one carry REAL_GOSHERVE_TAG or REAL_SERVY_TAG in their
// name; they run whenever the server is there and the suite's last lines (real-servers-reporter.ts)
// say which ran, or why not.
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const REAL_GOSHERVE_TAG = '[real gosherve]';
export const REAL_SERVY_TAG = '[real servy]';

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

export interface RealServy {
  /** The checkout (SERVER_BENCH_SERVY_CHECKOUT), or null. */
  checkout: string | null;
  describe: string;
}

export function realServy(): RealServy {
  const v = process.env.SERVER_BENCH_SERVY_CHECKOUT;
  if (v === undefined || v === '') return { checkout: null, describe: 'SERVER_BENCH_SERVY_CHECKOUT is not set' };
  const dir = resolve(v);
  if (!existsSync(join(dir, 'Cargo.toml'))) return { checkout: null, describe: `SERVER_BENCH_SERVY_CHECKOUT=${v} has no Cargo.toml` };
  return { checkout: dir, describe: `the servy checkout ${dir}` };
}
