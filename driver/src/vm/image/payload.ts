// What of this repository a VM guest needs at run time, as one list: the compiled tree, the files
// the engines load at run time (k6/script.js, driver/assets/wrk-targets.lua) and package.json
// (ESM type). The Debian image copies exactly these; production node_modules come from npm.
import { cp, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EnvironmentError } from '../../errors.js';

/** Paths relative to the repository root, each copied whole into the guest's install folder. */
export const GUEST_PAYLOAD = ['package.json', 'dist', 'k6', 'driver/assets'] as const;

/** Copy GUEST_PAYLOAD from `root` into `dest` (the guest's /opt/server-bench); every entry must exist. */
export async function copyPayload(root: string, dest: string): Promise<void> {
  const missing = GUEST_PAYLOAD.filter((p) => !existsSync(join(root, p)));
  if (missing.length > 0)
    throw new EnvironmentError(
      `the guest payload lacks ${missing.join(', ')} in ${root}`,
      missing.includes('dist') ? 'run npm run build first' : 'restore them from git (git checkout -- <path>)',
    );
  for (const rel of GUEST_PAYLOAD) {
    await mkdir(dirname(join(dest, rel)), { recursive: true });
    await cp(join(root, rel), join(dest, rel), { recursive: true, dereference: false });
  }
}
